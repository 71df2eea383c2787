// The CRC of two byte strings joined, from the CRCs of each and the second one's length, without
// the bytes: zlib's crc32_combine method (multiplication by x^(8·len) modulo the polynomial, in
// GF(2), on reflected values), for the three CRCs S3 can keep as a full-object checksum. A
// multipart upload's whole-file CRC is its parts' CRCs combined in order (scheduler/full-object.ts),
// so no byte is read twice for it and the value does not depend on the part size.
import type { ChecksumAlgorithm } from '../../../shared/states.js';

/** The CRCs S3 stores as a full-object checksum of a multipart upload (ChecksumType FULL_OBJECT). */
export type FullObjectAlgorithm = 'crc32' | 'crc32c' | 'crc64nvme';

export function isFullObjectAlgorithm(a: ChecksumAlgorithm | null): a is FullObjectAlgorithm {
  return a === 'crc32' || a === 'crc32c' || a === 'crc64nvme';
}

/**
 * Which checksum types S3 allows for a multipart upload's algorithm (Amazon S3 API reference,
 * CreateMultipartUpload x-amz-checksum-type; "Checking object integrity"): FULL_OBJECT only for the
 * CRCs (CRC32, CRC32C, CRC64NVME), COMPOSITE for all but CRC64NVME (kept only as a full-object
 * checksum), so SHA1 and SHA256 are COMPOSITE only. Null when allowed, else why not.
 */
export function checksumTypeRefusal(algorithm: ChecksumAlgorithm, type: 'FULL_OBJECT' | 'COMPOSITE'): string | null {
  if (type === 'FULL_OBJECT' && !isFullObjectAlgorithm(algorithm)) return `S3 keeps a ${algorithm.toUpperCase()} multipart checksum only as COMPOSITE (a checksum of the parts' checksums); FULL_OBJECT is for CRC32, CRC32C and CRC64NVME`;
  if (type === 'COMPOSITE' && algorithm === 'crc64nvme') return 'S3 keeps a CRC64NVME multipart checksum only as FULL_OBJECT';
  return null;
}

interface CrcSpec {
  bits: bigint;
  /** The polynomial, reflected (lowest power in the highest bit). */
  poly: bigint;
  bytes: number;
}

const SPECS: Record<FullObjectAlgorithm, CrcSpec> = {
  crc32: { bits: 32n, poly: 0xedb88320n, bytes: 4 },
  crc32c: { bits: 32n, poly: 0x82f63b78n, bytes: 4 },
  crc64nvme: { bits: 64n, poly: 0x9a6c9329ac4bc9b5n, bytes: 8 },
};

/** a(x)·b(x) modulo p(x), reflected. */
function multmodp(spec: CrcSpec, a: bigint, b: bigint): bigint {
  if (a === 0n) return 0n;
  let m = 1n << (spec.bits - 1n);
  let p = 0n;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1n)) === 0n) break;
    }
    m >>= 1n;
    b = b & 1n ? (b >> 1n) ^ spec.poly : b >> 1n;
  }
  return p;
}

/** x^(2^k) mod p for k = 0..63, per algorithm, made once. */
const POWERS = new Map<FullObjectAlgorithm, bigint[]>();

function powersOf(algorithm: FullObjectAlgorithm): bigint[] {
  let table = POWERS.get(algorithm);
  if (!table) {
    const spec = SPECS[algorithm];
    table = [1n << (spec.bits - 2n)]; // x^1
    for (let k = 1; k < 64; k++) table.push(multmodp(spec, table[k - 1]!, table[k - 1]!));
    POWERS.set(algorithm, table);
  }
  return table;
}

/** x^(8·bytes) mod p: what shifting a CRC past `bytes` zero bytes multiplies it by. */
function shiftFor(algorithm: FullObjectAlgorithm, bytes: number): bigint {
  const spec = SPECS[algorithm];
  const table = powersOf(algorithm);
  let p = 1n << (spec.bits - 1n); // x^0
  let n = BigInt(bytes);
  let k = 3; // 8 bits per byte: x^(n·2^3)
  while (n > 0n) {
    if (n & 1n) p = multmodp(spec, table[k % 64]!, p);
    n >>= 1n;
    k++;
  }
  return p;
}

function toBig(raw: Buffer): bigint {
  return BigInt(`0x${raw.toString('hex') || '0'}`);
}

function fromBig(spec: CrcSpec, v: bigint): Buffer {
  return Buffer.from(v.toString(16).padStart(spec.bytes * 2, '0'), 'hex');
}

/**
 * Combines CRCs of consecutive byte ranges into the CRC of all of them, each given as S3 writes it
 * (base64 of the big-endian value) with its range's length. Parts of one upload share few lengths,
 * so each length's shift is computed once.
 */
export function combineCrcs(algorithm: FullObjectAlgorithm, parts: ReadonlyArray<{ checksum: string; length: number }>): string {
  const spec = SPECS[algorithm];
  const shifts = new Map<number, bigint>();
  let crc = 0n; // the CRC of no bytes
  for (const [i, part] of parts.entries()) {
    const raw = Buffer.from(part.checksum, 'base64');
    if (raw.length !== spec.bytes || raw.toString('base64') !== part.checksum) throw new TypeError(`part ${i + 1}: not a base64 ${algorithm}: ${JSON.stringify(part.checksum)}`);
    if (!Number.isSafeInteger(part.length) || part.length < 0) throw new RangeError(`part ${i + 1}: invalid length ${part.length}`);
    let shift = shifts.get(part.length);
    if (shift === undefined) shifts.set(part.length, (shift = shiftFor(algorithm, part.length)));
    crc = multmodp(spec, shift, crc) ^ toBig(raw);
  }
  return fromBig(spec, crc).toString('base64');
}
