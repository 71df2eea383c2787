// The server's clock as answers tell it (s3/clock.ts). The part workers send without the SDK, so the
// rule the SDK applied to every answer (its Date header, unless cached or too slow to trust) is
// Hoist's own; test/s3/clock-skew.test.ts shows a skewed computer uploading through it end to end.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServerClocks, clockOffsetFromAnswer } from '../../src-main/engine/s3/clock.js';

const now = Date.parse('2026-12-05T10:00:00Z');

test("an answer's Date header gives the server's clock minus ours", () => {
  assert.equal(clockOffsetFromAnswer('Sat, 05 Dec 2026 10:30:00 GMT', undefined, now - 200, now), 30 * 60_000);
  assert.equal(clockOffsetFromAnswer('Sat, 05 Dec 2026 09:59:50 GMT', undefined, now - 200, now), -10_000);
});

test('an answer from a cache, without a date, with an unreadable date, or after 15 minutes teaches nothing', () => {
  assert.equal(clockOffsetFromAnswer('Sat, 05 Dec 2026 10:30:00 GMT', '12', now - 200, now), undefined);
  assert.equal(clockOffsetFromAnswer(undefined, undefined, now - 200, now), undefined);
  assert.equal(clockOffsetFromAnswer('yesterday', undefined, now - 200, now), undefined);
  assert.equal(clockOffsetFromAnswer('Sat, 05 Dec 2026 10:30:00 GMT', undefined, now - 16 * 60_000, now), undefined);
});

test('the endpoint clocks move only for a minute or more, rounded to the second', () => {
  const clocks = new ServerClocks();
  const dest = { endpoint: 'http://127.0.0.1:9000', region: 'us-east-1' };
  assert.equal(clocks.learn(dest, 30_000), null, 'half a minute is the network and the header grain');
  assert.equal(clocks.offsetFor(dest), 0);
  assert.equal(clocks.learn(dest, 1_800_400), 1_800_000);
  assert.equal(clocks.offsetFor(dest), 1_800_000);
  assert.equal(clocks.offsetFor({ endpoint: null, region: 'us-east-1' }), 0, 'another endpoint keeps its own');
});
