#!/usr/bin/env bash
# Diffs Herd's year-archive pages against the ceiling server's: they must be the same bytes,
# apart from the hashed static URLs (site.<hash>.css becomes site.css before comparing).
#
#   scripts/check_ceiling.sh [HERD_URL] [CEILING_URL] [YEAR...]
#   defaults: http://127.0.0.1:8000 http://127.0.0.1:8100 2000 2010 2025 1999
#
# Both servers must already be running against the same database (scripts/bench.sh starts them).
# Exit 0 when every page matches, 1 with a unified diff otherwise.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

herd_url=${1:-http://127.0.0.1:8000}
ceiling_url=${2:-http://127.0.0.1:8100}
shift $(($# < 2 ? $# : 2))
years=("$@")
[ ${#years[@]} -gt 0 ] || years=(2000 2010 2025 1999)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Django's ManifestStaticFilesStorage names: name.<12 hex>.ext; accept any 8+ hex digest.
unhash_static() { sed -E 's#(/static/[^"'\''?# ]*)\.[0-9a-f]{8,}(\.[A-Za-z0-9]+)#\1\2#g'; }

fetch() {
    local url=$1 out=$2 status
    status=$(curl -s -o "$out.raw" -w '%{http_code}' --max-time 10 "$url") || status=000
    unhash_static <"$out.raw" >"$out"
    printf '%s\n' "$status"
}

failed=0
for year in "${years[@]}"; do
    path=/employee/$year/
    herd_status=$(fetch "$herd_url$path" "$work/herd-$year")
    ceiling_status=$(fetch "$ceiling_url$path" "$work/ceiling-$year")
    if [ "$herd_status" != "$ceiling_status" ]; then
        echo "DIFFERENT $path: herd answered $herd_status, ceiling $ceiling_status"
        failed=1
    elif ! diff -u --label "herd $path" --label "ceiling $path" "$work/herd-$year" "$work/ceiling-$year" >"$work/diff-$year"; then
        echo "DIFFERENT $path ($herd_status, $(wc -c <"$work/herd-$year") vs $(wc -c <"$work/ceiling-$year") bytes):"
        head -n 60 "$work/diff-$year"
        failed=1
    else
        echo "identical $path ($herd_status, $(wc -c <"$work/herd-$year") bytes)"
    fi
done
exit $failed
