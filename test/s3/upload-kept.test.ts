// A failed job that still holds its multipart upload on the bucket says so: `uploadKept` in the Job
// contract (`hoist jobs --json`, the hosts), and a line in `hoist jobs`. Against radosgw: a bucket
// policy refuses a second user's UploadPart mid-upload, the job fails with its upload kept there.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { DeleteBucketPolicyCommand } from '@aws-sdk/client-s3';
import { UPLOAD_KEPT_NOTE } from '../../shared/kept-upload.js';
import type { Job } from '../../shared/types.js';
import { donePartCount } from '../support/db-peek.js';
import { until } from '../support/engine.js';
import { hoist, startHoist } from '../support/hoist-cli.js';
import { recordResult } from '../support/results.js';
import { ownerStatement, setBucketPolicy, statement } from '../support/rgw-user.js';
import { MiB, listUploads, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy, user, dir } = await s3Fixture('upload-kept', { proxy: true, user: 'uploadkept' });

test('a part denied mid-upload: the failed job says its upload is kept on the bucket (jobs --json uploadKept, jobs text); cancelled, it no longer does', { timeout: 5 * 60_000 }, async () => {
  const db = path.join(dir, 'kept.db');
  const file = await writeRandomFile(path.join(dir, 'kept.mov'), 40 * MiB);
  const cli = ['--db', db, '--endpoint', proxy.url, '--path-style'];
  const allow = statement('Allow', user.uid, ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:GetObject'], bucket);
  const owner = ownerStatement(bucket);
  const policy = (...s: object[]) => setBucketPolicy(client, bucket, ...s);
  await policy(allow, owner);
  proxy.reset();
  proxy.setBandwidth(6 * MiB);
  try {
    const run = startHoist([...cli, 'upload', file, '--bucket', bucket, '--key', 'kept.mov', '--single-put-threshold', '0', '--part-size', '5MiB', '--concurrency', '2'], { ...user.env, HOIST_PART_ATTEMPTS: '2' });
    await until('2 parts recorded', () => donePartCount(db) >= 2);
    await policy(allow, owner, statement('Deny', user.uid, ['s3:PutObject'], bucket));
    proxy.setBandwidth(null);
    assert.equal((await run.done).code, 1);

    const listed = await hoist(['--db', db, 'jobs', '--json']);
    const [job] = (JSON.parse(listed.stdout) as { jobs: Job[] }).jobs;
    assert.equal(job!.state, 'failed');
    assert.equal(job!.error?.code, 's3.access-denied');
    assert.equal(job!.uploadKept, true, 'the failed job holds its upload');
    assert.ok((await listUploads(client, bucket)).some((u) => u.uploadId === job!.uploadId), 'and the bucket does hold it');
    const text = await hoist(['--db', db, 'jobs']);
    assert.ok(text.stdout.includes(`Upload kept on the bucket (${job!.partsDone} of ${job!.partCount} parts): retry resumes it, cancel aborts it.`), text.stdout);
    const detail = await hoist(['--db', db, 'job', String(job!.id)]);
    assert.ok(detail.stdout.includes(UPLOAD_KEPT_NOTE.split(':')[0]!), detail.stdout);

    await policy(allow, owner);
    const cancel = await hoist([...cli, 'cancel', String(job!.id)], user.env);
    assert.equal(cancel.code, 0, cancel.stderr);
    const [after] = (JSON.parse((await hoist(['--db', db, 'jobs', '--json'])).stdout) as { jobs: Job[] }).jobs;
    assert.equal(after!.state, 'cancelled');
    assert.equal(after!.uploadKept, false);
    assert.ok(!(await hoist(['--db', db, 'jobs'])).stdout.includes('Upload kept on the bucket'));
    assert.deepEqual(await listUploads(client, bucket), [], 'cancel aborted it');
    recordResult('upload-kept', {
      what: 'bucket policy denies a user’s UploadPart mid-upload (2 of 8 parts recorded); hoist jobs, then hoist cancel',
      outcome: `job failed (s3.access-denied (UploadPart)) with its upload on the bucket: uploadKept true in --json, “Upload kept on the bucket (${job!.partsDone} of ${job!.partCount} parts): retry resumes it, cancel aborts it.” in hoist jobs; after cancel uploadKept false and no upload left`,
    });
  } finally {
    proxy.setBandwidth(null);
    await client.send(new DeleteBucketPolicyCommand({ Bucket: bucket })).catch(() => undefined);
  }
});
