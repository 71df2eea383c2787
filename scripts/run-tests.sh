#!/usr/bin/env bash
# Runs every compiled test file against the local S3 server (started here if not already up).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
cd "$HERE/.."
files=("$@")
if ((${#files[@]} == 0)); then mapfile -t files < <(find build/test -name '*.test.js' | sort); fi
# One test file at a time: they share one S3 server and the 2 cores of the machine.
exec bash "$HERE/with-s3.sh" node --test --test-concurrency=1 "${files[@]}"
