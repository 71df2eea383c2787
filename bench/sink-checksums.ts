// The checksums the bench sink verifies as Amazon S3 does: incremental digests of a body, the
// composite checksum of a multipart upload, and the CRC combine that turns part CRCs into the
// whole object's (FULL_OBJECT). Native where it exists: aws-crt for CRC32C and CRC64NVME,
// node:zlib for CRC32, node:crypto for SHA and MD5.
import { createHash, type Hash } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import crt from 'aws-crt';

export const SINK_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
export type SinkAlgorithm = (typeof SINK_ALGORITHMS)[number];
export type ChecksumType = 'COMPOSITE' | 'FULL_OBJECT';

/** The CRCs whose values can be combined into a whole object's (FULL_OBJECT). */
export const CRC_ALGORITHMS: readonly SinkAlgorithm[] = ['crc32', 'crc32c', 'crc64nvme'];

/** As S3 names them in XML: ChecksumCRC32, ChecksumCRC64NVME, ... */
export const XML_NAME: Record<SinkAlgorithm, string> = {
  crc32: 'ChecksumCRC32',
  crc32c: 'ChecksumCRC32C',
  crc64nvme: 'ChecksumCRC64NVME',
  sha1: 'ChecksumSHA1',
  sha256: 'ChecksumSHA256',
};

export function isSinkAlgorithm(name: string): name is SinkAlgorithm {
  return (SINK_ALGORITHMS as readonly string[]).includes(name);
}

/** An incremental digest: update with each chunk, then the raw big-endian value. */
export interface Digest {
  update(chunk: Buffer): void;
  digest(): Buffer;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function createDigest(algorithm: SinkAlgorithm | 'md5'): Digest {
  switch (algorithm) {
    case 'crc32': {
      let crc = 0;
      return { update: (c) => void (crc = zlibCrc32(c, crc)), digest: () => u32(crc) };
    }
    case 'crc32c': {
      let crc = 0;
      return { update: (c) => void (crc = crt.checksums.crc32c(c, crc)), digest: () => u32(crc) };
    }
    case 'crc64nvme': {
      let crc: DataView | undefined;
      return {
        update: (c) => void (crc = crt.checksums.crc64nvme(c, crc)),
        digest: () => (crc ? Buffer.from(crc.buffer, crc.byteOffset, 8) : Buffer.alloc(8)),
      };
    }
    default: {
      const h: Hash = createHash(algorithm);
      return { update: (c) => void h.update(c), digest: () => h.digest() };
    }
  }
}

// ---- CRC combine: crc(A ‖ B) from crc(A), crc(B) and |B|, for reflected CRCs with all-ones init
// and xor-out (CRC32, CRC32C, CRC64NVME). zlib's method (crc32_combine, 1.2.12+): multiply crc(A)
// by x^(8·|B|) modulo the polynomial, then xor crc(B). BigInt, so one routine serves 32 and 64 bits;
// a combine costs a few thousand BigInt steps, and a multipart upload needs one per part.
// Written apart from the engine's own (src-main/engine/upload/crc-combine.ts) on purpose: the sink
// plays the server that checks Hoist's full-object checksum, so it must not share a mistake with it.

interface CrcSpec {
  width: number;
  /** The reflected polynomial. */
  poly: bigint;
}

const CRC_SPEC: Record<'crc32' | 'crc32c' | 'crc64nvme', CrcSpec> = {
  crc32: { width: 32, poly: 0xedb88320n },
  crc32c: { width: 32, poly: 0x82f63b78n },
  crc64nvme: { width: 64, poly: 0x9a6c9329ac4bc9b5n },
};

/** a·b modulo the polynomial, in the reflected bit order (x^0 is the top bit). */
function multModP(spec: CrcSpec, a: bigint, b: bigint): bigint {
  let m = 1n << BigInt(spec.width - 1);
  let p = 0n;
  while (m > 0n) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1n)) === 0n) break;
    }
    m >>= 1n;
    b = b & 1n ? (b >> 1n) ^ spec.poly : b >> 1n;
  }
  return p;
}

const powersCache = new Map<CrcSpec, bigint[]>();

/** x^(2^k) modulo the polynomial, k = 0..63. */
function powers(spec: CrcSpec): bigint[] {
  let table = powersCache.get(spec);
  if (!table) {
    table = [];
    let p = 1n << BigInt(spec.width - 2); // x^1
    for (let k = 0; k < 64; k++) {
      table.push(p);
      p = multModP(spec, p, p);
    }
    powersCache.set(spec, table);
  }
  return table;
}

/** x^(8·bytes) modulo the polynomial. */
function shiftOperator(spec: CrcSpec, bytes: number): bigint {
  const table = powers(spec);
  let p = 1n << BigInt(spec.width - 1); // x^0
  let n = BigInt(bytes);
  for (let k = 3; n > 0n; n >>= 1n, k++) if (n & 1n) p = multModP(spec, table[k]!, p);
  return p;
}

const toBig = (raw: Buffer) => BigInt(`0x${raw.toString('hex') || '0'}`);
const fromBig = (n: bigint, bytes: number) => Buffer.from(n.toString(16).padStart(bytes * 2, '0'), 'hex');

/** The CRC of A ‖ B, given crc(A), crc(B) (raw big-endian values) and B's length. */
export function crcCombine(algorithm: SinkAlgorithm, crcA: Buffer, crcB: Buffer, lengthB: number): Buffer {
  if (!(algorithm in CRC_SPEC)) throw new Error(`${algorithm} cannot be combined`);
  const spec = CRC_SPEC[algorithm as keyof typeof CRC_SPEC];
  const combined = multModP(spec, shiftOperator(spec, lengthB), toBig(crcA)) ^ toBig(crcB);
  return fromBig(combined, spec.width / 8);
}

/** The whole object's CRC from its parts' CRCs and sizes, in order. */
export function fullObjectCrc(algorithm: SinkAlgorithm, parts: ReadonlyArray<{ raw: Buffer; size: number }>): Buffer {
  let acc = parts[0]!.raw;
  for (const p of parts.slice(1)) acc = crcCombine(algorithm, acc, p.raw, p.size);
  return acc;
}

/** S3's composite checksum: the digest of the parts' raw digests, base64, then "-N". */
export function compositeChecksum(algorithm: SinkAlgorithm, rawParts: readonly Buffer[]): string {
  const d = createDigest(algorithm);
  for (const raw of rawParts) d.update(raw);
  return `${d.digest().toString('base64')}-${rawParts.length}`;
}
