#!/usr/bin/env bash
# Makes sure Postgres and Redis answer for `make test`, `make run` and `make bench`.
#
#   deploy/local/ensure-services.sh test [--env-file FILE]  checks HERD_TEST_DATABASE_URL / HERD_TEST_REDIS_URL
#   deploy/local/ensure-services.sh run  [--env-file FILE]  checks HERD_DATABASE_URL / HERD_REDIS_URL
#   deploy/local/ensure-services.sh stop                    stops the private servers this script started
#   deploy/local/ensure-services.sh status                  says what answers where
#
# For each service: when one answers at the wanted URL it is used as it is. Otherwise a private
# server is started on 127.0.0.1 (Postgres :5490 in its own data directory, Redis :6390, nothing
# kept on disk), after installing the Debian packages when the binaries are missing, and the
# URL is rewritten to point at it. Running it again reuses what is up: it is idempotent.
#
# The URLs to use are written as shell assignments (KEY='value') to the env file, default
# target-local/services-<profile>.env, which make and the scripts source.
#
# Knobs (not HERD_* on purpose: herd refuses unknown HERD_ settings): LOCAL_SERVICES_DIR
# (default target-local/services), LOCAL_PG_PORT (5490), LOCAL_REDIS_PORT (6390).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
state_dir=${LOCAL_SERVICES_DIR:-$repo/target-local/services}
pg_port=${LOCAL_PG_PORT:-5490}
redis_port=${LOCAL_REDIS_PORT:-6390}
redis_dir=$state_dir/redis

# The Postgres data directory: under $state_dir when the postgres user can reach it (a checkout
# under /root cannot be), else under /var/tmp. The choice is remembered for `stop`.
pick_pg_data() {
    if [ -f "$state_dir/pg-data-dir" ]; then
        cat "$state_dir/pg-data-dir"
    elif [ "$(id -u)" -ne 0 ] || runuser -u postgres -- test -x "$state_dir" 2>/dev/null; then
        printf '%s\n' "$state_dir/pg"
    else
        printf '/var/tmp/herd-local-%s/pg\n' "$(printf '%s' "$state_dir" | md5sum | cut -c1-8)"
    fi
}
mkdir -p "$state_dir"
pg_data=$(pick_pg_data)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ensure-services: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 64
}

# --- installing -------------------------------------------------------------------------------

apt_updated=false
apt_install() {
    local as_root=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "need root (or sudo) to install: $*"
        as_root=(sudo)
    fi
    if ! $apt_updated; then
        say "apt-get update"
        "${as_root[@]}" apt-get update -qq
        apt_updated=true
    fi
    say "apt-get install -y $*"
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "$@" >&2
}

pg_bindir() {
    # Debian keeps initdb and pg_ctl off PATH, under /usr/lib/postgresql/<major>/bin.
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && printf '%s\n' "$dir"
}

need_pg_client() {
    command -v pg_isready >/dev/null && command -v psql >/dev/null && return
    apt_install postgresql-client
}

need_redis_cli() {
    command -v redis-cli >/dev/null && return
    apt_install redis-tools
}

# --- URLs -------------------------------------------------------------------------------------

# The database name of a postgres:// URL (the path without the slash and query).
url_dbname() {
    local rest=${1#*://}
    case $rest in
        */*) rest=${rest#*/}; printf '%s\n' "${rest%%\?*}" ;;
        *) printf 'postgres\n' ;;
    esac
}

# The db number of a redis:// URL (default 0).
url_redis_db() {
    local rest=${1#*://}
    case $rest in
        */*) rest=${rest#*/}; rest=${rest%%\?*}; printf '%s\n' "${rest:-0}" ;;
        *) printf '0\n' ;;
    esac
}

pg_answers() { pg_isready -q -t 3 -d "$1" >/dev/null 2>&1; }
redis_answers() { [ "$(timeout 5 redis-cli -u "$1" ping 2>/dev/null)" = PONG ]; }

# --- private Postgres -------------------------------------------------------------------------

# Runs a command as the postgres user when we are root: Postgres refuses to run as root.
as_pg_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start_private_pg() {
    local bindir
    bindir=$(pg_bindir) || true
    if [ -z "$bindir" ]; then
        apt_install postgresql
        bindir=$(pg_bindir) || die "postgresql installed but no initdb under /usr/lib/postgresql/*/bin"
    fi
    if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
        die "no 'postgres' user to run the server as (the postgresql package creates it)"
    fi
    if [ ! -f "$pg_data/PG_VERSION" ]; then
        say "initdb: a private Postgres data directory in $pg_data"
        mkdir -p "$pg_data"
        [ "$(id -u)" -eq 0 ] && chown postgres: "$pg_data"
        chmod 700 "$pg_data"
        printf '%s\n' "$pg_data" >"$state_dir/pg-data-dir"
        as_pg_owner "$bindir/initdb" -D "$pg_data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$state_dir/initdb.log" 2>&1 ||
            { cat "$state_dir/initdb.log" >&2; die "initdb failed"; }
    fi
    say "starting private Postgres on 127.0.0.1:$pg_port (log: $pg_data/server.log)"
    # The socket goes to /tmp: the data directory's path may be too long for a socket.
    as_pg_owner "$bindir/pg_ctl" -D "$pg_data" -l "$pg_data/server.log" -w -t 30 \
        -o "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=/tmp -c fsync=off -c max_connections=200" \
        start >&2 || { tail -n 20 "$pg_data/server.log" >&2; die "Postgres did not start"; }
}

stop_private_pg() {
    local bindir
    bindir=$(pg_bindir) || return 0
    if [ -f "$pg_data/postmaster.pid" ]; then
        say "stopping private Postgres ($pg_data)"
        as_pg_owner "$bindir/pg_ctl" -D "$pg_data" -m fast -w -t 30 stop >&2 || true
    fi
}

# --- private Redis ----------------------------------------------------------------------------

start_private_redis() {
    command -v redis-server >/dev/null || apt_install redis-server
    # The package may start its own server on 6379; ours is independent of it.
    mkdir -p "$redis_dir"
    say "starting private Redis on 127.0.0.1:$redis_port (log: $redis_dir/redis.log)"
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
        --dir "$redis_dir" --pidfile "$redis_dir/redis.pid" --logfile "$redis_dir/redis.log" >&2
    for _ in $(seq 1 50); do
        redis_answers "redis://127.0.0.1:$redis_port/0" && return 0
        sleep 0.1
    done
    tail -n 20 "$redis_dir/redis.log" >&2
    die "Redis did not start on :$redis_port"
}

stop_private_redis() {
    local pid
    pid=$(cat "$redis_dir/redis.pid" 2>/dev/null) || pid=
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        say "stopping private Redis (:$redis_port, pid $pid)"
        redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || kill -TERM "$pid"
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -f "$redis_dir/redis.pid"
}

# --- ensuring ---------------------------------------------------------------------------------

ensure_pg() {
    local wanted=$1 private
    need_pg_client
    if pg_answers "$wanted"; then
        say "Postgres answers at $(redact "$wanted"): using it"
        printf '%s\n' "$wanted"
        return
    fi
    private="postgres://postgres@127.0.0.1:$pg_port/$(url_dbname "$wanted")"
    if pg_answers "$private"; then
        say "Postgres does not answer at $(redact "$wanted"); the private one on :$pg_port is up: using it"
    else
        say "Postgres does not answer at $(redact "$wanted")"
        start_private_pg
    fi
    printf '%s\n' "$private"
}

ensure_redis() {
    local wanted=$1 private
    need_redis_cli
    if redis_answers "$wanted"; then
        say "Redis answers at $(redact "$wanted"): using it"
        printf '%s\n' "$wanted"
        return
    fi
    private="redis://127.0.0.1:$redis_port/$(url_redis_db "$wanted")"
    if redis_answers "$private"; then
        say "Redis does not answer at $(redact "$wanted"); the private one on :$redis_port is up: using it"
    else
        say "Redis does not answer at $(redact "$wanted")"
        start_private_redis
    fi
    printf '%s\n' "$private"
}

# Hides a password in a URL for printing.
redact() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }

write_env() {
    local file=$1 db_var=$2 db_url=$3 redis_var=$4 redis_url=$5
    mkdir -p "$(dirname "$file")"
    umask 077
    {
        printf '# Written by deploy/local/ensure-services.sh; source it with set -a.\n'
        printf "%s='%s'\n" "$db_var" "$db_url" "$redis_var" "$redis_url"
    } >"$file.tmp"
    mv "$file.tmp" "$file"
    say "URLs in $file: $db_var=$(redact "$db_url") $redis_var=$redis_url"
}

profile=${1:-}
[ $# -gt 0 ] && shift
env_file=
while [ $# -gt 0 ]; do
    case $1 in
        --env-file) env_file=${2:?--env-file needs a path}; shift 2 ;;
        *) usage ;;
    esac
done

case $profile in
    test)
        db_var=HERD_TEST_DATABASE_URL redis_var=HERD_TEST_REDIS_URL
        db_default=postgres://postgres@127.0.0.1:5432/postgres
        ;;
    run)
        db_var=HERD_DATABASE_URL redis_var=HERD_REDIS_URL
        db_default=postgres://postgres@127.0.0.1:5432/herd
        ;;
    stop)
        stop_private_pg
        stop_private_redis
        exit 0
        ;;
    status)
        need_pg_client
        need_redis_cli
        for url in postgres://postgres@127.0.0.1:5432/postgres "postgres://postgres@127.0.0.1:$pg_port/postgres"; do
            if pg_answers "$url"; then echo "Postgres up:   $url"; else echo "Postgres down: $url"; fi
        done
        for url in redis://127.0.0.1:6379/0 "redis://127.0.0.1:$redis_port/0"; do
            if redis_answers "$url"; then echo "Redis up:   $url"; else echo "Redis down: $url"; fi
        done
        exit 0
        ;;
    *) usage ;;
esac

db_url=$(ensure_pg "${!db_var:-$db_default}")
redis_url=$(ensure_redis "${!redis_var:-redis://127.0.0.1:6379/0}")
write_env "${env_file:-$repo/target-local/services-$profile.env}" "$db_var" "$db_url" "$redis_var" "$redis_url"
