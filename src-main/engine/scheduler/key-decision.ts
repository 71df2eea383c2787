// A job's key, before anything is sent and again before its Complete: what the key holds, decided
// by the job's --if-exists policy (remote/if-exists.ts) from what same-object.ts finds there, and
// recorded on the job (what it saw, the outcome it goes for) so the write that follows can be
// conditional. A refused conditional write (412) or a key found changed before Complete makes the
// job decide again (s3.precondition-failed, retried with back-off like any retryable failure).
import type { S3Client } from '@aws-sdk/client-s3';
import { HoistError } from '../../../shared/errors.js';
import { NOT_LOOKED, decideAtKey, describeCondition, keptBothKey, writeCondition } from '../remote/if-exists.js';
import { compareFile, lookAtKey, type Comparison } from '../remote/same-object.js';
import { toHoistError } from '../s3/errors.js';
import type { WriteCondition } from '../s3/conditions.js';
import type { IntegrityPlan } from '../store/upload-store.js';
import * as ops from '../s3/operations.js';
import { normalizeEtag } from '../upload/checksums.js';
import type { ActiveJob } from './active-job.js';
import { failJob } from './failures.js';
import { startHashing } from './hash-pass.js';
import type { RunContext } from './context.js';

/** keep-both gives up (s3.object-exists) after this many taken keys. */
const MAX_KEPT_BOTH = 1000;

/**
 * Decides what the job does at its key unless it already has: 'send' (its decision recorded; with
 * keep-both perhaps at another key) or 'ended' (the bucket already holds the file's bytes: the job
 * is done, nothing sent). Throws s3.object-exists under never-overwrite.
 */
export async function settleKey(ctx: RunContext, a: ActiveJob, client: S3Client): Promise<'send' | 'ended'> {
  const { job } = a;
  if (job.keySeen !== null) return 'send';
  if (job.ifExists === 'overwrite') {
    ctx.store.setKeyDecision(job.id, { keySeen: NOT_LOOKED, outcome: 'sent' });
    a.job.keySeen = NOT_LOOKED;
    return 'send';
  }
  const policy = job.ifExists;
  // A job that kept both before (and decides again after a refused write) numbers from its first key.
  const base = job.plannedOutcome === 'kept-both' ? unsuffixed(job.key) : job.key;
  const passed: string[] = [];
  for (let n = 0; n <= MAX_KEPT_BOTH; n++) {
    const key = n === 0 ? base : keptBothKey(base, n);
    if (n > 0 && ctx.store.unfinishedJobOnKey(a.dest.id, key, job.id) !== undefined) continue;
    let c: Comparison;
    try {
      c = await compareAt(ctx, a, client, key);
    } catch (err) {
      const e = toHoistError(err);
      if (e.code !== 's3.access-denied') throw e;
      return cannotLook(ctx, a, e);
    }
    const d = decideAtKey(policy, c);
    if (d.act === 'refuse') throw new HoistError('s3.object-exists', { operation: 'HeadObject', detail: `s3://${job.bucket}/${key}: ${d.why}` });
    if (d.act === 'next-key') {
      passed.push(`${key} (${d.why})`);
      continue;
    }
    if (d.act === 'already-there') return alreadyThere(ctx, a, key, d.etag, c);
    const where = `s3://${job.bucket}/${key}`;
    if (key !== job.key) {
      ctx.store.moveToKey(job.id, { key, keySeen: d.keySeen, message: `Kept both: ${passed.join('; ')} held other bytes, so this file goes to ${where}.` });
      Object.assign(a.job, { key, uploadId: null, keySeen: d.keySeen, plannedOutcome: 'kept-both' });
      a.bytesAcked = 0;
      a.partsDone = 0;
    } else {
      // Written with the integrity plan (prepare.ts), in one commit, before anything is sent.
      a.unsavedDecision = { keySeen: d.keySeen, outcome: d.outcome };
      Object.assign(a.job, { keySeen: d.keySeen, plannedOutcome: d.outcome });
      if (d.outcome === 'replaced') ctx.store.addEvent(job.id, 'replacing', `${where} holds other bytes (${c.why}); policy ${policy}: it is replaced, on condition that it is still that object (${describeCondition(writeCondition(d.keySeen))}).`);
    }
    return 'send';
  }
  throw new HoistError('s3.object-exists', { operation: 'HeadObject', detail: `keep-both found ${MAX_KEPT_BOTH} other keys taken beside s3://${job.bucket}/${base}` });
}

/**
 * HeadObject is not permitted (a PutObject-only user): skip-identical sends without a condition, as
 * uploads did before it looked (nothing can be known of the key); the policies that promise
 * something of the key cannot keep it blind, and fail with the refusal.
 */
function cannotLook(ctx: RunContext, a: ActiveJob, e: HoistError): 'send' {
  if (a.job.ifExists !== 'skip-identical') {
    throw new HoistError('s3.access-denied', { operation: 'HeadObject', detail: `${a.job.ifExists} must see what the key holds, and HeadObject is not permitted (${e.info.detail ?? e.message})` });
  }
  ctx.store.setKeyDecision(a.job.id, { keySeen: NOT_LOOKED, outcome: 'sent' });
  Object.assign(a.job, { keySeen: NOT_LOOKED, plannedOutcome: 'sent' });
  ctx.store.addEvent(a.job.id, 'key-unseen', `HeadObject is not permitted, so what s3://${a.job.bucket}/${a.job.key} holds cannot be seen: the file is sent without a condition. Grant s3:GetObject to spare sending files the bucket already holds.`, e.info);
  return 'send';
}

/**
 * What the key holds against the file; a file still growing cannot be compared yet. A key a recent
 * listing shows empty is not looked at again where the write that follows carries If-None-Match: *
 * (remote/key-listing.ts); a key the job goes on to write is looked at by the next job that decides there.
 */
async function compareAt(ctx: RunContext, a: ActiveJob, client: S3Client, key: string): Promise<Comparison> {
  const listed = !ctx.conditionsRefused.has(a.dest.id) && (await ctx.listings.empty(client, a.dest.id, a.job.bucket, key));
  ctx.listings.written(a.dest.id, a.job.bucket, key);
  const remote = listed ? null : await lookAtKey(client, a.job.bucket, key);
  if (remote && a.job.growing === 1) return { verdict: 'cannot-tell', why: 'the file is still being written', remote };
  // The part sizes Hoist completed there are read only for an object to compare with (an empty key needs none).
  return compareFile(a.source.path, a.job.size, remote, remote ? [a.job.partSize, ...ctx.store.partSizesAt(a.dest.id, key)] : []);
}

/** The bytes are there: once the whole-file hashes are recorded (ASC MHL lists them), the job is done without sending. */
async function alreadyThere(ctx: RunContext, a: ActiveJob, key: string, etag: string, c: Comparison): Promise<'ended'> {
  // Nothing is sent, so hashes meant to come with the body need their own pass.
  if (a.inlineHashes?.length) startHashing(ctx, a);
  // Its failure (a hash that contradicts the source's history) ends the job by itself.
  if (a.hashing && (await a.hashing)) return 'ended';
  const where = `s3://${a.job.bucket}/${key}`;
  const proof = { etagVerified: c.by === 'etag', integrity: `already in the bucket: ${c.why}, computed from the file here` };
  ctx.store.alreadyThere(a.job.id, ['running'], etag, `Already in the bucket: ${where} holds this file's bytes (${c.why}); nothing was sent.`, proof, key);
  ctx.emitJob(a.job.id);
  ctx.release(a);
  return 'ended';
}

/**
 * Right before Complete: the key must still hold what the job saw when it decided (`ours`: the
 * ETag our parts make, found when our own Complete went through unrecorded). Servers that
 * ignore a conditional Complete (radosgw 16) are held to it by this look; on those that honour it
 * (Amazon S3) the condition closes the moment between the look and the Complete.
 */
export async function recheckKey(ctx: RunContext, a: ActiveJob, client: S3Client, ours: string): Promise<WriteCondition | null> {
  const seen = a.job.keySeen;
  if (!writeCondition(seen)) return null;
  const condition = conditionFor(ctx, a);
  const head = await ops.headObject(client, a.job.bucket, a.job.key);
  const now = head ? normalizeEtag(head.etag) : '';
  // Our own Complete went through before an interruption: the Complete that follows finds the upload gone and the object ours.
  if (now === ours && head?.size === a.job.size) return null;
  if (now !== seen) {
    throw new HoistError('s3.precondition-failed', { operation: 'HeadObject', detail: `s3://${a.job.bucket}/${a.job.key} held ${seen || 'nothing'} when the job decided, and holds ${now || 'nothing'} now` });
  }
  return condition;
}

/** The condition the job's next write carries: none under overwrite, before it decided, or where the server refuses conditions. */
export function conditionFor(ctx: RunContext, a: ActiveJob): WriteCondition | null {
  return ctx.conditionsRefused.has(a.dest.id) ? null : writeCondition(a.job.keySeen);
}

/**
 * A write that carried `sent` failed with `err`: true when that was the server refusing conditional
 * writes (501 NotImplemented). The destination is then written without conditions by this process,
 * held to what each job saw by the HeadObject look before Complete alone, and the history says so;
 * the write goes again. False for any other failure.
 */
export function conditionRefused(ctx: RunContext, a: ActiveJob, err: HoistError, sent: WriteCondition | null): boolean {
  if (!sent || err.code !== 's3.not-implemented' || ctx.conditionsRefused.has(a.dest.id)) return false;
  ctx.conditionsRefused.add(a.dest.id);
  ctx.store.addEvent(a.job.id, 'conditions-refused', `The server refused a conditional ${err.info.operation ?? 'write'} (${describeCondition(sent)}) as not implemented; writes to this destination go without conditions from now on, held to what each job saw by a HeadObject right before they complete.`, err.info);
  return true;
}

/**
 * Writes the job's key decision if it is still unwritten (with `plan`, when there is one to write: one
 * commit). A small file's goes with the next tick's writes (tick-writes.ts), the commit that sends its
 * part at the earliest, so it is still committed before anything is sent (issue 12: a commit per frame
 * less); written alone, it fails the job as a failed write in its preparation would have.
 */
export function saveDecision(ctx: RunContext, a: ActiveJob, plan: IntegrityPlan | null = null, message: string | null = null): void {
  const decision = a.unsavedDecision;
  if (!decision && !plan && !message) return;
  const write = () => ctx.store.planIntegrity(a.job.id, plan, message, decision);
  a.unsavedDecision = undefined;
  if (a.job.mode !== 'single') return write();
  ctx.writeSoon({
    write,
    then: () => {},
    alone: () => {
      try {
        write();
      } catch (err) {
        failJob(ctx, a, toHoistError(err));
      }
    },
  });
}

/** A conditional write was refused or the key changed: the job decides again (its next opening), after the usual back-off. */
export function forgetDecision(ctx: RunContext, a: ActiveJob, err: HoistError): void {
  ctx.listings.written(a.dest.id, a.job.bucket, a.job.key);
  ctx.store.forgetKeyDecision(a.job.id);
  ctx.store.addEvent(a.job.id, 'key-changed', `The object at s3://${a.job.bucket}/${a.job.key} is not what the job saw when it decided (${err.info.detail ?? err.message}); it decides again by its policy (${a.job.ifExists}).`, err.info);
  a.job.keySeen = null;
}

/** `x (3).mov` → `x.mov`: the key keep-both numbered from. */
function unsuffixed(key: string): string {
  return key.replace(/ \(\d+\)(\.[^./]*)?$/, '$1');
}
