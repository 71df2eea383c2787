import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { WorkerPool, needsCore, type NewTask } from '../../src-main/engine/upload/worker-pool.js';
import type { HeldTask } from '../support/held-worker.js';

const HELD_WORKER = new URL('../support/held-worker.js', import.meta.url);

/** A part as the auto integrity mode sends it to a verifying server: CRC32C, no MD5 (light hashing). */
const LIGHT = { kind: 'upload-part', checksumAlgorithm: 'crc32c', contentMd5: false };
/** A part with Content-MD5 (md5 mode, radosgw). */
const MD5 = { kind: 'upload-part', checksumAlgorithm: null };

/** Runs a held task; resolves `started` once the thread has begun it. */
function runHeld(pool: WorkerPool, path: HeldTask['path'], flag: Int32Array, kind: object = LIGHT): { started: Promise<void>; done: Promise<boolean> } {
  let started: () => void = () => undefined;
  const startedP = new Promise<void>((resolve) => (started = resolve));
  const { outcome } = pool.run({ ...kind, path, flag } as unknown as NewTask, () => started());
  return { started: startedP, done: outcome.then((o) => o.ok) };
}

const newFlag = () => new Int32Array(new SharedArrayBuffer(4));

test('light tasks that leave their thread idle all go to one thread: a second starts only when the first is saturated', async () => {
  const pool = new WorkerPool(2, HELD_WORKER);
  const flag = newFlag();
  try {
    const first = [1, 2, 3, 4].map(() => runHeld(pool, 'wait', flag));
    await Promise.all(first.map((t) => t.started));
    // Longer than the pool's measuring window, so that its next look takes the thread's utilization.
    await sleep(300);
    const more = [5, 6, 7, 8].map(() => runHeld(pool, 'wait', flag));
    await Promise.all(more.map((t) => t.started));
    assert.equal(pool.threads, 1, 'eight tasks in flight on an idle thread: no second thread');
    Atomics.store(flag, 0, 1);
    assert.deepEqual(await Promise.all([...first, ...more].map((t) => t.done)), Array(8).fill(true));
  } finally {
    Atomics.store(flag, 0, 1);
    await pool.close();
  }
});

/** Runs one task to its end on the pool's first thread: the thread has answered, its start is behind it. */
async function warmUp(pool: WorkerPool): Promise<void> {
  const flag = newFlag();
  Atomics.store(flag, 0, 1);
  assert.equal(await runHeld(pool, 'wait', flag).done, true);
}

/**
 * Holds the pool's first thread with a task of `path` past the pool's measuring window, then gives it a
 * light task: it must go to that thread, no second one started.
 */
async function noSecondThread(path: HeldTask['path'], why: string, warm: boolean): Promise<void> {
  const pool = new WorkerPool(2, HELD_WORKER);
  const holding = newFlag();
  const waiting = newFlag();
  try {
    if (warm) await warmUp(pool);
    const first = runHeld(pool, path, holding);
    await first.started;
    // Longer than the pool's measuring window, so that its next look takes the thread's utilization.
    await sleep(300);
    const second = runHeld(pool, 'wait', waiting);
    assert.equal(pool.threads, 1, why);
    Atomics.store(holding, 0, 1);
    Atomics.store(waiting, 0, 1);
    assert.deepEqual(await Promise.all([first.done, second.done]), [true, true]);
  } finally {
    Atomics.store(holding, 0, 1);
    Atomics.store(waiting, 0, 1);
    await pool.close();
  }
}

test('a thread busy before its first answer (its own start) is not taken as saturated: no second thread for light tasks', async () => {
  // A part worker's first task runs cold (its code compiled, the CRC library loaded, the first
  // connection made): its loop is busy, as this spinning task's is, before it has answered anything.
  await noSecondThread('spin', 'the first thread has not answered yet: its busy loop is its start', false);
});

test('a thread whose loop is held in a call that uses no CPU is not taken as saturated (Linux: its CPU time is read)', { skip: process.platform !== 'linux' }, async () => {
  // Its event loop counts the call as busy, as it counts the time the thread waits for a core
  // another thread or process holds: neither is a load another thread of ours would take off it.
  await noSecondThread('block', 'the thread used no CPU: no second thread', true);
});

test('a task given while every thread is busy and saturated starts another thread, up to the limit', async () => {
  const pool = new WorkerPool(2, HELD_WORKER);
  const spinning = newFlag();
  const waiting = newFlag();
  try {
    await warmUp(pool);
    const spin = runHeld(pool, 'spin', spinning);
    await spin.started;
    await sleep(300);
    const second = runHeld(pool, 'wait', waiting);
    assert.equal(pool.threads, 2, 'given while the first thread still spins: it runs on a thread of its own');
    await second.started;
    // At the limit it waits behind a running task (here the spinning one) rather than start a third thread.
    const third = runHeld(pool, 'wait', waiting);
    assert.equal(pool.threads, 2, 'no more threads than the limit');
    Atomics.store(spinning, 0, 1);
    Atomics.store(waiting, 0, 1);
    assert.deepEqual(await Promise.all([spin.done, second.done, third.done]), [true, true, true]);
  } finally {
    Atomics.store(spinning, 0, 1);
    Atomics.store(waiting, 0, 1);
    await pool.close();
  }
});

test('tasks hashing with MD5 start another thread whenever every thread is busy, saturated or not', async () => {
  const pool = new WorkerPool(2, HELD_WORKER);
  const flag = newFlag();
  try {
    const tasks = [1, 2, 3].map(() => runHeld(pool, 'wait', flag, MD5));
    await Promise.all(tasks.map((t) => t.started));
    assert.equal(pool.threads, 2);
    Atomics.store(flag, 0, 1);
    assert.deepEqual(await Promise.all(tasks.map((t) => t.done)), [true, true, true]);
  } finally {
    Atomics.store(flag, 0, 1);
    await pool.close();
  }
});

test('which tasks want a core of their own', () => {
  const base = { path: 'f', offset: 0, length: 1, snapshot: { size: 1, mtimeMs: 0, inode: '1' } };
  const part = { ...base, kind: 'upload-part', uploadId: 'u', partNumber: 1, bucket: 'b', key: 'k', conn: {} } as const;
  const cases: Array<[string, object, boolean]> = [
    ['CRC32C, no MD5', { ...part, checksumAlgorithm: 'crc32c', contentMd5: false }, false],
    ['CRC32, no MD5', { ...part, checksumAlgorithm: 'crc32', contentMd5: false }, false],
    ['Content-MD5', { ...part, checksumAlgorithm: null }, true],
    ['CRC64NVME', { ...part, checksumAlgorithm: 'crc64nvme', contentMd5: false }, true],
    ['SHA-256', { ...part, checksumAlgorithm: 'sha256', contentMd5: false }, true],
    ['a range hashed for its ETag', { ...base, kind: 'hash-range', checksumAlgorithm: null }, true],
    ['whole-file xxh64', { ...base, kind: 'hash-file', checksumAlgorithm: null, algorithms: ['xxh64'] }, false],
    ['whole-file xxh64 and MD5', { ...base, kind: 'hash-file', checksumAlgorithm: null, algorithms: ['xxh64', 'md5'] }, true],
    ['PutObject, CRC32C, inline xxh64', { ...part, kind: 'put-object', checksumAlgorithm: 'crc32c', contentMd5: false, fileHashes: ['xxh64'] }, false],
    ['PutObject, CRC32C, inline sha1', { ...part, kind: 'put-object', checksumAlgorithm: 'crc32c', contentMd5: false, fileHashes: ['sha1'] }, true],
  ];
  for (const [what, task, heavy] of cases) assert.equal(needsCore(task as unknown as NewTask), heavy, what);
});

test('warm starts one thread ahead of the first task, which then runs on it; a warm pool starts no more', async () => {
  const pool = new WorkerPool(2, HELD_WORKER);
  const flag = newFlag();
  try {
    assert.equal(pool.threads, 0, 'no thread before anything asks');
    pool.warm();
    assert.equal(pool.threads, 1, 'the thread loads while the job is prepared');
    pool.warm();
    assert.equal(pool.threads, 1);
    const task = runHeld(pool, 'wait', flag);
    await task.started;
    assert.equal(pool.threads, 1, 'the first task went to the warmed thread');
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    assert.equal(await task.done, true);
  } finally {
    await pool.close();
  }
  pool.warm();
  assert.equal(pool.threads, 0, 'a closed pool starts nothing');
});
