// One tick's writes in one commit (scheduler/tick-writes.ts, issue 12): a small file's end, the
// `sending` marks and the claims a tick decided go in one transaction and are acted on only once it
// committed; a transaction that fails acts on nothing. A store of its own counts the transactions
// and can fail one; no server: the parts never reach a worker (their connection never comes).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Destination } from '../../shared/types.js';
import { Lanes } from '../../src-main/engine/pacing/lanes.js';
import type { JobRecord, PartRecord } from '../../src-main/engine/store/rows.js';
import { openedJob, type ActiveJob } from '../../src-main/engine/scheduler/active-job.js';
import type { GroupedWrite, RunContext } from '../../src-main/engine/scheduler/context.js';
import { reserve } from '../../src-main/engine/scheduler/send.js';
import { TickWrites } from '../../src-main/engine/scheduler/tick-writes.js';

const dest = { id: 1, concurrency: 4 } as Destination;

function job(id: number): ActiveJob {
  const row = { id, mode: 'single', partCount: 1, bytesDone: 0, partsDone: 0, priority: 'normal', key: `f${id}`, growing: 0 } as JobRecord;
  const a = openedJob(row, dest, { path: `/tmp/f${id}`, mhlRoot: null } as never);
  a.phase = 'sending';
  return a;
}

const part = (jobId: number): PartRecord => ({ jobId, partNumber: 1, offset: 0, length: 10 }) as PartRecord;

/** A store that logs every write with the transaction it ran in; `failCommit` throws once the transaction's writes ran. */
function fakeStore(failCommit = false) {
  const log: string[] = [];
  let tx = 0;
  let inTx = 0;
  return {
    log,
    transactions: () => tx,
    atomically<T>(fn: () => T): T {
      tx++;
      inTx = tx;
      try {
        const out = fn();
        if (failCommit) throw new Error('SQLITE_BUSY: database is locked');
        return out;
      } finally {
        inTx = 0;
      }
    },
    markPartSending(jobId: number) {
      log.push(`tx${inTx} sending ${jobId}`);
      return true;
    },
    write(what: string) {
      log.push(`tx${inTx} ${what}`);
    },
  };
}

function context(tracked: unknown[]): RunContext {
  // The part's connection never comes: nothing reaches a worker, and what was launched is seen in `tracked`.
  return { track: (p: unknown) => tracked.push(p), net: { conn: () => new Promise(() => {}) } } as unknown as RunContext;
}

test("a tick's end, sends and claims are one transaction, acted on once it committed", () => {
  const store = fakeStore();
  const lane = new Lanes(() => null, () => {}).get(dest);
  const tracked: unknown[] = [];
  const acted: string[] = [];
  const pending: GroupedWrite[] = [{ write: () => store.write('end 1'), then: () => acted.push('end 1 told'), alone: () => acted.push('end 1 alone') }];
  const writes = new TickWrites(pending);
  const sending = job(2);
  writes.send(reserve(sending, part(2), lane));
  writes.open(job(3));
  const opened: number[] = [];
  const claimed = { id: 3, state: 'running' } as JobRecord;
  // The claim's row (as written) goes with the job to `opened`, which tells hosts of it without reading it again.
  writes.commit(context(tracked), store as never, (id) => (store.write(`claim ${id}`), claimed), (a, row) => (assert.equal(row, claimed), opened.push(a.job.id)));
  assert.equal(store.transactions(), 1);
  assert.deepEqual(store.log, ['tx1 end 1', 'tx1 sending 2', 'tx1 claim 3']);
  assert.deepEqual(acted, ['end 1 told']);
  assert.deepEqual(opened, [3]);
  assert.equal(tracked.length, 1, 'the part went on its way');
  assert.equal(lane.inflight, 1);
  assert.equal(pending.length, 0);
});

test('a tick whose transaction fails acts on nothing: slots given back, no job opened, the ends left to be written alone', () => {
  const store = fakeStore(true);
  const lane = new Lanes(() => null, () => {}).get(dest);
  const tracked: unknown[] = [];
  const acted: string[] = [];
  const end: GroupedWrite = { write: () => store.write('end 1'), then: () => acted.push('end 1 told'), alone: () => acted.push('end 1 alone') };
  const pending: GroupedWrite[] = [end];
  const writes = new TickWrites(pending);
  const sending = job(2);
  writes.send(reserve(sending, part(2), lane));
  assert.equal(lane.inflight, 1, 'the reserved part holds its slot while the tick decides');
  writes.open(job(3));
  const opened: number[] = [];
  assert.throws(() => writes.commit(context(tracked), store as never, () => ({ id: 3 }) as JobRecord, (a) => opened.push(a.job.id)), /database is locked/);
  assert.equal(lane.inflight, 0, 'the slot is given back');
  assert.equal(sending.inflight.size, 0, 'the part is not in flight');
  assert.equal(tracked.length, 0, 'nothing was sent');
  assert.deepEqual(opened, []);
  assert.deepEqual(acted, [], 'no host was told of an end that did not commit');
  assert.deepEqual(pending, [end], 'the end waits to be written alone');
});
