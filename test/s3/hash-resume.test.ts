// A whole-file hash pass over a multi-terabyte file takes hours: cut short by a pause, a quit or a
// crash, it goes on from its last saved state, and the hashes still equal xxhsum's over the whole file.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FileHashAlgorithm } from '../../shared/states.js';
import { Engine } from '../../src-main/engine/engine.js';
import { WorkerPool } from '../../src-main/engine/upload/worker-pool.js';
import { snapshotOf } from '../../src-main/engine/folders/stability.js';
import type { HashCheckpoint } from '../../src-main/engine/upload/tasks.js';
import { testDbPath, testEngine, until } from '../support/engine.js';
import { toolHash } from '../support/mhl.js';
import { MiB, s3Env, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const CRASHER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'support', 'crash-at-hash-checkpoint.js');
const { client, bucket, dir } = await s3Fixture('hash-resume');

async function snapshot(file: string) {
  return snapshotOf(await fs.promises.stat(file, { bigint: true }));
}

test('a pass stopped after its first checkpoint goes on from it, reads only the rest, and ends with the hashes of the whole file', async () => {
  const file = await writeRandomFile(path.join(dir, 'A001C001.mov'), 40 * MiB + 123);
  const snap = await snapshot(file);
  const algorithms: FileHashAlgorithm[] = ['xxh64', 'xxh128'];
  const pool = new WorkerPool(1);
  try {
    let saved: HashCheckpoint | null = null;
    const first = pool.run({ kind: 'hash-file', path: file, offset: 0, length: snap.size, snapshot: snap, checksumAlgorithm: null, algorithms, checkpointEvery: 4 * MiB }, undefined, (cp) => {
      if (saved) return;
      saved = cp;
      pool.abort(first.taskId);
    });
    const cut = await first.outcome;
    assert.ok(saved, 'a checkpoint was saved');
    const cp: HashCheckpoint = saved;
    assert.ok(cp.offset >= 4 * MiB && cp.offset < snap.size, `checkpoint at ${cp.offset}`);
    assert.ok(!cut.ok && cut.aborted, 'the first pass was cut short');

    const readFrom: number[] = [];
    const rest = await pool.run({ kind: 'hash-file', path: file, offset: 0, length: snap.size, snapshot: snap, checksumAlgorithm: null, algorithms, resume: cp }, (n) => readFrom.push(n)).outcome;
    assert.ok(rest.ok, JSON.stringify(rest));
    assert.equal(rest.result.hashedFrom, cp.offset);
    assert.deepEqual(rest.result.fileHashes, { xxh64: toolHash('xxhsum', ['-H1', file]), xxh128: toolHash('xxhsum', ['-H2', file]) });
    assert.ok(readFrom.length > 0 && readFrom[0]! > cp.offset, `progress starts past the checkpoint: ${readFrom[0]} > ${cp.offset}`);
  } finally {
    await pool.close();
  }
});

test('a saved state that does not load (a damaged record) is passed over: the file is hashed from byte 0, correctly', async () => {
  const file = await writeRandomFile(path.join(dir, 'A001C003.mov'), 9 * MiB);
  const snap = await snapshot(file);
  const pool = new WorkerPool(1);
  try {
    const damaged: HashCheckpoint = { offset: 4 * MiB, states: { xxh64: Buffer.from('not a hash state').toString('base64') } };
    const readFrom: number[] = [];
    const o = await pool.run({ kind: 'hash-file', path: file, offset: 0, length: snap.size, snapshot: snap, checksumAlgorithm: null, algorithms: ['xxh64'], resume: damaged }, (n) => readFrom.push(n)).outcome;
    assert.ok(o.ok, JSON.stringify(o));
    assert.deepEqual(o.result.fileHashes, { xxh64: toolHash('xxhsum', ['-H1', file]) });
    assert.ok(readFrom[0]! <= 4 * MiB, `read from the start: first progress at ${readFrom[0]}`);
    assert.equal(o.result.hashedFrom, 0, 'and says so');
  } finally {
    await pool.close();
  }
});

test('a pass with a hash whose state cannot be saved (md5 in OpenSSL) saves no checkpoint and still hashes the file', async () => {
  const file = await writeRandomFile(path.join(dir, 'A001C002.mov'), 12 * MiB);
  const snap = await snapshot(file);
  const pool = new WorkerPool(1);
  try {
    const checkpoints: HashCheckpoint[] = [];
    const o = await pool.run({ kind: 'hash-file', path: file, offset: 0, length: snap.size, snapshot: snap, checksumAlgorithm: null, algorithms: ['xxh64', 'md5'], checkpointEvery: 4 * MiB }, undefined, (cp) => checkpoints.push(cp)).outcome;
    assert.ok(o.ok, JSON.stringify(o));
    assert.deepEqual(checkpoints, []);
    assert.deepEqual(o.result.fileHashes, { xxh64: toolHash('xxhsum', ['-H1', file]), md5: toolHash('md5sum', [file]) });
  } finally {
    await pool.close();
  }
});

const CHECKPOINT_BYTES = 4 * MiB;
const uploadSettings = () => ({ endpoint: s3Env().endpoint, bucket, partSize: 16 * MiB, singlePutThreshold: 0 });

/** The job ends done, its pass went on once from a checkpoint, and its hashes and object are the file's. */
async function assertResumedPass(engine: Engine, jobId: number, file: string, key: string): Promise<void> {
  const [final] = await engine.waitFor([jobId]);
  assert.equal(final!.state, 'done', JSON.stringify(engine.events(jobId)));
  const events = engine.events(jobId);
  const resumed = events.filter((e) => e.kind === 'hash-resumed');
  assert.equal(resumed.length, 1, `the pass went on from its checkpoint: ${JSON.stringify(events.map((e) => [e.kind, e.message]))}`);
  assert.match(resumed[0]!.message, /^Hashing goes on from \S+ \S+ of 192 MiB/);
  assert.deepEqual(engine.getJob(jobId)!.hashes, { xxh64: toolHash('xxhsum', ['-H1', file]), xxh3: toolHash('xxhsum', ['-H3', file]) });
  assert.equal(engine.store.hashCheckpoint(jobId, await snapshot(file), ['xxh64', 'xxh3']), null, 'the checkpoint is dropped once the hashes are recorded');
  assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file));
}

async function hashedUpload(stop: (engine: Engine, jobId: number) => Promise<Engine>, name: string): Promise<void> {
  const sub = tempDir(`hash-resume-${name}`);
  const file = await writeRandomFile(path.join(sub, `${name}.mov`), 192 * MiB);
  const key = `resume/${name}.mov`;
  const made = testEngine(sub, uploadSettings(), { hashCheckpointBytes: CHECKPOINT_BYTES });
  let engine = made.engine;
  try {
    const [job] = await engine.enqueue([file], { destination: made.dest, key, hashes: ['xxh64', 'xxh3'] });
    const checkpointed = new Promise<void>((resolve) => engine.once('hash-checkpoint', () => resolve()));
    engine.start();
    await checkpointed;
    engine = await stop(engine, job!.id);
    await assertResumedPass(engine, job!.id, file, key);
  } finally {
    await engine.close();
  }
}

test('paused during its hash pass, a job resumed later hashes only what was left; the hashes equal xxhsum', async () => {
  await hashedUpload(async (engine, jobId) => {
    assert.equal(engine.pause(jobId), true);
    await until('the job to be paused', () => engine.getJob(jobId)!.state === 'paused' && engine.progress().length === 0);
    assert.equal(engine.resume(jobId), true);
    return engine;
  }, 'paused');
});

test('Hoist quit during a hash pass: the next start goes on from the saved state', async () => {
  await hashedUpload(async (engine) => {
    const dbPath = engine.store.db.name;
    await engine.close();
    const next = new Engine({ dbPath, scheduler: { tickMs: 50, retry: { baseDelayMs: 50, maxDelayMs: 500 }, hashCheckpointBytes: CHECKPOINT_BYTES } });
    next.start();
    return next;
  }, 'quit');
});

test('SIGKILL right after the first checkpoint: the next start goes on from it', async () => {
  const sub = tempDir('hash-resume-killed');
  const file = await writeRandomFile(path.join(sub, 'killed.mov'), 192 * MiB);
  const key = 'resume/killed.mov';
  const { endpoint } = uploadSettings();
  // The child's engine on this test's database (on PostgreSQL, one this process made and keeps).
  const child = spawn(process.execPath, [CRASHER, sub, testDbPath(sub), endpoint, bucket, file, key, String(CHECKPOINT_BYTES)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  assert.equal(signal, 'SIGKILL', `the child killed itself at its checkpoint (exit ${code}): ${stderr}`);
  const { engine } = testEngine(sub, uploadSettings(), { hashCheckpointBytes: CHECKPOINT_BYTES });
  try {
    const [job] = engine.listJobs();
    assert.ok(job && job.state !== 'done', `the job was left unfinished: ${JSON.stringify(job)}`);
    engine.start();
    await assertResumedPass(engine, job.id, file, key);
  } finally {
    await engine.close();
  }
});
