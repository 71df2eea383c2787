#!/usr/bin/env bash
# `npm start`: the desktop app where Electron can start; otherwise (an offline install skipped
# Electron's binary, or no display) the headless host, whose URL opens the same UI in a browser.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# node_modules' better-sqlite3 serves the CLI (Node's ABI); Electron gets its own build beside it.
electron_sqlite() {
  local version stamp=build/electron-native/electron-version work
  version=$(node -p "require('electron/package.json').version")
  [[ -f build/electron-native/better_sqlite3.node && $(cat "$stamp" 2>/dev/null) == "$version" ]] && return 0
  echo "hoist: building better-sqlite3 for Electron $version (needs Electron's headers from electronjs.org)" >&2
  work=$(mktemp -d)
  cp -r node_modules/better-sqlite3 "$work/"
  (cd "$work/better-sqlite3" && npm_config_nodedir='' npx --yes node-gyp rebuild --release \
    --runtime=electron --target="$version" --dist-url=https://electronjs.org/headers >&2)
  mkdir -p build/electron-native
  cp "$work/better-sqlite3/build/Release/better_sqlite3.node" build/electron-native/
  echo "$version" >"$stamp"
  rm -rf "$work"
}

if [[ -f node_modules/electron/path.txt ]] && { [[ -n ${DISPLAY:-}${WAYLAND_DISPLAY:-} ]] || [[ $(uname) != Linux ]]; }; then
  electron_sqlite
  exec npx electron .
fi
echo "hoist: Electron cannot start here (no binary or no display); serving the UI on 127.0.0.1 instead." >&2
exec node bin/hoist.js serve "$@"
