// The integrity model (issue 12; docs/integrity.md). Against radosgw 16, which verifies no flexible
// checksum (it accepts a wrong one), `auto` must pick Content-MD5 and remember that per endpoint.
// Where a server does verify them, Amazon S3 is played by the fault proxy (test/support/proxy-checksums.ts),
// because radosgw 16 ignores x-amz-checksum-*: it verifies each part's checksum and answers BadDigest
// on a mismatch, echoes it, and checks a FULL_OBJECT checksum at Complete; the bytes still land on
// radosgw and are read back from it. A part damaged in flight (the proxy flips a byte) must be
// refused and sent again in every mode.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { IntegrityMode } from '../../shared/states.js';
import type { Destination } from '../../shared/types.js';
import type { Engine } from '../../src-main/engine/engine.js';
import type { JobRecord } from '../../src-main/engine/store/job-store.js';
import { testDbPath, testEngine } from '../support/engine.js';
import { hoist } from '../support/hoist-cli.js';
import { checksumOf, flipByte, playChecksumS3 } from '../support/proxy-checksums.js';
import { recordResult } from '../support/results.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { MiB, listUploads, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';

const { client, bucket, proxy } = await s3Fixture('integrity', { proxy: true });

/** A fresh engine (its own database) sending through the proxy with this integrity mode. */
function engineFor(label: string, integrity: IntegrityMode, endpoint = proxy.url): { engine: Engine; dest: Destination; dir: string } {
  const dir = tempDir(`integrity-${label}`);
  return { ...testEngine(dir, { endpoint, bucket, singlePutThreshold: 8 * MiB, partSize: 5 * MiB, integrity }), dir };
}

async function send(engine: Engine, dest: Destination, file: string, key: string): Promise<JobRecord> {
  const [job] = await engine.enqueue([file], { destination: dest, key });
  engine.start();
  const [final] = await engine.waitFor([job!.id]);
  assert.equal(final!.state, 'done', JSON.stringify(engine.events(job!.id)));
  assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file), 'the object is the file');
  return final!;
}

function fresh(): void {
  proxy.clearFaults();
  proxy.clearRewrites();
  proxy.reset();
}

const partRequests = () => proxy.requests().filter((r) => r.operation === 'UploadPart' || r.operation === 'PutObject');
const probeUploadsLeft = async () => (await listUploads(client, bucket)).filter((u) => u.key.includes('.hoist-integrity-probe/'));

test('auto against radosgw: the probe finds a server that verifies no checksum, so parts carry Content-MD5; the answer is remembered, and asked again when the endpoint changes', async () => {
  fresh();
  const { engine, dest, dir } = engineFor('rgw', 'auto');
  try {
    const a = await writeRandomFile(path.join(dir, 'a.mov'), 12 * MiB + 7);
    const job = await send(engine, dest, a, 'integrity/rgw/a.mov');
    assert.equal(job.integrityMode, 'auto');
    assert.equal(job.contentMd5, true);
    assert.equal(job.checksumAlgorithm, null, 'no checksum radosgw would ignore');
    assert.equal(job.proof, 'etag');
    assert.equal(job.etagVerified, true);
    assert.ok(proxy.counts().IntegrityProbe >= 3, 'the probe went out (create, the part with a wrong CRC32, abort)');
    for (const r of partRequests()) {
      assert.equal(typeof r.headers['content-md5'], 'string', 'every part carries Content-MD5');
      assert.equal(r.headers['x-amz-checksum-crc32c'], undefined);
    }
    const found = engine.store.getDestination(dest.id)!.checksumProbe;
    assert.equal(found?.verifies, false);
    assert.equal(found?.endpoint, proxy.url);
    assert.deepEqual(await probeUploadsLeft(), [], 'the probe left no upload behind');

    // Remembered: the next job asks nothing.
    proxy.reset();
    await send(engine, dest, await writeRandomFile(path.join(dir, 'b.mov'), 6 * MiB), 'integrity/rgw/b.mov');
    assert.equal(proxy.counts().IntegrityProbe, 0, 'the answer was remembered');

    // Another endpoint (the same server by another name): the answer no longer holds, and is found again.
    const { id: _id, credentials: _c, checksumProbe: _p, ...input } = engine.store.getDestination(dest.id)!;
    const moved = engine.saveDestination({ ...input, id: dest.id, endpoint: proxy.url.replace('127.0.0.1', 'localhost') });
    assert.equal(moved.checksumProbe, null, 'not known for the new endpoint');
    proxy.reset();
    await send(engine, moved, await writeRandomFile(path.join(dir, 'c.mov'), 6 * MiB), 'integrity/rgw/c.mov');
    assert.ok(proxy.counts().IntegrityProbe >= 3, 'asked again at the new endpoint');
    assert.equal(engine.store.getDestination(dest.id)!.checksumProbe?.endpoint, moved.endpoint);
  } finally {
    await engine.close();
  }
  const listed = await hoist(['--db', testDbPath(dir), 'destinations', 'list', '--json']);
  assert.equal(listed.code, 0, listed.stderr);
  const [d] = (JSON.parse(listed.stdout) as { destinations: Destination[] }).destinations;
  assert.equal(d!.integrity, 'auto');
  assert.equal(d!.checksumProbe?.verifies, false);
  const text = await hoist(['--db', testDbPath(dir), 'destinations', 'list']);
  assert.match(text.stdout, /integrity: auto → Content-MD5, server does not verify checksums/);
  recordResult('integrity-auto-radosgw', {
    what: 'integrity auto against radosgw 16 (through the proxy, unchanged): the probe sends a part with a wrong CRC32; then a second job; then the destination moved to another endpoint name',
    outcome: 'radosgw accepted the wrong CRC32, so the probe found "does not verify": parts carried Content-MD5, proof etag; no probe upload left; the second job sent no probe; the new endpoint was probed again; `destinations list` says so',
  });
});

test('auto where the server verifies checksums (the proxy plays S3): CRC32C alone on every part and the PutObject, and a FULL_OBJECT checksum equal to aws-crt over the whole file', async () => {
  fresh();
  const s3 = playChecksumS3(proxy, { client });
  const { engine, dest, dir } = engineFor('s3', 'auto');
  try {
    const big = await writeRandomFile(path.join(dir, 'big.mov'), 17 * MiB + 12345);
    const job = await send(engine, dest, big, 'integrity/s3/big.mov');
    const whole = checksumOf('crc32c', fs.readFileSync(big));
    assert.equal(job.checksumAlgorithm, 'crc32c');
    assert.equal(job.contentMd5, false, 'no MD5 where the server verifies the checksum');
    assert.equal(job.checksumType, 'FULL_OBJECT');
    assert.equal(job.proof, 'full-object-checksum');
    assert.equal(job.fullObjectChecksum, whole, 'the full-object checksum is the whole file\'s');
    assert.equal(s3.objects.get('integrity/s3/big.mov')?.value, whole, 'the server keeps the same');
    assert.match(job.integrity ?? '', /full-object CRC32C .* returned by Complete and HeadObject/);
    assert.ok(s3.badDigests.some((r) => r.path.includes('.hoist-integrity-probe/')), 'the probe\'s wrong CRC32 was refused');
    assert.equal(engine.store.getDestination(dest.id)!.checksumProbe?.verifies, true);
    const parts = partRequests();
    assert.equal(parts.length, 4);
    for (const r of parts) {
      assert.equal(r.headers['content-md5'], undefined, 'no Content-MD5');
      assert.equal(typeof r.headers['x-amz-checksum-crc32c'], 'string');
    }
    const complete = proxy.requests().find((r) => r.operation === 'CompleteMultipartUpload')!;
    assert.equal(complete.headers['x-amz-checksum-type'], 'FULL_OBJECT');
    assert.equal(complete.headers['x-amz-checksum-crc32c'], whole);

    proxy.reset();
    const small = await writeRandomFile(path.join(dir, 'small.mov'), 1 * MiB + 3);
    const one = await send(engine, dest, small, 'integrity/s3/small.mov');
    const [put] = partRequests();
    assert.equal(put!.operation, 'PutObject');
    assert.equal(put!.headers['x-amz-checksum-crc32c'], checksumOf('crc32c', fs.readFileSync(small)));
    assert.equal(put!.headers['content-md5'], undefined);
    assert.equal(one.proof, 'full-object-checksum');
  } finally {
    await engine.close();
  }
  recordResult('integrity-auto-s3', {
    what: 'integrity auto where the server verifies flexible checksums (Amazon S3 played by the proxy: BadDigest on a wrong checksum, FULL_OBJECT at Complete): a 17 MiB file in 4 parts and a 1 MiB PutObject',
    outcome: 'the probe\'s wrong CRC32 was refused, so parts and the PutObject carried CRC32C and no Content-MD5; Complete sent the whole file\'s CRC32C, equal to aws-crt over the file, returned by Complete and HeadObject; proof full-object-checksum',
  });
});

for (const c of [
  { mode: 'md5' as const, plays: false, caught: 'radosgw (Content-MD5)' },
  { mode: 'crc32c' as const, plays: false, caught: 'radosgw (Content-MD5 added beside the CRC32C it ignores)' },
  { mode: 'auto' as const, plays: true, caught: 'the S3 played by the proxy (CRC32C)' },
]) {
  test(`a part damaged in flight is refused and sent again: integrity ${c.mode}, caught by ${c.caught}`, async () => {
    fresh();
    const s3 = c.plays ? playChecksumS3(proxy, { client }) : undefined;
    const { flipped } = flipByte(proxy, { client, ...(s3 ? { s3 } : {}) });
    const { engine, dest, dir } = engineFor(`flip-${c.mode}`, c.mode);
    try {
      const file = await writeRandomFile(path.join(dir, 'clip.mov'), 11 * MiB);
      const job = await send(engine, dest, file, `integrity/flip-${c.mode}/clip.mov`);
      assert.equal(flipped.length, 1, 'one part was damaged');
      const events = engine.events(job.id);
      assert.ok(events.some((e) => e.code === 's3.bad-digest'), `the damaged part was refused: ${JSON.stringify(events)}`);
      const sends = engine.parts(job.id).map((p) => p.sends);
      assert.ok(sends.some((n) => n >= 2), `the refused part went again: sends ${sends}`);
      if (c.mode === 'crc32c') {
        assert.equal(job.contentMd5, true, 'Content-MD5 beside the forced checksum on a server that does not verify it');
        assert.ok(events.some((e) => e.kind === 'integrity' && /shown not to verify/.test(e.message)), 'the history says why');
        assert.ok(partRequests().every((r) => typeof r.headers['content-md5'] === 'string' && typeof r.headers['x-amz-checksum-crc32c'] === 'string'));
      }
      if (c.plays) {
        assert.equal(job.contentMd5, false);
        assert.ok(s3!.badDigests.some((r) => !r.path.includes('.hoist-integrity-probe/')), 'the played S3 refused the damaged part');
      }
    } finally {
      await engine.close();
    }
  });
}

test('reliability row for the damaged parts', () => {
  recordResult('integrity-flipped-byte', {
    what: 'one byte of one 5 MiB part flipped by the proxy in flight, in integrity md5 and crc32c (forced) against radosgw, and auto against the S3 the proxy plays',
    outcome: 'each time the server refused the part with BadDigest (radosgw by Content-MD5, which the forced crc32c also carried; the played S3 by CRC32C), the part was sent again, the job ended done and the object equals the file',
  });
});
