// The shared token bucket (pacing/token-bucket.ts) across a change of rate. In a cluster a node's
// share of a limit is set again whenever the other nodes' demands move, so a change must not cost the
// senders what they already waited (test/s3/cluster-bandwidth.test.ts measured 87-96% of the limit
// when it did) nor count their bytes twice (the demand a node publishes is read from the count).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenBucket, createBucketMemory, takeTokens } from '../../src-main/engine/pacing/token-bucket.js';

test('a change between two limits keeps the bytes already promised: the next sender waits behind them', () => {
  const bucket = new TokenBucket(createBucketMemory());
  bucket.setRate(1_000_000);
  const first = bucket.reserve(1_000_000);
  assert.ok(first.waitMs > 900, `a fresh bucket holds nothing: the first megabyte waits a second (${first.waitMs} ms)`);
  bucket.setRate(1_000_100);
  const next = bucket.reserve(1000);
  assert.ok(next.waitMs > 900, `the megabyte promised before the change is still ahead of the next sender (${next.waitMs} ms)`);
  bucket.setRate(null);
  assert.equal(bucket.reserve(10_000_000).waitMs, 0, 'unlimited: nobody waits');
  bucket.setRate(1_000_000);
  assert.ok(bucket.reserve(1000).waitMs < 10, 'from unlimited, the bucket starts empty of debt');
});

test('a sender waiting through changes of rate is charged once: its bytes are counted once, not once per change', async () => {
  const bucket = new TokenBucket(createBucketMemory());
  bucket.setRate(1_000_000);
  const sending = takeTokens([bucket], 300_000);
  await new Promise((r) => setTimeout(r, 20));
  bucket.setRate(1_000_100);
  await new Promise((r) => setTimeout(r, 20));
  bucket.setRate(3_000_000);
  await sending;
  assert.equal(bucket.taken, 300_000, 'the bytes counted once, not once per change');
});
