#!/usr/bin/env bash
# Runs a command with a PostgreSQL server for the shared-queue tests, its URL in HOIST_TEST_PG_URL,
# then stops the server if this script started it (HOIST_KEEP_PG=1 keeps it running).
# Usage: with-pg.sh COMMAND [ARGS...]
# A HOIST_TEST_PG_URL already set is used as it is, and nothing is started or stopped. Otherwise the
# throwaway cluster of scripts/pg-server.sh (HOIST_PG_DATA, or its default folder) is started on
# HOIST_PG_PORT (55432) or the next free port; without a PostgreSQL server installed this fails, saying
# what to install, as a test that needs one would.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
dir=()
[[ -z ${HOIST_PG_DATA:-} ]] || dir=(--dir "$HOIST_PG_DATA")
port_busy() { ss -Hltn "( sport = :$1 )" 2>/dev/null | grep -q .; }
# Our cluster's port if it runs, else a port no other server holds.
pick_port() {
  local port=${HOIST_PG_PORT:-55432}
  if bash "$HERE/pg-server.sh" status "${dir[@]}" >/dev/null; then
    bash "$HERE/pg-server.sh" url "${dir[@]}" | sed -E 's#.*:([0-9]+)/.*#\1#'
    return
  fi
  while port_busy "$port"; do port=$((port + 1)); done
  echo "$port"
}
stop() { bash "$HERE/pg-server.sh" stop "${dir[@]}" || true; }
if [[ -z ${HOIST_TEST_PG_URL:-} ]]; then
  # A cluster already running (kept by an earlier HOIST_KEEP_PG=1 run, say) is used and left running.
  ran=0
  bash "$HERE/pg-server.sh" status "${dir[@]}" >/dev/null || ran=$?
  HOIST_TEST_PG_URL=$(bash "$HERE/pg-server.sh" start --port "$(pick_port)" "${dir[@]}")
  export HOIST_TEST_PG_URL
  [[ $ran == 0 || -n ${HOIST_KEEP_PG:-} ]] || trap stop EXIT
fi
rc=0
"$@" || rc=$?
exit $rc
