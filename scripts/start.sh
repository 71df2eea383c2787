#!/usr/bin/env bash
# `npm start`: the desktop app where Electron can start; otherwise (an offline install skipped
# Electron's binary, or no display) the headless host, whose URL opens the same UI in a browser.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ -f node_modules/electron/path.txt ]] && { [[ -n ${DISPLAY:-}${WAYLAND_DISPLAY:-} ]] || [[ $(uname) != Linux ]]; }; then
  # better-sqlite3 must match Electron's ABI; electron-builder rebuilds it when packaging.
  exec npx electron .
fi
echo "hoist: Electron cannot start here (no binary or no display); serving the UI on 127.0.0.1 instead." >&2
exec node bin/hoist.js serve "$@"
