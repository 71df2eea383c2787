// Server-side copies against the real server: CopyObject below the threshold, UploadPartCopy ranges above it.
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import { AbortMultipartUploadCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { HoistError } from '../../shared/errors.js';
import { copyInParts, copyObject, planCopy } from '../../src-main/engine/remote/copy.js';
import { hoist } from '../support/hoist-cli.js';
import { recordResult } from '../support/results.js';
import { MiB, listUploads, s3Client, sha256OfObject, writeRandomFile } from '../support/s3.js';
import fs from 'node:fs';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy, dir, newBucket } = await s3Fixture('copy', { proxy: true });
const other = await newBucket('copy-to');
let sourceSha = '';

before(async () => {
  const file = await writeRandomFile(path.join(dir, 'clip.mov'), 23 * MiB + 17);
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'day1/clip é.mov', Body: fs.readFileSync(file), ContentType: 'video/quicktime', Metadata: { camera: 'A' } }));
  sourceSha = await sha256OfObject(client, bucket, 'day1/clip é.mov');
});

const source = () => ({ bucket, key: 'day1/clip é.mov' });

test('planCopy: one CopyObject up to the threshold, ranges of the part size above it', () => {
  assert.equal(planCopy(5 * 1024 * MiB).mode, 'single', 'CopyObject takes up to 5 GiB');
  const big = planCopy(5 * 1024 * MiB + 1);
  assert.equal(big.mode, 'multipart');
  assert.equal(big.parts.length, 11, '512 MiB ranges by default');
  const lowered = planCopy(23 * MiB + 17, { multipartThreshold: 5 * MiB, partSize: 5 * MiB });
  assert.deepEqual(lowered.parts.map((p) => p.length), [5 * MiB, 5 * MiB, 5 * MiB, 5 * MiB, 3 * MiB + 17]);
  assert.equal(planCopy(10, { multipartThreshold: 50 * 1024 * MiB }).mode, 'single', 'the threshold never exceeds CopyObject’s limit');
  assert.equal(planCopy(6 * 1024 * MiB, { multipartThreshold: 50 * 1024 * MiB }).mode, 'multipart');
});

test('below the threshold: one CopyObject, no byte uploaded, the same bytes and headers', async () => {
  proxy.reset();
  const proxied = s3Client(proxy.url);
  const r = await copyObject(proxied, source(), { bucket: other, key: 'copy/whole.mov' }, { onCreated: () => assert.fail('no multipart upload below the threshold') });
  assert.equal(r.mode, 'single');
  assert.equal(proxy.counts().UploadPart + proxy.counts().PutObject, 0);
  assert.equal(proxy.counts().UploadPartCopy, 0);
  assert.equal(await sha256OfObject(client, other, 'copy/whole.mov'), sourceSha);
  const head = await client.send(new HeadObjectCommand({ Bucket: other, Key: 'copy/whole.mov' }));
  assert.equal(head.ContentType, 'video/quicktime');
  assert.equal(head.Metadata?.camera, 'A');
});

test('above the threshold: UploadPartCopy ranges in parallel, completed from our record, headers kept', async () => {
  proxy.reset();
  const proxied = s3Client(proxy.url);
  const r = await copyObject(proxied, source(), { bucket: other, key: 'copy/parts.mov' }, { multipartThreshold: 5 * MiB, partSize: 5 * MiB, concurrency: 3, onCreated: () => undefined });
  assert.equal(r.mode, 'multipart');
  assert.equal(r.parts, 5);
  assert.match(r.etag, /^[0-9a-f]{32}-5$/);
  const c = proxy.counts();
  assert.equal(c.UploadPartCopy, 5);
  assert.equal(c.UploadPart + c.PutObject, 0, 'no byte of the object went through this machine');
  assert.equal(c.ListParts, 0, 'Complete is sent from our own record, not a listing');
  assert.equal(await sha256OfObject(client, other, 'copy/parts.mov'), sourceSha);
  const head = await client.send(new HeadObjectCommand({ Bucket: other, Key: 'copy/parts.mov' }));
  assert.equal(head.ContentType, 'video/quicktime');
  assert.equal(head.Metadata?.camera, 'A');
  assert.deepEqual(await listUploads(client, other), []);
});

test('a copy that fails part-way throws only once its ranges on the wire have ended, and leaves the upload to the caller (who owes its abort)', async () => {
  proxy.reset();
  proxy.clearFaults();
  // The first range is held on the wire 1.5 s; the second is refused at once.
  proxy.addFault({ operation: 'UploadPartCopy', times: 1, action: { kind: 'delay', ms: 1500 } });
  proxy.addFault({ operation: 'UploadPartCopy', times: 1, action: { kind: 'status', status: 403, code: 'AccessDenied' } });
  const parts = planCopy(23 * MiB + 17, { multipartThreshold: 5 * MiB, partSize: 5 * MiB }).parts;
  let uploadId = '';
  let copied = 0;
  try {
    await assert.rejects(
      copyInParts(s3Client(proxy.url), source(), { bucket: other, key: 'copy/broken.mov' }, parts, { size: 23 * MiB + 17, concurrency: 2, onCreated: (id) => (uploadId = id), onPart: () => copied++ }),
      (err: unknown) => err instanceof HoistError && err.info.operation === 'UploadPartCopy',
    );
    const ranges = proxy.requests().filter((r) => r.operation === 'UploadPartCopy');
    assert.deepEqual(ranges.map((r) => r.status), [200, 403], 'the range on the wire was answered before the copy gave up; no range started after the refusal');
    assert.equal(copied, 1);
    assert.ok(uploadId, 'the upload had been created');
    assert.deepEqual((await listUploads(client, other)).map((u) => u.uploadId), [uploadId], 'the upload is the caller’s to abort');
  } finally {
    proxy.clearFaults();
    if (uploadId) await client.send(new AbortMultipartUploadCommand({ Bucket: other, Key: 'copy/broken.mov', UploadId: uploadId })).catch(() => undefined);
  }
  await assert.rejects(client.send(new HeadObjectCommand({ Bucket: other, Key: 'copy/broken.mov' })));
});

test('hoist copy that fails part-way owes the abort of its upload: refused once, it is said, and hoist run settles it', async () => {
  const base = ['--db', path.join(dir, 'hoist-broken.db'), '--endpoint', proxy.url, '--path-style'];
  proxy.reset();
  proxy.addFault({ operation: 'UploadPartCopy', times: 1, action: { kind: 'status', status: 403, code: 'AccessDenied' } });
  proxy.addFault({ operation: 'AbortMultipartUpload', times: 1, action: { kind: 'status', status: 403, code: 'AccessDenied' } });
  try {
    const r = await hoist([...base, 'copy', `s3://${bucket}/day1/clip é.mov`, `s3://${other}/cli/broken.mov`, '--multipart-threshold', '5MiB', '--part-size', '5MiB']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /s3\.access-denied \(UploadPartCopy\)/);
    const uploadId = new URLSearchParams(proxy.requests().find((q) => q.operation === 'UploadPartCopy')!.query).get('uploadId')!;
    assert.match(r.stderr, new RegExp(`multipart upload ${uploadId} \\(s3://${other}/cli/broken.mov, server-side copy failed\\) is not aborted yet: s3\\.access-denied \\(AbortMultipartUpload\\)`));
    assert.deepEqual((await listUploads(client, other)).map((u) => u.uploadId), [uploadId], 'still there while its abort is owed');
    const run = await hoist([...base, 'run']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await listUploads(client, other), [], 'hoist run aborted it');
    const sent = proxy.requests().filter((q) => q.operation === 'AbortMultipartUpload' || (q.operation === 'ListParts' && new URLSearchParams(q.query).get('uploadId') === uploadId)).map((q) => `${q.operation} ${q.status}`);
    assert.deepEqual(sent, ['AbortMultipartUpload 403', 'AbortMultipartUpload 204', 'ListParts 404']);
    recordResult('abort-failed-hoist-copy', {
      what: 'hoist copy in 5 MiB UploadPartCopy ranges; the proxy refuses one range (403), then the first AbortMultipartUpload of its upload (403); then hoist run',
      outcome: `hoist copy exits 1 naming s3.access-denied (UploadPartCopy) and the owed abort; hoist run settles it: ${sent.join(', ')}; no upload left`,
    });
  } finally {
    proxy.clearFaults();
  }
});

test('hoist copy s3://B/K s3://B2/K2 copies server-side and says how', async () => {
  const base = ['--db', path.join(dir, 'hoist.db'), '--endpoint', proxy.url, '--path-style'];
  proxy.reset();
  const r = await hoist([...base, 'copy', `s3://${bucket}/day1/clip é.mov`, `s3://${other}/cli/clip.mov`, '--multipart-threshold', '5MiB', '--part-size', '5MiB', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { mode: string; parts: number; size: number; etag: string };
  assert.equal(out.mode, 'multipart');
  assert.equal(out.parts, 5);
  assert.equal(out.size, 23 * MiB + 17);
  assert.equal(proxy.counts().UploadPart, 0);
  assert.equal(await sha256OfObject(client, other, 'cli/clip.mov'), sourceSha);

  const missing = await hoist([...base, 'copy', `s3://${bucket}/nope.mov`, `s3://${other}/x.mov`]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /hoist: source\.missing \(HeadObject\): There is no object s3:\/\/.*\/nope\.mov/);
  const bad = await hoist([...base, 'copy', `${bucket}/a`, `s3://${other}/x.mov`]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /s3:\/\/BUCKET\/KEY/);
});
