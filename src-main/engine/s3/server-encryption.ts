// What encryption the server says it applied, from each answer's headers, and what that means for the
// ETag: under SSE-KMS, DSSE-KMS and SSE-C an ETag is not the MD5 of the bytes, so it cannot be
// compared with ours, and the proof is then Content-MD5 (which the server checks, refusing a mismatch
// with BadDigest) and any flexible checksum it echoed. Decided from what the server says, never from
// what the destination asked for: a bucket's default encryption applies without being asked, and a
// server that says nothing gets its ETag compared (a wrong one fails with s3.etag-mismatch).
import type { JobProof } from '../../../shared/states.js';

/** 'AES256' (SSE-S3), 'aws:kms', 'aws:kms:dsse', 'SSE-C', another value the server named, or null when it named none. */
export type ServerEncryption = string | null;

/** The headers of an answer as the SDK parses them (x-amz-server-side-encryption and the SSE-C algorithm). */
export interface EncryptionHeaders {
  ServerSideEncryption?: string | undefined;
  SSECustomerAlgorithm?: string | undefined;
}

/** What the answer says was applied. */
export function encryptionOf(out: EncryptionHeaders): ServerEncryption {
  if (out.SSECustomerAlgorithm) return 'SSE-C';
  return out.ServerSideEncryption || null;
}

/** Whether an ETag given under this encryption is the MD5 of the bytes: only with none named, or SSE-S3. */
export function etagComparable(encryption: ServerEncryption): boolean {
  return encryption === null || encryption === 'AES256';
}

/** The first of these that makes an ETag incomparable, else the last one named, else null. */
export function strongestEncryption(...named: ServerEncryption[]): ServerEncryption {
  return named.find((e) => !etagComparable(e)) ?? [...named].reverse().find((e) => e !== null) ?? null;
}

/** Under SSE-KMS (or DSSE-KMS), reading and completing needs kms:Decrypt on the key. */
export function usesKms(encryption: ServerEncryption): boolean {
  return encryption?.startsWith('aws:kms') ?? false;
}

/** The name people use: SSE-KMS, DSSE-KMS, SSE-C, SSE-S3. */
export function encryptionLabel(encryption: ServerEncryption): string {
  switch (encryption) {
    case null:
      return 'no encryption named';
    case 'AES256':
      return 'SSE-S3';
    case 'aws:kms':
      return 'SSE-KMS';
    case 'aws:kms:dsse':
      return 'DSSE-KMS';
    case 'SSE-C':
      return 'SSE-C';
    default:
      return encryption;
  }
}

/** The history entry when a job's answers first name an encryption (or another one). */
export function encryptionNote(encryption: string): string {
  const label = encryptionLabel(encryption);
  if (etagComparable(encryption)) return `The server encrypts this upload with ${label}; its ETags are MD5s and are checked.`;
  return `The server encrypts this upload with ${label}, so its ETags are not MD5s of the bytes and cannot be compared: each part is proven by Content-MD5, which the server checks (refusing a mismatch with BadDigest).`;
}

/** How a finished job's bytes were proven, for the job's `integrity`, `etagVerified` and `proof`. */
export interface IntegrityProof {
  /** True when the ETag matched our MD5 (or md5-of-md5s); false when it was not comparable or not available. */
  etagVerified: boolean;
  integrity: string;
  /** The strongest proof (shared/states.ts JOB_PROOFS); absent where nothing was sent (a copy, an object already there). */
  proof?: JobProof | null;
  /** The whole file's checksum the server returned equal to ours (FULL_OBJECT), base64. */
  fullObjectChecksum?: string | null;
}

export function integrityProof(o: {
  multipart: boolean;
  encryption: ServerEncryption;
  /** 'matched', or why it was not compared. */
  etag: 'matched' | 'not-comparable' | 'unavailable';
  /** The flexible checksum sent with every part, and whether the server echoed every one (it then checked it). */
  checksum: { algorithm: string; echoed: boolean } | null;
  /** Whether every part carried Content-MD5 (default true); without it the server was shown to verify the checksum. */
  contentMd5?: boolean;
  /** The whole file's CRC as the server returned it equal to ours, and where (Complete and HeadObject; a PutObject's answer). */
  fullObject?: { algorithm: string; value: string; by: string } | null;
}): IntegrityProof {
  const each = o.multipart ? ' for every part' : '';
  const md5 = o.contentMd5 ?? true;
  const proofs: string[] = [];
  if (md5) proofs.push(`Content-MD5 accepted by the server${each}`);
  if (o.checksum && !md5) proofs.push(`${o.checksum.algorithm.toUpperCase()} verified by the server${each} (it refuses a wrong one with BadDigest)`);
  else if (o.checksum?.echoed) proofs.push(`${o.checksum.algorithm.toUpperCase()} echoed by the server and matched${each}`);
  const full = o.fullObject ? `full-object ${o.fullObject.algorithm.toUpperCase()} ${o.fullObject.value} returned by ${o.fullObject.by} equal to the file's` : null;
  if (full) proofs.unshift(full);
  const strongest = (etagMatched: boolean): JobProof => (full ? 'full-object-checksum' : o.checksum && !md5 ? 'checksum' : etagMatched ? 'etag' : 'content-md5');
  const extra = full ? { fullObjectChecksum: o.fullObject!.value } : {};
  if (o.etag === 'matched') {
    proofs.splice(full ? 1 : 0, 0, o.multipart ? "ETag matched the MD5 of the parts' MD5s" : 'ETag matched the MD5 of the bytes');
    return { etagVerified: true, integrity: proofs.join('; '), proof: strongest(true), ...extra };
  }
  if (md5) proofs.push(o.etag === 'not-comparable' ? `ETag not comparable under ${encryptionLabel(o.encryption)}` : 'the final ETag was not available to check');
  return { etagVerified: false, integrity: proofs.join('; '), proof: strongest(false), ...extra };
}
