#!/usr/bin/env bash
# `make run`: builds herd (release), makes sure Postgres and Redis answer, creates, migrates and
# seeds the database, then starts WORKERS workers (default 2) on 127.0.0.1:8000, :8001, ...
# Ctrl-C sends SIGTERM to every worker it started and waits for them to drain.
#
# Environment: HERD_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/herd),
# HERD_REDIS_URL (default redis://127.0.0.1:6379/0), HERD_SECRET_KEY (else a development key
# kept in target-local/secret-key), WORKERS (2), BASE_PORT (8000), SEED_COUNT (10000).
# Logs and pid files: target-local/worker-<port>.{log,pid}.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

workers=${WORKERS:-2}
base_port=${BASE_PORT:-8000}
seed_count=${SEED_COUNT:-10000}
[[ $workers =~ ^[1-9][0-9]*$ ]] || die "WORKERS must be a positive number, not '$workers'"

say "building herd (cargo build --release -p herd-directory; minutes when cold)"
cargo build --release -p herd-directory
herd=$CARGO_TARGET_DIR/release/herd

export HERD_DATABASE_URL=${HERD_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/herd}
export HERD_REDIS_URL=${HERD_REDIS_URL:-redis://127.0.0.1:6379/0}
deploy/local/ensure-services.sh run --env-file "$local_dir/services-run.env"
load_env "$local_dir/services-run.env"
ensure_database "$HERD_DATABASE_URL"
ensure_secret_key

say "herd migrate"
"$herd" migrate
say "herd seed --count $seed_count"
"$herd" seed --count "$seed_count"

pids=()
cleanup() {
    trap - EXIT INT TERM
    if [ ${#pids[@]} -gt 0 ]; then
        say "stopping ${#pids[@]} worker(s) with SIGTERM (they drain before exiting)"
        stop_pids "${pids[@]}"
        rm -f "$local_dir"/worker-*.pid
        say "stopped"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ports=()
for ((i = 0; i < workers; i++)); do
    port=$((base_port + i))
    require_free_port "127.0.0.1:$port"
    ports+=("$port")
done
for port in "${ports[@]}"; do
    # A session of its own, so that Ctrl-C reaches only this script, which then stops the
    # workers with SIGTERM as an orchestrator would.
    HERD_BIND=127.0.0.1:$port setsid "$herd" serve >"$local_dir/worker-$port.log" 2>&1 &
    pids+=($!)
    echo $! >"$local_dir/worker-$port.pid"
    say "worker pid $! on 127.0.0.1:$port (log: target-local/worker-$port.log)"
done
for i in "${!ports[@]}"; do
    port=${ports[$i]}
    if ! wait_for_200 "http://127.0.0.1:$port/readyz" 30 "${pids[$i]}"; then
        tail -n 20 "$local_dir/worker-$port.log" >&2
        die "the worker on :$port did not become ready (log above)"
    fi
done

first=http://127.0.0.1:${ports[0]}
cat <<MSG

Herd is up: ${#ports[@]} worker(s) on $(printf '127.0.0.1:%s ' "${ports[@]}")
  home         $first/
  employees    $first/employee/
  year archive $first/employee/2010/
  readiness    $first/readyz
Ctrl-C stops them.
MSG

# Returns when a worker exits by itself (or a signal arrives, which the traps handle).
if wait -n "${pids[@]}"; then status=0; else status=$?; fi
say "a worker exited (status $status); see target-local/worker-*.log"
exit 1
