// Round trips through the real `hoist upload` command and the real local S3 server.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { Job } from '../../shared/types.js';
import { hoist } from '../support/hoist-cli.js';
import { MiB, s3Env, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, dir } = await s3Fixture('roundtrip');
const db = path.join(dir, 'hoist.db');
const base = () => ['--db', db, '--endpoint', s3Env().endpoint, '--path-style'];

async function upload(file: string, key: string, extra: string[] = []): Promise<Job> {
  const r = await hoist([...base(), 'upload', file, '--bucket', bucket, '--key', key, '--json', ...extra]);
  assert.equal(r.code, 0, `hoist upload failed:\n${r.stderr}`);
  const { jobs } = JSON.parse(r.stdout) as { jobs: Job[] };
  assert.equal(jobs.length, 1);
  return jobs[0]!;
}

async function assertSameBytes(file: string, key: string): Promise<void> {
  assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file), `s3://${bucket}/${key} differs from ${file}`);
}

const EDGE_SIZES: Array<[string, number]> = [
  ['0 B', 0],
  ['1 B', 1],
  ['5 MiB - 1', 5 * MiB - 1],
  ['5 MiB', 5 * MiB],
  ['5 MiB + 1', 5 * MiB + 1],
];

for (const [label, size] of EDGE_SIZES) {
  test(`${label}: byte-identical as one PutObject and as a multipart upload`, async () => {
    const file = await writeRandomFile(path.join(dir, `edge-${size}.mov`), size);
    const single = await upload(file, `single/${size}.mov`);
    assert.equal(single.state, 'done');
    assert.equal(single.mode, 'single');
    await assertSameBytes(file, `single/${size}.mov`);

    const multi = await upload(file, `multi/${size}.mov`, ['--single-put-threshold', '0', '--part-size', '5MiB']);
    assert.equal(multi.state, 'done');
    assert.equal(multi.mode, size === 0 ? 'single' : 'multipart', '0 bytes cannot be a multipart upload');
    if (size > 0) assert.equal(multi.partCount, Math.ceil(size / (5 * MiB)));
    assert.match(multi.etag ?? '', size === 0 ? /^[0-9a-f]{32}$/ : /^[0-9a-f]{32}-\d+$/);
    await assertSameBytes(file, `multi/${size}.mov`);

    // The PutObject goes from a part worker without the SDK (s3/direct-request.ts), CreateMultipartUpload through it: both carry them.
    for (const key of [`single/${size}.mov`, `multi/${size}.mov`]) {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      assert.equal(head.ContentType, 'video/quicktime', `${key}: Content-Type comes from the file name`);
      assert.equal(head.Metadata?.['source-size'], String(size), `${key}: source size travels as user metadata`);
      assert.ok(head.Metadata?.['source-mtime'], `${key}: source mtime travels as user metadata`);
    }
  });
}

test('a file that needs more parts than the server allows gets a larger part size automatically', async () => {
  const size = 200 * MiB + 77;
  const file = await writeRandomFile(path.join(dir, 'auto.mxf'), size);
  // With at most 20 parts, 5 MiB parts cannot carry 200 MiB: 10 MiB + rounding is chosen.
  const job = await upload(file, 'auto.mxf', ['--part-size', '5MiB', '--max-parts', '20']);
  assert.equal(job.state, 'done');
  assert.equal(job.partSize, 11 * MiB, 'size/20 rounded up to a whole MiB');
  assert.ok(job.partCount <= 20);
  await assertSameBytes(file, 'auto.mxf');
});

test('1 GiB in 64 MiB parts, four at a time, arrives byte-identical with a verified ETag', async () => {
  const size = 1024 * MiB;
  const file = await writeRandomFile(path.join(dir, 'A001C003.mov'), size);
  const job = await upload(file, 'A001C003.mov', ['--part-size', '64MiB', '--concurrency', '4']);
  assert.equal(job.state, 'done');
  assert.equal(job.partCount, 16);
  assert.equal(job.bytesDone, size);
  assert.match(job.etag ?? '', /-16$/);
  await assertSameBytes(file, 'A001C003.mov');
  await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'A001C003.mov' }));
});

test('a file above the destination limit is refused before any request, with a clear error', async () => {
  const file = await writeRandomFile(path.join(dir, 'big.mov'), 6 * MiB);
  const r = await hoist([...base(), 'upload', file, '--bucket', bucket, '--max-object-size', '5MiB']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /limits\.too-large: The file is 6 MiB/);
});

test('an additional checksum goes with every part; a server that ignores it is named in the history', async () => {
  const file = await writeRandomFile(path.join(dir, 'crc.mov'), 12 * MiB);
  for (const algorithm of ['crc32', 'crc32c', 'sha1', 'sha256', 'crc64nvme']) {
    const job = await upload(file, `crc/${algorithm}.mov`, ['--checksum', algorithm, '--single-put-threshold', '0', '--part-size', '5MiB']);
    assert.equal(job.state, 'done');
    assert.equal(job.checksumAlgorithm, algorithm);
    await assertSameBytes(file, `crc/${algorithm}.mov`);
    const detail = await hoist(['--db', db, 'job', String(job.id), '--json']);
    const { parts, history } = JSON.parse(detail.stdout) as { parts: Array<{ checksum: string | null }>; history: Array<{ kind: string }> };
    assert.ok(parts.every((p) => typeof p.checksum === 'string' && p.checksum.length > 0), 'each part records the checksum Hoist computed and sent');
    // radosgw 16 (Ceph Pacific) predates additional checksums: it stores the parts but does not echo or check them.
    assert.ok(history.some((e) => e.kind === 'checksum-unverified'));
  }
});

test('200 small files in one call all arrive, several in flight at once', async () => {
  const files: string[] = [];
  for (let i = 0; i < 200; i++) files.push(await writeRandomFile(path.join(dir, `still_${String(i).padStart(4, '0')}.dpx`), 20_000 + i));
  const r = await hoist([...base(), 'upload', ...files, '--bucket', bucket, '--prefix', 'stills', '--concurrency', '8', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { jobs } = JSON.parse(r.stdout) as { jobs: Job[] };
  assert.equal(jobs.length, 200);
  assert.ok(jobs.every((j) => j.state === 'done' && j.mode === 'single'));
  assert.deepEqual(new Set(jobs.map((j) => j.key)).size, 200);
  await assertSameBytes(files[123]!, 'stills/still_0123.dpx');
});
