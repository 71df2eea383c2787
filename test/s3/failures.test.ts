// Bad input gets a specific code and a clear message, and no job is lost.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { Job } from '../../shared/types.js';
import { hoist } from '../support/hoist-cli.js';
import { MiB, s3Env, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, dir } = await s3Fixture('failures');

async function jobs(db: string): Promise<Job[]> {
  const r = await hoist(['--db', db, 'jobs', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { jobs: Job[] }).jobs;
}

for (const mode of ['single', 'multipart'] as const) {
  test(`wrong credentials (${mode}): auth.invalid-credentials, and the job survives to succeed with the right ones`, async () => {
    const db = path.join(dir, `creds-${mode}.db`);
    const file = await writeRandomFile(path.join(dir, `creds-${mode}.mov`), 6 * MiB);
    const args = ['--db', db, '--endpoint', s3Env().endpoint, '--path-style', 'upload', file, '--bucket', bucket, '--key', `creds/${mode}.mov`];
    if (mode === 'multipart') args.push('--single-put-threshold', '0');
    const bad = await hoist(args, { AWS_SECRET_ACCESS_KEY: 'not-the-secret' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /auth\.invalid-credentials/);
    assert.match(bad.stderr, /does not accept these credentials/);
    const [job] = await jobs(db);
    assert.equal(job!.state, 'failed');
    assert.equal(job!.error?.code, 'auth.invalid-credentials');
    assert.equal(job!.error?.operation, mode === 'single' ? 'PutObject' : 'CreateMultipartUpload');

    const retry = await hoist(['--db', db, 'retry', String(job!.id)]);
    assert.equal(retry.code, 0, retry.stderr);
    const run = await hoist(['--db', db, 'run']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await sha256OfObject(client, bucket, `creds/${mode}.mov`), await sha256OfFile(file));
  });
}

test('a missing bucket: s3.no-such-bucket with the operation, job kept as failed', async () => {
  const db = path.join(dir, 'nobucket.db');
  const file = await writeRandomFile(path.join(dir, 'nobucket.mov'), 1 * MiB);
  const r = await hoist(['--db', db, '--endpoint', s3Env().endpoint, '--path-style', 'upload', file, '--bucket', `${bucket}-absent`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /s3\.no-such-bucket \(PutObject\): The bucket does not exist/);
  const [job] = await jobs(db);
  assert.equal(job!.state, 'failed');
  assert.equal(job!.error?.code, 's3.no-such-bucket');
});

test('an unreachable endpoint: net.unreachable after bounded retries, job kept', async () => {
  const db = path.join(dir, 'unreachable.db');
  const file = await writeRandomFile(path.join(dir, 'unreachable.mov'), 1 * MiB);
  const r = await hoist(['--db', db, '--endpoint', 'http://127.0.0.1:9', '--path-style', 'upload', file, '--bucket', bucket], {
    HOIST_PART_ATTEMPTS: '2',
    HOIST_JOB_ATTEMPTS: '2',
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /net\.unreachable/);
  assert.match(r.stderr, /cannot be reached/);
  const [job] = await jobs(db);
  assert.equal(job!.state, 'failed');
  assert.equal(job!.error?.code, 'net.unreachable');
  assert.equal(job!.attempts, 2, 'the job was retried before it stayed failed');
});

test('usage errors are refused before anything is queued', async () => {
  const db = path.join(dir, 'usage.db');
  const missing = await hoist(['--db', db, 'upload', path.join(dir, 'no-such-file.mov'), '--bucket', bucket]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /source\.missing: Cannot read .*no-such-file\.mov/);
  const badSize = await hoist(['--db', db, 'upload', 'x', '--bucket', bucket, '--part-size', 'huge']);
  assert.equal(badSize.code, 2);
  assert.match(badSize.stderr, /"huge" is not a size/);
  const badEndpoint = await hoist(['--db', db, '--endpoint', 'ftp://x', 'upload', 'x', '--bucket', bucket]);
  assert.equal(badEndpoint.code, 2);
  assert.match(badEndpoint.stderr, /must start with http/);
  assert.deepEqual(await jobs(db), []);
});
