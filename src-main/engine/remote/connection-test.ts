// "Test connection": one check per permission Hoist needs, each named with its error code when
// missing. One empty multipart upload under `.hoist-connection-test/` serves every check and is
// aborted at the end; without it, ListParts and Abort are asked about an upload id that does not
// exist, and "no such upload" then proves the permission (S3 checks permissions first). Then the
// bucket's default encryption and, under SSE-KMS, kms:Decrypt (encryption-check.ts); last, whether
// the server verifies flexible checksums (s3/integrity-probe.ts), found out afresh and remembered.
import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { HoistError } from '../../../shared/errors.js';
import { probeEndpoint } from '../../../shared/integrity.js';
import type { ConnectionCheck, Destination } from '../../../shared/types.js';
import { toHoistError } from '../s3/errors.js';
import * as ops from '../s3/operations.js';
import { probeChecksumVerification, type ProbeLeftover } from '../s3/integrity-probe.js';
import type { JobStore } from '../store/job-store.js';
import { encryptionChecks } from './encryption-check.js';

export const CONNECTION_TEST_FOLDER = '.hoist-connection-test/';

/** The S3 permissions uploads use; the encryption checks come after them. */
type Permission = Exclude<ConnectionCheck['permission'], 'GetEncryptionConfiguration' | 'kms:Decrypt' | 'ChecksumVerification'>;

/** What a person loses without each permission. */
const WITHOUT: Record<Permission, string> = {
  PutObject: 'Hoist cannot upload to this destination.',
  ListBucketMultipartUploads: 'Uploads still work; the bucket’s in-progress uploads cannot be listed or swept for orphans.',
  ListMultipartUploadParts: 'Uploads still work; after a crash, parts Hoist had not recorded are sent again.',
  AbortMultipartUpload: 'Uploads still work; cancelled uploads stay on the bucket until a lifecycle rule removes them.',
};

const GRANTED: Record<Permission, string> = {
  PutObject: 'Can start uploads.',
  ListBucketMultipartUploads: 'Can list the bucket’s in-progress uploads.',
  ListMultipartUploadParts: 'Can list the parts of an upload.',
  AbortMultipartUpload: 'Can abort uploads.',
};

const ORDER: readonly Permission[] = ['PutObject', 'ListBucketMultipartUploads', 'ListMultipartUploadParts', 'AbortMultipartUpload'];

/** Errors that say nothing about one permission: the bucket, the credentials or the network. */
function isPermissionSpecific(e: HoistError): boolean {
  return e.code === 's3.access-denied' || e.code === 's3.not-implemented' || e.code === 's3.invalid-request';
}

function passed(permission: Permission): ConnectionCheck {
  return { permission, ok: true, code: null, message: GRANTED[permission] };
}

function failed(permission: Permission, e: HoistError): ConnectionCheck {
  const message = e.code === 's3.access-denied' ? `${e.message} ${WITHOUT[permission]}` : e.message;
  return { permission, ok: false, code: e.code, message };
}

export async function testConnection(dest: Destination, client: () => Promise<S3Client>, store: Pick<JobStore, 'recordChecksumProbe'>): Promise<ConnectionCheck[]> {
  let s3: S3Client;
  try {
    s3 = await client();
  } catch (err) {
    const e = toHoistError(err);
    return ORDER.map((p) => failed(p, e));
  }
  const key = `${dest.prefix ? dest.prefix.replace(/\/+$/, '') + '/' : ''}${CONNECTION_TEST_FOLDER}${randomUUID()}`;
  const checks: ConnectionCheck[] = [];

  let uploadId: string | null = null;
  try {
    uploadId = await ops.createMultipartUpload(s3, dest.bucket, key, { contentType: 'application/octet-stream', metadata: {}, storageClass: dest.storageClass, sse: dest.sse, sseKmsKeyId: dest.sseKmsKeyId }, null);
    checks.push(passed('PutObject'));
  } catch (err) {
    const e = toHoistError(err, 'CreateMultipartUpload');
    // A missing bucket, bad credentials or no network fails every check the same way: ask once.
    if (!isPermissionSpecific(e)) return ORDER.map((p) => failed(p, e));
    checks.push(failed('PutObject', e));
  }

  const probe = async (permission: Permission, call: () => Promise<unknown>): Promise<void> => {
    try {
      await call();
      checks.push(passed(permission));
    } catch (err) {
      const e = toHoistError(err);
      checks.push(uploadId === null && e.code === 's3.no-such-upload' ? passed(permission) : failed(permission, e));
    }
  };
  const someUploadId = uploadId ?? `hoist-connection-test-${randomUUID()}`;
  await probe('ListBucketMultipartUploads', async () => {
    const page = ops.listMultipartUploads(s3, dest.bucket, key, 1);
    await page.next();
    await page.return(undefined);
  });
  await probe('ListMultipartUploadParts', async () => {
    const page = ops.listParts(s3, dest.bucket, key, someUploadId, 1);
    await page.next();
    await page.return(undefined);
  });
  await probe('AbortMultipartUpload', () => ops.abortMultipartUpload(s3, dest.bucket, key, someUploadId));
  const abort = checks.find((c) => c.permission === 'AbortMultipartUpload');
  if (uploadId !== null && abort && !abort.ok) abort.message += ` The empty test upload ${key} stays on the bucket (it holds no data).`;
  checks.push(...(await encryptionChecks(s3, dest, key, uploadId !== null)));
  checks.push(await checksumCheck(s3, dest, store));
  return checks;
}

/** Whether the server verifies flexible checksums, and so what integrity `auto` gives this destination's uploads. */
async function checksumCheck(s3: S3Client, dest: Destination, store: Pick<JobStore, 'recordChecksumProbe'>): Promise<ConnectionCheck> {
  try {
    const left: ProbeLeftover[] = [];
    const answer = await probeChecksumVerification(s3, dest, (l) => left.push(l));
    store.recordChecksumProbe(dest.id, probeEndpoint(dest), answer.verifies);
    // As with the empty test upload above: the user sees it, the abort permission's row says why.
    const stays = left.map((l) => ` Its test upload ${l.key} could not be aborted (${l.error}) and stays on the bucket (60 bytes).`).join('');
    const gets = answer.verifies
      ? 'uploads in mode auto send CRC32C with each part (no MD5) and a full-object checksum'
      : 'uploads in mode auto send Content-MD5 with each part and check the ETag';
    return { permission: 'ChecksumVerification', ok: true, code: null, message: `The server ${answer.verifies ? 'verifies' : 'does not verify'} flexible checksums (${answer.detail}): ${gets}.${stays}` };
  } catch (err) {
    const e = toHoistError(err);
    return { permission: 'ChecksumVerification', ok: false, code: e.code, message: `Whether the server verifies flexible checksums could not be found out: ${e.message} Uploads in mode auto send Content-MD5 until it can.` };
  }
}
