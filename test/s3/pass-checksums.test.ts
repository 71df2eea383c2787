// Parts' CRC32C from the whole-file hash pass (issue 12; scheduler/pass-checksums.ts): where the
// server verifies the checksum, a big file is read by the pass (xxh64 and each part's CRC32C) and
// then once per part, to send, not a second time to hash the part first. Amazon S3 is played by the
// fault proxy (test/support/proxy-checksums.ts: it verifies each part's x-amz-checksum-crc32c and
// answers BadDigest), because radosgw 16 verifies no flexible checksum (its MD5 mode, every part hashed
// before it goes, is in read-once.test.ts). Reads are the process's /proc/self/io rchar; the proxy runs
// in this process and its socket reads of the bodies count there too, so the bytes it received
// (its request log) are taken off.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { doneParts, testDbPath, testEngine, until } from '../support/engine.js';
import { toolHash } from '../support/mhl.js';
import { checksumOf, flipByte, playChecksumS3 } from '../support/proxy-checksums.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { MiB, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';

const { client, bucket, proxy } = await s3Fixture('pass-checksums', { proxy: true });
const CRASHER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'support', 'crash-at-hash-checkpoint.js');

function rchar(): number {
  return Number(/^rchar: (\d+)$/m.exec(fs.readFileSync('/proc/self/io', 'utf8'))![1]);
}

/** The proxy as Amazon S3, its faults and request log cleared. */
function playS3(): ReturnType<typeof playChecksumS3> {
  proxy.clearFaults();
  proxy.clearRewrites();
  proxy.reset();
  return playChecksumS3(proxy, { client });
}

/** Every UploadPart carried CRC32C alone (the server verifies it), and the played S3 refused nothing for its rules. */
function assertCrcAlone(what: string): void {
  const parts = proxy.requests().filter((r) => r.operation === 'UploadPart');
  assert.ok(parts.length > 0, what);
  for (const r of parts) {
    assert.equal(typeof r.headers['x-amz-checksum-crc32c'], 'string', `${what}: every part carries CRC32C`);
    assert.equal(r.headers['content-md5'], undefined, `${what}: no Content-MD5`);
  }
}

/** Uploads a 64 MiB file (8 MiB parts, 4 at once, xxh64) with one part damaged in flight; returns the reads per byte. */
async function upload(label: string, passPartChecksums: boolean): Promise<{ passPerByte: number; partReadsPerByteSent: number }> {
  const s3 = playS3();
  const dir = tempDir(`pass-checksums-${label}`);
  const { engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket, partSize: 8 * MiB, concurrency: 4, singlePutThreshold: 8 * MiB }, { passPartChecksums });
  try {
    // A small upload first: the worker threads start and load their modules (reads that are not the file's), and the probe runs.
    const warm = await writeRandomFile(path.join(dir, 'warm.bin'), 9 * MiB);
    const [w] = await engine.enqueue([warm], { destination: dest, key: `pass/${label}/warm.bin` });
    engine.start();
    assert.equal((await engine.waitFor([w!.id]))[0]!.state, 'done', JSON.stringify(engine.events(w!.id)));

    const { flipped } = flipByte(proxy, { client, s3 });
    proxy.reset();
    const size = 64 * MiB + 777;
    const file = await writeRandomFile(path.join(dir, 'A001_C004.mov'), size);
    const key = `pass/${label}/A001_C004.mov`;
    const before = rchar();
    const [job] = await engine.enqueue([file], { destination: dest, key });
    const [final] = await engine.waitFor([job!.id]);
    const after = rchar();
    const events = engine.events(job!.id);
    assert.equal(final!.state, 'done', JSON.stringify(events));
    assertCrcAlone(label);
    assert.equal(flipped.length, 1, 'one part was damaged in flight');
    assert.ok(s3.badDigests.some((r) => r.path.includes(key)) && events.some((e) => e.code === 's3.bad-digest'), 'the damaged part was refused with BadDigest');
    assert.ok(engine.parts(job!.id).some((p) => p.sends >= 2), 'the refused part went again');
    assert.equal(final!.proof, 'full-object-checksum');
    assert.equal(s3.objects.get(key)?.value, checksumOf('crc32c', fs.readFileSync(file)), "the object's CRC32C is the file's");
    assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file), 'the object is the file');
    assert.deepEqual(engine.getJob(job!.id)!.hashes, { xxh64: toolHash('xxhsum', ['-H1', file]) }, 'the whole-file xxh64 is the file\'s');

    const received = proxy.requests().reduce((n, r) => n + r.requestBytes, 0);
    const sent = proxy.requests().filter((r) => r.operation === 'UploadPart').reduce((n, r) => n + r.requestBytes, 0);
    // What the engine read through read calls: all of the process's, less the proxy's reads of the bodies it received.
    const fileReads = after - before - received;
    const partReadsPerByteSent = (fileReads - size) / sent;
    console.log(`${label}: ${(fileReads / size).toFixed(3)} bytes read per byte of the file; beyond the pass's one read, ${partReadsPerByteSent.toFixed(3)} per byte sent (${sent} sent, a re-sent part included)`);
    return { passPerByte: fileReads / size, partReadsPerByteSent };
  } finally {
    proxy.clearFaults();
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('where the server verifies CRC32C, the hash pass gives each part its CRC and the part is read once, to send; a damaged part is still refused and sent again', async () => {
  const off = await upload('hashed-first', false);
  const on = await upload('pass-crc', true);
  // Without: each part read to hash it and again to send (2 per byte sent); the measurement sees that second read.
  assert.ok(off.partReadsPerByteSent > 1.9, `without the pass's CRCs each part is read twice (${off.partReadsPerByteSent.toFixed(2)})`);
  assert.ok(on.partReadsPerByteSent < 1.1, `each part read once, to send, not ${on.partReadsPerByteSent.toFixed(2)} times per byte sent`);
  assert.ok(on.passPerByte < off.passPerByte - 0.8, `bytes read per byte of the file fall (${off.passPerByte.toFixed(2)} -> ${on.passPerByte.toFixed(2)})`);
});

test('SIGKILL during the hash pass (its checkpoint inside a part): the next start goes on from it, finishes, every part verified by its CRC32C, the hashes the file\'s', async () => {
  const s3 = playS3();
  const sub = tempDir('pass-checksums-killed');
  const file = await writeRandomFile(path.join(sub, 'killed.mov'), 192 * MiB);
  const key = 'pass/killed.mov';
  // 16 MiB parts (the crasher's), the first checkpoint at 40 MiB: the resumed pass starts inside part 3.
  const every = 40 * MiB;
  const child = spawn(process.execPath, [CRASHER, sub, testDbPath(sub), proxy.url, bucket, file, key, String(every)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  assert.equal(signal, 'SIGKILL', `the child killed itself at its checkpoint (exit ${code}): ${stderr}`);
  const { engine } = testEngine(sub, { endpoint: proxy.url, bucket, partSize: 16 * MiB, singlePutThreshold: 0 }, { hashCheckpointBytes: every });
  try {
    const [job] = engine.listJobs();
    assert.ok(job && job.state !== 'done', `the job was left unfinished: ${JSON.stringify(job)}`);
    const doneAtKill = engine.parts(job.id).filter((p) => p.state === 'done').map((p) => p.partNumber);
    const sentBefore = proxy.uploadPartNumbers().length;
    engine.start();
    const [final] = await engine.waitFor([job.id]);
    const events = engine.events(job.id);
    assert.equal(final!.state, 'done', JSON.stringify(events));
    assert.ok(events.some((e) => e.kind === 'hash-resumed'), 'the pass went on from its checkpoint');
    const sentAfter = proxy.uploadPartNumbers().slice(sentBefore);
    for (const n of doneAtKill) assert.ok(!sentAfter.includes(n), `part ${n} was recorded before the kill and sent again`);
    assertCrcAlone('killed');
    // The integrity probe's deliberately wrong checksum is the only one refused.
    assert.deepEqual(s3.badDigests.filter((r) => !r.path.includes('.hoist-integrity-probe/')).map((r) => r.path), [], 'no part went with a CRC that was not its bytes\'');
    assert.equal(s3.objects.get(key)?.value, checksumOf('crc32c', fs.readFileSync(file)), "the object's CRC32C is the file's");
    assert.deepEqual(engine.getJob(job.id)!.hashes, { xxh64: toolHash('xxhsum', ['-H1', file]), xxh3: toolHash('xxhsum', ['-H3', file]) });
    assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file));
  } finally {
    await engine.close();
  }
});

test('a file replaced mid-upload after the pass gave its parts their CRCs is still caught: the upload starts again and ends as the new file, its CRC32C and xxh64 the new file\'s', async () => {
  const s3 = playS3();
  const dir = tempDir('pass-checksums-changed');
  const file = await writeRandomFile(path.join(dir, 'edit.mov'), 40 * MiB);
  proxy.setBandwidth(12 * MiB);
  const { engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket, singlePutThreshold: 0 });
  try {
    const [job] = await engine.enqueue([file], { destination: dest, key: 'pass/edit.mov' });
    engine.start();
    await until('2 parts done', () => doneParts(engine, job!.id).length >= 2);
    // An editor re-exports over the file while it uploads: the pass has long given every part its CRC (of the old bytes).
    await writeRandomFile(file + '.new', 40 * MiB);
    fs.renameSync(file + '.new', file);
    proxy.setBandwidth(null);
    const [final] = await engine.waitFor([job!.id]);
    const events = engine.events(job!.id);
    assert.equal(final!.state, 'done', JSON.stringify(events));
    assert.ok(events.some((e) => e.kind === 'source-changed'), 'the change was caught');
    // Caught by the file's snapshot before a part went: none went with the old bytes' CRC over the new bytes.
    assert.deepEqual(s3.badDigests.filter((r) => r.path.includes('pass/edit.mov')).map((r) => r.query), [], 'no part refused for its CRC');
    assertCrcAlone('changed');
    assert.equal(await sha256OfObject(client, bucket, 'pass/edit.mov'), await sha256OfFile(file), 'the object is wholly the new file');
    assert.equal(s3.objects.get('pass/edit.mov')?.value, checksumOf('crc32c', fs.readFileSync(file)), "the object's CRC32C is the new file's");
    assert.deepEqual(engine.getJob(job!.id)!.hashes, { xxh64: toolHash('xxhsum', ['-H1', file]) }, 'the whole-file xxh64 is the new file\'s');
  } finally {
    proxy.setBandwidth(null);
    await engine.close();
  }
});
