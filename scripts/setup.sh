#!/usr/bin/env bash
# Prepares a fresh machine: the local S3 server's packages, Chromium for UI tests, the npm dependencies, the build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/s3-server.sh install
# Debian's Chromium drives the end-to-end UI tests (playwright-core never downloads a browser).
if ! command -v chromium >/dev/null; then
  sudo=()
  ((EUID == 0)) || sudo=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium >&2 ||
    { "${sudo[@]}" apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium >&2; }
fi
# Reliability tests: faketime skews hoist's clock; inotify-tools watches a canary folder for any access.
missing=()
command -v faketime >/dev/null || missing+=(faketime)
command -v inotifywait >/dev/null || missing+=(inotify-tools)
if ((${#missing[@]} > 0)); then
  sudo=()
  ((EUID == 0)) || sudo=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
    { "${sudo[@]}" apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; }
fi
# Electron's binary is fetched from outside at install; the engine, CLI and tests do not need it.
export ELECTRON_SKIP_BINARY_DOWNLOAD=1
if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run build
