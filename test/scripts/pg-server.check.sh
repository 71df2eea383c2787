#!/usr/bin/env bash
# A check of scripts/pg-server.sh with no test runner: two clusters on two ports at once, each
# stopped by its pid, status after stop, a port in use refused with a clear error. .ci/run runs it:
#   bash test/scripts/pg-server.check.sh [FIRST_PORT]   (default: the first of two free ports from 55442)
# Needs Debian's postgresql (npm run setup) and psql. Prints "ok N - …" lines; exits non-zero on the first failure.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
PG=$HERE/../../scripts/pg-server.sh
port_busy() { ss -Hltn "( sport = :$1 )" 2>/dev/null | grep -q .; }
P1=${1:-55442}
if (($# == 0)); then while port_busy "$P1" || port_busy $((P1 + 1)); do P1=$((P1 + 2)); done; fi
P2=$((P1 + 1))
TMP=$(mktemp -d /tmp/pg-server-check.XXXXXX)
chmod 0755 "$TMP" # the postgres user (when run as root) must reach the clusters' folders
A=$TMP/a B=$TMP/b C=$TMP/c
n=0
ok() { echo "ok $((++n)) - $*"; }
fail() { echo "not ok $((++n)) - $*" >&2; exit 1; }
cleanup() {
  bash "$PG" stop --dir "$A" 2>/dev/null || true
  bash "$PG" stop --dir "$B" 2>/dev/null || true
  bash "$PG" stop --dir "$C" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
one() { psql "$1" -Atc 'select 1' 2>/dev/null; }

url_a=$(bash "$PG" start --port "$P1" --dir "$A" 2>/dev/null)
[[ $url_a == "postgres://postgres@127.0.0.1:$P1/postgres" ]] || fail "start prints the URL (got '$url_a')"
[[ $(one "$url_a") == 1 ]] || fail "the first cluster answers at $url_a"
ok "start creates a cluster, waits, prints a URL that answers"
url_b=$(bash "$PG" start --port "$P2" --dir "$B" 2>/dev/null)
[[ $(one "$url_b") == 1 && $(one "$url_a") == 1 ]] || fail "two clusters answer at once"
ok "a second cluster on another port runs beside the first"
[[ $(bash "$PG" start --port "$P1" --dir "$A" 2>/dev/null) == "$url_a" ]] || fail "start again prints the running cluster's URL"
ok "start on a running cluster is a no-op that prints its URL"

pid_a=$(head -n 1 "$A/data/postmaster.pid")
bash "$PG" stop --dir "$A" 2>/dev/null
[[ ! -e /proc/$pid_a ]] || fail "stop ends pid $pid_a"
status=$(bash "$PG" status --dir "$A") && fail "status exits non-zero after stop" || [[ $? == 3 ]] || fail "status after stop exits 3"
[[ $status == stopped ]] || fail "status after stop says stopped (got '$status')"
[[ $(one "$url_b") == 1 ]] || fail "the other cluster still answers"
[[ $(bash "$PG" status --dir "$B") == "running (pid $(head -n 1 "$B/data/postmaster.pid")) $url_b" ]] || fail "status of the other says running"
[[ $(bash "$PG" url --dir "$A") == "$url_a" ]] || fail "url of a stopped cluster is still its URL"
ok "stop ends the postmaster by its pid, status says stopped, the other cluster runs on"

err=$(bash "$PG" start --port "$P2" --dir "$C" 2>&1 >/dev/null) && fail "start on a port in use fails"
[[ $err == *"port 127.0.0.1:$P2 is already in use"* ]] || fail "a port in use gives a clear error (got '$err')"
[[ ! -e $C/data ]] || fail "a port in use creates no cluster"
ok "a port in use is refused before anything is created: $err"

url_a2=$(bash "$PG" start --dir "$A" 2>/dev/null)
[[ $url_a2 == "$url_a" && $(one "$url_a2") == 1 ]] || fail "a stopped cluster starts again on its port"
ok "a stopped cluster starts again on the port it had"
echo "# pass $n"
