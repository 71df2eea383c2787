// A flexible checksum of some bytes as S3 writes it (base64 of the big-endian value), computed by
// aws-crt, node:zlib and node:crypto, never by Hoist's code: what tests compare Hoist's values with.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import crt from 'aws-crt';

export type S3ChecksumAlgorithm = 'crc32' | 'crc32c' | 'crc64nvme' | 'sha1' | 'sha256';

export function checksumOf(algorithm: S3ChecksumAlgorithm, data: Buffer): string {
  if (algorithm === 'sha1' || algorithm === 'sha256') return createHash(algorithm).update(data).digest('base64');
  if (algorithm === 'crc64nvme') {
    const v = crt.checksums.crc64nvme(data);
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  }
  const out = Buffer.alloc(4);
  out.writeUInt32BE((algorithm === 'crc32' ? crc32(data) : crt.checksums.crc32c(data)) >>> 0);
  return out.toString('base64');
}
