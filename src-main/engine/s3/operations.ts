// The control-plane S3 calls the main thread makes, each mapped to Hoist's errors with its operation name.
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { HoistError } from '../../../shared/errors.js';
import { MAX_LIST_PAGE } from '../../../shared/limits.js';
import type { RemotePart } from '../../../shared/types.js';
import type { ChecksumAlgorithm } from '../../../shared/states.js';
import { SDK_CHECKSUM_ALGORITHM, normalizeEtag } from '../upload/checksums.js';
import type { ObjectSettings } from '../upload/tasks.js';
import { toHoistError } from './errors.js';
import { ListingProgress, keyAfter } from './listing-progress.js';

const UPLOAD_SCOPED = new Set(['UploadPart', 'ListParts', 'CompleteMultipartUpload', 'AbortMultipartUpload']);

async function call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    // radosgw answers NoSuchKey (not NoSuchUpload) for an upload id that was completed or aborted.
    if (UPLOAD_SCOPED.has(operation) && (err as { name?: string }).name === 'NoSuchKey') {
      throw new HoistError('s3.no-such-upload', { operation, detail: 'NoSuchKey' });
    }
    throw toHoistError(err, operation);
  }
}

export async function createMultipartUpload(client: S3Client, bucket: string, key: string, object: ObjectSettings, checksum: ChecksumAlgorithm | null): Promise<string> {
  const out = await call('CreateMultipartUpload', () =>
    client.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        ContentType: object.contentType,
        Metadata: object.metadata,
        ...(object.storageClass ? { StorageClass: object.storageClass as never } : {}),
        ...(object.sse ? { ServerSideEncryption: object.sse as never } : {}),
        ...(object.sseKmsKeyId ? { SSEKMSKeyId: object.sseKmsKeyId } : {}),
        ...(checksum ? { ChecksumAlgorithm: SDK_CHECKSUM_ALGORITHM[checksum] as never } : {}),
      }),
    ),
  );
  if (!out.UploadId) throw toHoistError(new Error('the server returned no UploadId'), 'CreateMultipartUpload');
  return out.UploadId;
}

export interface RecordedPart {
  partNumber: number;
  etag: string;
  checksum: string | null;
}

/** The object's ETag, and the checksum of `checksum`'s algorithm the server names (S3: a composite "…-N"), or null. */
export async function completeMultipartUpload(client: S3Client, bucket: string, key: string, uploadId: string, parts: RecordedPart[], checksum: ChecksumAlgorithm | null): Promise<{ etag: string; checksum: string | null }> {
  const field = checksum ? (`Checksum${SDK_CHECKSUM_ALGORITHM[checksum]}` as const) : null;
  const completed: CompletedPart[] = parts.map((p) => ({
    PartNumber: p.partNumber,
    ETag: p.etag,
    ...(field && p.checksum ? { [field]: p.checksum } : {}),
  }));
  const out = await call('CompleteMultipartUpload', () =>
    client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: completed } })),
  );
  const returned = field ? (out as unknown as Record<string, unknown>)[field] : undefined;
  return { etag: out.ETag ?? '', checksum: typeof returned === 'string' && returned ? returned : null };
}

export async function abortMultipartUpload(client: S3Client, bucket: string, key: string, uploadId: string): Promise<void> {
  await call('AbortMultipartUpload', () => client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })));
}

export async function headObject(client: S3Client, bucket: string, key: string): Promise<{ etag: string; size: number; metadata: Record<string, string> } | null> {
  try {
    const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { etag: out.ETag ?? '', size: out.ContentLength ?? 0, metadata: out.Metadata ?? {} };
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return null;
    throw toHoistError(err, 'HeadObject');
  }
}

function algorithmOfSdkName(name: unknown): ChecksumAlgorithm | null {
  const found = (Object.entries(SDK_CHECKSUM_ALGORITHM) as Array<[ChecksumAlgorithm, string]>).find(([, sdk]) => sdk === name);
  return found ? found[0] : null;
}

/** The checksum a listed part carries: of the upload's algorithm when the listing names one, else the first field present. */
function listedChecksum(part: Record<string, unknown>, uploadAlgorithm: ChecksumAlgorithm | null): { checksum: string | null; checksumAlgorithm: ChecksumAlgorithm | null } {
  const order = uploadAlgorithm ? [uploadAlgorithm] : (Object.keys(SDK_CHECKSUM_ALGORITHM) as ChecksumAlgorithm[]);
  for (const algorithm of order) {
    const value = part[`Checksum${SDK_CHECKSUM_ALGORITHM[algorithm]}`];
    if (typeof value === 'string' && value) return { checksum: value, checksumAlgorithm: algorithm };
  }
  return { checksum: null, checksumAlgorithm: null };
}

/** Every part of an upload, page after page (the server returns at most 1,000 a page). */
export async function* listParts(client: S3Client, bucket: string, key: string, uploadId: string, pageSize = MAX_LIST_PAGE): AsyncGenerator<RemotePart> {
  let marker: string | undefined;
  const progress = new ListingProgress<number>('ListParts', (a, b) => a > b);
  for (;;) {
    const out = await call('ListParts', () =>
      client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MaxParts: pageSize, ...(marker ? { PartNumberMarker: marker } : {}) })),
    );
    const parts = out.Parts ?? [];
    const last = parts.at(-1)?.PartNumber;
    progress.page(last, !!out.IsTruncated);
    const uploadAlgorithm = algorithmOfSdkName(out.ChecksumAlgorithm);
    for (const p of parts) {
      yield { partNumber: p.PartNumber ?? 0, size: p.Size ?? 0, etag: p.ETag ?? '', lastModified: p.LastModified?.toISOString() ?? null, ...listedChecksum(p as Record<string, unknown>, uploadAlgorithm) };
    }
    if (!out.IsTruncated) return;
    // No NextPartNumberMarker: the next page begins after the last part listed.
    marker = out.NextPartNumberMarker || String(last);
  }
}

export interface ListedUpload {
  key: string;
  uploadId: string;
  initiated: Date | null;
  storageClass: string | null;
  /**
   * Who began it (Initiator.ID: on S3 an IAM ARN or the account's canonical id), null when the
   * server leaves it out. radosgw 16 names the requester here for every upload, whoever began it.
   */
  initiatorId: string | null;
  /** Whose it is (Owner.ID: on S3 the account's canonical id; radosgw 16 again names the requester). */
  ownerId: string | null;
}

/** Every in-progress multipart upload under a prefix, page after page. */
export async function* listMultipartUploads(client: S3Client, bucket: string, prefix = '', pageSize = MAX_LIST_PAGE): AsyncGenerator<ListedUpload> {
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  // Within one key S3 lists uploads by when they began, not by id: a page gets further if it ends at a later key or another upload.
  const progress = new ListingProgress<{ key: string; uploadId: string }>(
    'ListMultipartUploads',
    (a, b) => keyAfter(a.key, b.key) || (a.key === b.key && a.uploadId !== b.uploadId),
    (u) => `${u.key} (${u.uploadId})`,
  );
  for (;;) {
    const out = await call('ListMultipartUploads', () =>
      client.send(
        new ListMultipartUploadsCommand({
          Bucket: bucket,
          MaxUploads: pageSize,
          ...(prefix ? { Prefix: prefix } : {}),
          ...(keyMarker ? { KeyMarker: keyMarker } : {}),
          ...(uploadIdMarker ? { UploadIdMarker: uploadIdMarker } : {}),
        }),
      ),
    );
    const uploads = out.Uploads ?? [];
    const last = uploads.at(-1);
    progress.page(last ? { key: last.Key ?? '', uploadId: last.UploadId ?? '' } : undefined, !!out.IsTruncated);
    for (const u of uploads) {
      yield { key: u.Key ?? '', uploadId: u.UploadId ?? '', initiated: u.Initiated ?? null, storageClass: u.StorageClass ?? null, initiatorId: u.Initiator?.ID ?? null, ownerId: u.Owner?.ID ?? null };
    }
    if (!out.IsTruncated) return;
    // No NextKeyMarker/NextUploadIdMarker: the next page begins after the last upload listed.
    keyMarker = out.NextKeyMarker || last!.Key;
    uploadIdMarker = out.NextUploadIdMarker || (keyMarker === last!.Key ? last!.UploadId : undefined);
  }
}

/**
 * Who the caller is, in the terms ListMultipartUploads uses for an upload's Owner: the Owner.ID
 * ListBuckets returns (radosgw: the user id, e.g. "tester", which its Initiator.ID also carries;
 * S3: the account's canonical id). GetCallerIdentity is STS-only, so it is not used. Null when the
 * server refuses ListBuckets (no s3:ListAllMyBuckets) or names no owner: then nobody's uploads can
 * be told apart by principal, and callers fall back to what they did before (docs/reliability.md).
 */
export async function callerId(client: S3Client): Promise<string | null> {
  try {
    const out = await call('ListBuckets', () => client.send(new ListBucketsCommand({})));
    return out.Owner?.ID ?? null;
  } catch {
    return null;
  }
}

/**
 * Whether an upload was begun by some other principal than `caller` (callerId). Only what the server
 * says counts: an Owner.ID that differs, or an Initiator.ID that differs and is not an IAM ARN (S3
 * names an IAM user's initiator by ARN, which cannot be matched to a canonical id without STS, so
 * it decides nothing). Unknown caller or ids: false, i.e. not shown to be foreign.
 */
export function begunByAnother(u: { initiatorId: string | null; ownerId: string | null }, caller: string | null): boolean {
  if (caller === null) return false;
  if (u.ownerId && u.ownerId !== caller) return true;
  return !!u.initiatorId && !u.initiatorId.startsWith('arn:') && u.initiatorId !== caller;
}

/**
 * Who an upload belongs to, as ListParts (one part) says: its Initiator/Owner ('ids', empty ones as
 * null), 'unreadable' when the caller may not read it (radosgw 16 refuses the bucket owner ListParts
 * on an upload another user began: the one sign of it there, since its listings name the requester),
 * or 'gone'.
 */
export async function uploadOwnership(client: S3Client, bucket: string, key: string, uploadId: string): Promise<{ initiatorId: string | null; ownerId: string | null } | 'unreadable' | 'gone'> {
  try {
    const out = await call('ListParts', () => client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MaxParts: 1 })));
    return { initiatorId: out.Initiator?.ID || null, ownerId: out.Owner?.ID || null };
  } catch (err) {
    const code = toHoistError(err).code;
    if (code === 's3.access-denied') return 'unreadable';
    if (code === 's3.no-such-upload') return 'gone';
    throw err;
  }
}

/** A small object (a manifest, a chain file) from memory, checked by Content-MD5 and its ETag. */
export async function putSmallObject(client: S3Client, bucket: string, key: string, body: Buffer, object: Pick<ObjectSettings, 'contentType' | 'storageClass' | 'sse' | 'sseKmsKeyId'>): Promise<string> {
  const md5 = createHash('md5').update(body).digest();
  const out = await call('PutObject', () =>
    client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentLength: body.length,
        ContentMD5: md5.toString('base64'),
        ContentType: object.contentType,
        ...(object.storageClass ? { StorageClass: object.storageClass as never } : {}),
        ...(object.sse ? { ServerSideEncryption: object.sse as never } : {}),
        ...(object.sseKmsKeyId ? { SSEKMSKeyId: object.sseKmsKeyId } : {}),
      }),
    ),
  );
  const etag = normalizeEtag(out.ETag ?? '');
  if (!object.sse?.startsWith('aws:kms') && etag && etag !== md5.toString('hex')) {
    throw new HoistError('s3.etag-mismatch', { operation: 'PutObject', detail: `server ETag ${etag}, local MD5 ${md5.toString('hex')}` });
  }
  return etag;
}

/** A small object's bytes, or null when there is no such key. */
export async function getSmallObject(client: S3Client, bucket: string, key: string): Promise<Buffer | null> {
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return null;
    throw toHoistError(err, 'GetObject');
  }
}

/** Every key under a prefix (all pages). */
export async function* listObjectKeys(client: S3Client, bucket: string, prefix: string, pageSize = MAX_LIST_PAGE): AsyncGenerator<{ key: string; size: number; etag: string }> {
  let next: { ContinuationToken: string } | { StartAfter: string } | Record<string, never> = {};
  const progress = new ListingProgress<string>('ListObjectsV2', keyAfter);
  for (;;) {
    const page = await call('ListObjectsV2', () => client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: pageSize, ...next })));
    const last = page.Contents?.at(-1)?.Key;
    progress.page(last, !!page.IsTruncated);
    for (const o of page.Contents ?? []) if (o.Key) yield { key: o.Key, size: o.Size ?? 0, etag: normalizeEtag(o.ETag ?? '') };
    if (!page.IsTruncated) return;
    // No NextContinuationToken: the next page starts after the last key listed.
    next = page.NextContinuationToken ? { ContinuationToken: page.NextContinuationToken } : { StartAfter: last! };
  }
}
