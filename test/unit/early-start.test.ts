import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { GLOBAL_OPTIONS_WITH_VALUES, startEarly, subcommandOf } from '../../src-main/cli/early-start.js';
import { buildProgram } from '../../src-main/cli/main.js';
import { PART_WORKER_SCRIPT, defaultPoolSize, heldShare, prestartPartThread, takePrestarted } from '../../src-main/engine/upload/part-thread.js';
import { DEFAULT_HELD_PART_BYTES } from '../../src-main/engine/upload/held-part.js';
import { WorkerPool, type NewTask } from '../../src-main/engine/upload/worker-pool.js';

const HELD_WORKER = new URL('../support/held-worker.js', import.meta.url);

test('the thread started before the engine loaded is the pool\'s first thread, not a second one beside it', async () => {
  const early = prestartPartThread(HELD_WORKER, { heldPartBytes: 0 });
  const seen: string[] = [];
  early.on('message', (m: { type: string }) => seen.push(m.type));
  const pool = new WorkerPool(2, HELD_WORKER, 0);
  try {
    const flag = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(flag, 0, 1);
    const { outcome } = pool.run({ kind: 'upload-part', checksumAlgorithm: 'crc32c', contentMd5: false, path: 'wait', flag } as unknown as NewTask);
    assert.equal((await outcome).ok, true);
    assert.equal(pool.threads, 1);
    assert.deepEqual(seen, ['thread', 'progress', 'done'], 'the task ran on the early thread (its first message, its kernel id)');
  } finally {
    await pool.close();
  }
});

test('a pool of another script or share starts its own thread and leaves the early one alone', async () => {
  const early = prestartPartThread(HELD_WORKER, { heldPartBytes: 0 });
  const pool = new WorkerPool(2, HELD_WORKER, 64 * 2 ** 20);
  try {
    pool.warm();
    assert.equal(pool.threads, 1);
    assert.equal(takePrestarted(HELD_WORKER, { heldPartBytes: 32 * 2 ** 20 }), null, 'not for another share');
    assert.equal(takePrestarted(PART_WORKER_SCRIPT, { heldPartBytes: 0 }), null, 'not for another script');
    assert.equal(takePrestarted(HELD_WORKER, { heldPartBytes: 0 })?.thread, early, 'still there for a pool it fits');
  } finally {
    await early.terminate();
    await pool.close();
  }
});

test('`hoist upload` starts a part-worker thread before the engine loads; other commands and --help do not', async () => {
  assert.equal(subcommandOf(['node', 'hoist', '--db', 'upload.db', '--path-style', '--endpoint', 'http://x', 'jobs', 'upload']), 'jobs');
  assert.equal(startEarly(['node', 'hoist', '--db', 'upload', 'jobs']), false);
  assert.equal(startEarly(['node', 'hoist', 'run']), false);
  assert.equal(startEarly(['node', 'hoist', 'upload', '--help']), false);
  assert.equal(takePrestarted(PART_WORKER_SCRIPT, { heldPartBytes: heldShare(DEFAULT_HELD_PART_BYTES, defaultPoolSize()) }), null);
  assert.equal(startEarly(['node', 'hoist', '--region', 'eu-west-1', 'upload', '--bucket', 'b', 'clip.mov']), true);
  // An engine at its defaults would take it.
  const taken = takePrestarted(PART_WORKER_SCRIPT, { heldPartBytes: heldShare(DEFAULT_HELD_PART_BYTES, defaultPoolSize()) });
  assert.ok(taken);
  await taken.thread.terminate();
});

test('a part worker started early tells its kernel id before any pool listens, and the pool that takes it still gets it', { skip: process.platform !== 'linux' && 'thread ids come from /proc' }, async () => {
  const early = prestartPartThread(PART_WORKER_SCRIPT, { heldPartBytes: 0 });
  // The notice is the worker's first message, once its modules have loaded: let it come before any pool listens.
  early.ref(); // unref'd until a pool takes it: this test waits on it first
  const told = new Promise<void>((resolve) => early.on('message', (m: { type: string }) => m.type === 'thread' && resolve()));
  await told;
  const taken = takePrestarted(PART_WORKER_SCRIPT, { heldPartBytes: 0 });
  try {
    assert.ok(taken);
    assert.ok(Number.isInteger(taken.tid) && taken.tid! > process.pid, `the early thread's id was kept: ${taken.tid}`);
  } finally {
    await early.terminate();
  }
});

test('the global options that take a value are the ones early-start skips', () => {
  const withValue = buildProgram().options.filter((o) => o.required || o.optional).map((o) => o.long);
  assert.deepEqual([...withValue].sort(), [...GLOBAL_OPTIONS_WITH_VALUES].sort());
});

test('a part worker started early and never taken does not keep the process alive (a `hoist upload` that queued nothing exits)', () => {
  const partThread = new URL('../../src-main/engine/upload/part-thread.js', import.meta.url).href;
  // A file, not `-e`: the thread inherits the process's exec arguments, and `--input-type` would fail it.
  const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-early-')), 'prestart.mjs');
  fs.writeFileSync(script, `import { prestartPartThread } from ${JSON.stringify(partThread)};\nconst t = prestartPartThread();\n// Alive until the thread runs; from then only the thread could keep the process.\nconst keep = setInterval(() => undefined, 1000);\nt.on('online', () => { console.log('online'); clearInterval(keep); });\n`);
  // Generous: only a process kept alive by the thread runs into it.
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000 });
  assert.match(r.stdout, /online/, 'the thread did start');
  assert.equal(r.signal, null, 'the process ended by itself, not killed at the timeout');
  assert.equal(r.status, 0, r.stderr);
});
