// Part digests for S3 uploads: MD5 (Content-MD5, ETag check) plus the optional flexible checksum.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { crc32 as zlibCrc32 } from 'node:zlib';
import type { ChecksumAlgorithm } from '../../../shared/states.js';

export interface PartDigest {
  md5Hex: string;
  md5Base64: string;
  checksum?: { algorithm: ChecksumAlgorithm; base64: string };
}

export const SDK_CHECKSUM_ALGORITHM: Record<ChecksumAlgorithm, 'CRC32' | 'CRC32C' | 'SHA1' | 'SHA256' | 'CRC64NVME'> = {
  crc32: 'CRC32',
  crc32c: 'CRC32C',
  sha1: 'SHA1',
  sha256: 'SHA256',
  crc64nvme: 'CRC64NVME',
};

const DIGEST_BYTES: Record<ChecksumAlgorithm, number> = { crc32: 4, crc32c: 4, sha1: 20, sha256: 32, crc64nvme: 8 };

// Larger than the fs default of 64 KiB: fewer callbacks per 64 MiB part.
const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;

export function checksumHeaderName(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm}`;
}

// ---- CRC-32C (Castagnoli), reflected, slicing-by-16: @aws-crypto/crc32c is byte-at-a-time and >10x slower.

const CRC32C_T = new Int32Array(256 * 16);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  CRC32C_T[i] = c;
}
for (let s = 1; s < 16; s++) {
  for (let i = 0; i < 256; i++) {
    const p = CRC32C_T[(s - 1) * 256 + i]!;
    CRC32C_T[s * 256 + i] = (p >>> 8) ^ CRC32C_T[p & 255]!;
  }
}

/** Advances a raw (pre-inverted) CRC-32C register over `d`. */
function crc32cUpdate(crc: number, d: Uint8Array): number {
  const t = CRC32C_T;
  const n = d.length;
  const end = n - (n & 15);
  let i = 0;
  for (; i < end; i += 16) {
    const a = crc ^ (d[i]! | (d[i + 1]! << 8) | (d[i + 2]! << 16) | (d[i + 3]! << 24));
    crc =
      t[3840 + (a & 255)]! ^ t[3584 + ((a >>> 8) & 255)]! ^ t[3328 + ((a >>> 16) & 255)]! ^ t[3072 + (a >>> 24)]! ^
      t[2816 + d[i + 4]!]! ^ t[2560 + d[i + 5]!]! ^ t[2304 + d[i + 6]!]! ^ t[2048 + d[i + 7]!]! ^
      t[1792 + d[i + 8]!]! ^ t[1536 + d[i + 9]!]! ^ t[1280 + d[i + 10]!]! ^ t[1024 + d[i + 11]!]! ^
      t[768 + d[i + 12]!]! ^ t[512 + d[i + 13]!]! ^ t[256 + d[i + 14]!]! ^ t[d[i + 15]!]!;
  }
  for (; i < n; i++) crc = (crc >>> 8) ^ t[(crc ^ d[i]!) & 255]!;
  return crc;
}

// ---- CRC-64/NVME, reflected poly 0x9A6C9329AC4BC9B5, slicing-by-8 on 32-bit halves (no BigInt in the loop).

const CRC64_LO = new Int32Array(256 * 8);
const CRC64_HI = new Int32Array(256 * 8);
for (let i = 0; i < 256; i++) {
  let lo = i;
  let hi = 0;
  for (let k = 0; k < 8; k++) {
    const bit = lo & 1;
    lo = (lo >>> 1) | (hi << 31);
    hi = hi >>> 1;
    if (bit) {
      lo ^= 0xac4bc9b5;
      hi ^= 0x9a6c9329;
    }
  }
  CRC64_LO[i] = lo;
  CRC64_HI[i] = hi;
}
for (let s = 1; s < 8; s++) {
  for (let i = 0; i < 256; i++) {
    const lo = CRC64_LO[(s - 1) * 256 + i]!;
    const hi = CRC64_HI[(s - 1) * 256 + i]!;
    CRC64_LO[s * 256 + i] = ((lo >>> 8) | (hi << 24)) ^ CRC64_LO[lo & 255]!;
    CRC64_HI[s * 256 + i] = (hi >>> 8) ^ CRC64_HI[lo & 255]!;
  }
}

/** Advances a raw CRC-64 register held as [lo, hi] 32-bit halves. */
function crc64nvmeUpdate(state: Int32Array, d: Uint8Array): void {
  const L = CRC64_LO;
  const H = CRC64_HI;
  let lo = state[0]!;
  let hi = state[1]!;
  const n = d.length;
  const end = n - (n & 7);
  let i = 0;
  for (; i < end; i += 8) {
    const a = lo ^ (d[i]! | (d[i + 1]! << 8) | (d[i + 2]! << 16) | (d[i + 3]! << 24));
    const b = hi ^ (d[i + 4]! | (d[i + 5]! << 8) | (d[i + 6]! << 16) | (d[i + 7]! << 24));
    const i7 = 1792 + (a & 255), i6 = 1536 + ((a >>> 8) & 255), i5 = 1280 + ((a >>> 16) & 255), i4 = 1024 + (a >>> 24);
    const i3 = 768 + (b & 255), i2 = 512 + ((b >>> 8) & 255), i1 = 256 + ((b >>> 16) & 255), i0 = b >>> 24;
    lo = L[i7]! ^ L[i6]! ^ L[i5]! ^ L[i4]! ^ L[i3]! ^ L[i2]! ^ L[i1]! ^ L[i0]!;
    hi = H[i7]! ^ H[i6]! ^ H[i5]! ^ H[i4]! ^ H[i3]! ^ H[i2]! ^ H[i1]! ^ H[i0]!;
  }
  for (; i < n; i++) {
    const x = (lo ^ d[i]!) & 255;
    lo = ((lo >>> 8) | (hi << 24)) ^ L[x]!;
    hi = (hi >>> 8) ^ H[x]!;
  }
  state[0] = lo;
  state[1] = hi;
}

// ---- One interface over the five algorithms; digest() gives the raw bytes S3 base64-encodes.

export interface Checksummer {
  update(d: Uint8Array): void;
  digest(): Buffer;
}

function uint32BE(v: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(v >>> 0);
  return out;
}

export function createChecksummer(algorithm: ChecksumAlgorithm): Checksummer {
  switch (algorithm) {
    case 'crc32': {
      let crc = 0; // zlib.crc32 takes and returns the finished (post-xor) value, so 0 starts it
      return { update: (d) => void (crc = zlibCrc32(d, crc)), digest: () => uint32BE(crc) };
    }
    case 'crc32c': {
      let crc = -1;
      return { update: (d) => void (crc = crc32cUpdate(crc, d)), digest: () => uint32BE(~crc) };
    }
    case 'crc64nvme': {
      const state = new Int32Array([-1, -1]);
      return {
        update: (d) => crc64nvmeUpdate(state, d),
        digest: () => {
          const out = Buffer.alloc(8);
          out.writeUInt32BE(~state[1]! >>> 0, 0);
          out.writeUInt32BE(~state[0]! >>> 0, 4);
          return out;
        },
      };
    }
    case 'sha1':
    case 'sha256': {
      const h = createHash(algorithm);
      return { update: (d) => void h.update(d), digest: () => h.digest() };
    }
    default:
      throw new TypeError(`unknown checksum algorithm: ${String(algorithm satisfies never)}`);
  }
}

function checksumOf(algorithm: ChecksumAlgorithm, data: Uint8Array): Buffer {
  const c = createChecksummer(algorithm);
  c.update(data);
  return c.digest();
}

/** MD5 always (Content-MD5 and ETag checks), plus the flexible checksum when one is chosen. */
export class PartHasher {
  readonly #algorithm: ChecksumAlgorithm | null;
  readonly #md5: Hash = createHash('md5');
  readonly #checksum: Checksummer | null;
  #result: PartDigest | null = null;

  constructor(algorithm: ChecksumAlgorithm | null) {
    this.#algorithm = algorithm;
    this.#checksum = algorithm === null ? null : createChecksummer(algorithm);
  }

  update(chunk: Uint8Array): void {
    if (this.#result) throw new Error('PartHasher.update() after digest()');
    this.#md5.update(chunk);
    this.#checksum?.update(chunk);
  }

  /** Finishes the hash; later calls return the same digest. */
  digest(): PartDigest {
    if (this.#result) return this.#result;
    const md5 = this.#md5.digest();
    const result: PartDigest = { md5Hex: md5.toString('hex'), md5Base64: md5.toString('base64') };
    if (this.#algorithm !== null && this.#checksum) {
      result.checksum = { algorithm: this.#algorithm, base64: this.#checksum.digest().toString('base64') };
    }
    this.#result = result;
    return result;
  }
}

/** Streams `length` bytes of `path` from `offset` through a PartHasher; rejects with code ESHORTREAD if the file ends first. */
export async function hashFileRange(
  path: string,
  offset: number,
  length: number,
  algorithm: ChecksumAlgorithm | null,
  opts: { signal?: AbortSignal; highWaterMark?: number } = {},
): Promise<PartDigest & { bytesRead: number }> {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`invalid offset: ${offset}`);
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`invalid length: ${length}`);
  const hasher = new PartHasher(algorithm);
  let bytesRead = 0;
  if (length === 0) {
    // createReadStream cannot express an empty range; still fail on a missing file or an abort.
    opts.signal?.throwIfAborted();
    await stat(path);
  } else {
    const stream = createReadStream(path, {
      start: offset,
      end: offset + length - 1, // inclusive
      highWaterMark: opts.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
      signal: opts.signal,
    });
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hasher.update(chunk);
      bytesRead += chunk.length;
    }
  }
  if (bytesRead < length) {
    throw Object.assign(
      new Error(`short read: ${path} gave ${bytesRead} of ${length} bytes at offset ${offset}`),
      { code: 'ESHORTREAD' as const, bytesRead, expected: length },
    );
  }
  return { ...hasher.digest(), bytesRead };
}

const MD5_HEX = /^[0-9a-f]{32}$/i;

/** The ETag S3 gives a completed multipart upload: "\"<md5 of the binary part md5s>-<count>\"". */
export function multipartEtag(partMd5Hex: string[]): string {
  if (partMd5Hex.length === 0) throw new RangeError('multipartEtag needs at least one part');
  const h = createHash('md5');
  for (const hex of partMd5Hex) {
    if (!MD5_HEX.test(hex)) throw new TypeError(`not an MD5 hex digest: ${JSON.stringify(hex)}`);
    h.update(Buffer.from(hex, 'hex'));
  }
  return `"${h.digest('hex')}-${partMd5Hex.length}"`;
}

/** Strips a weak prefix and surrounding quotes and lowercases, so ETags from any source compare. */
export function normalizeEtag(etag: string): string {
  let s = etag.trim();
  if (s.startsWith('W/') || s.startsWith('w/')) s = s.slice(2);
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1);
  return s.toLowerCase();
}

/** S3's composite checksum: the algorithm over the concatenated raw part checksums, base64, "-N". */
export function compositeChecksum(algorithm: ChecksumAlgorithm, partChecksumsBase64: string[]): string {
  // S3 only stores full-object CRC64NVME checksums for multipart uploads; a composite one would never match.
  if (algorithm === 'crc64nvme') throw new RangeError('S3 has no composite CRC64NVME checksum (full-object only)');
  if (partChecksumsBase64.length === 0) throw new RangeError('compositeChecksum needs at least one part');
  const size = DIGEST_BYTES[algorithm];
  const raw = partChecksumsBase64.map((b64) => {
    const bytes = Buffer.from(b64, 'base64');
    if (bytes.length !== size || bytes.toString('base64') !== b64) {
      throw new TypeError(`not a base64 ${algorithm} checksum: ${JSON.stringify(b64)}`);
    }
    return bytes;
  });
  return `${checksumOf(algorithm, Buffer.concat(raw)).toString('base64')}-${partChecksumsBase64.length}`;
}

/**
 * A Complete's answer checked against our parts as S3 checks them: a composite checksum ("…-N") must
 * equal the algorithm over our parts' checksums. 'unknown' when there is nothing to compare: a
 * full-object checksum (no "-N"), CRC64NVME (full-object only), or a part without a checksum.
 */
export function compareCompositeChecksum(algorithm: ChecksumAlgorithm, partChecksumsBase64: Array<string | null>, returned: string): { verdict: 'match' | 'mismatch' | 'unknown'; expected: string | null } {
  if (algorithm === 'crc64nvme' || !/-\d+$/.test(returned) || partChecksumsBase64.length === 0) return { verdict: 'unknown', expected: null };
  if (partChecksumsBase64.some((c) => c === null)) return { verdict: 'unknown', expected: null };
  const expected = compositeChecksum(algorithm, partChecksumsBase64 as string[]);
  return { verdict: expected === returned ? 'match' : 'mismatch', expected };
}
