// Completing a job: the source checked once more, its hashes known and agreeing with its history,
// then CompleteMultipartUpload sent from our own record (invariant 2) and the object's ETag checked
// against md5-of-md5s, unless the server's answers name an encryption under which ETags are not
// MD5s (SSE-KMS, DSSE-KMS, SSE-C): then Content-MD5 on every part is the proof, and the job says so.
import type { S3Client } from '@aws-sdk/client-s3';
import { HoistError } from '../../../shared/errors.js';
import { toHoistError } from '../s3/errors.js';
import * as ops from '../s3/operations.js';
import { compareCompositeChecksum, multipartEtag, normalizeEtag } from '../upload/checksums.js';
import { etagComparable, strongestEncryption, usesKms, type ServerEncryption } from '../s3/server-encryption.js';
import { planGap } from '../upload/plan-coverage.js';
import { sameSnapshot, statSource, type ActiveJob } from './active-job.js';
import type { RunContext } from './context.js';
import { failJob, failWithFreshPlan, restartForChangedSource } from './failures.js';
import { verifyGrownParts } from './growing-parts.js';
import { startHashing } from './hash-pass.js';
import type { WriteCondition } from '../s3/conditions.js';
import { conditionRefused, forgetDecision, recheckKey } from './key-decision.js';
import { checkFullObject, fullObjectValue, singlePutFullObject } from './full-object.js';
import { alreadyCompleted } from './reconcile.js';
import { jobProof } from './server-proof.js';

export async function complete(ctx: RunContext, a: ActiveJob): Promise<void> {
  const { job } = a;
  try {
    if (!ctx.store.transition(job.id, ['running'], 'completing')) {
      ctx.release(a);
      return;
    }
    ctx.emitJob(job.id);
    if (job.growing === 2 && !(await verifyGrownParts(ctx, a))) return;
    const snap = await statSource(a.source.path);
    if (!snap) throw new HoistError('source.missing', { detail: a.source.path });
    if (!sameSnapshot(snap, job)) {
      ctx.store.transition(job.id, ['completing'], 'running');
      await restartForChangedSource(ctx, a, snap);
      return;
    }
    // Never completed before its hashes are known and agree with the source's history.
    startHashing(ctx, a);
    if (await a.hashing) return;
    if (a.stopping) {
      ctx.release(a);
      return;
    }
    const parts = ctx.store.parts(job.id);
    // Never completed short: the parts listed must be the whole file (issue 13).
    const gap = planGap(parts, job.size);
    if (gap) return failWithFreshPlan(ctx, a, new HoistError('upload.plan-mismatch', { detail: gap }));
    let etag: string;
    // The version the object was written as, in a versioned bucket (item 7 of issue 13): clean-up checks it is still there.
    let versionId: string | null = null;
    let encryption: ServerEncryption = a.job.serverEncryption;
    let outcome: 'matched' | 'not-comparable' | 'unavailable';
    let fullObject: { algorithm: string; value: string; by: string } | null = null;
    if (job.mode === 'single') {
      etag = parts[0]?.etag ?? '';
      versionId = a.versionId !== undefined ? a.versionId : await versionOfSentObject(ctx, a, etag);
      // The part worker compared it unless the PutObject's answer named an encryption that forbids it.
      outcome = etag !== '' && etag === parts[0]?.md5 ? 'matched' : 'not-comparable';
      // Its checksum is the whole object's, and the part worker saw the server return it equal (or refuse it).
      fullObject = singlePutFullObject(a, parts[0]?.checksum);
    } else {
      const client = await ctx.net.client(a.dest);
      // No MD5 where the server was shown to verify the checksum (integrity-plan.ts): the checksums are the proof.
      const expected = job.contentMd5 ? normalizeEtag(multipartEtag(parts.map((p) => p.md5 ?? ''))) : null;
      const full = fullObjectValue(a, parts);
      // The key must still hold what the job saw when it decided (invariant 12); the Complete says so too.
      const condition = await recheckKey(ctx, a, client, expected ?? '');
      try {
        // Invariant 2: Complete is sent from our own record, never from a listing.
        const send = (c: WriteCondition | null) => ops.completeMultipartUpload(client, job.bucket, job.key, job.uploadId!, parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag ?? '', checksum: p.checksum })), job.checksumAlgorithm, c, full);
        // A server that refuses the condition as not implemented gets the Complete without it (the look above holds it).
        const out = await send(condition).catch((err: unknown) => {
          if (conditionRefused(ctx, a, toHoistError(err, 'CompleteMultipartUpload'), condition)) return send(null);
          throw err;
        });
        if (full) fullObject = await checkFullObject(ctx, a, client, full, out.checksum);
        else if (job.checksumAlgorithm && out.checksum) checkCompositeChecksum(ctx, a, parts.map((p) => p.checksum), out.checksum);
        etag = normalizeEtag(out.etag);
        versionId = out.versionId;
        encryption = strongestEncryption(out.encryption, encryption);
        // Some servers (radosgw 16) answer Complete with an empty ETag; the object itself has it.
        if (!etag) etag = await etagFromHead(ctx, a, client);
      } catch (err) {
        const e = toHoistError(err);
        // Under SSE-KMS, S3 reads the parts back at Complete: a refusal there is kms:Decrypt missing on the key.
        if (e.code === 's3.access-denied' && usesKms(strongestEncryption(encryption, a.dest.sse))) {
          throw new HoistError('s3.kms-denied', { operation: 'CompleteMultipartUpload', ...(e.info.detail ? { detail: e.info.detail } : {}) });
        }
        if (e.code !== 's3.no-such-upload') throw e;
        // A Complete that succeeded just before its answer was lost looks like this: the object is there, ours by our record.
        if (await alreadyCompleted(ctx, a, client)) return;
        ctx.store.restartUpload(job.id, { event: { message: 'The multipart upload vanished before it could be completed; starting it afresh.', error: e.info }, requeueFrom: ['completing'] });
        ctx.release(a);
        return;
      }
      outcome = etag === '' ? 'unavailable' : etag === expected ? 'matched' : 'not-comparable';
      if (outcome === 'not-comparable' && expected !== null && etagComparable(encryption)) {
        throw new HoistError('s3.etag-mismatch', { operation: 'CompleteMultipartUpload', detail: `server ${etag}, expected ${expected}${encryption ? ` (encryption ${encryption})` : ''}` });
      }
    }
    const proof = jobProof(ctx, a, outcome, encryption, fullObject);
    const version = versionId ? `, version ${versionId}` : '';
    const message =
      outcome === 'matched'
        ? `Uploaded and verified (ETag ${etag}${version}).`
        : outcome === 'not-comparable'
          ? `Uploaded; ${proof.integrity}${version}.`
          : `Uploaded; every part was verified by Content-MD5 (the final ETag was not available to check${version}).`;
    ctx.store.completeJob(job.id, ['completing'], etag || null, message, proof, versionId);
    ctx.release(a);
  } catch (err) {
    const e = toHoistError(err);
    if (e.code === 's3.precondition-failed') forgetDecision(ctx, a, e);
    failJob(ctx, a, e);
  }
}

/** The object's ETag by HeadObject; '' (and a note in the history) when HeadObject is not permitted. */
async function etagFromHead(ctx: RunContext, a: ActiveJob, client: S3Client): Promise<string> {
  try {
    return normalizeEtag((await ops.headObject(client, a.job.bucket, a.job.key))?.etag ?? '');
  } catch (err) {
    const e = toHoistError(err);
    if (e.code !== 's3.access-denied') throw e;
    ctx.store.addEvent(a.job.id, 'etag-unverified', 'The server returned no ETag for the completed object and HeadObject is not permitted, so the final ETag could not be checked (every part was verified by Content-MD5).', e.info);
    return '';
  }
}

/**
 * A single PutObject sent before a restart: its answer (and the version it named) is gone, so the
 * version is read back, taken only if the object still has the ETag that PutObject returned. Null
 * when HeadObject is not permitted (a PutObject-only user) or the bucket is not versioned.
 */
async function versionOfSentObject(ctx: RunContext, a: ActiveJob, etag: string): Promise<string | null> {
  try {
    const head = await ops.headObject(await ctx.net.client(a.dest), a.job.bucket, a.job.key);
    return head && normalizeEtag(head.etag) === etag ? head.versionId : null;
  } catch (err) {
    if (toHoistError(err).code === 's3.access-denied') return null;
    throw err;
  }
}

/** The composite checksum Complete answered (Amazon S3 names one; radosgw 16 none) against our parts' checksums. */
function checkCompositeChecksum(ctx: RunContext, a: ActiveJob, partChecksums: Array<string | null>, returned: string): void {
  const algorithm = a.job.checksumAlgorithm!;
  const { verdict, expected } = compareCompositeChecksum(algorithm, partChecksums, returned);
  if (verdict === 'mismatch') {
    throw new HoistError('s3.checksum-mismatch', { operation: 'CompleteMultipartUpload', detail: `server ${algorithm} ${returned}, expected ${expected}` });
  }
  if (verdict === 'match') ctx.store.addEvent(a.job.id, 'checksum-verified', `The server's composite ${algorithm} checksum of the object (${returned}) matches the checksums of the parts sent.`);
}
