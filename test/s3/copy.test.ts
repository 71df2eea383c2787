// Server-side copies against the real server: CopyObject below the threshold, UploadPartCopy ranges above it.
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { HoistError } from '../../shared/errors.js';
import { copyInParts, copyObject, planCopy } from '../../src-main/engine/remote/copy.js';
import { hoist } from '../support/hoist-cli.js';
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
  const r = await copyObject(proxied, source(), { bucket: other, key: 'copy/whole.mov' });
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
  const r = await copyObject(proxied, source(), { bucket: other, key: 'copy/parts.mov' }, { multipartThreshold: 5 * MiB, partSize: 5 * MiB, concurrency: 3 });
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

test('a copy that fails part-way is aborted, leaving no upload and no object', async () => {
  // Ranges planned for a larger object than the source: the later ones are refused by the server.
  const parts = planCopy(40 * MiB, { multipartThreshold: 5 * MiB, partSize: 5 * MiB }).parts;
  let uploadId = '';
  let copied = 0;
  await assert.rejects(
    copyInParts(client, source(), { bucket: other, key: 'copy/broken.mov' }, parts, { size: 40 * MiB, concurrency: 2, onCreated: (id) => (uploadId = id), onPart: () => copied++ }),
    (err: unknown) => err instanceof HoistError && err.info.operation === 'UploadPartCopy',
  );
  assert.ok(uploadId, 'the upload had been created');
  assert.ok(copied >= 1 && copied < parts.length, `some ranges were copied before the failure (${copied})`);
  assert.deepEqual(await listUploads(client, other), [], 'and the upload was aborted (invariant 4)');
  await assert.rejects(client.send(new HeadObjectCommand({ Bucket: other, Key: 'copy/broken.mov' })));
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
