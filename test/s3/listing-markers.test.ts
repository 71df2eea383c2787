// Listings from a server that leaves out the next-page markers: IsTruncated=true without
// NextPartNumberMarker, NextKeyMarker/NextUploadIdMarker or NextContinuationToken. radosgw always
// gives them, so the fault proxy plays such a server by stripping them (test/support/s3-play.ts);
// Hoist goes on from the last item listed, as S3 SDKs do. A server that answers the same page
// whatever marker it is given (also played by the proxy) stops the listing with s3.listing-stuck.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { listObjectKeys } from '../../src-main/engine/s3/operations.js';
import { hoist } from '../support/hoist-cli.js';
import { recordResult } from '../support/results.js';
import { s3Client } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { dropNextMarkers, rewriteBody } from '../support/s3-play.js';
import type { S3Operation, S3Proxy } from '../support/s3-proxy.js';

const { client, bucket, proxy, dir, newBucket } = await s3Fixture('listing-markers', { proxy: true });
const db = path.join(dir, 'hoist.db');
const cli = ['--db', db, '--endpoint', proxy.url, '--path-style'];

// Five parts of one upload, five uploads (three of one key), five objects: three pages of two.
const partsKey = 'parts/clip.mov';
const { UploadId: partsUpload } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: partsKey }));
for (let n = 1; n <= 5; n++) await client.send(new UploadPartCommand({ Bucket: bucket, Key: partsKey, UploadId: partsUpload, PartNumber: n, Body: Buffer.alloc(1024, n) }));
const uploadsBucket = await newBucket('listing-uploads');
const uploadIds: string[] = [];
for (const key of ['a/x.mov', 'a/x.mov', 'a/x.mov', 'b/y.mov', 'c/z.mov']) {
  uploadIds.push((await client.send(new CreateMultipartUploadCommand({ Bucket: uploadsBucket, Key: key }))).UploadId!);
}
const objectKeys = ['obj/1', 'obj/2', 'obj/3', 'obj/4', 'obj/5'];
for (const key of objectKeys) await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));

function listings(op: S3Operation): number {
  return proxy.requests().filter((r) => r.operation === op && r.method === 'GET').length;
}

/** A server that ignores the marker: every page after the first is the first again (its markers too). */
function repeatFirstPage(p: S3Proxy, operation: S3Operation, match: (query: string) => boolean): void {
  let first: string | undefined;
  rewriteBody(p, operation, (body) => (first ??= body), (res) => res.method === 'GET' && match(res.query));
}

test('IsTruncated without next-page markers: ListParts, ListMultipartUploads and ListObjectsV2 go on from the last item (proxy playing such a server)', async () => {
  proxy.reset();
  proxy.clearRewrites();
  dropNextMarkers(proxy);

  const parts = await hoist([...cli, 'uploads', 'parts', '--bucket', bucket, '--key', partsKey, '--upload-id', partsUpload!, '--page-size', '2', '--json']);
  assert.equal(parts.code, 0, parts.stderr);
  assert.deepEqual((JSON.parse(parts.stdout) as { parts: Array<{ partNumber: number }> }).parts.map((p) => p.partNumber), [1, 2, 3, 4, 5]);
  assert.equal(listings('ListParts'), 3);

  const uploads = await hoist([...cli, 'uploads', 'list', '--bucket', uploadsBucket, '--page-size', '2', '--json']);
  assert.equal(uploads.code, 0, uploads.stderr);
  const listed = (JSON.parse(uploads.stdout) as { uploads: Array<{ uploadId: string }> }).uploads.map((u) => u.uploadId);
  assert.deepEqual([...listed].sort(), [...uploadIds].sort(), 'every upload, each once, the three of one key too');
  assert.equal(listings('ListMultipartUploads'), 3);

  const keys: string[] = [];
  for await (const o of listObjectKeys(s3Client(proxy.url), bucket, 'obj/', 2)) keys.push(o.key);
  assert.deepEqual(keys, objectKeys);
  assert.ok(proxy.requests().some((r) => r.query.includes('start-after=')), 'the next page asked for what comes after the last key');

  recordResult('listing-markers', {
    what: 'ListParts, ListMultipartUploads (3 uploads of one key) and ListObjectsV2 in pages of 2, the proxy stripping every next-page marker while IsTruncated=true',
    outcome: 'each listing went on from its last item: 5 of 5 parts, 5 of 5 uploads, 5 of 5 keys, 3 pages each',
  });
});

test('a server that answers the same page again: the listing stops with s3.listing-stuck, after one repeated page (proxy playing such a server)', async () => {
  proxy.reset();
  proxy.clearRewrites();
  repeatFirstPage(proxy, 'ListParts', () => true);
  const parts = await hoist([...cli, 'uploads', 'parts', '--bucket', bucket, '--key', partsKey, '--upload-id', partsUpload!, '--page-size', '2', '--json']);
  assert.equal(parts.code, 1);
  assert.match(parts.stderr, /s3\.listing-stuck/);
  assert.match(parts.stderr, /ListParts/);
  assert.equal(listings('ListParts'), 2, 'the second page, the same as the first, ended the listing');

  proxy.clearRewrites();
  repeatFirstPage(proxy, 'ListMultipartUploads', () => true);
  const uploads = await hoist([...cli, 'uploads', 'list', '--bucket', uploadsBucket, '--page-size', '2', '--json']);
  assert.equal(uploads.code, 1);
  assert.match(uploads.stderr, /s3\.listing-stuck/);
  assert.equal(listings('ListMultipartUploads'), 2);

  proxy.clearRewrites();
  repeatFirstPage(proxy, 'Other', (q) => q.includes('list-type=2'));
  const keys: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const o of listObjectKeys(s3Client(proxy.url), bucket, 'obj/', 2)) keys.push(o.key);
    })(),
    (err: { code?: string; info?: { operation?: string } }) => err.code === 's3.listing-stuck' && err.info?.operation === 'ListObjectsV2',
  );
  assert.deepEqual(keys, ['obj/1', 'obj/2'], 'no key given twice');
  recordResult('listing-stuck', {
    what: 'a server answering every page of ListParts, ListMultipartUploads and ListObjectsV2 with the first one again (the proxy repeating it)',
    outcome: 's3.listing-stuck after the second request of each; the CLI exits 1 naming the operation; no item given twice',
  });
});
