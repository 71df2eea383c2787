#!/usr/bin/env bash
# Runs a command with the local S3 server up and its settings in the environment, then stops
# the server if this script started it. Usage: with-s3.sh COMMAND [ARGS...]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
DATA=${HOIST_S3_DATA:-$(cd "$HERE/.." && pwd -P)/.s3-data}
started=0
if [[ -z ${S3_ENDPOINT:-} ]]; then
  eval "$("$HERE/s3-server.sh" up "$DATA")"
  started=1
fi
# Tests talk to loopback only; a proxy or a stray endpoint from the environment must not interfere.
export AWS_ENDPOINT_URL_S3=$S3_ENDPOINT NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
rc=0
"$@" || rc=$?
if ((started)) && [[ -z ${HOIST_KEEP_S3:-} ]]; then "$HERE/s3-server.sh" down "$DATA" || true; fi
exit $rc
