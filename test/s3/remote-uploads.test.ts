// The bucket's side: listing every page of in-progress uploads, and aborting only the orphans.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { CreateMultipartUploadCommand } from '@aws-sdk/client-s3';
import type { RemotePart, RemoteUpload } from '../../shared/types.js';
import { hoist } from '../support/hoist-cli.js';
import { doneParts, testDbPath, testEngine, until } from '../support/engine.js';
import { MiB, listUploads, s3Env, tempDir, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, dir } = await s3Fixture('remote');
const db = testDbPath(dir);
const ORPHANS = 1005;

async function createOrphans(n: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: `orphans/${String(i).padStart(5, '0')}.mov` }));
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

test('uploads list pages through more than 1,000 uploads; abort-orphans keeps only those of live jobs', async () => {
  // A live job of ours: paused after its first part, so its upload stays in progress.
  const file = await writeRandomFile(path.join(dir, 'live.mov'), 12 * MiB);
  const { engine, dest } = testEngine(dir, { name: `${bucket}@${new URL(s3Env().endpoint).host}`, endpoint: s3Env().endpoint, bucket, singlePutThreshold: 0, concurrency: 1 });
  const [job] = await engine.enqueue([file], { destination: dest, key: 'live/live.mov' });
  engine.start();
  await until('a part of the live job', () => doneParts(engine, job!.id).length >= 1);
  engine.pause(job!.id);
  await until('the live job to pause', () => engine.progress().length === 0);
  const liveUploadId = engine.getJob(job!.id)!.uploadId!;
  await engine.close();

  await createOrphans(ORPHANS);
  const cli = ['--db', db, '--endpoint', s3Env().endpoint, '--path-style'];
  const listed = await hoist([...cli, 'uploads', 'list', '--bucket', bucket, '--page-size', '100', '--json']);
  assert.equal(listed.code, 0, listed.stderr);
  const { uploads } = JSON.parse(listed.stdout) as { uploads: RemoteUpload[] };
  assert.equal(uploads.length, ORPHANS + 1, 'every page was read');
  assert.equal(new Set(uploads.map((u) => u.uploadId)).size, uploads.length, 'no upload listed twice across pages');
  const ours = uploads.filter((u) => u.jobId !== null);
  assert.deepEqual(ours.map((u) => [u.jobId, u.uploadId]), [[job!.id, liveUploadId]], 'only the live job is marked ours');

  const parts = await hoist([...cli, 'uploads', 'parts', '--bucket', bucket, '--key', 'live/live.mov', '--upload-id', liveUploadId, '--page-size', '1', '--json']);
  assert.equal(parts.code, 0, parts.stderr);
  const remoteParts = (JSON.parse(parts.stdout) as { parts: RemotePart[] }).parts;
  assert.ok(remoteParts.length >= 1);
  assert.equal(remoteParts[0]!.size, 5 * MiB);

  // Nothing is old enough yet: --older-than keeps recent orphans.
  const young = await hoist([...cli, 'uploads', 'abort-orphans', '--bucket', bucket, '--older-than', '7d', '--page-size', '100', '--json']);
  assert.equal(young.code, 0, young.stderr);
  assert.equal((JSON.parse(young.stdout) as { aborted: unknown[] }).aborted.length, 0);

  // They are all a moment old: only an explicit age of 0 sweeps them (without one, 24 h must have passed).
  const swept = await hoist([...cli, 'uploads', 'abort-orphans', '--bucket', bucket, '--older-than', '0s', '--page-size', '100', '--json']);
  assert.equal(swept.code, 0, swept.stderr);
  const result = JSON.parse(swept.stdout) as { aborted: RemoteUpload[]; kept: RemoteUpload[] };
  assert.equal(result.aborted.length, ORPHANS);
  assert.deepEqual((await listUploads(client, bucket)).map((u) => u.uploadId), [liveUploadId], 'only the live job’s upload is left');

  // The live job resumes and finishes; then nothing at all is left in progress.
  const resumed = await hoist([...cli, 'resume', String(job!.id)]);
  assert.equal(resumed.code, 0, resumed.stderr);
  const run = await hoist([...cli, 'run']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(await listUploads(client, bucket), []);
});

test('cancel aborts the remote upload', async () => {
  const file = await writeRandomFile(path.join(dir, 'cancel.mov'), 12 * MiB);
  const { engine, dest } = testEngine(tempDir('cancel'), { endpoint: s3Env().endpoint, bucket, singlePutThreshold: 0, concurrency: 1 });
  try {
    const [job] = await engine.enqueue([file], { destination: dest, key: 'cancel/cancel.mov' });
    engine.start();
    await until('a part', () => doneParts(engine, job!.id).length >= 1);
    const uploadId = engine.getJob(job!.id)!.uploadId!;
    assert.equal(await engine.cancel(job!.id), true);
    await until('the upload to be aborted', async () => !(await listUploads(client, bucket)).some((u) => u.uploadId === uploadId));
    assert.equal(engine.getJob(job!.id)!.state, 'cancelled');
    assert.ok(engine.events(job!.id).some((e) => e.kind === 'aborted'));
  } finally {
    await engine.close();
  }
});
