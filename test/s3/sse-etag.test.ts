// ETags under server-side encryption (issue 13, item 1). Under SSE-KMS, DSSE-KMS and SSE-C an
// object's and a part's ETag is not the MD5 of their bytes, so whether an ETag can be compared is
// decided from what each answer says, and the proof is then Content-MD5 (which the server checks
// and refuses with BadDigest). radosgw cannot do SSE-KMS here: the fault proxy plays Amazon S3 with
// a bucket whose default encryption is SSE-KMS (test/support/kms-bucket.ts); the bytes still land
// on radosgw and are read back from it. Without the header, a wrong ETag still fails.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { ConnectionCheck, Job, JobEvent, Part } from '../../shared/types.js';
import { EngineApi } from '../../src-main/engine/api.js';
import { testEngine } from '../support/engine.js';
import { hoist } from '../support/hoist-cli.js';
import { KMS_KEY_ARN, playKmsBucket, type KmsBucketOptions } from '../support/kms-bucket.js';
import { recordResult } from '../support/results.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { MiB, listUploads, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';

const { client, bucket, dir, proxy } = await s3Fixture('sse-etag', { proxy: true });

/** The proxy as Amazon S3 with this persona, and nothing left of the last test's. */
function playing(o: Omit<KmsBucketOptions, 'client'> = {}) {
  proxy.clearFaults();
  proxy.clearRewrites();
  return playKmsBucket(proxy, { client, ...o });
}

interface JobDetail {
  job: Job & { serverEncryption: string | null; integrity: string | null; etagVerified: boolean | null };
  parts: Part[];
  history: JobEvent[];
}

/** Uploads one file through the proxy with the CLI, and reads its job back (`hoist job ID --json`). */
async function upload(name: string, size: number, multipart: boolean): Promise<{ code: number | null; stderr: string; detail: JobDetail; file: string; key: string }> {
  const file = await writeRandomFile(path.join(dir, name), size);
  const db = path.join(dir, `${name}.db`);
  const key = `sse/${name}`;
  const cli = ['--db', db, '--endpoint', proxy.url, '--path-style'];
  const args = [...cli, 'upload', file, '--bucket', bucket, '--key', key, '--part-size', '5MiB', '--json'];
  if (multipart) args.push('--single-put-threshold', '0');
  const run = await hoist(args, { HOIST_PART_ATTEMPTS: '1', HOIST_JOB_ATTEMPTS: '1' });
  const id = (JSON.parse(run.stdout) as { jobs: Job[] }).jobs[0]!.id;
  const shown = await hoist([...cli, 'job', String(id), '--json']);
  assert.equal(shown.code, 0, shown.stderr);
  return { code: run.code, stderr: run.stderr, detail: JSON.parse(shown.stdout) as JobDetail, file, key };
}

test('Amazon S3 with a default SSE-KMS bucket (played by the proxy): a multipart upload and a PutObject whose ETags are not MD5s succeed whole; the job says SSE-KMS and that Content-MD5 is the proof', async () => {
  const kms = playing();
  for (const [name, size, multipart] of [['A001_C001.mov', 12 * MiB, true], ['A001_C002.mov', 1 * MiB, false]] as const) {
    const { code, stderr, detail, file, key } = await upload(name, size, multipart);
    assert.equal(code, 0, stderr);
    const { job } = detail;
    assert.equal(job.state, 'done');
    assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file), 'the object on radosgw is the whole file');
    assert.equal(job.etag, kms.finalEtags.get(key), 'the job keeps the ETag the server gave');
    for (const p of detail.parts) assert.ok(kms.madeUp.has(p.etag!), `part ${p.partNumber} keeps the server's (non-MD5) ETag`);
    assert.equal(job.serverEncryption, 'aws:kms');
    assert.equal(job.etagVerified, false, 'an ETag that is not an MD5 is never counted as verified');
    assert.match(job.integrity!, /Content-MD5 accepted by the server/);
    assert.match(job.integrity!, /ETag not comparable under SSE-KMS/);
    assert.ok(detail.history.some((e) => e.kind === 'server-encryption' && /SSE-KMS/.test(e.message)), 'the history says what the server applied');
  }
  assert.deepEqual(await uploadsUnder('sse/'), [], 'nothing is left behind');
  recordResult('sse-kms-etag', {
    what: 'Amazon S3 with a default SSE-KMS bucket, played by the proxy: every answer says x-amz-server-side-encryption: aws:kms, part and PutObject ETags random hex, the Complete ETag a random "-3"',
    outcome: 'both uploads done and whole on radosgw; job serverEncryption aws:kms, etagVerified false, integrity "Content-MD5 accepted by the server …; ETag not comparable under SSE-KMS"',
  });
});

test('DSSE-KMS and SSE-C answers (played by the proxy): the ETag is not compared, the job names the encryption', async () => {
  for (const [encryption, label] of [['aws:kms:dsse', 'DSSE-KMS'], ['SSE-C', 'SSE-C']] as const) {
    playing({ encryption });
    for (const multipart of [false, true]) {
      const { code, stderr, detail, file, key } = await upload(`${label}-${multipart ? 'multi' : 'single'}.mov`, multipart ? 7 * MiB : 2 * MiB, multipart);
      assert.equal(code, 0, stderr);
      assert.equal(detail.job.serverEncryption, encryption);
      assert.equal(detail.job.etagVerified, false);
      assert.match(detail.job.integrity!, new RegExp(`ETag not comparable under ${label}`));
      assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file));
    }
  }
});

test('without an encryption header a wrong ETag still fails with s3.etag-mismatch: at a part, at a PutObject and at Complete', async () => {
  const cases = [
    { what: 'part', options: { announce: false }, multipart: true, operation: 'UploadPart' },
    { what: 'put', options: { announce: false }, multipart: false, operation: 'PutObject' },
    { what: 'complete', options: { announce: false, partEtags: false }, multipart: true, operation: 'CompleteMultipartUpload' },
  ];
  for (const c of cases) {
    playing(c.options);
    const { code, detail } = await upload(`strict-${c.what}.mov`, c.multipart ? 7 * MiB : 1 * MiB, c.multipart);
    assert.equal(code, 1, c.what);
    assert.equal(detail.job.state, 'failed', c.what);
    assert.equal(detail.job.error?.code, 's3.etag-mismatch', c.what);
    assert.equal(detail.job.error?.operation, c.operation, c.what);
    assert.equal(detail.job.etagVerified, null, c.what);
  }
  recordResult('sse-etag-strict', {
    what: 'the same made-up ETags with no x-amz-server-side-encryption header: at UploadPart, at PutObject, and (true part ETags) a wrong "-N" at Complete',
    outcome: 'each job failed with s3.etag-mismatch naming UploadPart, PutObject and CompleteMultipartUpload: the check is not off, it yields only to the header',
  });
});

test('Complete refused under SSE-KMS is reported as s3.kms-denied (kms:Decrypt), not a bare access denial', async () => {
  playing();
  proxy.addFault({ operation: 'CompleteMultipartUpload', first: true, action: { kind: 'status', status: 403, code: 'AccessDenied', message: 'User is not authorized to perform: kms:Decrypt' } });
  const { code, detail } = await upload('denied.mov', 7 * MiB, true);
  assert.equal(code, 1);
  assert.equal(detail.job.error?.code, 's3.kms-denied');
  assert.equal(detail.job.error?.operation, 'CompleteMultipartUpload');
  assert.match(detail.job.error!.message, /kms:Decrypt/);
});

async function connectionTest(prefix: string): Promise<ConnectionCheck[]> {
  const { engine, dest } = testEngine(tempDir('sse-conn'), { endpoint: proxy.url, bucket, prefix });
  const api = new EngineApi(engine);
  try {
    return await api.testConnection(dest.id);
  } finally {
    api.dispose();
    await engine.close();
  }
}

async function uploadsUnder(prefix: string): Promise<string[]> {
  return (await listUploads(client, bucket)).filter((u) => u.key.startsWith(prefix)).map((u) => u.key);
}

async function testObjectsLeft(prefix: string): Promise<string[]> {
  const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

test('the connection test reads the bucket’s default SSE-KMS, says what integrity uploads get, and proves kms:Decrypt by completing a tiny upload it then deletes', async () => {
  proxy.reset();
  playing();
  const checks = await connectionTest('conn-kms/');
  const rows = Object.fromEntries(checks.map((c) => [c.permission, c]));
  const all = ['PutObject', 'ListBucketMultipartUploads', 'ListMultipartUploadParts', 'AbortMultipartUpload', 'GetEncryptionConfiguration', 'kms:Decrypt', 'ChecksumVerification'];
  assert.deepEqual(checks.map((c) => [c.permission, c.ok, c.code]), all.map((p) => [p, true, null]));
  assert.match(rows.GetEncryptionConfiguration!.message, /SSE-KMS/);
  assert.ok(rows.GetEncryptionConfiguration!.message.includes(KMS_KEY_ARN), 'names the key');
  assert.match(rows.GetEncryptionConfiguration!.message, /Content-MD5/);
  assert.match(rows.GetEncryptionConfiguration!.message, /not MD5s/);
  assert.equal(proxy.counts().CompleteMultipartUpload, 1, 'one tiny upload was completed');
  assert.deepEqual(await uploadsUnder('conn-kms/'), []);
  assert.deepEqual(await testObjectsLeft('conn-kms/'), [], 'the tiny object was deleted');

  proxy.reset();
  playing();
  proxy.addFault({ operation: 'CompleteMultipartUpload', first: true, action: { kind: 'status', status: 403, code: 'AccessDenied' } });
  const denied = await connectionTest('conn-denied/');
  const decrypt = denied.find((c) => (c.permission as string) === 'kms:Decrypt');
  assert.deepEqual([decrypt?.ok, decrypt?.code], [false, 's3.kms-denied']);
  assert.match(decrypt!.message, /kms:Decrypt/);
  assert.ok(denied.filter((c) => (c.permission as string) !== 'kms:Decrypt').every((c) => c.ok), 'only kms:Decrypt is missing');
  assert.deepEqual(await uploadsUnder('conn-denied/'), [], 'the probe upload was aborted');
  assert.deepEqual(await testObjectsLeft('conn-denied/'), []);
  recordResult('sse-connection-test', {
    what: 'the connection test against Amazon S3 with a default SSE-KMS bucket (proxy answers GetBucketEncryption), then with Complete refused AccessDenied',
    outcome: `SSE-KMS and its key named with the integrity uploads get; kms:Decrypt proved by one tiny completed upload, deleted after; refused: kms:Decrypt ${decrypt?.code}, the probe upload aborted, nothing left`,
  });

  proxy.clearFaults();
  proxy.clearRewrites();
  const plain = await connectionTest('conn-plain/');
  assert.deepEqual(plain.map((c) => [c.permission, c.ok]).slice(4), [['GetEncryptionConfiguration', true], ['ChecksumVerification', true]], 'no kms:Decrypt probe without SSE-KMS');
  assert.match(plain[4]!.message, /no default encryption/i);
  assert.match(plain[4]!.message, /ETag/);
});
