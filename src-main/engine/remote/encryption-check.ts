// The connection test's encryption checks: the bucket's default encryption (GetBucketEncryption;
// a refusal or "no configuration" are ordinary answers) and what integrity uploads get under it; and
// under SSE-KMS, kms:Decrypt proved the only way it can be, by completing a tiny multipart upload
// (S3 reads the parts back at Complete) and deleting the object it made.
import type { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { HoistError } from '../../../shared/errors.js';
import type { ConnectionCheck, Destination } from '../../../shared/types.js';
import { toHoistError } from '../s3/errors.js';
import * as ops from '../s3/operations.js';
import { encryptionLabel, etagComparable, usesKms, type ServerEncryption } from '../s3/server-encryption.js';
import { requireCjs } from '../cjs.js';

// Required, not imported (cjs.ts): an `import` of the SDK here made every process that loads the
// engine's API pay the ESM loader's scan of the SDK, 50-100 ms CPU, before its first request.
const { DeleteObjectCommand, GetBucketEncryptionCommand, UploadPartCommand } = requireCjs('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');

export type BucketDefaultEncryption =
  | { kind: 'set'; algorithm: string; kmsKeyId: string | null }
  | { kind: 'none' }
  /** The server does not say (a refusal, or it does not implement GetBucketEncryption). */
  | { kind: 'unknown'; error: HoistError };

/** The bucket's default encryption; network and bucket errors are thrown. */
export async function bucketDefaultEncryption(client: S3Client, bucket: string): Promise<BucketDefaultEncryption> {
  try {
    const out = await client.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    const rule = out.ServerSideEncryptionConfiguration?.Rules?.find((r) => r.ApplyServerSideEncryptionByDefault?.SSEAlgorithm);
    const applied = rule?.ApplyServerSideEncryptionByDefault;
    if (!applied?.SSEAlgorithm) return { kind: 'none' };
    return { kind: 'set', algorithm: applied.SSEAlgorithm, kmsKeyId: applied.KMSMasterKeyID || null };
  } catch (err) {
    if ((err as { name?: string }).name === 'ServerSideEncryptionConfigurationNotFoundError') return { kind: 'none' };
    const e = toHoistError(err, 'GetBucketEncryption');
    if (e.code === 's3.access-denied' || e.code === 's3.not-implemented') return { kind: 'unknown', error: e };
    throw e;
  }
}

/** What integrity an upload gets under this encryption, in a sentence or two. */
export function integrityUnder(encryption: ServerEncryption, checksum: string | null): string {
  const extra = checksum ? ` and ${checksum.toUpperCase()}` : '';
  if (etagComparable(encryption)) {
    return `Uploads get Content-MD5${extra} on every part (the server refuses a mismatch with BadDigest), and the object's ETag is checked against the MD5s computed here.`;
  }
  return (
    `Under ${encryptionLabel(encryption)} ETags are not MD5s, so they cannot be compared: uploads are proven by Content-MD5${extra} on every part, ` +
    'which the server checks (refusing a mismatch with BadDigest), and each job says so.'
  );
}

const READ_DEFAULT = 'GetEncryptionConfiguration' as const;

/** The encryption checks: the bucket's default and, where uploads use SSE-KMS, kms:Decrypt. `canCreate`: the test upload could be made. */
export async function encryptionChecks(s3: S3Client, dest: Destination, key: string, canCreate: boolean): Promise<ConnectionCheck[]> {
  let found: BucketDefaultEncryption;
  try {
    found = await bucketDefaultEncryption(s3, dest.bucket);
  } catch (err) {
    const e = toHoistError(err, 'GetBucketEncryption');
    return [{ permission: READ_DEFAULT, ok: false, code: e.code, message: e.message }];
  }
  // The destination's own setting wins over the bucket's default.
  const applied = dest.sse ?? (found.kind === 'set' ? found.algorithm : null);
  const integrity = integrityUnder(applied, dest.checksumAlgorithm);
  const own = dest.sse ? ` This destination asks for ${encryptionLabel(dest.sse)} itself.` : '';
  let check: ConnectionCheck;
  if (found.kind === 'set') {
    const keyId = found.kmsKeyId ? ` (key ${found.kmsKeyId})` : '';
    check = { permission: READ_DEFAULT, ok: true, code: null, message: `Default encryption: ${encryptionLabel(found.algorithm)}${keyId}.${own} ${integrity}` };
  } else if (found.kind === 'none') {
    check = { permission: READ_DEFAULT, ok: true, code: null, message: `No default encryption.${own} ${integrity}` };
  } else {
    const why = found.error.code === 's3.access-denied' ? found.error.message : 'This server does not report a default encryption.';
    const message = `${why} Uploads still work: each one decides from the server's answers whether its ETags can be compared.${own}${dest.sse ? ` ${integrity}` : ''}`;
    check = found.error.code === 's3.access-denied' ? { permission: READ_DEFAULT, ok: false, code: found.error.code, message } : { permission: READ_DEFAULT, ok: true, code: null, message };
  }
  if (!usesKms(applied) || !canCreate) return [check];
  return [check, await proveKmsDecrypt(s3, dest, `${key}-kms`)];
}

/** Create, one tiny part, Complete (where kms:Decrypt is needed), then the object deleted; an upload left half-way is aborted. */
async function proveKmsDecrypt(s3: S3Client, dest: Destination, key: string): Promise<ConnectionCheck> {
  const permission = 'kms:Decrypt' as const;
  const body = Buffer.from('hoist kms:Decrypt probe\n');
  let uploadId: string | null = null;
  let step = 'CreateMultipartUpload';
  try {
    uploadId = await ops.createMultipartUpload(s3, dest.bucket, key, { contentType: 'text/plain', metadata: {}, storageClass: dest.storageClass, sse: dest.sse, sseKmsKeyId: dest.sseKmsKeyId }, null);
    step = 'UploadPart';
    const md5 = createHash('md5').update(body).digest('base64');
    const part = await s3.send(new UploadPartCommand({ Bucket: dest.bucket, Key: key, UploadId: uploadId, PartNumber: 1, Body: body, ContentLength: body.length, ContentMD5: md5 }));
    step = 'CompleteMultipartUpload';
    await ops.completeMultipartUpload(s3, dest.bucket, key, uploadId, [{ partNumber: 1, etag: part.ETag ?? '', checksum: null }], null);
    uploadId = null;
  } catch (err) {
    const e = toHoistError(err, step);
    const left = uploadId ? await abortProbe(s3, dest.bucket, key, uploadId) : '';
    if (e.code !== 's3.access-denied') return { permission, ok: false, code: e.code, message: `${e.message}${left}` };
    const denied = new HoistError('s3.kms-denied', { operation: step });
    return { permission, ok: false, code: denied.code, message: `${denied.message} Without kms:Decrypt every multipart upload here fails at Complete.${left}` };
  }
  let message = 'Can complete uploads under SSE-KMS (kms:Decrypt on the key): a tiny test upload was completed';
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: dest.bucket, Key: key }));
    message += ' and deleted.';
  } catch (err) {
    message += `; deleting it was refused (${toHoistError(err, 'DeleteObject').code}), so the ${body.length}-byte object ${key} stays on the bucket.`;
  }
  return { permission, ok: true, code: null, message };
}

async function abortProbe(s3: S3Client, bucket: string, key: string, uploadId: string): Promise<string> {
  try {
    await ops.abortMultipartUpload(s3, bucket, key, uploadId);
    return '';
  } catch {
    return ` The test upload ${key} stays on the bucket (it could not be aborted).`;
  }
}
