// A part read once (upload/held-part.ts): its checksum pass keeps the chunks that fit in the thread's
// share, the body sends them and reads only the rest from the file, and every held chunk goes back
// to the share once its write settled (or when the request is over without writing it).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { CHUNK_SIZE, ChunkPool, FileRangeBody } from '../../src-main/engine/upload/file-range.js';
import { PartMemory, readAndHold } from '../../src-main/engine/upload/held-part.js';
import { tempDir } from '../support/s3.js';
import { SlowSink } from '../support/slow-sink.js';

const dir = tempDir('held-part');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const data = randomBytes(5 * CHUNK_SIZE + 4321);
const file = path.join(dir, 'clip.mov');
fs.writeFileSync(file, data);

/** A file handle whose reads are counted in bytes. */
async function countingHandle(): Promise<{ fd: fs.promises.FileHandle; read: () => number }> {
  const fd = await fs.promises.open(file, 'r');
  let bytes = 0;
  const orig = fd.read.bind(fd) as (...a: unknown[]) => Promise<{ bytesRead: number; buffer: Buffer }>;
  (fd as unknown as { read: (...a: unknown[]) => Promise<unknown> }).read = async (...a: unknown[]) => {
    const r = await orig(...a);
    bytes += r.bytesRead;
    return r;
  };
  return { fd, read: () => bytes };
}

for (const capChunks of [64, 3, 0]) {
  test(`a part of ${data.length - 100} bytes with room for ${capChunks} chunks: the body is the range, read ${capChunks >= 6 ? 'once' : 'again only beyond what was held'}, and the share is whole again after`, async () => {
    const { fd, read } = await countingHandle();
    const pool = new ChunkPool(64);
    const memory = new PartMemory(pool, capChunks);
    const offset = 100;
    const length = data.length - offset;
    try {
      const md5 = createHash('md5');
      const held = await readAndHold(fd, offset, length, pool, memory, (c) => md5.update(c));
      assert.equal(md5.digest('hex'), createHash('md5').update(data.subarray(offset)).digest('hex'), 'the checksum pass saw the range in order');
      const heldBytes = Math.min(capChunks * CHUNK_SIZE, length);
      assert.equal(held.bytes, heldBytes);
      assert.equal(memory.heldChunks, Math.min(capChunks, Math.ceil(length / CHUNK_SIZE)));
      let counted = 0;
      const body = new FileRangeBody(fd, offset, length, pool, { onBytes: (n) => (counted += n), held });
      const sink = new SlowSink();
      body.pipe(sink);
      await new Promise<void>((resolve, reject) => sink.on('finish', resolve).on('error', reject));
      held.dispose();
      assert.deepEqual(Buffer.concat(sink.copies), data.subarray(offset), 'the body is exactly the range');
      assert.deepEqual(sink.overwritten, [], 'no held chunk was reused before its write settled');
      assert.equal(counted, length);
      assert.equal(read(), length + (length - heldBytes), 'the held bytes were read once, the rest twice');
      assert.equal(memory.heldChunks, 0, "every held chunk went back to the thread's share");
    } finally {
      await fd.close();
    }
  });
}

test('a request that fails before its body is written gives its held chunks back', async () => {
  const fd = await fs.promises.open(file, 'r');
  const pool = new ChunkPool(64);
  const memory = new PartMemory(pool, 64);
  try {
    const held = await readAndHold(fd, 0, 2 * CHUNK_SIZE, pool, memory, () => undefined);
    assert.equal(memory.heldChunks, 2);
    new FileRangeBody(fd, 0, 2 * CHUNK_SIZE, pool, { onBytes: () => undefined, held }).dispose();
    assert.equal(memory.heldChunks, 0);
    assert.equal(pool.idleCount, 2, 'the buffers are in the pool for the next part');
  } finally {
    await fd.close();
  }
});
