// Orphans: only Hoist's, only old ones (issue 13, item 5). abort-orphans spares an upload begun a
// moment ago unless told an age, and the interrupted-create clean-up never aborts an upload of the
// same key that another principal (a second radosgw user) began.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { CreateMultipartUploadCommand } from '@aws-sdk/client-s3';
import type { RemoteUpload } from '../../shared/types.js';
import { hoist } from '../support/hoist-cli.js';
import { recordResult } from '../support/results.js';
import { testEngine, until } from '../support/engine.js';
import { setBucketPolicy, statement } from '../support/rgw-user.js';
import { MiB, listUploads, s3Client, s3Env, tempDir, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, user, dir } = await s3Fixture('orphans', { user: 'other-client' });
const other = s3Client(s3Env().endpoint, { accessKeyId: user.env.AWS_ACCESS_KEY_ID, secretAccessKey: user.env.AWS_SECRET_ACCESS_KEY });
// The second user may write to the bucket; the owner keeps what its ACL gives it (no policy grant of
// its own: with one, radosgw 16 lets the owner read another user's upload, and nothing then shows whose
// it is, see docs/reliability.md).
await setBucketPolicy(client, bucket, statement('Allow', user.uid, ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'], bucket));

async function begunByOther(key: string): Promise<string> {
  return (await other.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))).UploadId!;
}

test('abort-orphans without --older-than spares another client’s upload begun a moment ago and says so; --older-than 0s aborts it', async () => {
  const db = path.join(dir, 'sweep.db');
  const cli = ['--db', db, '--endpoint', s3Env().endpoint, '--path-style'];
  const young = await begunByOther('sweep/A003_C001_1204XY.mov');

  const text = await hoist([...cli, 'uploads', 'abort-orphans', '--bucket', bucket, '--prefix', 'sweep/']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stderr, /aborted 0 orphan upload\(s\); kept 1/);
  assert.match(text.stderr, /spared 1 orphan upload\(s\) begun less than 24h ago/);
  assert.ok((await listUploads(client, bucket)).some((u) => u.uploadId === young), 'the young upload is still there');

  const json = await hoist([...cli, 'uploads', 'abort-orphans', '--bucket', bucket, '--prefix', 'sweep/', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const spared = JSON.parse(json.stdout) as { aborted: RemoteUpload[]; kept: RemoteUpload[]; spared: number; minAgeMs: number };
  assert.deepEqual([spared.aborted.length, spared.kept.length, spared.spared, spared.minAgeMs], [0, 1, 1, 24 * 3600_000]);

  const swept = await hoist([...cli, 'uploads', 'abort-orphans', '--bucket', bucket, '--prefix', 'sweep/', '--older-than', '0s', '--json']);
  assert.equal(swept.code, 0, swept.stderr);
  const result = JSON.parse(swept.stdout) as { aborted: RemoteUpload[]; spared: number };
  assert.deepEqual(result.aborted.map((u) => u.uploadId), [young]);
  assert.equal(result.spared, 0);
  assert.ok(!(await listUploads(client, bucket)).some((u) => u.uploadId === young), 'given the age, it is aborted');
  recordResult('orphans-young', {
    what: 'another client’s multipart upload (a second radosgw user) begun a moment ago; hoist uploads abort-orphans without --older-than, then with --older-than 0s',
    outcome: `without an age: aborted ${spared.aborted.length}, spared ${spared.spared} (minimum age ${spared.minAgeMs / 3600_000} h); with 0s: aborted ${result.aborted.length}`,
  });
});

test('the interrupted-create clean-up aborts our own unrecorded upload of the key but leaves one another principal began on the same key', async () => {
  const key = 'interrupted/A004_C007_1204ZZ.mov';
  const file = await writeRandomFile(path.join(dir, 'interrupted.mov'), 6 * MiB);
  const { engine, dest } = testEngine(tempDir('interrupted'), { endpoint: s3Env().endpoint, bucket, singlePutThreshold: 0, concurrency: 1 });
  try {
    const [job] = await engine.enqueue([file], { destination: dest, key });
    // As if Hoist had crashed between CreateMultipartUpload and recording the id: a create was
    // under way, and the upload it made (ours, by the bucket owner) is on the bucket, unrecorded.
    engine.store.markCreateStarted(job!.id, Date.now());
    const ours = (await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))).UploadId!;
    const theirs = await begunByOther(key);

    engine.start();
    await until('the job to finish', () => engine.getJob(job!.id)?.state === 'done');
    await until('our unrecorded upload to be aborted', async () => !(await listUploads(client, bucket)).some((u) => u.uploadId === ours));
    assert.deepEqual((await listUploads(client, bucket)).filter((u) => u.key === key).map((u) => u.uploadId), [theirs], 'the other principal’s upload is left alone');
    const skipped = engine.events(job!.id).filter((e) => e.kind === 'cleanup-skipped');
    assert.equal(skipped.length, 1);
    assert.ok(skipped[0]!.message.includes(`(${theirs}) was left: it is not shown to be ours`), skipped[0]!.message);
    recordResult('orphans-interrupted-create', {
      what: 'a crash between CreateMultipartUpload and recording its id, with an unrecorded upload of ours and a second radosgw user’s upload of the same key',
      outcome: 'ours aborted; theirs left, with a cleanup-skipped event naming it (radosgw 16 refuses the bucket owner ListParts on it)',
    });
  } finally {
    await engine.close();
  }
});
