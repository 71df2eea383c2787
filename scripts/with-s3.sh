#!/usr/bin/env bash
# Runs a command with the local S3 server up and its settings in the environment, then stops
# the server if this script started it. Usage: with-s3.sh COMMAND [ARGS...]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
DATA=${HOIST_S3_DATA:-$(cd "$HERE/.." && pwd -P)/.s3-data}
started=0
port_busy() { ss -Hltn "( sport = :$1 )" 2>/dev/null | grep -q .; }
# A port for S3 (and its mon at +10000) that no other server holds, unless our own server already runs there.
pick_port() {
  local port=${HOIST_S3_PORT:-7480} ours
  ours=$(cat "$DATA/run/rgw.port" 2>/dev/null || true)
  [[ -s $DATA/ceph.conf && -n $ours ]] && { echo "$ours"; return; }
  while port_busy "$port" || port_busy $((port + 10000)); do port=$((port + 7)); done
  echo "$port"
}
if [[ -z ${S3_ENDPOINT:-} ]]; then
  bash "$HERE/s3-server.sh" install
  eval "$("$HERE/s3-server.sh" up "$DATA" "$(pick_port)")"
  started=1
fi
# Tests talk to loopback only; a proxy or a stray endpoint from the environment must not interfere.
export AWS_ENDPOINT_URL_S3=$S3_ENDPOINT NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
rc=0
"$@" || rc=$?
if ((started)) && [[ -z ${HOIST_KEEP_S3:-} ]]; then "$HERE/s3-server.sh" down "$DATA" || true; fi
exit $rc
