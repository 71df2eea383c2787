// Every named checksum mode against a server that verifies it (issue 12; docs/integrity.md). Amazon
// S3 is played by the fault proxy (test/support/proxy-checksums.ts), because radosgw 16 verifies no
// flexible checksum: it keeps S3's rules for a multipart upload's checksum type (SHA1/SHA256
// COMPOSITE only, CRC64NVME FULL_OBJECT only), verifies every part's checksum and answers BadDigest
// on a mismatch, checks the parts named at Complete, and returns the object's checksum (the whole
// file's for FULL_OBJECT, the checksum of the parts' checksums for COMPOSITE) as Complete's answer
// and at HeadObject. In each mode one part is damaged in flight (the proxy flips a byte): it must be
// refused and sent again, and the finished object's checksum must equal one computed here from the
// file, independently of Hoist's code (aws-crt, node:zlib, node:crypto).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { ChecksumAlgorithm } from '../../shared/states.js';
import { testEngine } from '../support/engine.js';
import { checksumOf, compositeOf, flipByte, playChecksumS3 } from '../support/proxy-checksums.js';
import { recordResult } from '../support/results.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { MiB, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';

const { client, bucket, proxy } = await s3Fixture('integrity-modes', { proxy: true });

const PART = 5 * MiB;
const MODES: Array<{ mode: ChecksumAlgorithm; type: 'FULL_OBJECT' | 'COMPOSITE' }> = [
  { mode: 'sha256', type: 'COMPOSITE' },
  { mode: 'sha1', type: 'COMPOSITE' },
  { mode: 'crc32', type: 'FULL_OBJECT' },
  { mode: 'crc32c', type: 'FULL_OBJECT' },
  { mode: 'crc64nvme', type: 'FULL_OBJECT' },
];
const seen: string[] = [];

/** The object's checksum as S3 computes it, from the file: the whole file's, or the parts' checksums' ("…-N"). */
function expectedOf(mode: ChecksumAlgorithm, type: 'FULL_OBJECT' | 'COMPOSITE', data: Buffer): string {
  if (type === 'FULL_OBJECT') return checksumOf(mode, data);
  const parts: string[] = [];
  for (let at = 0; at < data.length; at += PART) parts.push(checksumOf(mode, data.subarray(at, at + PART)));
  return compositeOf(mode, parts);
}

for (const { mode, type } of MODES) {
  test(`integrity ${mode} where the server verifies it (the proxy plays S3): ${mode.toUpperCase()} alone on every part, a damaged part refused and sent again, the object's ${type} checksum equal to the file's`, async () => {
    proxy.clearFaults();
    proxy.clearRewrites();
    proxy.reset();
    const s3 = playChecksumS3(proxy, { client });
    const { flipped } = flipByte(proxy, { client, s3 });
    const dir = tempDir(`modes-${mode}`);
    const { engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket, singlePutThreshold: 8 * MiB, partSize: PART, integrity: mode });
    try {
      const file = await writeRandomFile(path.join(dir, 'clip.mov'), 3 * PART - 777);
      const key = `modes/${mode}/clip.mov`;
      const [queued] = await engine.enqueue([file], { destination: dest, key });
      engine.start();
      const [job] = await engine.waitFor([queued!.id]);
      const events = engine.events(queued!.id);
      assert.equal(job!.state, 'done', JSON.stringify(events));
      assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file), 'the object is the file');
      assert.equal(job!.checksumAlgorithm, mode);
      assert.equal(job!.contentMd5, false, 'the checksum alone: the server verifies it');
      assert.equal(job!.checksumType, type);

      const create = proxy.requests().find((r) => r.operation === 'CreateMultipartUpload')!;
      assert.equal(create.headers['x-amz-checksum-algorithm'], mode.toUpperCase());
      assert.equal(create.headers['x-amz-checksum-type'], type);
      const parts = proxy.requests().filter((r) => r.operation === 'UploadPart');
      for (const r of parts) {
        assert.equal(typeof r.headers[`x-amz-checksum-${mode}`], 'string', `every part carries ${mode}`);
        assert.equal(r.headers['content-md5'], undefined, 'no Content-MD5');
      }
      assert.equal(flipped.length, 1, 'one part was damaged in flight');
      assert.ok(s3.badDigests.some((r) => !r.path.includes('.hoist-integrity-probe/')), 'the played S3 refused the damaged part with BadDigest');
      assert.ok(events.some((e) => e.code === 's3.bad-digest'), 'the refusal is in the history');
      assert.ok(engine.parts(queued!.id).some((p) => p.sends >= 2), 'the refused part went again');
      assert.deepEqual(s3.refused, [], 'nothing refused for breaking S3\'s rules');

      const expected = expectedOf(mode, type, fs.readFileSync(file));
      assert.equal(s3.objects.get(key)?.value, expected, `the object's ${type} ${mode} is the one computed from the file`);
      assert.equal(s3.objects.get(key)?.type, type);
      if (type === 'FULL_OBJECT') {
        assert.equal(job!.proof, 'full-object-checksum');
        assert.equal(job!.fullObjectChecksum, expected);
      } else {
        assert.equal(job!.proof, 'checksum');
        assert.ok(events.some((e) => e.kind === 'checksum-verified' && e.message.includes(expected)), `Hoist compared the composite Complete returned: ${JSON.stringify(events)}`);
      }
      seen.push(`${mode}: ${type} ${expected}, proof ${job!.proof}`);
    } finally {
      await engine.close();
    }
  });
}

test('reliability row for the named modes', () => {
  assert.equal(seen.length, MODES.length, 'every mode ran');
  recordResult('integrity-modes', {
    what: 'integrity sha256, sha1, crc32, crc32c, crc64nvme forced, against Amazon S3 played by the proxy (S3\'s checksum-type rules, every part verified, BadDigest, COMPOSITE parts checked at Complete); 3 parts of 5 MiB, one byte of one part flipped in flight',
    outcome: `each mode: the part refused with BadDigest and sent again, no Content-MD5, the object's checksum equal to one computed from the file (${seen.join('; ')})`,
  });
});
