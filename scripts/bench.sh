#!/usr/bin/env bash
# `make bench`: Herd's year archive against the hand-written ceiling server, in one run.
#
# A benchmark, not a test: it prints the numbers and a pass/fail per target and exits 0 when
# it ran (BENCH_STRICT=1 makes a failed target exit 1). Results go to target-local/bench/:
# bench.json, bench.md, bench.png and the raw wrk output.
#
# What it does: installs wrk when missing (Debian package), builds both servers (release),
# ensures Postgres and Redis, creates, migrates and seeds the herd_bench database (10,000
# employees), starts one herd worker (HERD_CACHE__BACKEND=dummy, so every request queries and
# renders) timing its start to the first 200 on /readyz, starts the ceiling, checks that both
# answer 200 for every year and write the same bytes, then loads each in turn with wrk
# (GET /employee/<2000..2025>/) while sampling its RSS.
#
# Knobs: BENCH_DURATION (15s), BENCH_WARMUP (3s), BENCH_CONNECTIONS (32), BENCH_THREADS (2),
# BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/herd_bench), BENCH_HERD_PORT (8180),
# BENCH_CEILING_PORT (8181), BENCH_STRICT (0).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

duration=${BENCH_DURATION:-15s}
warmup=${BENCH_WARMUP:-3s}
connections=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-2}
employees=10000
herd_addr=127.0.0.1:${BENCH_HERD_PORT:-8180}
ceiling_addr=127.0.0.1:${BENCH_CEILING_PORT:-8181}
out=$local_dir/bench
lua=$repo/scripts/wrk/year_archive.lua
mkdir -p "$out"
started=$(now_ms)

if ! command -v wrk >/dev/null; then
    say "installing wrk (apt-get)"
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq wrk >/dev/null
fi
command -v curl >/dev/null || die "curl is needed"

say "building herd and the ceiling (release; minutes when cold)"
cargo build --release -p herd-directory -p herd-baselines
herd=$CARGO_TARGET_DIR/release/herd
ceiling=$CARGO_TARGET_DIR/release/ceiling

# The bench gets its own database and settings: nothing of `make run` leaks in.
export HERD_DATABASE_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/herd_bench}
export HERD_REDIS_URL=${HERD_REDIS_URL:-redis://127.0.0.1:6379/0}
deploy/local/ensure-services.sh run --env-file "$local_dir/services-bench.env"
load_env "$local_dir/services-bench.env"
ensure_database "$HERD_DATABASE_URL"
ensure_secret_key
say "herd migrate + seed --count $employees (database ${HERD_DATABASE_URL##*/})"
"$herd" migrate
"$herd" seed --count "$employees"

# Servers run in sessions of their own (setsid) so that Ctrl-C reaches only this script, whose
# trap stops them with SIGTERM.
pids=()
sampler=
cleanup() {
    trap - EXIT INT TERM
    [ -n "$sampler" ] && { kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; }
    if [ ${#pids[@]} -gt 0 ]; then
        say "stopping the servers"
        stop_pids "${pids[@]}"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

require_free_port "$herd_addr"
require_free_port "$ceiling_addr"

say "starting herd on $herd_addr (cache backend dummy) and timing it to the first 200 on /readyz"
t0=$(now_ms)
HERD_BIND=$herd_addr HERD_CACHE__BACKEND=dummy HERD_SERVER__DRAIN_DELAY=0 \
    setsid "$herd" serve >"$out/herd.log" 2>&1 &
herd_pid=$!
pids+=("$herd_pid")
if ! wait_for_200 "http://$herd_addr/readyz" 30 "$herd_pid"; then
    tail -n 20 "$out/herd.log" >&2
    die "herd did not become ready (log: $out/herd.log)"
fi
readyz_ms=$(($(now_ms) - t0))
say "herd ready after $readyz_ms ms"

say "starting the ceiling on $ceiling_addr"
CEILING_BIND=$ceiling_addr DATABASE_URL=$HERD_DATABASE_URL setsid "$ceiling" >"$out/ceiling.log" 2>&1 &
ceiling_pid=$!
pids+=("$ceiling_pid")
wait_for_200 "http://$ceiling_addr/employee/2010/" 30 "$ceiling_pid" ||
    { tail -n 20 "$out/ceiling.log" >&2; die "the ceiling did not answer (log: $out/ceiling.log)"; }

# wrk counts only 4xx/5xx as errors: make sure every year the load asks for is a 200 first.
for year in $(seq 2000 2025); do
    for addr in "$herd_addr" "$ceiling_addr"; do
        status=$(http_status "http://$addr/employee/$year/" 5)
        [ "$status" = 200 ] || die "http://$addr/employee/$year/ answered $status, not 200"
    done
done

say "comparing the pages byte for byte (scripts/check_ceiling.sh)"
if scripts/check_ceiling.sh "http://$herd_addr" "http://$ceiling_addr" 2000 2010 2025 >"$out/check_ceiling.txt"; then
    identical=yes
    cat "$out/check_ceiling.txt" >&2
else
    identical=no
    cat "$out/check_ceiling.txt" >&2
    say "WARNING: Herd's and the ceiling's pages differ, so the comparison is not like for like"
fi

wrk_cmd="wrk -t$threads -c$connections -d$duration --latency"
load() {
    local name=$1 addr=$2 pid=$3
    say "$name: warm-up ($warmup)"
    wrk -t"$threads" -c"$connections" -d"$warmup" -s "$lua" "http://$addr" >"$out/wrk-$name-warmup.txt"
    say "$name: $wrk_cmd (RSS sampled every 0.25 s)"
    (
        while kill -0 "$pid" 2>/dev/null; do
            printf '%s %s\n' "$(now_ms)" "$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)"
            sleep 0.25
        done
    ) >"$out/rss-$name.txt" &
    sampler=$!
    wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$lua" "http://$addr" >"$out/wrk-$name.txt"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    sampler=
    awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" >"$out/hwm-$name.txt"
    grep -E 'Requests/sec|Latency  |99%|Non-2xx|Socket errors' "$out/wrk-$name.txt" | sed 's/^/    /' >&2 || true
}
load herd "$herd_addr" "$herd_pid"
load ceiling "$ceiling_addr" "$ceiling_pid"
cleanup

say "results"
report_status=0
python3 scripts/bench_report.py --out "$out" \
    --herd-wrk "$out/wrk-herd.txt" --herd-rss "$out/rss-herd.txt" --herd-hwm-kb "$(cat "$out/hwm-herd.txt")" \
    --ceiling-wrk "$out/wrk-ceiling.txt" --ceiling-rss "$out/rss-ceiling.txt" \
    --ceiling-hwm-kb "$(cat "$out/hwm-ceiling.txt")" \
    --readyz-ms "$readyz_ms" --pages-identical "$identical" \
    --wrk-command "$wrk_cmd -s scripts/wrk/year_archive.lua" --warmup "$warmup" --employees "$employees" ||
    report_status=$?
[ "$report_status" -eq 0 ] || die "the report failed"

say "plotting (matplotlib in .venv-bench)"
venv=$repo/.venv-bench
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/requirements-bench.txt
fi
"$venv/bin/python" scripts/plot_bench.py "$out/bench.json"

say "done in $((($(now_ms) - started) / 1000)) s: $out/bench.{json,md,png}"
if [ "${BENCH_STRICT:-0}" = 1 ] && ! python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["pass"] else 1)' "$out/bench.json"; then
    exit 1
fi
