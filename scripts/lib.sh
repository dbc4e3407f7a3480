# Shared by scripts/run.sh, scripts/bench.sh and scripts/check_ceiling.sh; source it, do not run it.
# shellcheck shell=bash

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
local_dir=$repo/target-local
mkdir -p "$local_dir"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/herd-target}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# Milliseconds since the epoch.
now_ms() { date +%s%3N; }

# Exports every assignment of an env file written by deploy/local/ensure-services.sh.
load_env() {
    set -a
    # shellcheck disable=SC1090
    . "$1"
    set +a
}

# Splits a postgres:// URL: sets url_db (database name) and url_admin (same server, db postgres).
split_pg_url() {
    local base=${1%%\?*}
    local query=${1#"$base"}
    url_db=${base##*/}
    url_admin=${base%/*}/postgres$query
}

# Creates the database a postgres:// URL names, when it does not exist yet.
ensure_database() {
    split_pg_url "$1"
    [[ $url_db =~ ^[A-Za-z0-9_]+$ ]] || die "database name '$url_db' in $1: use letters, digits and _"
    if [ "$(psql "$url_admin" -v ON_ERROR_STOP=1 -tAc "SELECT 1 FROM pg_database WHERE datname = '$url_db'")" != 1 ]; then
        say "creating database $url_db"
        psql "$url_admin" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE \"$url_db\"" >/dev/null
    fi
}

# herd refuses to start without HERD_SECRET_KEY outside debug: generate a development key once,
# into target-local/secret-key (gitignored), and use it when none is set.
ensure_secret_key() {
    [ -n "${HERD_SECRET_KEY:-}" ] && return
    local file=$local_dir/secret-key
    if [ ! -s "$file" ]; then
        say "generating a development secret key in $file"
        (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n/+=' >"$file")
    fi
    HERD_SECRET_KEY=$(cat "$file")
    export HERD_SECRET_KEY
}

# The HTTP status of GET url ("000" when nothing answers).
http_status() {
    curl -s -o /dev/null -w '%{http_code}' --max-time "${2:-2}" "$1" || true
}

# Waits until GET url answers 200, at most $2 seconds, failing early when pid $3 has exited.
wait_for_200() {
    local url=$1 seconds=$2 pid=$3 deadline
    deadline=$(($(now_ms) + seconds * 1000))
    while [ "$(http_status "$url" 1)" != 200 ]; do
        kill -0 "$pid" 2>/dev/null || return 2
        [ "$(now_ms)" -lt "$deadline" ] || return 1
        sleep 0.01
    done
}

# Sends SIGTERM to each pid and waits for it (at most 30 s each, then SIGKILL).
stop_pids() {
    local pid
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "$@"; do
        for _ in $(seq 1 300); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "pid $pid still running 30 s after SIGTERM: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
}

# Fails when something already listens on host:port.
require_free_port() {
    if (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; then
        die "$1 is already in use (a previous run still up? see its pid files in target-local/)"
    fi
}
