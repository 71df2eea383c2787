// The part body and the hashing pass read a file range in reused chunks: the bytes must be exactly the
// range, a buffer must not be reused before the socket has taken it, and a file that shrank is a changed source.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { CHUNK_SIZE, ChunkPool, FileRangeBody, forEachChunk } from '../../src-main/engine/upload/file-range.js';
import { tempDir } from '../support/s3.js';
import { SlowSink } from '../support/slow-sink.js';

const dir = tempDir('file-range');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const data = randomBytes(3 * CHUNK_SIZE + 12345);
const file = path.join(dir, 'clip.mov');
fs.writeFileSync(file, data);

const ranges = [
  { offset: 0, length: data.length },
  { offset: 1, length: CHUNK_SIZE },
  { offset: CHUNK_SIZE - 7, length: 2 * CHUNK_SIZE + 100 },
  { offset: data.length - 10, length: 10 },
];

for (const { offset, length } of ranges) {
  test(`piped body of ${length} bytes at ${offset}: exactly the range; every buffer untouched until its write settled`, async () => {
    const fd = await fs.promises.open(file, 'r');
    const pool = new ChunkPool();
    let counted = 0;
    try {
      const body = new FileRangeBody(fd, offset, length, pool, { onBytes: (n) => (counted += n) });
      const sink = new SlowSink();
      body.pipe(sink);
      await new Promise<void>((resolve, reject) => sink.on('finish', resolve).on('error', reject));
      assert.deepEqual(Buffer.concat(sink.copies), data.subarray(offset, offset + length));
      assert.deepEqual(sink.overwritten, [], 'no buffer was refilled before its write settled');
      assert.equal(counted, length, 'onBytes counts every byte once, as its write completes');
      assert.ok(pool.idleCount <= 2 && pool.idleCount > 0, 'its two buffers went back to the pool');
    } finally {
      await fd.close();
    }
  });
}

test('the same body read without pipe (any other consumer) gives the same bytes', async () => {
  const fd = await fs.promises.open(file, 'r');
  try {
    const body = new FileRangeBody(fd, 3, 2 * CHUNK_SIZE, new ChunkPool(), { onBytes: () => undefined });
    const got: Buffer[] = [];
    for await (const c of body) got.push(c as Buffer);
    assert.deepEqual(Buffer.concat(got), data.subarray(3, 3 + 2 * CHUNK_SIZE));
  } finally {
    await fd.close();
  }
});

test('hashing pass: chunk by chunk gives the MD5 of the range; one buffer is borrowed and returned', async () => {
  const fd = await fs.promises.open(file, 'r');
  const pool = new ChunkPool();
  try {
    const md5 = createHash('md5');
    await forEachChunk(fd, 5, data.length - 5, pool, (c) => md5.update(c));
    assert.equal(md5.digest('hex'), createHash('md5').update(data.subarray(5)).digest('hex'));
    assert.equal(pool.idleCount, 1);
  } finally {
    await fd.close();
  }
});

test('a file shorter than the range: source.changed, for the hash pass and for the body', async () => {
  const fd = await fs.promises.open(file, 'r');
  try {
    await assert.rejects(forEachChunk(fd, data.length - 100, 200, new ChunkPool(), () => undefined), { code: 'source.changed' });
    const body = new FileRangeBody(fd, data.length - 100, 200, new ChunkPool(), { onBytes: () => undefined });
    const sink = new SlowSink();
    body.pipe(sink);
    await assert.rejects(new Promise((resolve, reject) => sink.on('finish', resolve).on('error', reject)), { code: 'source.changed' });
  } finally {
    await fd.close();
  }
});

test('an aborted signal stops the body before the next chunk', async () => {
  const fd = await fs.promises.open(file, 'r');
  try {
    const controller = new AbortController();
    const body = new FileRangeBody(fd, 0, data.length, new ChunkPool(), { onBytes: () => controller.abort(), signal: controller.signal });
    const sink = new SlowSink();
    body.pipe(sink);
    await assert.rejects(new Promise((resolve, reject) => sink.on('finish', resolve).on('error', reject)), { name: 'AbortError' });
    assert.ok(Buffer.concat(sink.copies).length < data.length, 'not every chunk was written');
  } finally {
    await fd.close();
  }
});
