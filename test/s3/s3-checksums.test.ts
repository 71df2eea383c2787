// Flexible checksums where radosgw 16 cannot show them: it ignores x-amz-checksum-* (neither checks,
// echoes nor lists them), so the fault proxy plays Amazon S3 (test/support/s3-play.ts). The proxy
// sees the headers each part goes with and the part list Complete sends; it answers Complete with
// the composite checksum S3 would give and ListParts with the checksums S3 would list. The bytes
// stored are radosgw's, and each object is checked whole against its file.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { crc32c } from '@aws-crypto/crc32c';
import { CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import type { Job } from '../../shared/types.js';
import { hoist } from '../support/hoist-cli.js';
import { recordResult } from '../support/results.js';
import { MiB, listUploads, s3Client, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { answerCompositeAtComplete, completeChecksums, compositeOf, listPartChecksums, partChecksumsSeen, partNumberOf, uploadIdOf } from '../support/s3-play.js';

const { client, bucket, proxy, dir } = await s3Fixture('s3-checksums', { proxy: true });
const PART = 5 * MiB;

function rangeOf(file: string, offset: number, length: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    fs.readSync(fd, buf, 0, length, offset);
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

function sha1Base64(file: string, offset: number, length: number): string {
  return crypto.createHash('sha1').update(rangeOf(file, offset, length)).digest('base64');
}

/** CRC32C as S3 sends it (big-endian, base64), by @aws-crypto, not Hoist's code. */
function crc32cBase64(bytes: Buffer): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32c(bytes) >>> 0);
  return out.toString('base64');
}

async function uploadSha1(file: string, key: string, db: string): Promise<{ code: number | null; stderr: string; job: Job }> {
  const r = await hoist(['--db', db, '--endpoint', proxy.url, '--path-style', 'upload', file, '--bucket', bucket, '--key', key, '--checksum', 'sha1', '--single-put-threshold', '0', '--part-size', '5MiB', '--json']);
  const jobs = (JSON.parse(r.stdout || '{"jobs":[]}') as { jobs: Job[] }).jobs;
  return { code: r.code, stderr: r.stderr, job: jobs[0]! };
}

test('--checksum sha1: each part carries x-amz-checksum-sha1 of its bytes, Complete lists them, and the composite S3 answers is checked (proxy playing S3)', async () => {
  const file = await writeRandomFile(path.join(dir, 'sha1.mov'), 12 * MiB + 12345);
  const db = path.join(dir, 'sha1.db');
  proxy.reset();
  proxy.clearRewrites();
  answerCompositeAtComplete(proxy, 'SHA1');
  const { code, stderr, job } = await uploadSha1(file, 'sha1/clip.mov', db);
  assert.equal(code, 0, stderr);
  assert.equal(job.state, 'done');
  assert.equal(job.checksumAlgorithm, 'sha1');

  const create = proxy.requests().find((r) => r.operation === 'CreateMultipartUpload')!;
  assert.equal(create.headers['x-amz-checksum-algorithm'], 'SHA1', 'the upload is created with SHA1 as its checksum algorithm');
  const seen = partChecksumsSeen(proxy, job.uploadId!, 'SHA1');
  assert.deepEqual([...seen.keys()].sort(), [1, 2, 3]);
  const expected: string[] = [];
  for (const n of [1, 2, 3]) {
    const offset = (n - 1) * PART;
    const want = sha1Base64(file, offset, Math.min(PART, job.size - offset));
    expected.push(want);
    assert.equal(seen.get(n), want, `part ${n}'s x-amz-checksum-sha1 is the SHA-1 of its bytes, base64`);
  }
  const complete = proxy.requests().find((r) => r.operation === 'CompleteMultipartUpload' && uploadIdOf(r) === job.uploadId)!;
  assert.deepEqual([...completeChecksums(complete.requestBody ?? '', 'SHA1').entries()], expected.map((c, i) => [i + 1, c]), 'Complete names each part with its ChecksumSHA1');

  const detail = JSON.parse((await hoist(['--db', db, 'job', String(job.id), '--json'])).stdout) as { history: Array<{ kind: string; message: string }> };
  const verified = detail.history.find((e) => e.kind === 'checksum-verified');
  assert.ok(verified, 'the composite S3 answered was compared with the parts’ checksums');
  assert.ok(verified.message.includes(compositeOf('SHA1', expected)), verified.message);
  assert.equal(await sha256OfObject(client, bucket, 'sha1/clip.mov'), await sha256OfFile(file), 'the object is whole');
  recordResult('checksum-sha1', {
    what: '--checksum sha1 on a 3-part upload through the proxy playing Amazon S3 (radosgw 16 ignores flexible checksums)',
    outcome: `each UploadPart carried x-amz-checksum-sha1 equal to the SHA-1 of its bytes; Complete listed them; the composite the proxy answered (${compositeOf('SHA1', expected)}) matched; object whole`,
  });
});

test('a composite checksum at Complete that does not match the parts fails the job as s3.checksum-mismatch (proxy playing S3)', async () => {
  const file = await writeRandomFile(path.join(dir, 'sha1-bad.mov'), 11 * MiB);
  const db = path.join(dir, 'sha1-bad.db');
  proxy.reset();
  proxy.clearRewrites();
  // As if the server held other bytes for a part than the ones sent: its composite differs.
  answerCompositeAtComplete(proxy, 'SHA1', (c) => `${c.startsWith('A') ? 'B' : 'A'}${c.slice(1)}`);
  const { code, job } = await uploadSha1(file, 'sha1/bad.mov', db);
  assert.equal(code, 1);
  assert.equal(job.state, 'failed');
  assert.equal(job.error?.code, 's3.checksum-mismatch');
  assert.equal(job.error?.operation, 'CompleteMultipartUpload');
  assert.ok(proxy.requests().some((r) => r.operation === 'UploadPart' && partNumberOf(r) === 3), 'every part went');
  recordResult('checksum-composite-mismatch', {
    what: 'Complete answered (by the proxy playing S3) with a composite SHA-1 checksum that is not the parts’',
    outcome: `job failed: ${job.error?.code} (${job.error?.operation}), not reported as verified`,
  });
});

test('a resumed upload keeps the part checksums ListParts lists, and Complete names every part with them (proxy playing S3)', async () => {
  // Another run (a Hoist whose database was lost) began this upload with CRC32C and sent 2 of its 4
  // parts; the watched folder's destination has no checksum, so the job taken up for it knows none.
  const watched = path.join(dir, 'watched-b');
  fs.mkdirSync(watched);
  const file = await writeRandomFile(path.join(watched, 'clip.mov'), 17 * MiB);
  const key = 'adopt/clip.mov';
  const db = path.join(dir, 'adopt.db');
  const cli = ['--db', db, '--endpoint', proxy.url, '--path-style'];
  proxy.reset();
  proxy.clearRewrites();
  const add = await hoist([...cli, 'folders', 'add', watched, '--bucket', bucket, '--prefix', 'adopt', '--single-put-threshold', '0', '--json']);
  assert.equal(add.code, 0, add.stderr);

  const viaProxy = s3Client(proxy.url);
  const { UploadId: uploadId } = await viaProxy.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: 'CRC32C' }));
  const listedValues = new Map<number, string>();
  for (const n of [1, 2]) {
    const body = rangeOf(file, (n - 1) * PART, PART);
    listedValues.set(n, crc32cBase64(body));
    await viaProxy.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: n, Body: body, ChecksumCRC32C: listedValues.get(n) }));
  }
  const ours = proxy.requests().length;
  // S3 lists the checksum each part arrived with.
  listPartChecksums(proxy, 'CRC32C', (n) => partChecksumsSeen(proxy, uploadId!, 'CRC32C').get(n) ?? '');

  const adopt = await hoist([...cli, 'uploads', 'adopt', '--bucket', bucket, '--json']);
  assert.equal(adopt.code, 0, adopt.stderr);
  const report = JSON.parse(adopt.stdout) as { adopted: Array<{ key: string; uploadId: string; jobId: number }> };
  assert.deepEqual(report.adopted.map((u) => [u.key, u.uploadId]), [[key, uploadId]]);
  const run = await hoist([...cli, 'run', '--json']);
  assert.equal(run.code, 0, run.stderr);

  const sentByHoist = proxy.requests().slice(ours).filter((r) => r.operation === 'UploadPart' && uploadIdOf(r) === uploadId);
  assert.deepEqual(sentByHoist.map(partNumberOf).sort(), [3, 4], 'the two parts the server held were adopted, not sent again');
  const expected = [1, 2, 3, 4].map((n) => listedValues.get(n) ?? crc32cBase64(rangeOf(file, (n - 1) * PART, Math.min(PART, 17 * MiB - (n - 1) * PART))));
  for (const r of sentByHoist) assert.equal(r.headers['x-amz-checksum-crc32c'], expected[partNumberOf(r) - 1], `part ${partNumberOf(r)} went with the upload's CRC32C`);
  const complete = proxy.requests().find((r) => r.operation === 'CompleteMultipartUpload' && uploadIdOf(r) === uploadId)!;
  assert.deepEqual([...completeChecksums(complete.requestBody ?? '', 'CRC32C').entries()], expected.map((c, i) => [i + 1, c]), 'Complete names every part with its CRC32C, the adopted ones with what ListParts listed');

  const detail = JSON.parse((await hoist(['--db', db, 'job', String(report.adopted[0]!.jobId), '--json'])).stdout) as { job: Job; history: Array<{ kind: string }> };
  assert.equal(detail.job.checksumAlgorithm, 'crc32c', "the job took the upload's algorithm");
  assert.ok(detail.history.some((e) => e.kind === 'checksum-taken'));
  assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file), 'the object is whole');
  assert.deepEqual((await listUploads(client, bucket)).filter((u) => u.key === key), []);
  recordResult('listed-part-checksums', {
    what: 'an upload begun with CRC32C (2 of 4 parts sent) taken up by a job that knew no checksum; ListParts answered with the parts’ CRC32C by the proxy playing Amazon S3',
    outcome: `the job took crc32c from the listing; parts 1–2 adopted with the listed checksums, parts 3–4 sent with x-amz-checksum-crc32c; Complete named all 4 parts with ChecksumCRC32C; object whole, no upload left`,
  });
});
