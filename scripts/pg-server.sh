#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback, for the shared-queue tests and for trying a shared
# queue locally. It installs nothing (`npm run setup` installs Debian's `postgresql`); it says what
# is missing.
# Usage: pg-server.sh start [--port N] [--dir D]  creates the cluster in D on first use, starts it,
#                                                 waits until it accepts connections, prints its URL
#        pg-server.sh stop [--dir D]              stops it by the pid in its postmaster.pid
#        pg-server.sh status [--dir D]            "running (pid N) URL" (exit 0) or "stopped" (exit 3)
#        pg-server.sh url [--dir D]               its URL, running or not (exit 1 if there is no cluster)
# D defaults to .pg-data in the repo (HOIST_PG_DATA), or to a folder in /tmp where the postgres user
# cannot reach the repo; N to the port it last ran on, else HOIST_PG_PORT, else 55432 (Debian's own
# cluster keeps 5432). Progress and errors go to stderr, the URL alone to stdout.
# Access: trust, from 127.0.0.1 and from the unix socket inside D only (the server listens on nothing
# else): anyone logged in to this machine may connect as the superuser, which suits a test cluster.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/.." && pwd -P)
SUPERUSER=postgres

log() { echo "pg-server: $*" >&2; }
die() { echo "pg-server: ERROR: $*" >&2; exit 1; }

# The newest server under Debian's /usr/lib/postgresql/VERSION/bin (or PG_BIN), or a message on what to install.
find_bin() {
  if [[ -n ${PG_BIN:-} ]]; then echo "$PG_BIN"; return; fi
  local d
  d=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' 2>/dev/null | sort -V | tail -n 1)
  [[ -n $d ]] || die "no PostgreSQL server found (/usr/lib/postgresql/*/bin/initdb): run 'npm run setup', or apt-get install -y --no-install-recommends postgresql"
  dirname "$d"
}

# Commands run as the cluster's owner: the postgres user when we are root (initdb and postgres refuse root).
as_owner() {
  if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi
}
owner_check() {
  ((EUID == 0)) || return 0
  id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' user (Debian's postgresql-common creates it): apt-get install postgresql, or run as another user"
  command -v runuser >/dev/null || die "running as root needs runuser (util-linux)"
}

default_dir() {
  if [[ -n ${HOIST_PG_DATA:-} ]]; then echo "$HOIST_PG_DATA"; return; fi
  # The postgres user must reach the repo to own a folder in it; a checkout under /root, say, it cannot.
  if ((EUID != 0)) || runuser -u postgres -- test -x "$REPO" 2>/dev/null; then echo "$REPO/.pg-data"; return; fi
  echo "/tmp/hoist-pg-cluster-$(printf %s "$REPO" | cksum | cut -d' ' -f1)"
}

port_busy() { ss -Hltn "( sport = :$1 )" 2>/dev/null | grep -q .; }
# "(by radosgw, pid 123)" where ss may tell who listens.
port_holder() {
  local who
  who=$(ss -Hltnp "( sport = :$1 )" 2>/dev/null | grep -o '(("[^"]*",pid=[0-9]*' | head -n 1 | sed -E 's/\(\("([^"]*)",pid=([0-9]*)/(by \1, pid \2)/') || true
  echo "$who"
}

# The pid of the postmaster serving $D/data, if it runs: postmaster.pid's first line, checked against /proc.
running_pid() {
  local f=$D/data/postmaster.pid pid
  [[ -s $f ]] || return 1
  pid=$(head -n 1 "$f")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$D/data" || return 1
  echo "$pid"
}
# The port it runs on (postmaster.pid's fourth line) or last ran on.
cluster_port() {
  if running_pid >/dev/null; then sed -n 4p "$D/data/postmaster.pid"; return; fi
  [[ -s $D/port ]] && cat "$D/port"
}
url_of() { echo "postgres://$SUPERUSER@127.0.0.1:$1/postgres"; }

create_cluster() {
  local bin=$1
  log "creating a cluster in $D ($("$bin/postgres" --version))"
  mkdir -p "$D"
  chmod 0700 "$D"
  ((EUID != 0)) || chown postgres: "$D"
  as_owner test -w "$D" || die "the postgres user cannot write $D: give --dir a folder it can reach (under /tmp, say)"
  as_owner "$bin/initdb" -D "$D/data" -U "$SUPERUSER" --auth=trust --encoding=UTF8 --locale=C >"$D/initdb.log" 2>&1 ||
    { tail -n 15 "$D/initdb.log" >&2; die "initdb failed (whole output in $D/initdb.log)"; }
  # Loopback only: the socket in D and 127.0.0.1 (the server listens nowhere else).
  as_owner tee "$D/data/pg_hba.conf" >/dev/null <<EOF
# scripts/pg-server.sh: a throwaway test cluster, trusted from this machine only
local all all trust
host  all all 127.0.0.1/32 trust
EOF
  # fsync, full-page writes and synchronous commit off: the cluster is thrown away, never recovered after
  # a machine crash (a stopped postgres, even SIGKILLed, loses nothing: the OS still holds its writes).
  as_owner tee -a "$D/data/postgresql.conf" >/dev/null <<EOF

# scripts/pg-server.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$D'
max_connections = 200
fsync = off
full_page_writes = off
synchronous_commit = off
EOF
}

start() {
  local bin pid port holder
  bin=$(find_bin)
  [[ -x $bin/pg_ctl && -x $bin/postgres && -x $bin/pg_isready ]] || die "$bin lacks pg_ctl, postgres or pg_isready: reinstall Debian's postgresql"
  command -v ss >/dev/null || die "missing 'ss': apt-get install -y iproute2"
  owner_check
  if pid=$(running_pid); then
    port=$(cluster_port)
    [[ -z $PORT || $PORT == "$port" ]] || die "the cluster in $D already runs on port $port (pid $pid): stop it first to move it to $PORT"
    log "already running (pid $pid)"
    url_of "$port"
    return
  fi
  port=${PORT:-$(cluster_port || true)}
  port=${port:-${HOIST_PG_PORT:-55432}}
  [[ $port =~ ^[0-9]{1,5}$ ]] && ((10#$port >= 1 && 10#$port <= 65535)) || die "bad port '$port'"
  port=$((10#$port))
  # Before anything is started: another server on the port would make postgres fail with a line in its log.
  if port_busy "$port"; then
    holder=$(port_holder "$port")
    die "port 127.0.0.1:$port is already in use${holder:+ $holder}: pick another with --port"
  fi
  ((${#D} + 20 < 108)) || die "the socket path under $D would pass the 107-byte limit of a unix socket: give a shorter --dir"
  [[ -s $D/data/PG_VERSION ]] || create_cluster "$bin"
  # A postmaster.pid left by a postgres that died: not ours any more (running_pid said so).
  rm -f "$D/data/postmaster.pid"
  echo "$port" >"$D/port"
  log "starting on 127.0.0.1:$port (log: $D/postgres.log)"
  as_owner "$bin/pg_ctl" -D "$D/data" -l "$D/postgres.log" -o "-p $port" -w -t "${HOIST_PG_START_TIMEOUT:-60}" start >&2 ||
    { tail -n 15 "$D/postgres.log" >&2 2>/dev/null; die "postgres did not start (log: $D/postgres.log)"; }
  # pg_ctl -w waited for the postmaster to say ready; a connection over TCP is what the tests need.
  local tries=0
  until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$SUPERUSER" -d postgres; do
    ((++tries < 100)) || die "postgres started but does not accept connections on 127.0.0.1:$port (log: $D/postgres.log)"
    sleep 0.1
  done
  log "ready (pid $(running_pid))"
  url_of "$port"
}

# Fast shutdown (SIGINT: sessions ended, everything written), then immediate (SIGQUIT), then SIGKILL.
stop() {
  local pid sig waited
  if ! pid=$(running_pid); then log "not running in $D"; return 0; fi
  for sig in INT QUIT KILL; do
    kill -s "$sig" "$pid" 2>/dev/null || true
    for ((waited = 0; waited < ${HOIST_PG_STOP_TIMEOUT:-30} * 10; waited++)); do
      [[ -e /proc/$pid ]] || { log "stopped (pid $pid, SIG$sig)"; return 0; }
      sleep 0.1
    done
    log "pid $pid still up after SIG$sig"
  done
  die "could not stop pid $pid"
}

cmd=${1:-}
shift || true
PORT=
D=
while (($#)); do
  case $1 in
    --port) PORT=${2:?--port needs a number}; shift 2 ;;
    --dir) D=${2:?--dir needs a folder}; shift 2 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
[[ -n $D ]] || D=$(default_dir)
[[ $D != *[[:space:]\'\"]* ]] || die "the folder must not contain whitespace or quotes: '$D'"
[[ $cmd != start ]] || mkdir -p "$D"
# Canonical, as postgres's command line names it (running_pid compares the two).
[[ ! -d $D ]] || D=$(cd "$D" && pwd -P)

case $cmd in
  start) start ;;
  stop) stop ;;
  status)
    if pid=$(running_pid); then echo "running (pid $pid) $(url_of "$(cluster_port)")"; else echo "stopped"; exit 3; fi
    ;;
  url)
    port=$(cluster_port) || die "no cluster in $D"
    url_of "$port"
    ;;
  *) echo "usage: $0 start [--port N] [--dir D] | stop [--dir D] | status [--dir D] | url [--dir D]" >&2; exit 2 ;;
esac
