// Part digests for S3 uploads: MD5 (Content-MD5, ETag check) where the destination's integrity mode
// needs it, and the flexible checksum. Measured on the 2-core build machine, one core, CPU time over
// 256 MiB in 1 MiB chunks (December 2026): aws-crt CRC32C 7,900-12,000 MiB/s, node:zlib CRC32
// 4,800-5,000, aws-crt CRC32 2,700-2,900, aws-crt CRC64NVME 1,650, MD5 640; the hand-written
// JavaScript this file had (slicing-by-16 CRC32C, slicing-by-8 CRC64NVME) 1,100-1,600 and 900-1,000.
// So CRC32C (aws-crt) is the checksum `auto` picks (scheduler/integrity-plan.ts), CRC32 stays on zlib,
// and CRC64NVME comes from aws-crt.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { crc32 as zlibCrc32 } from 'node:zlib';
import type { ChecksumAlgorithm } from '../../../shared/states.js';
import { loadCrtChecksums, type CrtChecksums } from './crt-checksums.js';

let crt: CrtChecksums | null = null;
/**
 * aws-crt's checksums alone (its index loads MQTT, HTTP, auth and IoT as well), and on first use: the
 * main thread only needs them for a composite checksum, and loading the native module costs 70-90 ms
 * of CPU (crt-checksums.ts loads it without the `ldd --version` process aws-crt's loader runs).
 */
function crtChecksums(): CrtChecksums {
  return (crt ??= loadCrtChecksums().checksums);
}

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

// ---- One interface over the five algorithms; digest() gives the raw bytes S3 base64-encodes.

export interface Checksummer {
  update(d: Uint8Array): void;
  digest(): Buffer;
}

/** aws-crt takes Buffers: a view over the same memory, no copy. */
function asBuffer(d: Uint8Array): Buffer {
  return Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength);
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
      let crc = 0; // aws-crt, like zlib, takes and returns the finished value
      return { update: (d) => void (crc = crtChecksums().crc32c(asBuffer(d), crc)), digest: () => uint32BE(crc) };
    }
    case 'crc64nvme': {
      let crc: DataView | undefined; // big-endian, as S3 writes it
      return {
        update: (d) => void (crc = crtChecksums().crc64nvme(asBuffer(d), crc)),
        digest: () => (crc ? Buffer.from(crc.buffer, crc.byteOffset, crc.byteLength) : Buffer.alloc(8)),
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

/**
 * MD5 (Content-MD5 and ETag checks) unless `md5: false` (a server shown to verify the flexible
 * checksum needs none: then md5Hex and md5Base64 are ''), plus the flexible checksum when one is chosen.
 */
export class PartHasher {
  readonly #algorithm: ChecksumAlgorithm | null;
  readonly #md5: Hash | null;
  readonly #checksum: Checksummer | null;
  #result: PartDigest | null = null;

  constructor(algorithm: ChecksumAlgorithm | null, opts: { md5?: boolean } = {}) {
    if (algorithm === null && opts.md5 === false) throw new RangeError('a part needs MD5 or a checksum: the server must be able to check its bytes');
    this.#algorithm = algorithm;
    this.#md5 = opts.md5 === false ? null : createHash('md5');
    this.#checksum = algorithm === null ? null : createChecksummer(algorithm);
  }

  update(chunk: Uint8Array): void {
    if (this.#result) throw new Error('PartHasher.update() after digest()');
    this.#md5?.update(chunk);
    this.#checksum?.update(chunk);
  }

  /** Finishes the hash; later calls return the same digest. */
  digest(): PartDigest {
    if (this.#result) return this.#result;
    const md5 = this.#md5?.digest();
    const result: PartDigest = { md5Hex: md5?.toString('hex') ?? '', md5Base64: md5?.toString('base64') ?? '' };
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
