// Cancel when the bucket refuses AbortMultipartUpload: said plainly, the abort stays owed and is
// retried by whoever works the queue, and once allowed nothing is left on the server to bill.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { Job } from '../../shared/types.js';
import { hoist, startHoist } from '../support/hoist-cli.js';
import { until } from '../support/engine.js';
import { donePartCount } from '../support/db-peek.js';
import { recordResult } from '../support/results.js';
import { ownerStatement, setBucketPolicy, statement } from '../support/rgw-user.js';
import { MiB, listUploads, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { INTEGRITY_PROBE_FOLDER } from '../../src-main/engine/s3/integrity-probe.js';

const { client, bucket, proxy, user, dir } = await s3Fixture('abort-denied', { proxy: true, user: 'noabort' });

type OwedAbort = { upload_id: string; key: string; attempts: number; last_error: string | null };

function owedAborts(db: string): OwedAbort[] {
  const ro = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return ro.prepare(`SELECT subject AS upload_id, json_extract(payload, '$.key') AS key, attempts, last_error FROM owed_work WHERE kind = 'remote-abort' AND state = 'owed' ORDER BY id`).all() as OwedAbort[];
  } finally {
    ro.close();
  }
}

/** integrity auto's probe (s3/integrity-probe.ts) opens a throwaway upload under this folder; the denied abort leaves it too. */
const isProbe = (key: string): boolean => key.includes(INTEGRITY_PROBE_FOLDER);

async function onlyJob(db: string): Promise<Job> {
  const r = await hoist(['--db', db, 'jobs', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const [job] = (JSON.parse(r.stdout) as { jobs: Job[] }).jobs;
  return job!;
}

test('AbortMultipartUpload denied on cancel: reported with the operation, kept in remote_aborts and retried; once allowed it is settled and no upload is left', { timeout: 5 * 60_000 }, async () => {
  const db = path.join(dir, 'hoist.db');
  const file = await writeRandomFile(path.join(dir, 'B001_C002.mov'), 40 * MiB);
  const cli = ['--db', db, '--endpoint', proxy.url, '--path-style'];
  const writer = statement('Allow', user.uid, ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:GetObject'], bucket);
  const owner = ownerStatement(bucket);
  const denyAbort = statement('Deny', user.uid, ['s3:AbortMultipartUpload'], bucket);
  const policy = (...s: object[]) => setBucketPolicy(client, bucket, ...s);
  await policy(writer, owner, denyAbort);

  proxy.setBandwidth(8 * MiB);
  const upload = startHoist([...cli, 'upload', file, '--bucket', bucket, '--key', 'abort-denied.mov', '--single-put-threshold', '0', '--part-size', '5MiB', '--concurrency', '2'], user.env);
  await until('2 parts recorded', () => donePartCount(db) >= 2);
  upload.child.kill('SIGKILL');
  await upload.done;
  proxy.setBandwidth(null);
  const uploadId = (await onlyJob(db)).uploadId!;
  assert.ok(uploadId);

  proxy.reset();
  const cancel = await hoist([...cli, 'cancel', '1'], user.env);
  assert.equal(cancel.code, 1, 'the cancel is not complete while its upload stays on the server');
  assert.match(cancel.stderr, /cancelled job 1/);
  assert.match(cancel.stderr, new RegExp(`multipart upload ${uploadId} .* is not aborted yet: s3\\.access-denied \\(AbortMultipartUpload\\): Permission denied for AbortMultipartUpload`));
  const cancelled = await onlyJob(db);
  assert.equal(cancelled.state, 'cancelled');
  assert.equal(cancelled.error?.code, 's3.access-denied', 'the job shows why its upload is still there');
  assert.equal(cancelled.error?.operation, 'AbortMultipartUpload');
  assert.deepEqual(owedAborts(db).filter((a) => !isProbe(a.key)).map((a) => a.upload_id), [uploadId]);
  assert.deepEqual((await listUploads(client, bucket)).filter((u) => !isProbe(u.key)).map((u) => u.uploadId), [uploadId]);
  // Every upload Hoist creates is completed or aborted: the probe's, which the same policy kept, is owed as well.
  const probeUploads = (await listUploads(client, bucket)).filter((u) => isProbe(u.key)).map((u) => u.uploadId);
  assert.equal(probeUploads.length, 1, 'the probe left its upload (its abort was denied)');
  assert.deepEqual(owedAborts(db).filter((a) => isProbe(a.key)).map((a) => a.upload_id), probeUploads, 'and owes its abort');

  const stillDenied = await hoist([...cli, 'run'], user.env);
  assert.equal(stillDenied.code, 1, 'hoist run does not call the queue settled while an abort is owed');
  assert.match(stillDenied.stderr, /is not aborted yet: s3\.access-denied \(AbortMultipartUpload\)/);
  assert.ok(owedAborts(db).find((a) => a.upload_id === uploadId)!.attempts >= 2, 'the abort was tried again');

  await policy(writer, owner);
  const settled = await hoist([...cli, 'run'], user.env);
  assert.equal(settled.code, 0, settled.stderr);
  assert.doesNotMatch(settled.stderr, /not aborted yet/);
  assert.deepEqual(owedAborts(db), []);
  assert.deepEqual(await listUploads(client, bucket), []);
  const after = await onlyJob(db);
  assert.equal(after.state, 'cancelled');
  assert.equal(after.error, null, 'the refusal no longer shows once the abort went through');
  const aborts = proxy.counts().AbortMultipartUpload;
  assert.ok(aborts >= 3, `AbortMultipartUpload was sent at the cancel and at each run (${aborts})`);
  recordResult('abort-denied', {
    what: 'bucket policy denies s3:AbortMultipartUpload; hoist cancel, hoist run, then the policy allows it',
    outcome: `cancel exits 1 naming s3.access-denied (AbortMultipartUpload), job cancelled with that error, abort kept in remote_aborts; hoist run retries it (exit 1 while denied); allowed, the next run settles it (${aborts} AbortMultipartUpload sent), no upload left`,
  });
});
