// How a job's parts prove their bytes (issue 12; docs/integrity.md), decided before its first byte
// goes, from its integrity mode and from what its server verifies (s3/integrity-probe.ts, asked once
// per destination and endpoint, the answer remembered):
//   md5            Content-MD5 on every part and the ETag check (plus the destination's additional checksum);
//   auto           CRC32C alone on a server shown to verify it, with a FULL_OBJECT checksum; else as md5;
//   a checksum     that one alone on a server shown to verify it (FULL_OBJECT for the CRCs), else that
//                  one with Content-MD5 beside it, and the history says why: no byte goes that the
//                  server cannot check.
// CRC32C is auto's choice by measurement (upload/checksums.ts: about 10 GB/s a core against MD5's 0.64).
import type { S3Client } from '@aws-sdk/client-s3';
import { AUTO_CHECKSUM, probeEndpoint } from '../../../shared/integrity.js';
import type { ChecksumAlgorithm } from '../../../shared/states.js';
import { toHoistError } from '../s3/errors.js';
import { probeOnce } from '../s3/integrity-probe.js';
import type { IntegrityPlan } from '../store/upload-store.js';
import { isFullObjectAlgorithm } from '../upload/crc-combine.js';
import type { ActiveJob } from './active-job.js';
import type { RunContext } from './context.js';
import { saveDecision } from './key-decision.js';

/** Whether the job still has to decide: nothing of its object has been sent yet. */
export function integrityUndecided(a: ActiveJob): boolean {
  return a.job.mode === 'multipart' ? !a.job.uploadId : a.partsDone === 0;
}

/** Whether the destination's server verifies flexible checksums: remembered, or found out now; null when the probe proved nothing. */
async function serverVerifies(ctx: RunContext, a: ActiveJob, client: S3Client): Promise<{ verifies: boolean | null; why: string }> {
  const endpoint = probeEndpoint(a.dest);
  // Another job may have found out since this one opened: the store has the latest answer.
  const known = a.dest.checksumProbe ?? ctx.store.getDestination(a.dest.id)?.checksumProbe ?? null;
  if (known?.endpoint === endpoint) return { verifies: known.verifies, why: 'as found before' };
  try {
    const answer = await probeOnce(`${a.dest.id}|${endpoint}|${a.dest.bucket}`, client, a.dest, (left) => {
      // The probe's upload could not be aborted now: owed, retried with back-off like any other abort.
      ctx.store.queueRemoteAbort({ destinationId: a.dest.id, bucket: a.dest.bucket, key: left.key, uploadId: left.uploadId, jobId: null, reason: `integrity probe (${left.error})` });
    });
    ctx.store.recordChecksumProbe(a.dest.id, endpoint, answer.verifies);
    a.dest = { ...a.dest, checksumProbe: { verifies: answer.verifies, endpoint, checkedAt: new Date().toISOString() } };
    return { verifies: answer.verifies, why: answer.detail };
  } catch (err) {
    return { verifies: null, why: toHoistError(err).message };
  }
}

/** Decides and records the job's plan (only where it differs from the MD5 default it has until then). */
export async function planIntegrity(ctx: RunContext, a: ActiveJob, client: S3Client): Promise<void> {
  const { job } = a;
  const mode = job.integrityMode;
  if (mode === 'md5') return;
  const { verifies, why } = await serverVerifies(ctx, a, client);
  let plan: IntegrityPlan;
  let message: string | null = null;
  if (mode === 'auto') {
    if (verifies) {
      plan = { checksumAlgorithm: AUTO_CHECKSUM, contentMd5: false, checksumType: 'FULL_OBJECT' };
      message = `The server verifies flexible checksums (${why}): every part carries CRC32C and no MD5, and the object is completed with the whole file's CRC32C (FULL_OBJECT).`;
    } else {
      const additional = job.checksumAlgorithm;
      plan = { checksumAlgorithm: additional, contentMd5: true, checksumType: additional ? defaultType(additional) : null };
      if (verifies === null) message = `Whether the server verifies flexible checksums could not be found out (${why}): every part carries Content-MD5.`;
    }
  } else if (verifies) {
    plan = { checksumAlgorithm: mode, contentMd5: false, checksumType: isFullObjectAlgorithm(mode) ? 'FULL_OBJECT' : 'COMPOSITE' };
    message = `The server verifies flexible checksums (${why}): every part carries ${mode.toUpperCase()} and no MD5${isFullObjectAlgorithm(mode) ? `, and the object is completed with the whole file's ${mode.toUpperCase()} (FULL_OBJECT)` : ''}.`;
  } else {
    plan = { checksumAlgorithm: mode, contentMd5: true, checksumType: defaultType(mode) };
    const found = verifies === false ? `this server was shown not to verify flexible checksums (${why})` : `whether this server verifies flexible checksums could not be found out (${why})`;
    message = `${mode.toUpperCase()} was asked for, but ${found}: Content-MD5 goes with every part as well, so the server checks every byte sent.`;
  }
  const same = plan.checksumAlgorithm === job.checksumAlgorithm && plan.contentMd5 === job.contentMd5 && plan.checksumType === job.checksumType;
  if (same && !message) return;
  // With the key decision still to be written, if any: one commit (key-decision.ts).
  saveDecision(ctx, a, plan, message);
  a.job = { ...a.job, ...plan };
}

/** S3 keeps CRC64NVME only as a full-object checksum; the others as a composite of the parts' unless asked otherwise. */
function defaultType(algorithm: ChecksumAlgorithm): 'FULL_OBJECT' | 'COMPOSITE' {
  return algorithm === 'crc64nvme' ? 'FULL_OBJECT' : 'COMPOSITE';
}
