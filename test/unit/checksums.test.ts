import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32c as awsCrc32c } from '@aws-crypto/crc32c';
import { ChecksumAlgorithm as SdkChecksumAlgorithm } from '@aws-sdk/client-s3';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm } from '../../shared/states.js';
import {
  PartHasher,
  SDK_CHECKSUM_ALGORITHM,
  checksumHeaderName,
  compareCompositeChecksum,
  compositeChecksum,
  hashFileRange,
  multipartEtag,
  normalizeEtag,
} from '../../src-main/engine/upload/checksums.js';

// Seeded PRNG so a failing split is reproducible.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(n: number, seed: number): Buffer {
  const r = rng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

// Bit-at-a-time references, independent of the module's slicing tables.
function refCrc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function refCrc64nvme(data: Uint8Array): bigint {
  const mask = 0xffffffffffffffffn;
  let c = mask;
  for (const byte of data) {
    c ^= BigInt(byte);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ 0x9a6c9329ac4bc9b5n : c >> 1n;
  }
  return c ^ mask;
}

function beHex(value: number | bigint, bytes: number): string {
  return value.toString(16).padStart(bytes * 2, '0');
}

function checksumHex(algorithm: ChecksumAlgorithm, data: Uint8Array): string {
  const h = new PartHasher(algorithm);
  h.update(data);
  const c = h.digest().checksum;
  assert.ok(c);
  assert.equal(c.algorithm, algorithm);
  return Buffer.from(c.base64, 'base64').toString('hex');
}

function hashInChunks(algorithm: ChecksumAlgorithm | null, data: Buffer, seed: number, maxChunk: number) {
  const r = rng(seed);
  const h = new PartHasher(algorithm);
  let o = 0;
  while (o < data.length) {
    const n = Math.floor(r() * (maxChunk + 1)); // zero-length chunks included
    h.update(data.subarray(o, o + n));
    o += n;
  }
  return h.digest();
}

const CHECK = Buffer.from('123456789');

test('published check values for "123456789"', () => {
  assert.equal(checksumHex('crc32', CHECK), 'cbf43926');
  assert.equal(checksumHex('crc32c', CHECK), 'e3069283');
  assert.equal(checksumHex('crc64nvme', CHECK), 'ae8b14860a799888');
  assert.equal(checksumHex('sha256', CHECK), createHash('sha256').update(CHECK).digest('hex'));
  assert.equal(checksumHex('sha1', CHECK), 'f7c3bc1d808e04732adf679965ccc34ca7ae3441');
});

test('base64 of the big-endian CRC bytes, as S3 sends them', () => {
  const b64 = (a: ChecksumAlgorithm) => {
    const h = new PartHasher(a);
    h.update(CHECK);
    return h.digest().checksum?.base64;
  };
  assert.equal(b64('crc32'), 'y/Q5Jg==');
  assert.equal(b64('crc32c'), '4waSgw==');
  assert.equal(b64('crc64nvme'), 'rosUhgp5mIg=');
  assert.equal(b64('sha1'), '98O8HYCOBHMq32eZZczDTKeuNEE=');
});

test('empty input', () => {
  assert.equal(checksumHex('crc32', Buffer.alloc(0)), '00000000');
  assert.equal(checksumHex('crc32c', Buffer.alloc(0)), '00000000');
  assert.equal(checksumHex('crc64nvme', Buffer.alloc(0)), '0000000000000000');
  const d = new PartHasher(null).digest();
  assert.equal(d.md5Hex, 'd41d8cd98f00b204e9800998ecf8427e');
});

test('CRCs match bitwise references for every tail length and offset', () => {
  const data = randomBytes(300, 1);
  // Lengths 0..40 cover each tail of the 8- and 16-byte loops; odd starts cover unaligned views.
  for (const start of [0, 1, 3, 7]) {
    for (let len = 0; len <= 40; len++) {
      const slice = data.subarray(start, start + len);
      assert.equal(checksumHex('crc32c', slice), beHex(refCrc32c(slice), 4), `crc32c start=${start} len=${len}`);
      assert.equal(checksumHex('crc64nvme', slice), beHex(refCrc64nvme(slice), 8), `crc64 start=${start} len=${len}`);
      assert.equal(checksumHex('crc32', slice), beHex(zlibCrc32(slice), 4), `crc32 start=${start} len=${len}`);
    }
  }
  const big = randomBytes(5000, 2).subarray(3);
  assert.equal(checksumHex('crc32c', big), beHex(refCrc32c(big), 4));
  assert.equal(checksumHex('crc64nvme', big), beHex(refCrc64nvme(big), 8));
  assert.equal(checksumHex('crc32c', big), beHex(awsCrc32c(big), 4));
});

test('streaming with random chunk splits equals one-shot', () => {
  const data = randomBytes(200_000, 3);
  for (const algorithm of [...CHECKSUM_ALGORITHMS, null]) {
    const oneShot = new PartHasher(algorithm);
    oneShot.update(data);
    const expected = oneShot.digest();
    for (const [seed, maxChunk] of [[10, 1], [11, 17], [12, 4099], [13, 70_000]] as const) {
      assert.deepEqual(hashInChunks(algorithm, data, seed, maxChunk), expected, `${algorithm} seed=${seed}`);
    }
  }
});

test('md5 and sha256 match node:crypto', () => {
  const data = randomBytes(100_003, 4);
  const d = hashInChunks('sha256', data, 20, 9000);
  const md5 = createHash('md5').update(data).digest();
  assert.equal(d.md5Hex, md5.toString('hex'));
  assert.equal(d.md5Base64, md5.toString('base64'));
  assert.equal(d.checksum?.base64, createHash('sha256').update(data).digest('base64'));
  assert.equal(new PartHasher(null).digest().checksum, undefined);
});

test('PartHasher.digest is stable and update after it throws', () => {
  const h = new PartHasher('crc32c');
  h.update(CHECK);
  const first = h.digest();
  assert.deepEqual(h.digest(), first);
  assert.throws(() => h.update(CHECK));
});

test('multipartEtag', () => {
  const parts = [randomBytes(1000, 5), randomBytes(77, 6), randomBytes(1, 7)];
  const md5s = parts.map((p) => createHash('md5').update(p).digest());
  const expected = createHash('md5').update(Buffer.concat(md5s)).digest('hex');
  assert.equal(multipartEtag(md5s.map((m) => m.toString('hex'))), `"${expected}-3"`);
  // Parts "a", "b", "c": computed with md5sum and xxd, outside Node.
  assert.equal(
    multipartEtag(['0cc175b9c0f1b6a831c399e269772661', '92EB5FFEE6AE2FEC3AD71C777531578F', '4a8a08f09d37b73795649038408b5f33']),
    '"4054c6f7787ecb7b323323155b0c0583-3"',
  );
  assert.throws(() => multipartEtag([]), RangeError);
  assert.throws(() => multipartEtag(['"0cc175b9c0f1b6a831c399e269772661"']), TypeError);
  assert.throws(() => multipartEtag(['0cc175b9']), TypeError);
});

test('normalizeEtag', () => {
  assert.equal(normalizeEtag('"4054C6F7787ECB7B323323155B0C0583-3"'), '4054c6f7787ecb7b323323155b0c0583-3');
  assert.equal(normalizeEtag('W/"ABCdef"'), 'abcdef');
  assert.equal(normalizeEtag(' "abc" '), 'abc');
  assert.equal(normalizeEtag('abc'), 'abc');
  assert.equal(normalizeEtag(multipartEtag(['0cc175b9c0f1b6a831c399e269772661'])), normalizeEtag(multipartEtag(['0CC175B9C0F1B6A831C399E269772661'])));
});

test('compositeChecksum against values derived outside Node', () => {
  // Parts "123456789", "abc", "" hashed with Python's zlib/hashlib and a bitwise CRC32C.
  assert.equal(compositeChecksum('crc32', ['y/Q5Jg==', 'NSRBwg==', 'AAAAAA==']), 'p/reoA==-3');
  assert.equal(compositeChecksum('crc32c', ['4waSgw==', 'Nks/tw==', 'AAAAAA==']), 'BhARyQ==-3');
  assert.equal(
    compositeChecksum('sha256', [
      'FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=',
      'ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=',
      '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
    ]),
    'anMeDPj+CGRDlrf5dfLN2p5oVa0lWOs7cYqOjEwcKbk=-3',
  );
  // SHA-1 (20-byte digests), from Python's hashlib.
  assert.equal(compositeChecksum('sha1', ['98O8HYCOBHMq32eZZczDTKeuNEE=', 'qZk+NkcGgWq6PiVxeFDCbJzQ2J0=', '2jmj7l5rSw0yVb/vlWAYkK/YBwk=']), 'A0kavL5IqfUzv90t/oZGg184fAI=-3');
  assert.throws(() => compositeChecksum('sha1', ['4waSgw==']), TypeError); // 4 bytes, not 20
  assert.throws(() => compositeChecksum('crc32', []), RangeError);
  assert.throws(() => compositeChecksum('crc32', ['4waSgw']), TypeError); // unpadded
  assert.throws(() => compositeChecksum('crc32c', ['rosUhgp5mIg=']), TypeError); // 8 bytes, not 4
  assert.throws(() => compositeChecksum('crc64nvme', ['rosUhgp5mIg=']), RangeError);
});

test('compareCompositeChecksum: a composite Complete answer against the parts, nothing decided without one', () => {
  const parts = ['98O8HYCOBHMq32eZZczDTKeuNEE=', 'qZk+NkcGgWq6PiVxeFDCbJzQ2J0=', '2jmj7l5rSw0yVb/vlWAYkK/YBwk='];
  assert.deepEqual(compareCompositeChecksum('sha1', parts, 'A0kavL5IqfUzv90t/oZGg184fAI=-3'), { verdict: 'match', expected: 'A0kavL5IqfUzv90t/oZGg184fAI=-3' });
  assert.equal(compareCompositeChecksum('sha1', parts, 'B0kavL5IqfUzv90t/oZGg184fAI=-3').verdict, 'mismatch');
  assert.equal(compareCompositeChecksum('sha1', parts.slice(0, 2), 'A0kavL5IqfUzv90t/oZGg184fAI=-3').verdict, 'mismatch');
  assert.equal(compareCompositeChecksum('sha1', parts, 'A0kavL5IqfUzv90t/oZGg184fAI=').verdict, 'unknown'); // a full-object checksum
  assert.equal(compareCompositeChecksum('sha1', [parts[0]!, null], 'A0kavL5IqfUzv90t/oZGg184fAI=-2').verdict, 'unknown');
  assert.equal(compareCompositeChecksum('crc64nvme', ['rosUhgp5mIg='], 'rosUhgp5mIg=-1').verdict, 'unknown');
});

test('header names and SDK algorithm names', () => {
  assert.equal(checksumHeaderName('crc32'), 'x-amz-checksum-crc32');
  assert.equal(checksumHeaderName('crc32c'), 'x-amz-checksum-crc32c');
  assert.equal(checksumHeaderName('sha256'), 'x-amz-checksum-sha256');
  assert.equal(checksumHeaderName('sha1'), 'x-amz-checksum-sha1');
  assert.equal(checksumHeaderName('crc64nvme'), 'x-amz-checksum-crc64nvme');
  assert.deepEqual(SDK_CHECKSUM_ALGORITHM, {
    crc32: SdkChecksumAlgorithm.CRC32,
    crc32c: SdkChecksumAlgorithm.CRC32C,
    sha1: SdkChecksumAlgorithm.SHA1,
    sha256: SdkChecksumAlgorithm.SHA256,
    crc64nvme: SdkChecksumAlgorithm.CRC64NVME,
  });
});

test('hashFileRange', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hoist-checksums-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const data = randomBytes(3 * 1024 * 1024 + 5, 8);
  const file = join(dir, 'media.bin');
  await writeFile(file, data);

  const expect = (offset: number, length: number, algorithm: ChecksumAlgorithm | null) => {
    const h = new PartHasher(algorithm);
    h.update(data.subarray(offset, offset + length));
    return { ...h.digest(), bytesRead: length };
  };

  await t.test('range at an offset, many small reads', async () => {
    const offset = 1_234_567;
    const length = 1024 * 1024 + 13;
    for (const algorithm of CHECKSUM_ALGORITHMS) {
      const got = await hashFileRange(file, offset, length, algorithm, { highWaterMark: 7777 });
      assert.deepEqual(got, expect(offset, length, algorithm), algorithm);
    }
  });

  await t.test('range ending exactly at end of file, default reads', async () => {
    const offset = data.length - 2 * 1024 * 1024;
    assert.deepEqual(await hashFileRange(file, offset, 2 * 1024 * 1024, null), expect(offset, 2 * 1024 * 1024, null));
  });

  await t.test('empty range', async () => {
    assert.deepEqual(await hashFileRange(file, 10, 0, 'crc32c'), expect(10, 0, 'crc32c'));
  });

  await t.test('short read rejects with ESHORTREAD', async () => {
    await assert.rejects(hashFileRange(file, data.length - 10, 11, 'crc32'), { code: 'ESHORTREAD', bytesRead: 10 });
    await assert.rejects(hashFileRange(file, data.length + 100, 5, null), { code: 'ESHORTREAD', bytesRead: 0 });
  });

  await t.test('missing file, bad arguments, abort', async () => {
    await assert.rejects(hashFileRange(join(dir, 'nope'), 0, 5, null), { code: 'ENOENT' });
    await assert.rejects(hashFileRange(join(dir, 'nope'), 0, 0, null), { code: 'ENOENT' });
    await assert.rejects(hashFileRange(file, -1, 5, null), RangeError);
    await assert.rejects(hashFileRange(file, 0, 1.5, null), RangeError);
    await assert.rejects(hashFileRange(file, 0, 5, null, { signal: AbortSignal.abort() }), { name: 'AbortError' });
    // Abort after the stream has started; 768 reads of 4 KiB outlast one event-loop turn.
    const ac = new AbortController();
    const p = hashFileRange(file, 0, data.length, null, { signal: ac.signal, highWaterMark: 4096 });
    setImmediate(() => ac.abort());
    await assert.rejects(p, { name: 'AbortError' });
  });
});
