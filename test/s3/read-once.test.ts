// Each byte read once (issue 12; upload/held-part.ts): with holding on (EngineOptions.heldPartBytes;
// off by default, by measurement: docs/performance.md), a part is read and hashed, then sent from the
// chunks that read kept, not read a second time. The file's pages are evicted first (fsync, then
// GNU dd's posix_fadvise DONTNEED, which needs no root), so the bytes come from the device; the
// process's /proc/self/io then says how much was read: read_bytes from the device, rchar through
// read calls whatever their source (the page cache too). The worker threads are this process's, so
// both count their reads. Against radosgw (MD5 mode: every part hashed before it is sent).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { FileHashAlgorithm } from '../../shared/states.js';
import { HELD_PART_BUDGET } from '../../src-main/engine/upload/held-part.js';
import { testEngine } from '../support/engine.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { MiB, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';

const { client, bucket } = await s3Fixture('read-once');

function io(): { rchar: number; readBytes: number } {
  const text = fs.readFileSync('/proc/self/io', 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)![1]);
  return { rchar: field('rchar'), readBytes: field('read_bytes') };
}

/** Out of the page cache: written back first (dirty pages are not dropped), then DONTNEED. */
function evict(file: string): void {
  const fd = fs.openSync(file, 'r+');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  execFileSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0'], { stdio: 'ignore' });
}

/** Uploads a cold file (8 MiB parts, 4 at once) and returns what the process read meanwhile, per byte of the file. */
async function coldUpload(label: string, hashes: FileHashAlgorithm[]): Promise<{ rcharPerByte: number; devicePerByte: number }> {
  const dir = tempDir(`read-once-${label}`);
  const { engine, dest } = testEngine(dir, { endpoint: process.env.S3_ENDPOINT!, bucket, partSize: 8 * MiB, concurrency: 4, singlePutThreshold: 8 * MiB, integrity: 'md5' }, {}, { heldPartBytes: HELD_PART_BUDGET });
  try {
    // A small upload first, so that the worker threads have started and loaded the SDK (their module reads are not the file's).
    const warm = await writeRandomFile(path.join(dir, 'warm.bin'), 9 * MiB);
    const [w] = await engine.enqueue([warm], { destination: dest, key: `read-once/${label}/warm.bin`, hashes });
    engine.start();
    assert.equal((await engine.waitFor([w!.id]))[0]!.state, 'done');

    const size = 96 * MiB + 12_345;
    const file = await writeRandomFile(path.join(dir, 'A001_C003.mov'), size);
    evict(file);
    const key = `read-once/${label}/A001_C003.mov`;
    const before = io();
    const [job] = await engine.enqueue([file], { destination: dest, key, hashes });
    const [final] = await engine.waitFor([job!.id]);
    const after = io();
    assert.equal(final!.state, 'done', JSON.stringify(engine.events(job!.id)));
    assert.equal(final!.proof, 'etag', 'every part was checked by its MD5');
    assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file), 'the object is the file');
    const perByte = { rcharPerByte: (after.rchar - before.rchar) / size, devicePerByte: (after.readBytes - before.readBytes) / size };
    console.log(`${label}: read through read calls ${perByte.rcharPerByte.toFixed(3)} and from the device ${perByte.devicePerByte.toFixed(3)} bytes per byte of the file`);
    return perByte;
  } finally {
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('a cold-file run reads each byte from disk once: parts sent from the chunks their checksum was computed from, not read again', async () => {
  const { rcharPerByte, devicePerByte } = await coldUpload('no-hashes', []);
  // Slack for the store's own reads (SQLite pages), not for a second read of any part (that would be 2.0).
  assert.ok(rcharPerByte < 1.1, `each byte of the file read once, not ${rcharPerByte.toFixed(2)} times`);
  assert.ok(devicePerByte > 0.9 && devicePerByte < 1.1, `each byte came from the device once (${devicePerByte.toFixed(2)}): the file was cold`);
});

test('a cold-file run with the whole-file xxh64 (the default hash) reads the file twice at most: the parts once, the hash pass once, and the device once', async () => {
  const { rcharPerByte, devicePerByte } = await coldUpload('xxh64', ['xxh64']);
  assert.ok(rcharPerByte < 2.1, `the parts read once and the hash pass once, not ${rcharPerByte.toFixed(2)} times`);
  assert.ok(devicePerByte > 0.9 && devicePerByte < 1.1, `each byte came from the device once (${devicePerByte.toFixed(2)})`);
});

test('small files at the engine defaults are read once: a single PutObject is sent from the chunks its checksums and whole-file hashes were computed from', async () => {
  // No heldPartBytes: a file that goes in one PutObject of up to SMALL_PUT_HELD_BYTES is held whatever the budget for parts (issue 12).
  const dir = tempDir('read-once-small');
  const { engine, dest } = testEngine(dir, { endpoint: process.env.S3_ENDPOINT!, bucket, concurrency: 4, singlePutThreshold: 8 * MiB, integrity: 'md5' });
  try {
    const warm = await writeRandomFile(path.join(dir, 'warm.bin'), 64 * 1024);
    const [w] = await engine.enqueue([warm], { destination: dest, key: 'read-once/small/warm.bin', hashes: ['xxh64'] });
    engine.start();
    assert.equal((await engine.waitFor([w!.id]))[0]!.state, 'done');

    const files: string[] = [];
    for (let i = 0; i < 24; i++) files.push(await writeRandomFile(path.join(dir, `A001_${String(i).padStart(4, '0')}.dpx`), (i % 3) * MiB + MiB + 777));
    for (const f of files) evict(f);
    const total = files.reduce((n, f) => n + fs.statSync(f).size, 0);
    const before = io();
    const jobs = await engine.enqueue(files, { destination: dest, prefix: 'read-once/small/', hashes: ['xxh64'] });
    const finals = await engine.waitFor(jobs.map((j) => j.id));
    const after = io();
    for (const f of finals) assert.equal(f.state, 'done', JSON.stringify(engine.events(f.id)));
    assert.ok(finals.every((f) => f.mode === 'single'), 'each file went in one PutObject');
    assert.equal(await sha256OfObject(client, bucket, finals[5]!.key), await sha256OfFile(files[5]!), 'the object is the file');
    const rcharPerByte = (after.rchar - before.rchar) / total;
    console.log(`small files: read through read calls ${rcharPerByte.toFixed(3)} bytes per byte of the files`);
    assert.ok(rcharPerByte < 1.2, `each byte of the files read once, not ${rcharPerByte.toFixed(2)} times`);
  } finally {
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
