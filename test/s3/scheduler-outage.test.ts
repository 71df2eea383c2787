// The scheduler's stop and start when the job database fails (issue 15, "A lost database connection").
// Stop: a node says it stopped only once Scheduler.stop() has settled, so stop must halt every open job and
// wait for every part handed to the worker pool, even though halting a job reads the database (its
// event). test/s3/cluster-outage.test.ts saw an UploadPart reach the bucket after a node said it had
// stopped: the first open job's halt threw, the others were never halted, and a part still being
// read by its worker was sent afterwards. Here the order is made, not hoped for: real radosgw for each
// job's prepare (HeadObject, the integrity probe, CreateMultipartUpload), a store that starts failing
// as an unreachable PostgreSQL server does, and a worker pool whose upload parts wait until the test
// lets them go (a worker still reading its part), the rest run by real worker threads.
// Start: nodes coming back together after an outage each put the interrupted jobs back at once, and
// PostgreSQL may end one's statement as a deadlock (cluster-outage.test.ts saw it end a node).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { AbortMultipartUploadCommand } from '@aws-sdk/client-s3';
import { HoistError } from '../../shared/errors.js';
import { Scheduler } from '../../src-main/engine/scheduler/scheduler.js';
import { CredentialSource } from '../../src-main/engine/s3/connection.js';
import type { UploadStore } from '../../src-main/engine/store/upload-store.js';
import { WorkerPool, type PartRunner, type TaskOutcome } from '../../src-main/engine/upload/worker-pool.js';
import { testEngine, until } from '../support/engine.js';
import { MiB, listUploads, s3Env, tempDir, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket } = await s3Fixture('scheduler-stop');

/** The store as the scheduler sees it; `fail(method)` decides, per call, whether that call throws `fail`'s error instead. */
function failingStore(store: UploadStore, fail: (method: string) => Error | null): UploadStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const err = fail(String(prop));
        if (err) throw err;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as UploadStore;
}

/** Upload parts: the first job's fail at once (retried after a long back-off), the others wait for `let go` or an abort. */
class HeldPartsPool implements PartRunner {
  readonly real = new WorkerPool(2);
  readonly held = new Map<number, { jobKey: string; resolve: (o: TaskOutcome) => void }>();
  readonly aborted = new Set<number>();
  private next = 1_000_000;

  constructor(private readonly failingKey: string) {}

  run(...args: Parameters<PartRunner['run']>): ReturnType<PartRunner['run']> {
    const [task] = args;
    if (task.kind !== 'upload-part') return this.real.run(...args);
    const taskId = this.next++;
    if (task.key === this.failingKey) {
      return { taskId, outcome: Promise.resolve({ ok: false, error: new HoistError('s3.server-error', { operation: 'UploadPart' }).info, aborted: false, bytesSent: 0 }) };
    }
    const outcome = new Promise<TaskOutcome>((resolve) => this.held.set(taskId, { jobKey: task.key, resolve }));
    return { taskId, outcome };
  }

  /** The scheduler starts a thread when it opens a job (WorkerPool.warm): the real pool's. */
  warm(): void {
    this.real.warm();
  }

  abort(taskId: number): void {
    const h = this.held.get(taskId);
    if (!h) return this.real.abort(taskId);
    this.aborted.add(taskId);
    this.held.delete(taskId);
    h.resolve({ ok: false, error: new HoistError('internal.unexpected').info, aborted: true, bytesSent: 0 });
  }
}

test('stop halts every open job and waits for its parts even when the job database cannot be read; nothing handed to a worker is left to start after it', async () => {
  const dir = tempDir('scheduler-stop');
  const { engine, dest } = testEngine(dir, { endpoint: s3Env().endpoint, bucket, partSize: 5 * MiB, concurrency: 2, singlePutThreshold: 5 * MiB });
  const keys = ['stop/first.mov', 'stop/second.mov'];
  for (const key of keys) await engine.enqueue([await writeRandomFile(path.join(dir, path.basename(key)), 15 * MiB)], { destination: dest, key });
  // The store as the scheduler sees it, failing as an unreachable PostgreSQL server does once the database is "down".
  let down = false;
  const unreachable = () => Object.assign(new Error('Cannot reach the job database: connection refused'), { code: 'store.unreachable' });
  const store = failingStore(engine.store, () => (down ? unreachable() : null));
  const pool = new HeldPartsPool(keys[0]!);
  const scheduler = new Scheduler(store, pool, new CredentialSource(), { tickMs: 50, retry: { baseDelayMs: 60_000, maxDelayMs: 120_000 } });
  try {
    scheduler.start();
    // The first job (opened first) waits for its parts' retry with none in flight; the second has parts its workers have not sent yet.
    await until('the second job has parts handed to the pool', () => pool.held.size > 0 && [...pool.held.values()].every((h) => h.jobKey === keys[1]), 60_000);
    const handed = [...pool.held.keys()];
    down = true;
    await assert.doesNotReject(scheduler.stop(), 'stop settles even though halting a job cannot read the database');
    assert.deepEqual([...pool.aborted].sort(), handed.sort(), 'every part handed to a worker was aborted before stop settled');
    assert.equal(pool.held.size, 0, 'no part is left to start after the stop');
  } finally {
    down = false;
    await scheduler.stop().catch(() => undefined);
    for (const [taskId, h] of pool.held) h.resolve({ ok: false, error: new HoistError('internal.unexpected').info, aborted: true, bytesSent: taskId });
    await pool.real.close();
    await engine.close();
    for (const u of await listUploads(client, bucket)) if (u.key.startsWith('stop/')) await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.key, UploadId: u.uploadId }));
  }
});

test('a start whose recovery of interrupted jobs fails (a deadlock with another node) does not throw; the recovery is made again at a later tick and the job is sent', async () => {
  const dir = tempDir('scheduler-start');
  const { engine, dest } = testEngine(dir, { endpoint: s3Env().endpoint, bucket, singlePutThreshold: 5 * MiB });
  const [job] = await engine.enqueue([await writeRandomFile(path.join(dir, 'small.mov'), 1024)], { destination: dest, key: 'start/small.mov' });
  // Interrupted: running when its process went.
  assert.ok(engine.store.transition(job!.id, ['queued'], 'running'));
  let recoveries = 0;
  const deadlock = Object.assign(new Error('deadlock detected'), { code: 'SQLITE_BUSY', pgCode: '40P01' });
  const store = failingStore(engine.store, (method) => (method === 'recoverInterrupted' && ++recoveries === 1 ? deadlock : null));
  const pool = new WorkerPool(1);
  const scheduler = new Scheduler(store, pool, new CredentialSource(), { tickMs: 50 });
  try {
    assert.doesNotThrow(() => scheduler.start(), 'start survives the failed recovery');
    await until('the interrupted job recovered and sent', () => engine.getJob(job!.id)?.state === 'done', 60_000);
    assert.ok(recoveries >= 2, 'recovery made again');
  } finally {
    await scheduler.stop().catch(() => undefined);
    await pool.close();
    await engine.close();
  }
});
