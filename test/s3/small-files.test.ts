// A file that goes in one PutObject (issue 12, small files): its whole-file hashes come from the same
// read as its body's MD5, not from a hash pass of their own, and they are the file's (xxhsum's).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { testEngine } from '../support/engine.js';
import { toolHash } from '../support/mhl.js';
import { MiB, s3Env, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, dir } = await s3Fixture('small-files');

/** Bytes this process has read through read(2) and its kin, page cache included (/proc/self/io `rchar`). */
function bytesRead(): number {
  const io = fs.readFileSync('/proc/self/io', 'utf8');
  return Number(/^rchar: (\d+)$/m.exec(io)![1]);
}

test('a single-PutObject file with xxh64 on is read by its upload alone: no separate hash pass, and its xxh64 is xxhsum\'s', async () => {
  const size = 24 * MiB;
  const file = await writeRandomFile(path.join(dir, 'frame_000001.dpx'), size);
  const key = 'seq/frame_000001.dpx';
  const { engine, dest } = testEngine(dir, { endpoint: s3Env().endpoint, bucket });
  try {
    const [job] = await engine.enqueue([file], { destination: dest, key, hashes: ['xxh64'] });
    assert.equal(job!.mode, 'single');
    const before = bytesRead();
    engine.start();
    const [final] = await engine.waitFor([job!.id]);
    const read = bytesRead() - before;
    assert.equal(final!.state, 'done', JSON.stringify(engine.events(job!.id)));
    assert.deepEqual(final!.hashes, { xxh64: toolHash('xxhsum', ['-H1', file]) });
    // Before: a hash pass read the file, then the PutObject read it for its MD5 and again for its body
    // (3 × size). Now the hashes come with the MD5's read: the file is read at most twice (the body
    // from the page cache), whatever the SQLite and HTTP reads around it add (a few KiB).
    assert.ok(read < 2.5 * size, `the file (${size} bytes) was read ${(read / size).toFixed(2)} times over`);
    assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file));
  } finally {
    await engine.close();
  }
});

