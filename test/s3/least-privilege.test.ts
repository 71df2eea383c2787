// Uploading needs only s3:PutObject (and s3:AbortMultipartUpload to cancel): listings are optional.
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import { hoist, startHoist } from '../support/hoist-cli.js';
import { until } from '../support/engine.js';
import { setBucketPolicy, statement } from '../support/rgw-user.js';
import { donePartCount } from '../support/db-peek.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { MiB, s3Env, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';

const { client, bucket, proxy, user } = await s3Fixture('leastpriv', { proxy: true, user: 'uploader' });

before(async () => {
  // The second radosgw user is allowed nothing on the bucket but PutObject and AbortMultipartUpload.
  await setBucketPolicy(
    client,
    bucket,
    statement('Allow', user.uid, ['s3:PutObject', 's3:AbortMultipartUpload'], bucket),
    // Objects belong to their writer on radosgw: let the bucket owner read and delete them for the checks.
    statement('Allow', process.env.S3_USER ?? 'tester', ['s3:GetObject', 's3:DeleteObject'], bucket),
    // radosgw lets an object's writer read and list it by default: deny that explicitly.
    statement('Deny', user.uid, ['s3:ListMultipartUploadParts', 's3:GetObject'], bucket),
    statement('Deny', user.uid, ['s3:ListBucketMultipartUploads', 's3:ListBucket'], bucket, 'bucket'),
  );
});

test('a user with only PutObject uploads, and resumes after a crash by re-sending unrecorded parts', async () => {
  const dir = tempDir('leastpriv');
  const db = path.join(dir, 'hoist.db');
  const file = await writeRandomFile(path.join(dir, 'C004.mov'), 40 * MiB);
  const cli = ['--db', db, '--endpoint', proxy.url, '--path-style'];
  proxy.setBandwidth(12 * MiB);
  const first = startHoist([...cli, 'upload', file, '--bucket', bucket, '--key', 'lp/C004.mov', '--single-put-threshold', '0', '--part-size', '5MiB', '--concurrency', '2'], user.env);
  await until('2 parts recorded', () => donePartCount(db) >= 2);
  first.child.kill('SIGKILL');
  await first.done;
  proxy.setBandwidth(null);

  const run = await hoist([...cli, 'run'], user.env);
  assert.equal(run.code, 0, run.stderr);
  const detail = JSON.parse((await hoist(['--db', db, 'job', '1', '--json'])).stdout) as { job: { state: string }; history: Array<{ kind: string; message: string }> };
  assert.equal(detail.job.state, 'done');
  assert.ok(detail.history.some((e) => e.kind === 'reconcile-skipped' && /ListParts is not permitted/.test(e.message)), JSON.stringify(detail.history));
  assert.equal(await sha256OfObject(client, bucket, 'lp/C004.mov'), await sha256OfFile(file));
});

test('only the listings say "not permitted", naming the operation', async () => {
  const cli = ['--db', path.join(tempDir('leastpriv-list'), 'hoist.db'), '--endpoint', s3Env().endpoint, '--path-style'];
  const list = await hoist([...cli, 'uploads', 'list', '--bucket', bucket], user.env);
  assert.equal(list.code, 1);
  assert.match(list.stderr, /s3\.access-denied \(ListMultipartUploads\): Permission denied for ListMultipartUploads/);
  const parts = await hoist([...cli, 'uploads', 'parts', '--bucket', bucket, '--key', 'x', '--upload-id', 'y'], user.env);
  assert.equal(parts.code, 1);
  assert.match(parts.stderr, /s3\.access-denied \(ListParts\)|s3\.no-such-upload \(ListParts\)/);
});
