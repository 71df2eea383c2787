// Does the bucket hold a file's bytes at a key? Decided without downloading: HeadObject gives the
// object's size, ETag, encryption and stored checksums, and the file is read once locally to compute
// what the object's ETag (or checksum) would be if it held the same bytes. The if-exists policies
// (if-exists.ts), the scheduler's decision at a key and `hoist verify` all ask here.
//
// A plain ETag is the MD5 of the bytes; a multipart one (md5-of-md5s-N) depends on the part size,
// which HeadObject with PartNumber=1 tells on servers that answer by part (Amazon S3: the first
// part's Content-Length and x-amz-mp-parts-count); elsewhere (radosgw 16 ignores partNumber) the
// part sizes Hoist itself used at that key and the common ones are tried, and none matching says
// "cannot tell", never "differs". Under SSE-KMS or SSE-C the ETag is no MD5 of the bytes: only a
// stored checksum can prove them (docs/architecture.md).
import type { S3Client } from '@aws-sdk/client-s3';
import type { ChecksumAlgorithm } from '../../../shared/states.js';
import { candidatePartSizes, localDigests, type DigestRequest } from '../folders/local-etag.js';
import * as ops from '../s3/operations.js';
import { encryptionLabel, etagComparable, type ServerEncryption } from '../s3/server-encryption.js';
import { normalizeEtag } from '../upload/checksums.js';
import { formatBytes } from '../upload/part-plan.js';

export type Verdict = 'same' | 'differs' | 'missing' | 'cannot-tell';

/** An object as the comparison needs it. */
export interface RemoteObject {
  /** Normalized (no quotes, lowercase). */
  etag: string;
  size: number;
  /** As the server named it (s3/server-encryption.ts); null when it named none. */
  encryption: ServerEncryption;
  /** Parts of a multipart object (from its ETag's `-N`), 0 for a single-part one. */
  parts: number;
  /** The first part's size, where the server answers HeadObject by part number; else null. */
  firstPartSize: number | null;
  /** A checksum the server stored, with its type (FULL_OBJECT or COMPOSITE). */
  checksum: { algorithm: ChecksumAlgorithm; value: string; type: string | null } | null;
}

export interface Comparison {
  verdict: Verdict;
  /** For 'same' and 'differs': what told them apart, the object's ETag or a checksum it stores. */
  by?: 'etag' | 'checksum';
  /** Why, in a sentence (what was compared, or what could not be). */
  why: string;
  remote: RemoteObject | null;
}

/** Checksums preferred for proof, strongest first. */
const CHECKSUM_ORDER: readonly ChecksumAlgorithm[] = ['sha256', 'sha1', 'crc64nvme', 'crc32c', 'crc32'];

/** HeadObject (and, for a multipart object, HeadObject of part 1): null when the key holds nothing. */
export async function lookAtKey(client: S3Client, bucket: string, key: string): Promise<RemoteObject | null> {
  const head = await ops.headObjectDetail(client, bucket, key);
  if (!head) return null;
  const etag = normalizeEtag(head.etag);
  const parts = Number(/-(\d+)$/.exec(etag)?.[1] ?? 0);
  const algorithm = CHECKSUM_ORDER.find((a) => head.checksums[a]);
  const remote: RemoteObject = {
    etag,
    size: head.size,
    encryption: head.encryption,
    parts,
    firstPartSize: null,
    checksum: algorithm ? { algorithm, value: head.checksums[algorithm]!, type: head.checksumType } : null,
  };
  if (parts > 0) {
    const first = await ops.headObjectDetail(client, bucket, key, 1);
    // Answered by part only when the server says how many parts there are (radosgw 16 returns the whole object).
    if (first?.partsCount === parts && first.size > 0 && first.size <= head.size) remote.firstPartSize = first.size;
  }
  return remote;
}


/**
 * Compares a local file (of `size` bytes) with the object, reading the file at most once.
 * `partSizeHints`: part sizes the object was likely cut in (the uploads Hoist completed at the key,
 * the destination's plan for this size), tried when the server does not tell the first part's size.
 */
export async function compareFile(file: string, size: number, remote: RemoteObject | null, partSizeHints: readonly number[] = []): Promise<Comparison> {
  if (!remote) return { verdict: 'missing', why: 'no object at this key', remote };
  if (remote.size !== size) return { verdict: 'differs', why: `the object is ${remote.size} bytes, the file ${size} bytes`, remote };
  const plan = planOf(remote, size, partSizeHints);
  if (typeof plan === 'string') return { verdict: 'cannot-tell', why: plan, remote };
  const got = await localDigests(file, plan.request);
  if (!got) return { verdict: 'cannot-tell', why: 'the file changed while it was read', remote };
  return plan.judge(got);
}

/** What to compute locally and how to judge it; a string says why nothing can be compared. */
function planOf(remote: RemoteObject, size: number, hints: readonly number[]): string | { request: DigestRequest; judge: (got: Awaited<ReturnType<typeof localDigests>> & object) => Comparison } {
  const by: Comparison['by'] = remote.checksum && (!/-(\d+)$/.test(remote.checksum.value) || remote.firstPartSize) ? 'checksum' : 'etag';
  const same = (why: string): Comparison => ({ verdict: 'same', why, remote, by });
  const differs = (why: string): Comparison => ({ verdict: 'differs', why, remote, by });
  const sum = remote.checksum;
  const composite = sum ? /-(\d+)$/.exec(sum.value) : null;
  if (sum && !composite) {
    // A full-object checksum proves the bytes whatever the encryption.
    return {
      request: { checksum: { algorithm: sum.algorithm, partSize: null } },
      judge: (got) => (got.checksum === sum.value ? same(`same size and ${sum.algorithm} checksum`) : differs(`the object's ${sum.algorithm} checksum ${sum.value} is not the file's ${got.checksum}`)),
    };
  }
  if (sum && composite && remote.firstPartSize) {
    const partSize = remote.firstPartSize;
    return {
      request: { checksum: { algorithm: sum.algorithm, partSize } },
      judge: (got) => (got.checksum === sum.value ? same(`same size and composite ${sum.algorithm} checksum`) : differs(`the object's composite ${sum.algorithm} checksum is not the file's (parts of ${formatBytes(partSize)})`)),
    };
  }
  if (!etagComparable(remote.encryption)) {
    return `under ${encryptionLabel(remote.encryption)} (${remote.encryption}) the ETag is not an MD5 of the bytes, and the object has no full-object checksum to compare`;
  }
  if (!/^[0-9a-f]{32}(-\d+)?$/.test(remote.etag)) return `its ETag ${remote.etag || '(none)'} is not an MD5 Hoist can compute`;
  if (remote.parts === 0) {
    return { request: { md5: true }, judge: (got) => (got.md5 === remote.etag ? same('same size and MD5 (ETag)') : differs(`its ETag ${remote.etag} is not the file's MD5 ${got.md5}`)) };
  }
  if (remote.firstPartSize) {
    const partSize = remote.firstPartSize;
    return {
      request: { partSizes: [partSize] },
      judge: (got) =>
        got.etags.get(partSize) === remote.etag
          ? same(`same size and multipart ETag (${remote.parts} parts of ${formatBytes(partSize)})`)
          : differs(`its ETag ${remote.etag} is not the file's in ${remote.parts} parts of ${formatBytes(partSize)} (${got.etags.get(partSize)})`),
    };
  }
  const tried = candidatePartSizes(size, remote.parts, hints);
  if (tried.length === 0) return `the server does not tell its part size and no likely one cuts ${formatBytes(size)} into ${remote.parts} parts`;
  return {
    request: { partSizes: tried },
    judge: (got) => {
      const hit = tried.find((p) => got.etags.get(p) === remote.etag);
      if (hit !== undefined) return same(`same size and multipart ETag (${remote.parts} parts of ${formatBytes(hit)})`);
      // Another part size may give this ETag: a mismatch proves nothing here.
      return { verdict: 'cannot-tell', why: `the server does not tell its part size, and none of ${tried.map((p) => formatBytes(p)).join(', ')} gives its ETag ${remote.etag}`, remote };
    },
  };
}
