#!/usr/bin/env bash
# Prepares a fresh machine: the local S3 server's packages, the npm dependencies, the build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/s3-server.sh install
# Electron's binary is fetched from outside at install; the engine, CLI and tests do not need it.
export ELECTRON_SKIP_BINARY_DOWNLOAD=1
if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run build
