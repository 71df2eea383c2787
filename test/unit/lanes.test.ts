// The lanes' slot tokens and the hill-climbing tuner (lanes.ts), driven by a clock of its own: no server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConcurrencyDecision, Destination } from '../../shared/types.js';
import { Lanes, type Bounds, type Lane, type SlotToken } from '../../src-main/engine/pacing/lanes.js';

const WINDOW = 1_000;

/** A lane of destination 1 with `concurrency`, automatic within `bounds` (null: fixed), and a clock the test moves. */
function laneWith(concurrency: number, bounds: Bounds | null) {
  const clock = { now: 0 };
  const recorded: ConcurrencyDecision[] = [];
  const lanes = new Lanes(() => bounds, (d) => recorded.push(d), { windowMs: WINDOW }, () => clock.now);
  const lane = lanes.get({ id: 1, concurrency } as Destination);
  return { lane, lanes, clock, recorded };
}

/**
 * One measurement window with the lane kept full: `throughput(limit)` bytes per second go on the
 * wire, then the window's verdict. Returns the limit after it.
 */
function fullWindow(l: ReturnType<typeof laneWith>, throughput: (limit: number) => number): number {
  const { lane, clock } = l;
  const held: SlotToken[] = [];
  while (lane.inflight < lane.limit) held.push(lane.acquire(1));
  for (let i = 0; i < 10; i++) {
    lane.look();
    lane.addBytes(throughput(lane.limit) / 10);
  }
  for (const t of held) t.release();
  clock.now += WINDOW;
  lane.tick(clock.now);
  return lane.limit;
}

/** Throughput that grows with concurrency up to `knee` parts, flat beyond. */
const kneeAt = (knee: number) => (limit: number) => Math.min(limit, knee) * 1_000_000;

test('a slot token counts once: releasing it twice is harmless, and releaseAll frees what is held', () => {
  const { lane } = laneWith(4, null);
  const a = lane.acquire(0);
  const b = lane.acquire(1);
  const c = lane.acquire(1);
  assert.equal(lane.inflight, 3);
  assert.deepEqual([...lane.inflightByRank], [1, 2, 0]);
  b.release();
  b.release();
  assert.equal(lane.inflight, 2, 'a second release changes nothing');
  assert.deepEqual([...lane.inflightByRank], [1, 1, 0]);
  lane.releaseAll();
  assert.equal(lane.inflight, 0);
  assert.deepEqual([...lane.inflightByRank], [0, 0, 0]);
  a.release();
  c.release();
  assert.equal(lane.inflight, 0, 'tokens released by releaseAll do not count again');
});

test('automatic: the level rises while throughput improves, and goes back when a raise brings nothing', () => {
  const l = laneWith(2, { min: 2, max: 16 });
  const limits: number[] = [];
  for (let i = 0; i < 8; i++) limits.push(fullWindow(l, kneeAt(6)));
  const reasons = l.recorded.map((d) => d.reason);
  assert.equal(reasons[0], 'bounds', 'the bounds are applied first');
  assert.ok(reasons.includes('probe'), `a probe: ${reasons.join(', ')}`);
  assert.ok(reasons.includes('rising'), `a rise kept: ${reasons.join(', ')}`);
  assert.ok(Math.max(...limits) >= 6, `it climbed to the knee: ${limits.join(', ')}`);
  assert.ok(reasons.includes('no-gain'), `past the knee it goes back: ${reasons.join(', ')}`);
  const noGain = l.recorded.find((d) => d.reason === 'no-gain')!;
  assert.ok(noGain.to < noGain.from, 'no-gain lowers the level');
  assert.ok(noGain.measuredBytesPerSecond !== null, 'a verdict carries the measured rate');
});

test('automatic: a window the lane was not kept full says nothing about the level', () => {
  const l = laneWith(4, { min: 2, max: 16 });
  for (let i = 0; i < 5; i++) {
    l.lane.addBytes(10_000_000);
    l.clock.now += WINDOW;
    l.lane.tick(l.clock.now);
  }
  assert.deepEqual(l.recorded.map((d) => d.reason), ['bounds'], 'only the bounds, no probe');
  assert.equal(l.lane.limit, 4);
});

test('automatic: SlowDown halves the level once per burst and holds it; errors take one step, once a window', () => {
  const l = laneWith(8, { min: 2, max: 16 });
  l.clock.now = 10_000;
  l.lane.onSlowDown(l.clock.now);
  assert.equal(l.lane.limit, 4, 'halved');
  l.lane.onSlowDown(l.clock.now + 100);
  assert.equal(l.lane.limit, 4, 'the same burst halves once');
  // Held: full, faster windows do not raise it until the hold is over.
  for (let i = 0; i < 4; i++) fullWindow(l, kneeAt(16));
  assert.equal(l.lane.limit, 4, 'held after SlowDown');
  l.lane.onError(l.clock.now);
  assert.equal(l.lane.limit, 3, 'an error takes one step down');
  l.lane.onError(l.clock.now + 1);
  assert.equal(l.lane.limit, 3, 'once per window');
  const last = l.recorded.at(-1)!;
  assert.deepEqual({ from: last.from, to: last.to, reason: last.reason, destinationId: last.destinationId }, { from: 4, to: 3, reason: 'error', destinationId: 1 });
});

test('automatic: never outside the bounds, whatever the server says', () => {
  const l = laneWith(3, { min: 3, max: 5 });
  for (let i = 0; i < 40; i++) {
    fullWindow(l, (limit) => limit * 1_000_000);
    assert.ok(l.lane.limit >= 3 && l.lane.limit <= 5, `within 3..5: ${l.lane.limit}`);
  }
  assert.equal(l.lane.limit, 5, 'a link that always rewards more parts reaches the maximum');
  for (let i = 0; i < 10; i++) {
    l.clock.now += 2_000;
    l.lane.onSlowDown(l.clock.now);
    l.lane.onError(l.clock.now);
    assert.ok(l.lane.limit >= 3, `never below the minimum: ${l.lane.limit}`);
  }
  assert.equal(l.lane.limit, 3);
  for (const d of l.recorded) assert.ok(d.to >= 3 && d.to <= 5, `decision within bounds: ${JSON.stringify(d)}`);
});

test('fixed: SlowDown halves the limit, which climbs back one step per 5 s without SlowDown', () => {
  const l = laneWith(8, null);
  l.clock.now = 10_000;
  l.lane.onSlowDown(l.clock.now);
  assert.equal(l.lane.limit, 4);
  l.lane.onSlowDown(l.clock.now + 200);
  assert.equal(l.lane.limit, 4, 'one halving per burst');
  l.lanes.tick(() => ({ id: 1, concurrency: 8 }) as Destination);
  assert.equal(l.lane.limit, 4, 'not yet');
  l.clock.now += 5_001;
  l.lane.tick(l.clock.now);
  assert.equal(l.lane.limit, 4, 'the burst ended with its last SlowDown, 4.8 s ago');
  l.clock.now += 300;
  l.lane.tick(l.clock.now);
  assert.equal(l.lane.limit, 5, 'one step 5 s after the last SlowDown');
  l.lane.tick(l.clock.now + 100);
  assert.equal(l.lane.limit, 5, 'not two at once');
  for (let i = 0; i < 10; i++) l.lane.tick((l.clock.now += 5_001));
  assert.equal(l.lane.limit, 8, 'back to the concurrency, never beyond');
});

test('every decision is recorded on the lane and told to the listener, the oldest dropped past 200', () => {
  const l = laneWith(8, null);
  for (let i = 0; i < 300; i++) {
    l.clock.now += 10_000;
    l.lane.onSlowDown(l.clock.now);
    l.lane.tick((l.clock.now += 5_001));
  }
  assert.ok(l.recorded.length > 200);
  const lane: Lane = l.lanes.find(1)!;
  assert.equal(lane.decisions.length, 200);
  assert.deepEqual(lane.decisions, l.recorded.slice(-200));
  for (const d of lane.decisions) assert.match(d.at, /^\d{4}-\d\d-\d\dT/);
});
