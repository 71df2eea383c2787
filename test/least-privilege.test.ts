// Uploading needs only s3:PutObject (and s3:AbortMultipartUpload to cancel): listings are optional.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { hoist, startHoist } from './support/hoist-cli.js';
import { until } from './support/engine.js';
import { donePartCount } from './support/db-peek.js';
import { startS3Proxy, type S3Proxy } from './support/s3-proxy.js';
import { MiB, createBucket, removeBucket, s3Client, s3Env, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from './support/s3.js';

const client = s3Client();
let bucket: string;
let proxy: S3Proxy;
const uid = `uploader-${crypto.randomBytes(3).toString('hex')}`;
const limited = { AWS_ACCESS_KEY_ID: `AK${crypto.randomBytes(8).toString('hex').toUpperCase()}`, AWS_SECRET_ACCESS_KEY: crypto.randomBytes(20).toString('hex') };

before(async () => {
  bucket = await createBucket(client, 'leastpriv');
  proxy = await startS3Proxy(s3Env().endpoint);
  // A second radosgw user, allowed nothing on the bucket but PutObject and AbortMultipartUpload.
  execFileSync('radosgw-admin', ['user', 'create', `--uid=${uid}`, `--display-name=${uid}`, `--access-key=${limited.AWS_ACCESS_KEY_ID}`, `--secret-key=${limited.AWS_SECRET_ACCESS_KEY}`], { stdio: 'ignore' });
  const policy = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: [`arn:aws:iam:::user/${uid}`] }, Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Resource: [`arn:aws:s3:::${bucket}/*`] },
      // Objects belong to their writer on radosgw: let the bucket owner read and delete them for the checks.
      { Effect: 'Allow', Principal: { AWS: [`arn:aws:iam:::user/${process.env.S3_USER ?? 'tester'}`] }, Action: ['s3:GetObject', 's3:DeleteObject'], Resource: [`arn:aws:s3:::${bucket}/*`] },
      // radosgw lets an object's writer read and list it by default: deny that explicitly.
      { Effect: 'Deny', Principal: { AWS: [`arn:aws:iam:::user/${uid}`] }, Action: ['s3:ListMultipartUploadParts', 's3:GetObject'], Resource: [`arn:aws:s3:::${bucket}/*`] },
      { Effect: 'Deny', Principal: { AWS: [`arn:aws:iam:::user/${uid}`] }, Action: ['s3:ListBucketMultipartUploads', 's3:ListBucket'], Resource: [`arn:aws:s3:::${bucket}`] },
    ],
  };
  await client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
});
after(async () => {
  await proxy.close();
  await removeBucket(client, bucket);
  try {
    execFileSync('radosgw-admin', ['user', 'rm', `--uid=${uid}`], { stdio: 'ignore' });
  } catch {
    // the server is torn down after the run anyway
  }
});

test('a user with only PutObject uploads, and resumes after a crash by re-sending unrecorded parts', async () => {
  const dir = tempDir('leastpriv');
  const db = path.join(dir, 'hoist.db');
  const file = await writeRandomFile(path.join(dir, 'C004.mov'), 40 * MiB);
  const cli = ['--db', db, '--endpoint', proxy.url, '--path-style'];
  proxy.setBandwidth(12 * MiB);
  const first = startHoist([...cli, 'upload', file, '--bucket', bucket, '--key', 'lp/C004.mov', '--single-put-threshold', '0', '--part-size', '5MiB', '--concurrency', '2'], limited);
  await until('2 parts recorded', () => donePartCount(db) >= 2);
  first.child.kill('SIGKILL');
  await first.done;
  proxy.setBandwidth(null);

  const run = await hoist([...cli, 'run'], limited);
  assert.equal(run.code, 0, run.stderr);
  const detail = JSON.parse((await hoist(['--db', db, 'job', '1', '--json'])).stdout) as { job: { state: string }; history: Array<{ kind: string; message: string }> };
  assert.equal(detail.job.state, 'done');
  assert.ok(detail.history.some((e) => e.kind === 'reconcile-skipped' && /ListParts is not permitted/.test(e.message)), JSON.stringify(detail.history));
  assert.equal(await sha256OfObject(client, bucket, 'lp/C004.mov'), await sha256OfFile(file));
});

test('only the listings say "not permitted", naming the operation', async () => {
  const cli = ['--db', path.join(tempDir('leastpriv-list'), 'hoist.db'), '--endpoint', s3Env().endpoint, '--path-style'];
  const list = await hoist([...cli, 'uploads', 'list', '--bucket', bucket], limited);
  assert.equal(list.code, 1);
  assert.match(list.stderr, /s3\.access-denied \(ListMultipartUploads\): Permission denied for ListMultipartUploads/);
  const parts = await hoist([...cli, 'uploads', 'parts', '--bucket', bucket, '--key', 'x', '--upload-id', 'y'], limited);
  assert.equal(parts.code, 1);
  assert.match(parts.stderr, /s3\.access-denied \(ListParts\)|s3\.no-such-upload \(ListParts\)/);
});
