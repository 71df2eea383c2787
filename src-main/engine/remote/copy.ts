// Server-side copies: no byte of the object crosses this machine's network link. CopyObject up to
// 5 GiB (its limit); above that, a multipart upload whose parts are UploadPartCopy byte ranges sent
// in parallel, completed from our own record of part ETags (invariant 2). On a failure the upload is
// left, once no range request is on the wire, to the caller, who owes its abort (invariant 4: the
// owed-work queue sends it and makes sure of it, scheduler/remote-aborts.ts).
import type { S3Client } from '@aws-sdk/client-s3';
import { HoistError } from '../../../shared/errors.js';
import { AMAZON_S3_MAX_OBJECT_SIZE, MAX_SINGLE_PUT_SIZE, MiB } from '../../../shared/limits.js';
import type { PlannedPart } from '../store/job-store.js';
import { multipartEtag, normalizeEtag } from '../upload/checksums.js';
import { planParts } from '../upload/part-plan.js';
import { requireWholePlan } from '../upload/plan-coverage.js';
import { toHoistError } from '../s3/errors.js';
import { requireCjs } from '../cjs.js';

// Required, not imported (cjs.ts, remote/encryption-check.ts).
const { CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, HeadObjectCommand, UploadPartCopyCommand } = requireCjs('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
import { encryptionLabel, encryptionOf, etagComparable, strongestEncryption, type IntegrityProof, type ServerEncryption } from '../s3/server-encryption.js';

export interface ObjectRef {
  bucket: string;
  key: string;
}

/** What a multipart copy sets on the new object (CopyObject copies these from the source by itself). */
export interface CopiedObjectSettings {
  contentType?: string;
  metadata?: Record<string, string>;
  storageClass?: string | null;
  sse?: string | null;
  sseKmsKeyId?: string | null;
}

export interface CopyPlanSettings {
  /** Objects above this are copied in parts; at most 5 GiB, CopyObject's own limit. */
  multipartThreshold?: number;
  /** Size of each copied range (raised for huge objects so that 10,000 parts suffice). */
  partSize?: number;
  maxParts?: number;
}

export type CopyPlan = { mode: 'single'; parts: PlannedPart[] } | { mode: 'multipart'; parts: PlannedPart[]; partSize: number };

export interface CopyResult {
  etag: string;
  mode: 'single' | 'multipart';
  parts: number;
  /** The version the copy made, in a versioned bucket, when the server names it (radosgw 16 does not for CopyObject). */
  versionId: string | null;
  /** The encryption the server's answers named (under SSE-KMS, DSSE-KMS or SSE-C the ETags are not MD5s). */
  encryption: ServerEncryption;
  /** True when the object's ETag was checked against the copied parts' ETags (and matched). */
  etagCompared: boolean;
}

/** How a copy job's bytes were proven: the source's ETag matched our record first; the copy's own ETag where it can be compared. */
export function copyProof(r: CopyResult): IntegrityProof & { serverEncryption: ServerEncryption } {
  const source = 'server-side copy of the object whose ETag matched our record';
  if (r.etagCompared) return { etagVerified: true, integrity: `${source}; ETag matched the MD5 of the copied parts' ETags`, proof: 'etag', serverEncryption: r.encryption };
  const why = etagComparable(r.encryption) ? 'the copy’s own ETag was not compared' : `ETag not comparable under ${encryptionLabel(r.encryption)}`;
  return { etagVerified: false, integrity: `${source}; ${why}`, serverEncryption: r.encryption };
}

export const DEFAULT_COPY_PART_SIZE = 512 * MiB;
export const DEFAULT_COPY_CONCURRENCY = 8;

export function planCopy(size: number, o: CopyPlanSettings = {}): CopyPlan {
  const threshold = Math.min(o.multipartThreshold ?? MAX_SINGLE_PUT_SIZE, MAX_SINGLE_PUT_SIZE);
  if (size <= threshold) return { mode: 'single', parts: [{ partNumber: 1, offset: 0, length: size }] };
  const plan = planParts(size, {
    partSize: o.partSize ?? DEFAULT_COPY_PART_SIZE,
    singlePutThreshold: 0,
    maxObjectSize: AMAZON_S3_MAX_OBJECT_SIZE,
    ...(o.maxParts !== undefined ? { maxParts: o.maxParts } : {}),
  });
  return { mode: 'multipart', parts: plan.parts, partSize: plan.partSize };
}

async function call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toHoistError(err, operation);
  }
}

/** The x-amz-copy-source value: bucket and key, the key URL-encoded but for its slashes. */
export function copySource(ref: ObjectRef): string {
  return `${ref.bucket}/${encodeURIComponent(ref.key).replace(/%2F/g, '/')}`;
}

function targetSettings(o: CopiedObjectSettings): Record<string, unknown> {
  return {
    ...(o.storageClass ? { StorageClass: o.storageClass } : {}),
    ...(o.sse ? { ServerSideEncryption: o.sse } : {}),
    ...(o.sseKmsKeyId ? { SSEKMSKeyId: o.sseKmsKeyId } : {}),
  };
}

export interface SourceObject {
  size: number;
  etag: string;
  versionId: string | null;
  contentType: string | undefined;
  metadata: Record<string, string>;
}

export async function headSource(client: S3Client, source: ObjectRef): Promise<SourceObject> {
  const out = await call('HeadObject', () => client.send(new HeadObjectCommand({ Bucket: source.bucket, Key: source.key }))).catch((err: HoistError) => {
    // A HEAD answer has no body: a 404 for a missing key reads like a missing bucket.
    if (err.info.httpStatus === 404 || err.info.detail?.startsWith('NotFound')) {
      throw new HoistError('source.missing', { operation: 'HeadObject', message: `There is no object s3://${source.bucket}/${source.key} (or it is not visible to these credentials).` });
    }
    throw err;
  });
  return { size: out.ContentLength ?? 0, etag: normalizeEtag(out.ETag ?? ''), versionId: out.VersionId ?? null, contentType: out.ContentType, metadata: out.Metadata ?? {} };
}

/** CopyObject: one request, for objects up to 5 GiB. `ifMatch` refuses a source that changed since we knew it. */
export async function copyWhole(client: S3Client, source: ObjectRef, target: ObjectRef, o: CopiedObjectSettings & { ifMatch?: string; signal?: AbortSignal } = {}): Promise<CopyResult> {
  const out = await call('CopyObject', () =>
    client.send(
      new CopyObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        CopySource: copySource(source),
        ...(o.ifMatch ? { CopySourceIfMatch: `"${o.ifMatch}"` } : {}),
        ...(targetSettings(o) as object),
      }),
      { abortSignal: o.signal },
    ),
  );
  return { etag: normalizeEtag(out.CopyObjectResult?.ETag ?? ''), mode: 'single', parts: 1, versionId: out.VersionId ?? null, encryption: encryptionOf(out), etagCompared: false };
}

export interface PartCopyOptions extends CopiedObjectSettings {
  /** The source's size: the ranges must cover it exactly before Complete (issue 13). */
  size: number;
  ifMatch?: string;
  concurrency?: number;
  /** Cuts the requests on the wire (Hoist stopping). */
  signal?: AbortSignal;
  /**
   * Called once the upload exists, so its id can be recorded before any part is copied: on a failure
   * the upload is the caller's to abort through the owed-work queue (copyInParts does not abort it).
   */
  onCreated: (uploadId: string) => void;
  /** Called as each range is copied, with the ETag the server returned for it. */
  onPart?: (partNumber: number, etag: string) => void;
}

/**
 * Copies the source in byte ranges (UploadPartCopy), several at once, then completes from the
 * ETags recorded here. After a failed range no other is started, and the error is thrown once the
 * ranges on the wire have ended by themselves (the S3 guide's order: an abort only after them); the
 * upload, named by `onCreated`, is then the caller's to abort through the owed-work queue.
 */
export async function copyInParts(client: S3Client, source: ObjectRef, target: ObjectRef, parts: readonly PlannedPart[], o: PartCopyOptions): Promise<CopyResult> {
  // Never completed short: the ranges must be the whole source, before anything is created.
  requireWholePlan(parts, o.size);
  const created = await call('CreateMultipartUpload', () =>
    client.send(
      new CreateMultipartUploadCommand({
        Bucket: target.bucket,
        Key: target.key,
        ...(o.contentType ? { ContentType: o.contentType } : {}),
        ...(o.metadata ? { Metadata: o.metadata } : {}),
        ...(targetSettings(o) as object),
      }),
      { abortSignal: o.signal },
    ),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new HoistError('s3.invalid-request', { operation: 'CreateMultipartUpload', message: 'The server returned no UploadId.' });
  o.onCreated(uploadId);
  // Only Hoist stopping cuts the requests on the wire; a failed range only stops new ones.
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const etags = new Map<number, string>();
  const named: ServerEncryption[] = [];
  let rangeFailed = false;
  try {
    let next = 0;
    const copyNext = async (): Promise<void> => {
      while (next < parts.length && !rangeFailed && !stop.signal.aborted) {
        const part = parts[next++]!;
        const out = await call('UploadPartCopy', () =>
          client.send(
            new UploadPartCopyCommand({
              Bucket: target.bucket,
              Key: target.key,
              UploadId: uploadId,
              PartNumber: part.partNumber,
              CopySource: copySource(source),
              CopySourceRange: `bytes=${part.offset}-${part.offset + part.length - 1}`,
              ...(o.ifMatch ? { CopySourceIfMatch: `"${o.ifMatch}"` } : {}),
            }),
            { abortSignal: stop.signal },
          ),
        );
        const etag = normalizeEtag(out.CopyPartResult?.ETag ?? '');
        if (!etag) throw new HoistError('s3.invalid-request', { operation: 'UploadPartCopy', message: `The server returned no ETag for copied part ${part.partNumber}.` });
        etags.set(part.partNumber, etag);
        named.push(encryptionOf(out));
        o.onPart?.(part.partNumber, etag);
      }
    };
    const lanes = Math.max(1, Math.min(o.concurrency ?? DEFAULT_COPY_CONCURRENCY, parts.length));
    const results = await Promise.allSettled(Array.from({ length: lanes }, () => copyNext().catch((err) => ((rangeFailed = true), Promise.reject(err)))));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    if (o.signal?.aborted) throw new HoistError('internal.unexpected', { message: 'The copy was stopped.' });
    // Invariant 2: Complete lists the parts from our own record, never from a listing.
    const recorded = parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"${etags.get(p.partNumber)}"` }));
    const done = await call('CompleteMultipartUpload', () =>
      client.send(new CompleteMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId, MultipartUpload: { Parts: recorded } })),
    );
    // Some servers (radosgw 16) answer Complete with an empty ETag; the object itself has it.
    const etag = normalizeEtag(done.ETag ?? '') || (await headSource(client, target)).etag;
    const partEtags = parts.map((p) => etags.get(p.partNumber)!);
    // Whether the ETags are MD5s is what the answers say: under SSE-KMS, DSSE-KMS or SSE-C they are not.
    const encryption = strongestEncryption(encryptionOf(done), ...named);
    const etagCompared = etagComparable(encryption) && partEtags.every((e) => /^[0-9a-f]{32}$/.test(e));
    if (etagCompared) {
      const expected = normalizeEtag(multipartEtag(partEtags));
      if (etag !== expected) throw new HoistError('s3.etag-mismatch', { operation: 'CompleteMultipartUpload', detail: `server ${etag}, expected ${expected}` });
    }
    return { etag, mode: 'multipart', parts: parts.length, versionId: done.VersionId ?? null, encryption, etagCompared };
  } finally {
    o.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** `hoist copy`: reads the source's size, ETag and headers, then copies it whole or in parts (`onCreated`: as copyInParts). */
export async function copyObject(client: S3Client, source: ObjectRef, target: ObjectRef, o: CopyPlanSettings & { concurrency?: number; onCreated: (uploadId: string) => void }): Promise<CopyResult & { size: number }> {
  const head = await headSource(client, source);
  const plan = planCopy(head.size, o);
  const common = { ...(head.etag ? { ifMatch: head.etag } : {}) };
  const result =
    plan.mode === 'single'
      ? await copyWhole(client, source, target, common)
      : await copyInParts(client, source, target, plan.parts, {
          ...common,
          size: head.size,
          ...(head.contentType ? { contentType: head.contentType } : {}),
          metadata: head.metadata,
          ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
          onCreated: o.onCreated,
        });
  const copied = await headSource(client, target);
  if (copied.size !== head.size) {
    throw new HoistError('s3.invalid-request', { operation: 'CopyObject', message: `The copy is ${copied.size} bytes; the source is ${head.size}.` });
  }
  return { ...result, size: head.size, versionId: result.versionId ?? versionRead(result, copied) };
}

/**
 * The version a copy made when the server did not name it (radosgw 16 leaves x-amz-version-id off
 * CopyObject's answer): the one HeadObject found just after, if it has the copy's ETag.
 */
export function versionRead(result: Pick<CopyResult, 'etag'>, head: Pick<SourceObject, 'etag' | 'versionId'>): string | null {
  return head.etag === result.etag ? head.versionId : null;
}
