// The control-plane S3 calls the main thread makes, each mapped to Hoist's errors with its operation name.
import { createHash } from 'node:crypto';
import type { CompletedPart, HeadObjectCommandInput, HeadObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { HoistError } from '../../../shared/errors.js';
import { requireCjs } from '../cjs.js';
import { MAX_LIST_PAGE } from '../../../shared/limits.js';
import type { RemotePart } from '../../../shared/types.js';
import type { ChecksumAlgorithm } from '../../../shared/states.js';
import { SDK_CHECKSUM_ALGORITHM, normalizeEtag } from '../upload/checksums.js';
import { checksumTypeRefusal } from '../upload/crc-combine.js';
import type { ObjectSettings } from '../upload/tasks.js';
import { conditionFields, type WriteCondition } from './conditions.js';
import { toHoistError } from './errors.js';
import { ListingProgress, keyAfter } from './listing-progress.js';
import { encryptionOf, etagComparable, type ServerEncryption } from './server-encryption.js';

// Through require, not import (cjs.ts).
const {
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
} = requireCjs('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');

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

/** `checksumType` FULL_OBJECT: the object is completed with the whole file's CRC (a composite of the parts' checksums otherwise). */
export async function createMultipartUpload(client: S3Client, bucket: string, key: string, object: ObjectSettings, checksum: ChecksumAlgorithm | null, checksumType: ChecksumType | null = null): Promise<string> {
  // Refused here, before a request, rather than as the server's InvalidRequest after it.
  const refusal = checksum && checksumType ? checksumTypeRefusal(checksum, checksumType) : null;
  if (refusal) throw new HoistError('config.invalid', { operation: 'CreateMultipartUpload', message: `${checksum!.toUpperCase()} with checksum type ${checksumType} is not allowed: ${refusal}.` });
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
        ...(checksum && checksumType ? { ChecksumType: checksumType } : {}),
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

export type ChecksumType = 'FULL_OBJECT' | 'COMPOSITE';

/**
 * The object's ETag, its version, what it says of encryption, and the checksum of `checksum`'s
 * algorithm the server names (S3: a composite "…-N", or with `fullObject` the whole file's), or null.
 * `fullObject`: the whole file's checksum, sent for the server to check (ChecksumType FULL_OBJECT).
 */
export async function completeMultipartUpload(client: S3Client, bucket: string, key: string, uploadId: string, parts: RecordedPart[], checksum: ChecksumAlgorithm | null, condition?: WriteCondition | null, fullObject?: string | null): Promise<{ etag: string; versionId: string | null; encryption: ServerEncryption; checksum: string | null; checksumType: string | null }> {
  const field = checksum ? (`Checksum${SDK_CHECKSUM_ALGORITHM[checksum]}` as const) : null;
  const completed: CompletedPart[] = parts.map((p) => ({
    PartNumber: p.partNumber,
    ETag: p.etag,
    ...(field && p.checksum ? { [field]: p.checksum } : {}),
  }));
  const out = await call('CompleteMultipartUpload', () =>
    client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: completed }, ...conditionFields(condition), ...(field && fullObject ? { ChecksumType: 'FULL_OBJECT', [field]: fullObject } : {}) })),
  );
  const returned = field ? (out as unknown as Record<string, unknown>)[field] : undefined;
  return { etag: out.ETag ?? '', versionId: out.VersionId ?? null, encryption: encryptionOf(out), checksum: typeof returned === 'string' && returned ? returned : null, checksumType: out.ChecksumType ?? null };
}

export async function abortMultipartUpload(client: S3Client, bucket: string, key: string, uploadId: string): Promise<void> {
  await call('AbortMultipartUpload', () => client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })));
}

export interface HeadedObject {
  etag: string;
  size: number;
  metadata: Record<string, string>;
  /** The version HeadObject found (the current one, or the one asked for); null in an unversioned bucket. */
  versionId: string | null;
  /** The encryption the server's answer named (s3/server-encryption.ts). */
  encryption: ServerEncryption;
}

/** The object's ETag, size and metadata (of one version, when `versionId` is given); null when there is none (404). */
export async function headObject(client: S3Client, bucket: string, key: string, versionId?: string): Promise<HeadedObject | null> {
  const out = await sendHead(client, { Bucket: bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) });
  return out && { etag: out.ETag ?? '', size: out.ContentLength ?? 0, metadata: out.Metadata ?? {}, versionId: out.VersionId ?? null, encryption: encryptionOf(out) };
}

/** HeadObject's answer, or null when there is no such key (404): the one place both heads send it. */
async function sendHead(client: S3Client, input: HeadObjectCommandInput): Promise<HeadObjectCommandOutput | null> {
  try {
    return await client.send(new HeadObjectCommand(input));
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return null;
    throw toHoistError(err, 'HeadObject');
  }
}

/** What HeadObject says of an object that decides whether it holds a file's bytes (remote/same-object.ts). */
export interface ObjectHead {
  etag: string;
  /** ContentLength: the whole object's, or with `partNumber` that part's, where the server answers by part. */
  size: number;
  /** What the server says the object is encrypted with (server-encryption.ts: 'AES256', 'aws:kms', 'aws:kms:dsse', 'SSE-C'), or null. */
  encryption: ServerEncryption;
  /** x-amz-mp-parts-count, given only by a server that answers HeadObject by part number. */
  partsCount: number | null;
  /** Flexible checksums the server stored (with ChecksumMode ENABLED), base64; composite ones end in `-N`. */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
  /** FULL_OBJECT or COMPOSITE, when the server says. */
  checksumType: string | null;
  /** The version answered, in a versioned bucket. */
  versionId: string | null;
}

/** HeadObject with its checksums asked for, and optionally of one part (`partNumber`); null when there is no such key. */
export async function headObjectDetail(client: S3Client, bucket: string, key: string, partNumber?: number): Promise<ObjectHead | null> {
  const out = await sendHead(client, { Bucket: bucket, Key: key, ChecksumMode: 'ENABLED', ...(partNumber ? { PartNumber: partNumber } : {}) });
  if (!out) return null;
  const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
  for (const [alg, name] of Object.entries(SDK_CHECKSUM_ALGORITHM) as Array<[ChecksumAlgorithm, string]>) {
    const v = (out as unknown as Record<string, unknown>)[`Checksum${name}`];
    if (typeof v === 'string' && v) checksums[alg] = v;
  }
  return {
    etag: out.ETag ?? '',
    size: out.ContentLength ?? 0,
    encryption: encryptionOf(out),
    partsCount: out.PartsCount ?? null,
    checksums,
    checksumType: (out as { ChecksumType?: string }).ChecksumType ?? null,
    versionId: out.VersionId ?? null,
  };
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

/**
 * Whether an upload is still on the server, as the listings the caller may read say (after an abort:
 * the S3 guide's check, since a part that was on the wire may land after it). ListParts decides:
 * NoSuchUpload is `gone`, any answer `there`. Where ListParts is denied, the upload's absence from
 * ListMultipartUploads (under its key) decides; where both are denied, `unknown`.
 */
export type UploadPresence = { state: 'gone'; by: 'ListParts' | 'ListMultipartUploads' } | { state: 'there'; by: 'ListParts' | 'ListMultipartUploads'; detail: string } | { state: 'unknown' };

export async function uploadPresence(client: S3Client, bucket: string, key: string, uploadId: string): Promise<UploadPresence> {
  try {
    const out = await call('ListParts', () => client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MaxParts: 1 })));
    const first = out.Parts?.[0]?.PartNumber;
    const detail = first === undefined ? 'ListParts lists the upload, with no part' : `ListParts lists ${out.IsTruncated ? 'more than one part' : '1 part'}, from part ${first}`;
    return { state: 'there', by: 'ListParts', detail };
  } catch (err) {
    const code = toHoistError(err).code;
    if (code === 's3.no-such-upload') return { state: 'gone', by: 'ListParts' };
    if (code !== 's3.access-denied') throw err;
  }
  try {
    for await (const u of listMultipartUploads(client, bucket, key)) {
      if (u.uploadId === uploadId) return { state: 'there', by: 'ListMultipartUploads', detail: 'ListParts is denied; ListMultipartUploads lists it' };
    }
    return { state: 'gone', by: 'ListMultipartUploads' };
  } catch (err) {
    if (toHoistError(err).code !== 's3.access-denied') throw err;
    return { state: 'unknown' };
  }
}

/** A small object (a manifest, a chain file) from memory, checked by Content-MD5 and, where the answer's encryption leaves it an MD5, its ETag. */
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
  const encryption = encryptionOf(out);
  if (etagComparable(encryption) && etag && etag !== md5.toString('hex')) {
    throw new HoistError('s3.etag-mismatch', { operation: 'PutObject', detail: `server ETag ${etag}, local MD5 ${md5.toString('hex')}${encryption ? ` (encryption ${encryption})` : ''}` });
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

/** One page of the keys under `prefix` after `after` (ListObjectsV2 StartAfter): which keys are taken (remote/key-listing.ts). */
export async function listKeysAfter(client: S3Client, bucket: string, prefix: string, after: string, maxKeys: number): Promise<{ keys: string[]; truncated: boolean }> {
  const page = await call('ListObjectsV2', () => client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: maxKeys, ...(after ? { StartAfter: after } : {}) })));
  return { keys: (page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])), truncated: !!page.IsTruncated };
}
