#!/usr/bin/env bash
# The local S3 server (Ceph radosgw on loopback) that tests, benchmarks and the demo run against.
# Usage: s3-server.sh install            apt-installs radosgw and the Ceph daemons it needs (root)
#        s3-server.sh up [DATA_DIR] [PORT] starts it (installing first if missing); prints shell exports
#        s3-server.sh down [DATA_DIR]      stops the daemons started in DATA_DIR, by pid
# DATA_DIR defaults to .s3-data in the repo, PORT to 7480 (or HOIST_S3_PORT).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/.." && pwd -P)
PACKAGES=(radosgw ceph-mon ceph-osd ceph-common curl uuid-runtime iproute2)

install() {
  local missing=()
  for b in ceph ceph-conf ceph-mon ceph-osd radosgw radosgw-admin monmaptool uuidgen curl ss; do
    command -v "$b" >/dev/null || missing+=("$b")
  done
  ((${#missing[@]} == 0)) && return 0
  echo "s3-server: installing ${PACKAGES[*]} (missing: ${missing[*]})" >&2
  local sudo=()
  ((EUID == 0)) || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >&2
}

cmd=${1:-}
shift || true
case $cmd in
  install) install ;;
  up)
    install
    exec "$HERE/radosgw/radosgw-up.sh" "${1:-$REPO/.s3-data}" "${2:-${HOIST_S3_PORT:-7480}}"
    ;;
  down) exec "$HERE/radosgw/radosgw-down.sh" "${1:-$REPO/.s3-data}" ;;
  *) echo "usage: $0 install | up [DATA_DIR] [PORT] | down [DATA_DIR]" >&2; exit 2 ;;
esac
