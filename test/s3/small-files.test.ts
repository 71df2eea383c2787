// A file that goes in one PutObject (issue 12, small files): its whole-file hashes come from the same
// read as its body's MD5, not from a hash pass of their own, and they are the file's (xxhsum's).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { testEngine } from '../support/engine.js';
import { toolHash } from '../support/mhl.js';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { MiB, s3Env, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

// The proxy only counts requests here (which operations a run made); radosgw answers them all.
const { client, bucket, dir, proxy } = await s3Fixture('small-files', { proxy: true });

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

test('a folder of frames bound for empty keys is decided by a listing, not a HeadObject per frame; keys that hold objects are still looked at and decided by policy', async () => {
  const sub = path.join(dir, 'seq');
  fs.mkdirSync(sub);
  const frames: string[] = [];
  for (let i = 1; i <= 24; i++) frames.push(await writeRandomFile(path.join(sub, `frame_${String(i).padStart(6, '0')}.dpx`), 64 * 1024 + i));
  // Two keys already hold objects: one the same bytes as its frame, one other bytes.
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'listed/frame_000003.dpx', Body: fs.readFileSync(frames[2]!) }));
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'listed/frame_000007.dpx', Body: Buffer.from('other bytes') }));
  fs.mkdirSync(path.join(dir, 'listed-db'));
  const { engine, dest } = testEngine(path.join(dir, 'listed-db'), { endpoint: proxy.url, bucket, concurrency: 4 });
  try {
    const jobs = await engine.enqueue([sub], { destination: dest, prefix: 'listed', hashes: ['xxh64'] });
    proxy.reset();
    engine.start();
    const final = await engine.waitFor(jobs.map((j) => j.id));
    assert.ok(final.every((j) => j.state === 'done'), JSON.stringify(final.map((j) => [j.key, j.state, j.error])));
    const outcome = (name: string) => final.find((j) => j.key === `listed/${name}`)!.outcome;
    assert.equal(outcome('frame_000003.dpx'), 'already-there');
    assert.equal(outcome('frame_000007.dpx'), 'replaced');
    assert.ok(final.filter((j) => !/_00000[37]\./.test(j.key)).every((j) => j.outcome === 'created'));
    const counts = proxy.counts();
    // Before: a HeadObject for each of the 24 keys. Now the two that hold objects (and perhaps a
    // key whose listing aged out on a loaded machine), beside a few listings (counted as Other).
    assert.ok(counts.HeadObject < 12, `HeadObject sent ${counts.HeadObject} times for 24 frames`);
    assert.equal(counts.PutObject, 23, 'every frame but the one already there was sent once');
    for (const f of frames) {
      const key = `listed/${path.basename(f)}`;
      assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(f), key);
    }
  } finally {
    await engine.close();
  }
});
