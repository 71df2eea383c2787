// A small file on a local disk is opened, checked, read and closed by calls on its part worker's own
// thread, not through libuv's threadpool (issue 12: five pool round trips a file, each waking two
// threads; upload/part-worker.ts `directCalls`). Shown by taking every threadpool thread (each one
// blocked opening a FIFO that has no writer yet) and sending a file meanwhile: it goes, and is the
// file, while a stat through the threadpool is still waiting. A file of a big upload's part keeps the
// threadpool (not tested here: it is the old path). Against radosgw.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CredentialSource } from '../../src-main/engine/s3/connection.js';
import { Connections } from '../../src-main/engine/scheduler/connections.js';
import { snapshotOf } from '../../src-main/engine/folders/stability.js';
import type { NewTask, TaskOutcome } from '../../src-main/engine/upload/worker-pool.js';
import { WorkerPool } from '../../src-main/engine/upload/worker-pool.js';
import { testEngine } from '../support/engine.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { MiB, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';

const { client, bucket, dir, endpoint, onClose } = await s3Fixture('direct-calls');

const OBJECT = { contentType: 'application/octet-stream', metadata: {}, storageClass: null, sse: null, sseKmsKeyId: null };

test('a small local file is sent while every threadpool thread is taken: its file calls are made on the worker thread', async () => {
  // The engine only for a destination row; it is never started.
  const { engine, dest } = testEngine(path.join(dir, 'db'), { endpoint, bucket });
  onClose(() => engine.close());
  const net = new Connections(new CredentialSource(), { addEvent: () => undefined } as never, {});
  const conn = await net.conn(dest);
  const target = await net.target(conn, bucket);
  const pool = new WorkerPool(1);
  onClose(() => pool.close());
  const frames = path.join(dir, 'render_v12');
  fs.mkdirSync(frames);
  /** The task is made (its snapshot's stat) first; `run` then gives it to the worker. */
  const prepare = async (file: string): Promise<{ key: string; run: () => Promise<TaskOutcome> }> => {
    const snapshot = snapshotOf(await fs.promises.stat(file, { bigint: true }));
    const key = `direct-calls/${path.basename(file)}`;
    const task: NewTask = { kind: 'put-object', path: file, offset: 0, length: snapshot.size, snapshot, checksumAlgorithm: null, contentMd5: true, conn, bucket, key, target, object: OBJECT, condition: null, fileHashes: ['xxh64'] };
    return { key, run: () => pool.run(task).outcome };
  };

  // The first file of the folder goes through the threadpool while its file system is looked at; the
  // keep-alive connection it leaves is what the next file uses (no connect while the pool is taken).
  const first = await writeRandomFile(path.join(frames, 'render_v12.0086400.dpx'), MiB + 17);
  const warm = await (await prepare(first)).run();
  assert.ok(warm.ok, JSON.stringify(warm));

  const frame = await writeRandomFile(path.join(frames, 'render_v12.0086401.dpx'), 3 * MiB + 5);
  const { key, run } = await prepare(frame);
  const fifo = path.join(dir, 'pool-taker');
  execFileSync('mkfifo', [fifo]);
  // Each open of a FIFO with no writer blocks its pool thread until one opens it. Queued before the
  // task is given, so any call the worker makes through the pool waits behind them.
  const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const takers = Array.from({ length: threads }, () => fs.promises.open(fifo, 'r'));
  let statAnswered = false;
  const probe = fs.promises.stat(frame).then(() => (statAnswered = true));
  const outcome = run();
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    // Opening for writing lets every blocked reader's open return.
    fs.closeSync(fs.openSync(fifo, 'w'));
  };
  // Only a guard, so a failing build ends instead of hanging: the assertion is on which came first.
  const guard = setTimeout(release, 20_000);
  try {
    const o = await Promise.race([outcome, new Promise<null>((r) => setTimeout(() => r(null), 20_000))]);
    assert.equal(released, false, 'the threadpool was released before the file was sent: its calls waited for the pool');
    assert.equal(statAnswered, false, 'the threadpool was taken the whole time (a stat through it was still waiting)');
    assert.ok(o?.ok, JSON.stringify(o));
    assert.equal(o.result.md5Hex.length, 32);
  } finally {
    clearTimeout(guard);
    release();
    for (const t of takers) await (await t).close();
    await probe;
  }
  assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(frame), 'the object is the file');
});
