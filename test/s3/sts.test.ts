// Temporary credentials from a real STS (a second radosgw gateway with STS on, test/support/sts.ts):
// a session token that expires mid-upload is reported as auth.expired-token (radosgw itself only
// says AccessDenied), the job keeps its upload, and fresh credentials finish it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Job } from '../../shared/types.js';
import { hoist, startHoist } from '../support/hoist-cli.js';
import { donePartCount } from '../support/db-peek.js';
import { recordResult } from '../support/results.js';
import { createRgwUser, type RgwUser } from '../support/rgw-user.js';
import { startS3Proxy, type S3Proxy } from '../support/s3-proxy.js';
import { assumeRole, roleFor, startStsGateway, type StsGateway } from '../support/sts.js';
import { MiB, createBucket, listUploads, removeBucket, s3Client, s3Env, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';
import type { S3Client } from '@aws-sdk/client-s3';

let sts: StsGateway;
let user: RgwUser;
let role: string;
let client: S3Client;
let bucket: string;
let proxy: S3Proxy;
const dir = tempDir('sts');

before(async () => {
  sts = await startStsGateway();
  user = createRgwUser('sts');
  role = roleFor(sts, user);
  // The role's sessions act for the user: the user owns the bucket and reads it back for the checks.
  client = s3Client(s3Env().endpoint, { accessKeyId: user.env.AWS_ACCESS_KEY_ID, secretAccessKey: user.env.AWS_SECRET_ACCESS_KEY });
  bucket = await createBucket(client, 'sts');
  // Temporary credentials are checked only by the gateway with STS: hoist talks to it.
  proxy = await startS3Proxy(sts.endpoint);
});
after(async () => {
  await proxy.close();
  await removeBucket(client, bucket);
  user.remove();
  await sts.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function onlyJob(db: string): Promise<Job> {
  const r = await hoist(['--db', db, 'jobs', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { jobs: Job[] }).jobs[0]!;
}

test('temporary credentials that expire mid-upload: auth.expired-token (UploadPart), job failed with its upload kept; fresh ones finish it', { timeout: 5 * 60_000 }, async () => {
  const db = path.join(dir, 'hoist.db');
  const file = await writeRandomFile(path.join(dir, 'A003_C012.mov'), 40 * MiB);
  const cli = ['--db', db, '--endpoint', proxy.url, '--path-style'];
  const fresh = assumeRole(sts, user, role, 900);
  const probe = await hoist(['--db', path.join(dir, 'probe.db'), '--endpoint', sts.endpoint, '--path-style', 'uploads', 'list', '--bucket', bucket], fresh);
  assert.equal(probe.code, 0, `the role's temporary credentials work: ${probe.stderr}`);

  // 40 MiB at 3 MiB/s takes about 13 s: the token ends on the way.
  const shortLived = assumeRole(sts, user, role, 8);
  proxy.reset();
  proxy.setBandwidth(3 * MiB);
  try {
    const run = startHoist([...cli, 'upload', file, '--bucket', bucket, '--key', 'sts.mov', '--single-put-threshold', '0', '--part-size', '5MiB', '--concurrency', '2'], shortLived);
    const r = await run.done;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /auth\.expired-token \(UploadPart\): The session token has expired/);
    assert.ok(Date.now() >= Date.parse(shortLived.AWS_CREDENTIAL_EXPIRATION!), 'it failed only once the token had expired');
    const job = await onlyJob(db);
    assert.equal(job.state, 'failed');
    assert.equal(job.error?.code, 'auth.expired-token');
    assert.ok(job.uploadId, 'the upload is kept: fresh credentials resume it');
    const kept = donePartCount(db);
    assert.ok(kept < 8, 'the upload did not finish before the token expired');

    proxy.setBandwidth(null);
    proxy.reset();
    assert.equal((await hoist(['--db', db, 'retry', String(job.id)])).code, 0);
    const again = await hoist([...cli, 'run'], fresh);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(proxy.counts().UploadPart <= 8 - kept, `only the unrecorded parts went out (${proxy.counts().UploadPart})`);
    assert.equal(await sha256OfObject(client, bucket, 'sts.mov'), await sha256OfFile(file));
    assert.deepEqual(await listUploads(client, bucket), []);
    recordResult('expired-token', {
      what: 'AssumeRole credentials of 8 s from radosgw STS (AWS_CREDENTIAL_EXPIRATION set), expiring during a 40 MiB upload; then fresh ones',
      outcome: `radosgw answers 403 AccessDenied; Hoist reports auth.expired-token (UploadPart) because the token's expiration had passed; job failed with ${kept} parts and its upload kept; retry with fresh credentials sent ${proxy.counts().UploadPart} parts, object whole`,
    });
  } finally {
    proxy.setBandwidth(null);
  }
});

test('a garbage session token against a server with STS: refused as s3.access-denied, with a hint about the token', async () => {
  const db = path.join(dir, 'garbage.db');
  const file = await writeRandomFile(path.join(dir, 'token.mov'), 1 * MiB);
  const r = await hoist(['--db', db, '--endpoint', sts.endpoint, '--path-style', 'upload', file, '--bucket', bucket, '--key', 'token.mov'], { ...user.env, AWS_SESSION_TOKEN: 'garbage' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /s3\.access-denied \(PutObject\)/);
  const detail = JSON.parse((await hoist(['--db', db, 'job', '1', '--json'])).stdout) as { history: Array<{ kind: string; message: string }> };
  assert.ok(detail.history.some((e) => e.kind === 'failed' && /carry a session token; if it is old, refresh them/.test(e.message)), JSON.stringify(detail.history));
  recordResult('bad-session-token', {
    what: 'AWS_SESSION_TOKEN=garbage with a user’s permanent keys, against radosgw with STS on',
    outcome: 's3.access-denied (PutObject) (radosgw says AccessDenied), job failed; the history hints that the session token may be stale',
  });
});
