// The admission policy (scheduler/admission.ts): which open jobs send parts and which queued jobs
// open. Plain inputs, no server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Destination } from '../../shared/types.js';
import { PRIORITY_RANK } from '../../shared/states.js';
import { Lanes } from '../../src-main/engine/pacing/lanes.js';
import { MAX_PREPARING, byPriority, mayOvertake, partsAllowed, preparingFull, spare, writerOf, type LaneView, type OpenJob } from '../../src-main/engine/scheduler/admission.js';

const HIGH = PRIORITY_RANK.high;
const NORMAL = PRIORITY_RANK.normal;
const LOW = PRIORITY_RANK.low;

/** A lane of `limit` with parts in flight per rank [high, normal, low]. */
function lane(limit: number, byRank: [number, number, number]): LaneView {
  return { limit, inflight: byRank.reduce((n, k) => n + k, 0), inflightByRank: byRank };
}

const job = (jobId: number, rank: number, phase: OpenJob['phase'], destinationId = 1, key = `clip-${jobId}.mov`): OpenJob => ({ jobId, destinationId, key, rank, phase });
const none = () => false;

test('priorities order the sending jobs: high, normal, low, and the older job first within one', () => {
  const jobs = [job(5, LOW, 'sending'), job(4, NORMAL, 'sending'), job(3, HIGH, 'sending'), job(2, NORMAL, 'sending'), job(6, HIGH, 'sending')];
  assert.deepEqual(jobs.sort(byPriority).map((j) => j.jobId), [3, 6, 2, 4, 5]);
});

test('per-lane limits: parts fill the lane up to its limit and no further for the same priority', () => {
  assert.equal(partsAllowed(lane(4, [0, 1, 0]), 4, NORMAL), 3);
  assert.equal(partsAllowed(lane(4, [0, 4, 0]), 4, NORMAL), 0, 'full for a normal part');
  assert.equal(partsAllowed(lane(4, [0, 3, 1]), 4, LOW), 0, 'full for a low part too');
  // A queued job waits while a job of its lane still has parts to send, or while open work of its rank fills the lane.
  assert.equal(spare(lane(2, [0, 0, 0]), 1, NORMAL, [job(1, NORMAL, 'sending')], () => true), false, 'an open job with parts left fills the room first');
  assert.equal(spare(lane(2, [0, 1, 0]), 1, NORMAL, [job(1, NORMAL, 'sending')], none), true, 'one slot left and nothing else to send');
  assert.equal(spare(lane(2, [0, 1, 0]), 1, NORMAL, [job(1, NORMAL, 'sending'), job(2, NORMAL, 'preparing')], none), false, 'a preparing job takes the last slot');
  assert.equal(spare(lane(2, [0, 2, 0]), 2, NORMAL, [job(1, NORMAL, 'sending', 1)], none), false, 'in flight counts whatever job it is');
  assert.equal(spare(lane(2, [0, 0, 0]), 2, NORMAL, [job(1, NORMAL, 'sending', 1)], () => true), true, "another destination's job does not hold this lane");
});

test('a small file (one PutObject) prepares while the lane is full of parts, up to the lane\'s limit preparing; never past a job with parts left', () => {
  const full = lane(2, [0, 2, 0]);
  const sending = [job(1, NORMAL, 'sending'), job(2, NORMAL, 'sending')];
  assert.equal(spare(full, 1, NORMAL, sending, none), false, 'a multipart job waits for a slot before it opens');
  assert.equal(spare(full, 1, NORMAL, sending, none, true), true, 'a small file looks at its key while the parts are on the wire');
  assert.equal(spare(full, 1, NORMAL, [...sending, job(3, NORMAL, 'preparing'), job(4, NORMAL, 'preparing')], none, true), false, 'at most the lane\'s limit preparing');
  assert.equal(spare(full, 1, NORMAL, [...sending, job(3, NORMAL, 'sending')], (id) => id === 3, true), false, 'a prepared job still waiting for its slot comes first');
});

test('a high job opens behind a lane full of lower-priority work, and one of its parts overtakes', () => {
  const full = lane(3, [0, 2, 1]);
  const open = [job(1, NORMAL, 'sending'), job(2, LOW, 'sending')];
  assert.equal(spare(full, 1, HIGH, open, () => true), true, 'lower-priority work is not counted for a high job');
  assert.equal(spare(full, 1, NORMAL, open, none), true, 'a normal job counts the normal parts only: the low part leaves it room');
  assert.equal(spare(lane(3, [0, 3, 0]), 1, NORMAL, open, none), false, 'a normal job waits behind normal parts');
  assert.equal(spare(lane(3, [0, 3, 0]), 1, HIGH, open, none), true, 'a high one does not');
  assert.equal(mayOvertake(full, 3, HIGH), true);
  assert.equal(partsAllowed(full, 3, HIGH), 1, 'one part beyond the limit');
  assert.equal(partsAllowed(full, 3, NORMAL), 0, 'not for a normal part: a low part is in flight, but so are normal ones');
  assert.equal(partsAllowed(lane(3, [0, 0, 3]), 3, NORMAL), 1, 'a normal part overtakes a lane of low parts');
  assert.equal(partsAllowed(lane(3, [1, 2, 1]), 3, HIGH), 0, 'at most one beyond the limit: a high part is already on the wire');
  assert.equal(mayOvertake(lane(3, [0, 0, 0]), 3, HIGH), false, 'an empty lane has room of its own');
});

test('no overtaking while SlowDown holds a lane below its concurrency', () => {
  const lanes = new Lanes(() => null, () => undefined);
  const real = lanes.get({ id: 1, concurrency: 4 } as Destination);
  const held = [real.acquire(NORMAL), real.acquire(NORMAL), real.acquire(NORMAL), real.acquire(NORMAL)];
  assert.equal(partsAllowed(real, 4, HIGH), 1, 'at full concurrency a high part may overtake');
  real.onSlowDown(Date.now());
  assert.equal(real.limit, 2);
  assert.equal(mayOvertake(real, 4, HIGH), false);
  assert.equal(partsAllowed(real, 4, HIGH), 0, 'the server asked for fewer requests: nothing beyond the limit');
  for (const t of held) t.release();
  assert.equal(partsAllowed(real, 4, HIGH), 2, 'up to the lowered limit once the parts settle');
});

test('at most MAX_PREPARING jobs of a rank or higher prepare at once; lower ranks do not count', () => {
  const preparing = Array.from({ length: MAX_PREPARING }, (_, i) => job(i + 1, NORMAL, 'preparing'));
  assert.equal(preparingFull(preparing, NORMAL), true);
  assert.equal(preparingFull(preparing, LOW), true, 'normal jobs preparing hold back a low one');
  assert.equal(preparingFull(preparing, HIGH), false, 'a high job is not held back by normal ones');
  assert.equal(preparingFull(preparing.slice(1), NORMAL), false);
});

test('one writer per key: a queued job waits while an open job of its destination writes its key, whatever the priorities', () => {
  const open = [job(1, LOW, 'sending', 1, 'day01/A001.mov'), job(2, NORMAL, 'completing', 2, 'day01/A002.mov')];
  assert.equal(writerOf(open, 1, 'day01/A001.mov')?.jobId, 1, 'a high job for the same key still waits for the low one');
  assert.equal(writerOf([job(3, NORMAL, 'preparing', 1, 'day01/A001.mov')], 1, 'day01/A001.mov')?.jobId, 3, 'a preparing job holds its key already');
  assert.equal(writerOf(open, 2, 'day01/A001.mov'), undefined, 'the same key at another destination is another object');
  assert.equal(writerOf(open, 1, 'day01/A001.MOV'), undefined, 'keys are case-sensitive');
  assert.equal(writerOf(open, 1, 'day01/A003.mov'), undefined);
  // The lane has room for it: only the key holds it back.
  assert.equal(spare(lane(4, [0, 0, 0]), 1, HIGH, open, none), true);
});
