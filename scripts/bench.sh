#!/usr/bin/env bash
# `make bench`: Herd's year archive against hand-written baselines, in one run.
#
# A benchmark, not a test: it prints the numbers and a pass/fail per target and exits 0 when
# it ran (BENCH_STRICT=1 makes a failed target exit 1). Results go to target-local/bench/:
# bench.json, bench.md, bench.png, the raw wrk output and each server's log.
#
# Four comparisons, each a Herd worker against what the same page costs at best:
#   herd-dummy     (HERD_CACHE__BACKEND=dummy: every request queries and renders) / ceiling
#   herd-two-tier  (two-tier, warmed: every request an in-process L1 hit)         / hello
#   herd-redis     (redis, warmed: every request a Redis hit)                     / redis-get
#   herd-two-tier  (a per-site cache hit)                                          / herd-dummy
# hello answers a body of the year-archive page's size, and redis-get GETs a stored copy of that
# page from the same Redis, so the bytes on the wire match.
#
# What it does: installs wrk when missing (Debian package), builds herd and the baselines
# (release), ensures Postgres and Redis, creates, migrates and seeds the herd_bench database
# (10,000 employees), starts herd-dummy timing its start to the first 200 on /readyz, starts
# the ceiling, checks that both answer 200 for every year and write the same bytes, keeps the
# page nearest the mean size, starts hello, redis-get and the two cached Herd workers, warms
# the cached workers and checks that every year then comes from their cache (an `Age` header,
# the same body as the uncached page); a worker that fails the check is not loaded and its
# comparisons FAIL. Then, in each of BENCH_ROUNDS rounds, loads each server in turn with wrk
# (GET /employee/<2000..2025>/) while sampling its RSS and CPU time, and last a seventh worker
# like herd-dummy (herd-accounts): the same pages with a logged-in session (the session
# layer's cost against herd-dummy anonymous) and login POSTs per second (Argon2id m=19456 KiB,
# t=2, p=1), as a superuser `bench` that the script creates. The report keeps each server's
# median round.
#
# Knobs: BENCH_DURATION (8s), BENCH_WARMUP (2s), BENCH_ROUNDS (3: every load that many times,
# the report keeps each server's median), BENCH_CONNECTIONS (32), BENCH_THREADS (2),
# BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/herd_bench), BENCH_PORT_BASE (8180:
# the seven servers listen on it and the six ports above it), BENCH_STRICT (0).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

duration=${BENCH_DURATION:-8s}
rounds=${BENCH_ROUNDS:-3}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive number, not '$rounds'"
warmup=${BENCH_WARMUP:-2s}
connections=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-2}
port_base=${BENCH_PORT_BASE:-8180}
[[ $port_base =~ ^[0-9]+$ ]] || die "BENCH_PORT_BASE must be a port number, not '$port_base'"
employees=10000
first_year=2000
last_year=2025
redis_get_key=herd-bench:redis-get:page
out=$local_dir/bench
lua=$repo/scripts/wrk/year_archive.lua
started=$(now_ms)

# The servers in the order they are loaded (each comparison's two sides back to back).
servers=(herd-dummy ceiling herd-two-tier hello herd-redis redis-get)
declare -A addr pid readyz_ms skipped
for i in "${!servers[@]}"; do
    addr[${servers[$i]}]=127.0.0.1:$((port_base + i))
done
# A seventh worker, like herd-dummy, serves the logged-in and login loads: the memory a login
# keeps (a 19 MiB Argon2 buffer per hashing thread) stays out of herd-dummy's peak RSS.
addr[herd-accounts]=127.0.0.1:$((port_base + ${#servers[@]}))

# A fresh directory, so no file of an earlier run is taken for one of this run.
rm -rf "$out"
mkdir -p "$out/pages"

if ! command -v wrk >/dev/null; then
    say "installing wrk (apt-get)"
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq wrk >/dev/null
fi
command -v curl >/dev/null || die "curl is needed"

say "building herd and the baselines (release; minutes when cold)"
build_started=$(now_ms)
cargo build --release -p herd-directory -p herd-baselines
build_ms=$(($(now_ms) - build_started))
bin=$CARGO_TARGET_DIR/release

# The bench gets its own database and settings: nothing of `make run` leaks in.
export HERD_DATABASE_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/herd_bench}
export HERD_REDIS_URL=${HERD_REDIS_URL:-redis://127.0.0.1:6379/0}
deploy/local/ensure-services.sh run --env-file "$local_dir/services-bench.env"
load_env "$local_dir/services-bench.env"
ensure_database "$HERD_DATABASE_URL"
ensure_secret_key
say "herd migrate + seed --count $employees (database ${HERD_DATABASE_URL##*/})"
"$bin/herd" migrate
"$bin/herd" seed --count "$employees"

# Servers run in sessions of their own (setsid) so that Ctrl-C reaches only this script, whose
# trap stops them with SIGTERM.
sampler=
cleanup() {
    trap - EXIT INT TERM
    [ -n "$sampler" ] && { kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; }
    if [ ${#pid[@]} -gt 0 ]; then
        say "stopping the servers"
        stop_pids "${pid[@]}"
        pid=()
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for name in "${servers[@]}" herd-accounts; do require_free_port "${addr[$name]}"; done

# start NAME READY_PATH [VAR=value...] PROGRAM [ARG...]: starts a server in its own session and
# waits (at most 30 s) for a 200 on READY_PATH; records its pid and, in ms, how long that took.
start() {
    local name=$1 ready=$2 t0
    shift 2
    t0=$(now_ms)
    setsid env "$@" >"$out/$name.log" 2>&1 &
    pid[$name]=$!
    if ! wait_for_200 "http://${addr[$name]}$ready" 30 "${pid[$name]}"; then
        tail -n 20 "$out/$name.log" >&2
        die "$name did not answer 200 on $ready (log: $out/$name.log)"
    fi
    readyz_ms[$name]=$(($(now_ms) - t0))
}
# start_herd NAME BACKEND: one herd worker with that cache backend, timed to its first /readyz 200.
start_herd() {
    say "starting $1 on ${addr[$1]} (HERD_CACHE__BACKEND=$2)"
    start "$1" /readyz HERD_BIND="${addr[$1]}" HERD_CACHE__BACKEND="$2" HERD_SERVER__DRAIN_DELAY=0 \
        "$bin/herd" serve
    say "$1 ready after ${readyz_ms[$1]} ms"
}

start_herd herd-dummy dummy
say "starting the ceiling on ${addr[ceiling]}"
start ceiling /employee/2010/ CEILING_BIND="${addr[ceiling]}" DATABASE_URL="$HERD_DATABASE_URL" "$bin/ceiling"

# wrk counts only 4xx/5xx as errors: make sure every year the load asks for is a 200 first.
# The uncached pages are kept: the baselines' body size and the cached pages are checked
# against them.
years=$(seq "$first_year" "$last_year")
for year in $years; do
    status=$(curl -s -o "$out/pages/$year.html" -w '%{http_code}' --max-time 5 \
        "http://${addr[herd-dummy]}/employee/$year/") || status=000
    [ "$status" = 200 ] || die "http://${addr[herd-dummy]}/employee/$year/ answered $status, not 200"
    status=$(http_status "http://${addr[ceiling]}/employee/$year/" 5)
    [ "$status" = 200 ] || die "http://${addr[ceiling]}/employee/$year/ answered $status, not 200"
done

say "comparing the pages byte for byte (scripts/check_ceiling.sh)"
if scripts/check_ceiling.sh "http://${addr[herd-dummy]}" "http://${addr[ceiling]}" 2000 2010 2025 >"$out/check_ceiling.txt"; then
    identical=yes
else
    identical=no
    say "WARNING: Herd's and the ceiling's pages differ, so the comparison is not like for like"
fi
cat "$out/check_ceiling.txt" >&2

# The page of the size nearest the mean over the years the load cycles through: hello pads its
# body to that size and redis-get serves that page.
read -r page_year page_bytes mean_bytes < <(
    for year in $years; do printf '%s %s\n' "$year" "$(wc -c <"$out/pages/$year.html")"; done |
        awk '{ year[NR] = $1; size[NR] = $2; sum += $2 }
             END { mean = sum / NR; best = 1
                   for (i = 2; i <= NR; i++) if ((size[i] - mean) ^ 2 < (size[best] - mean) ^ 2) best = i
                   printf "%s %s %.0f\n", year[best], size[best], mean }'
)
page_file=$out/pages/$page_year.html
say "year-archive pages: $mean_bytes bytes on average; the baselines send $page_bytes bytes (/employee/$page_year/)"

say "starting hello on ${addr[hello]} ($page_bytes-byte body)"
start hello / HELLO_BIND="${addr[hello]}" HELLO_BODY_BYTES="$page_bytes" "$bin/hello"
say "starting redis-get on ${addr[redis-get]} (GET $redis_get_key from $HERD_REDIS_URL)"
start redis-get / REDIS_GET_BIND="${addr[redis-get]}" REDIS_GET_URL="$HERD_REDIS_URL" \
    REDIS_GET_KEY="$redis_get_key" REDIS_GET_PAGE_FILE="$page_file" "$bin/redis-get"
cmp -s "$page_file" <(curl -s --max-time 5 "http://${addr[redis-get]}/") ||
    die "redis-get does not serve the stored page"
start_herd herd-two-tier two-tier
start_herd herd-redis redis
start_herd herd-accounts dummy

# verify_cached NAME: requests every year twice and requires the second answer to come from the
# cache (a 200 with an `Age` header, which Herd's page caches add to hits only) with the body
# of the uncached page. Sets skipped[NAME] to the reason when it does not.
verify_cached() {
    local name=$1 year status age
    for year in $years; do
        http_status "http://${addr[$name]}/employee/$year/" 5 >/dev/null
        status=$(curl -s -D "$out/pages/$name-$year.headers" -o "$out/pages/$name-$year.html" \
            -w '%{http_code}' --max-time 5 "http://${addr[$name]}/employee/$year/") || status=000
        age=$(awk -F': *' 'tolower($1) == "age" { sub(/\r$/, "", $2); print $2 }' "$out/pages/$name-$year.headers")
        if [ "$status" != 200 ]; then
            skipped[$name]="/employee/$year/ answered $status on the second request"
        elif [ -z "$age" ]; then
            skipped[$name]="not served from the cache: no Age header on the second GET /employee/$year/"
        elif ! cmp -s "$out/pages/$name-$year.html" "$out/pages/$year.html"; then
            skipped[$name]="the cached /employee/$year/ differs from the uncached page"
        else
            continue
        fi
        say "$name: ${skipped[$name]} (headers: $out/pages/$name-$year.headers); it is not loaded"
        return
    done
    say "$name: every year answered from the cache (Age header, same bytes as uncached)"
}
verify_cached herd-two-tier
verify_cached herd-redis

wrk_cmd="wrk -t$threads -c$connections -d$duration --latency"
clk_tck=$(getconf CLK_TCK)
# load NAME [SERVER [SCRIPT [CONNECTIONS]]]: loads SERVER (NAME by default) with wrk running
# SCRIPT (the year archive) over CONNECTIONS ($connections), after a warm-up, sampling its RSS;
# records under NAME the wrk output, the RSS samples and peak, and the CPU time the server
# process spent (utime + stime from /proc, in clock ticks, with CLK_TCK beside it).
load() {
    local name=$1 server=${2:-$1} script=${3:-$lua} conns=${4:-$connections}
    local p=${pid[$server]} ticks_before
    say "$name: warm-up ($warmup)"
    wrk -t"$threads" -c"$conns" -d"$warmup" -s "$script" "http://${addr[$server]}" >"$out/wrk-$name-warmup.txt"
    say "$name: wrk -t$threads -c$conns -d$duration --latency -s ${script#"$repo"/} (RSS sampled every 0.25 s)"
    (
        while kill -0 "$p" 2>/dev/null; do
            printf '%s %s\n' "$(now_ms)" "$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)"
            sleep 0.25
        done
    ) >"$out/rss-$name.txt" &
    sampler=$!
    ticks_before=$(cpu_ticks "$p")
    wrk -t"$threads" -c"$conns" -d"$duration" --latency -s "$script" "http://${addr[$server]}" >"$out/wrk-$name.txt"
    echo "$(($(cpu_ticks "$p") - ticks_before)) $clk_tck" >"$out/cpu-$name.txt"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    sampler=
    awk '/^VmHWM:/ {print $2}' "/proc/$p/status" >"$out/hwm-$name.txt"
    grep -E 'Requests/sec|Latency  |99%|Non-2xx|Socket errors' "$out/wrk-$name.txt" | sed 's/^/    /' >&2 || true
}
# cpu_ticks PID: the user + system CPU time of a process so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# Accounts, on herd-accounts (a worker like herd-dummy): the year archive again with a
# logged-in session cookie (herd-session: the session read from Redis, the user from Postgres,
# the page private), then login POSTs (herd-login: one Argon2id verify, a new session and
# last_login per request), over as many connections as the worker hashes at once (one per
# core), so that latency is the cost of a login rather than time queued behind others. The
# superuser and the cookies are made once.
bench_user=bench
bench_password="herd bench login password"
out_csu=$(HERD_SUPERUSER_PASSWORD=$bench_password "$bin/herd" createsuperuser --username "$bench_user" 2>&1) ||
    [[ $out_csu == *"already taken"* ]] || die "herd createsuperuser failed: $out_csu"
base_url="http://${addr[herd-accounts]}"
curl -s -c "$out/login.jar" --max-time 5 "$base_url/accounts/login/" >"$out/login.html"
csrf_token=$(grep -o 'name="csrfmiddlewaretoken" value="[^"]*"' "$out/login.html" | sed 's/.*value="//; s/"$//')
csrf_cookie=$(awk '$6 == "csrftoken" { print $7 }' "$out/login.jar")
[ -n "$csrf_token" ] && [ -n "$csrf_cookie" ] || die "the login page gave no CSRF token ($out/login.html)"
export BENCH_LOGIN_BODY="csrfmiddlewaretoken=$csrf_token&username=$bench_user&password=${bench_password// /+}"
status=$(curl -s -o /dev/null -c "$out/session.jar" -w '%{http_code}' --max-time 10 \
    -H "Cookie: csrftoken=$csrf_cookie" --data "$BENCH_LOGIN_BODY" "$base_url/accounts/login/") || status=000
session_cookie=$(awk '$6 == "sessionid" { print $7 }' "$out/session.jar")
[ "$status" = 302 ] && [ -n "$session_cookie" ] || die "logging in as $bench_user answered $status, no session"
curl -s --max-time 5 -H "Cookie: sessionid=$session_cookie" "$base_url/employee/2010/" |
    grep -q "Signed in as $bench_user" || die "the session cookie does not log $bench_user in"
login_connections=$(($(nproc) > threads ? $(nproc) : threads))

# Every load runs once per round, all servers in each round, so that a slow spell of this
# shared machine lands on both sides of a comparison; the report takes each server's median.
for round in $(seq "$rounds"); do
    say "round $round of $rounds"
    for name in "${servers[@]}"; do
        [ -n "${skipped[$name]:-}" ] || load "$name.r$round" "$name"
    done
    BENCH_COOKIE="sessionid=$session_cookie" load "herd-session.r$round" herd-accounts
    BENCH_COOKIE="csrftoken=$csrf_cookie" load "herd-login.r$round" herd-accounts \
        "$repo/scripts/wrk/login.lua" "$login_connections"
done
unset BENCH_LOGIN_BODY

report_args=(--rounds "$rounds")
for name in "${servers[@]}"; do
    if [ -n "${skipped[$name]:-}" ]; then
        report_args+=(--skipped "$name=${skipped[$name]}")
    else
        report_args+=(--server "$name")
    fi
    if [[ $name == herd-* ]]; then report_args+=(--readyz "$name=${readyz_ms[$name]}"); fi
done
report_args+=(--server herd-session --server herd-login --readyz "herd-accounts=${readyz_ms[herd-accounts]}")
cleanup

say "results"
python3 scripts/bench_report.py --out "$out" "${report_args[@]}" \
    --pages-identical "$identical" --page-bytes "$page_bytes" --page-year "$page_year" \
    --mean-page-bytes "$mean_bytes" \
    --wrk-command "$wrk_cmd -s scripts/wrk/year_archive.lua" --warmup "$warmup" --employees "$employees" ||
    die "the report failed"

say "plotting (matplotlib in .venv-bench)"
venv=$repo/.venv-bench
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/requirements-bench.txt
fi
"$venv/bin/python" scripts/plot_bench.py "$out/bench.json"

say "done in $((($(now_ms) - started) / 1000)) s ($((build_ms / 1000)) s of it building): $out/bench.{json,md,png}"
if [ "${BENCH_STRICT:-0}" = 1 ] && ! python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["pass"] else 1)' "$out/bench.json"; then
    exit 1
fi
