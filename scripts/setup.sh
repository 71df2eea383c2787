#!/usr/bin/env bash
# Prepares a fresh machine: the local S3 server's packages, PostgreSQL's server, Chromium for UI tests, the tools the ASC MHL
# tests check Hoist's output with, the npm dependencies, the build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

sudo=()
((EUID == 0)) || sudo=(sudo)
# Installs Debian packages, refreshing the package lists once if they are stale.
apt_install() {
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >&2 ||
    { "${sudo[@]}" apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >&2; }
}

bash scripts/s3-server.sh install
# PostgreSQL for the shared-queue tests: scripts/pg-server.sh runs a throwaway cluster of its own. Debian's
# package would also create and start its own cluster on port 5432; postgresql-common goes first, and its
# createcluster.conf says not to (the documented switch), so nothing of Debian's runs or holds a port.
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  [[ -x /usr/bin/pg_conftool ]] || apt_install postgresql-common
  "${sudo[@]}" pg_conftool /etc/postgresql-common/createcluster.conf set create_main_cluster false
  apt_install postgresql
fi
# Debian's Chromium drives the end-to-end UI tests (playwright-core never downloads a browser).
command -v chromium >/dev/null || apt_install chromium
# xmllint validates manifests against the ASC's schema; xxhsum computes hashes independently of Hoist.
{ command -v xmllint >/dev/null && command -v xxhsum >/dev/null; } || apt_install libxml2-utils xxhash
# Reliability tests: faketime skews hoist's clock; inotify-tools watches a canary folder for any access.
{ command -v faketime >/dev/null && command -v inotifywait >/dev/null; } || apt_install faketime inotify-tools
# npm run bench compares Hoist with rclone (aws-cli, where installed, too).
command -v rclone >/dev/null || apt_install rclone
# Electron's binary is fetched from outside at install; the engine, CLI and tests do not need it.
export ELECTRON_SKIP_BINARY_DOWNLOAD=1
if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run build
