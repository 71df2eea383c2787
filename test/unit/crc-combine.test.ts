// The CRC of a whole file from its parts' CRCs (upload/crc-combine.ts), checked against aws-crt and
// node:zlib run over the whole buffer: the full-object checksum a multipart upload completes with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import type { HoistError } from '../../shared/errors.js';
import { createMultipartUpload } from '../../src-main/engine/s3/operations.js';
import { checksumTypeRefusal, combineCrcs, isFullObjectAlgorithm, type FullObjectAlgorithm } from '../../src-main/engine/upload/crc-combine.js';
import type { ObjectSettings } from '../../src-main/engine/upload/tasks.js';
import { checksumOf } from '../support/checksum-of.js';

/** The whole buffer's CRC as S3 writes it, by aws-crt or zlib, not by Hoist's code. */
const wholeCrc = (algorithm: FullObjectAlgorithm, data: Buffer): string => checksumOf(algorithm, data);

function partsOf(algorithm: FullObjectAlgorithm, data: Buffer, sizes: number[]): Array<{ checksum: string; length: number }> {
  const out: Array<{ checksum: string; length: number }> = [];
  let at = 0;
  for (const size of sizes) {
    out.push({ checksum: wholeCrc(algorithm, data.subarray(at, at + size)), length: size });
    at += size;
  }
  assert.equal(at, data.length);
  return out;
}

const ALGORITHMS: FullObjectAlgorithm[] = ['crc32', 'crc32c', 'crc64nvme'];

for (const algorithm of ALGORITHMS) {
  test(`${algorithm}: parts combined equal the CRC over the whole buffer`, () => {
    const data = randomBytes(3 * 1024 * 1024 + 4321);
    const whole = wholeCrc(algorithm, data);
    // Equal parts with a short last one, as an upload's plan makes them.
    const MiB = 1024 * 1024;
    assert.equal(combineCrcs(algorithm, partsOf(algorithm, data, [MiB, MiB, MiB, 4321])), whole);
    // Uneven splits, one-byte and empty parts among them.
    assert.equal(combineCrcs(algorithm, partsOf(algorithm, data, [1, 0, 777_777, 2_000_000, data.length - 1 - 777_777 - 2_000_000])), whole);
    // One part: its own CRC.
    assert.equal(combineCrcs(algorithm, partsOf(algorithm, data, [data.length])), whole);
  });
}

test('a part changed, reordered or with the wrong length gives another CRC', () => {
  const data = randomBytes(200_000);
  for (const algorithm of ALGORITHMS) {
    const parts = partsOf(algorithm, data, [100_000, 60_000, 40_000]);
    const whole = wholeCrc(algorithm, data);
    assert.notEqual(combineCrcs(algorithm, [parts[1]!, parts[0]!, parts[2]!]), whole);
    assert.notEqual(combineCrcs(algorithm, [parts[0]!, { ...parts[1]!, length: 60_001 }, parts[2]!]), whole);
    const flipped = Buffer.from(data);
    flipped[150_000]! ^= 1;
    assert.notEqual(combineCrcs(algorithm, partsOf(algorithm, flipped, [100_000, 60_000, 40_000])), whole);
  }
});

test('no parts is the CRC of no bytes; malformed checksums are refused', () => {
  assert.equal(combineCrcs('crc32c', []), wholeCrc('crc32c', Buffer.alloc(0)));
  assert.equal(combineCrcs('crc64nvme', []), wholeCrc('crc64nvme', Buffer.alloc(0)));
  assert.throws(() => combineCrcs('crc32c', [{ checksum: 'rosUhgp5mIg=', length: 9 }]), TypeError); // 8 bytes, not 4
  assert.throws(() => combineCrcs('crc64nvme', [{ checksum: '4waSgw==', length: 9 }]), TypeError);
  assert.throws(() => combineCrcs('crc32', [{ checksum: '4waSgw==', length: -1 }]), RangeError);
  assert.equal(isFullObjectAlgorithm('crc32c'), true);
  assert.equal(isFullObjectAlgorithm('sha256'), false);
  assert.equal(isFullObjectAlgorithm(null), false);
});

test("S3's rules for a multipart upload's checksum type are kept before any request: SHA1/SHA256 COMPOSITE only, CRC64NVME FULL_OBJECT only, CRC32/CRC32C either", async () => {
  // Nothing listens here: a request that went out would fail as a network error, not as config.invalid.
  const client = new S3Client({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
  const object = { contentType: 'application/octet-stream', metadata: {}, storageClass: null, sse: null, sseKmsKeyId: null } as unknown as ObjectSettings;
  try {
    for (const [algorithm, type, rule] of [
      ['sha1', 'FULL_OBJECT', /only as COMPOSITE/],
      ['sha256', 'FULL_OBJECT', /only as COMPOSITE/],
      ['crc64nvme', 'COMPOSITE', /only as FULL_OBJECT/],
    ] as const) {
      await assert.rejects(createMultipartUpload(client, 'b', 'k', object, algorithm, type), (err: HoistError) => {
        assert.equal(err.info.code, 'config.invalid', `${algorithm} ${type}: ${err.message}`);
        assert.match(err.message, rule);
        return true;
      });
    }
  } finally {
    client.destroy();
  }
  for (const algorithm of ['crc32', 'crc32c'] as const) for (const type of ['FULL_OBJECT', 'COMPOSITE'] as const) assert.equal(checksumTypeRefusal(algorithm, type), null);
  assert.equal(checksumTypeRefusal('sha256', 'COMPOSITE'), null);
  assert.equal(checksumTypeRefusal('crc64nvme', 'FULL_OBJECT'), null);
});
