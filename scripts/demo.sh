#!/usr/bin/env bash
# Hoist's main job on a machine with no S3 account: a local S3 server (started by with-s3.sh),
# a 1 GiB camera-sized file, a resumable multipart upload with live progress, then the queue.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${S3_ENDPOINT:?run through scripts/with-s3.sh (npm run demo)}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOIST_DB=$work/hoist.db
bucket=hoist-demo
# Create the bucket (hoist uploads into buckets; it does not create them).
curl -fsS -o /dev/null -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
  -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" "$S3_ENDPOINT/$bucket" || true
echo "demo: writing a 1 GiB clip to $work/A001_C003_0925XY.mov" >&2
head -c $((1024 * 1024 * 1024)) /dev/urandom >"$work/A001_C003_0925XY.mov"
node bin/hoist.js --endpoint "$S3_ENDPOINT" --path-style upload "$work/A001_C003_0925XY.mov" --bucket "$bucket" --prefix dailies/day01 --concurrency 4
node bin/hoist.js jobs
node bin/hoist.js --endpoint "$S3_ENDPOINT" --path-style uploads list --bucket "$bucket"
