// The full-object checksum of a multipart upload (ChecksumType FULL_OBJECT, issue 12): the whole
// file's CRC, combined from the parts' CRCs the server verified (upload/crc-combine.ts), sent at
// Complete for the server to check, then compared with what Complete answers and what HeadObject
// (ChecksumMode ENABLED) says the object keeps: one checksum anyone can check later without
// downloading, whatever the part size.
import type { S3Client } from '@aws-sdk/client-s3';
import { HoistError } from '../../../shared/errors.js';
import { toHoistError } from '../s3/errors.js';
import * as ops from '../s3/operations.js';
import type { PartRecord } from '../store/rows.js';
import { combineCrcs, isFullObjectAlgorithm } from '../upload/crc-combine.js';
import type { ActiveJob } from './active-job.js';
import type { RunContext } from './context.js';

/** The whole file's checksum to complete with, or null when the job's upload is not FULL_OBJECT. */
export function fullObjectValue(a: ActiveJob, parts: readonly PartRecord[]): string | null {
  const algorithm = a.job.checksumAlgorithm;
  if (a.job.checksumType !== 'FULL_OBJECT' || !isFullObjectAlgorithm(algorithm)) return null;
  if (parts.some((p) => !p.checksum)) {
    throw new HoistError('upload.plan-mismatch', { detail: `a part of this FULL_OBJECT ${algorithm} upload has no recorded checksum` });
  }
  return combineCrcs(algorithm, parts.map((p) => ({ checksum: p.checksum!, length: p.length })));
}

/** A single PutObject's proof: its checksum is the whole object's, and the part worker saw the server verify it (or refuse it). */
export function singlePutFullObject(a: ActiveJob, checksum: string | null | undefined): { algorithm: string; value: string; by: string } | null {
  if (a.job.contentMd5 || a.job.checksumType !== 'FULL_OBJECT' || !checksum) return null;
  return { algorithm: a.job.checksumAlgorithm!, value: checksum, by: 'PutObject' };
}

/**
 * Complete's answer and the object's stored checksum against ours: a mismatch fails the job
 * (s3.checksum-mismatch). Returns the proof when at least one of them returned it equal; null when
 * neither said anything (then the parts' checksums are the proof).
 */
export async function checkFullObject(ctx: RunContext, a: ActiveJob, client: S3Client, expected: string, returned: string | null): Promise<{ algorithm: string; value: string; by: string } | null> {
  const algorithm = a.job.checksumAlgorithm!;
  if (returned !== null && returned !== expected) {
    throw new HoistError('s3.checksum-mismatch', { operation: 'CompleteMultipartUpload', detail: `server full-object ${algorithm} ${returned}, the file's ${expected}` });
  }
  let stored: string | null = null;
  try {
    stored = (await ops.headObjectDetail(client, a.job.bucket, a.job.key))?.checksums[algorithm] ?? null;
  } catch (err) {
    const e = toHoistError(err);
    if (e.code !== 's3.access-denied') throw e;
    ctx.store.addEvent(a.job.id, 'checksum-unread', `HeadObject is not permitted, so the object's stored ${algorithm} could not be read back.`, e.info);
  }
  if (stored !== null && stored !== expected) {
    throw new HoistError('s3.checksum-mismatch', { operation: 'HeadObject', detail: `the object keeps full-object ${algorithm} ${stored}, the file's is ${expected}` });
  }
  const by = [returned !== null ? 'Complete' : null, stored !== null ? 'HeadObject' : null].filter(Boolean).join(' and ');
  return by ? { algorithm, value: expected, by } : null;
}
