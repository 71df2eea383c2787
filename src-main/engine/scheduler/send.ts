// Sending parts: each takes a slot of its destination's lane, is marked `sending` with the tick's other
// writes (tick-writes.ts), then goes to the worker pool, and is
// recorded done only once S3 returned its ETag and that row is committed (invariant 1). A failed
// part is retried with back-off, restarts the upload when the server lost it, or fails the job.
import { HoistError, isRetryable } from '../../../shared/errors.js';
import { backoffDelay } from '../backoff.js';
import type { Lane } from '../pacing/lanes.js';
import { fromErrorInfo, toHoistError } from '../s3/errors.js';
import type { PartRecord } from '../store/rows.js';
import { normalizeEtag } from '../upload/checksums.js';
import type { TaskOutcome } from '../upload/worker-pool.js';
import { isSourceProblem, landed, objectSettings, rankOf, snapshotOf, type ActiveJob, type InFlight } from './active-job.js';
import type { RunContext } from './context.js';
import { afterHalt, failJob, halt, onSourceProblem } from './failures.js';
import { conditionFor, conditionRefused, forgetDecision } from './key-decision.js';
import { writeCondition } from '../remote/if-exists.js';
import { noteServerEncryption } from './server-proof.js';
import { finishSinglePut } from './single-put.js';

/** A part the tick means to send: its slot taken and its flight noted, its `sending` mark not yet written (tick-writes.ts). */
export interface Reserved {
  a: ActiveJob;
  part: PartRecord;
  lane: Lane;
  flight: InFlight;
}

/**
 * Takes the part's lane slot and puts it in the job's flight, so that the rest of the tick sees it
 * sent; nothing is written or sent yet: `launch` once its `sending` mark is committed, `unreserve` if not.
 */
export function reserve(a: ActiveJob, part: PartRecord, lane: Lane): Reserved {
  // What waits is asked of the store again (open-queued.ts `partWaits`), whether or not this part goes.
  a.partsWaiting = false;
  const flight: InFlight = { taskId: 0, partNumber: part.partNumber, length: part.length, bytesSent: 0, slot: lane.acquire(rankOf(a)) };
  a.inflight.set(part.partNumber, flight);
  return { a, part, lane, flight };
}

/** The part's `sending` mark did not take (or was not committed): its slot and its place in the flight are given back. */
export function unreserve(r: Reserved): void {
  r.flight.slot.release();
  if (r.a.inflight.get(r.part.partNumber) === r.flight) r.a.inflight.delete(r.part.partNumber);
}

/** Sends a reserved part whose `sending` mark is committed (invariant: a request goes only for a part so marked). */
export function launch(ctx: RunContext, { a, part, lane, flight }: Reserved): void {
  let signedWith = 0;
  const onProgress = (n: number) => {
    lane.addBytes(n - flight.bytesSent);
    flight.bytesSent = n;
  };
  ctx.track(
    (async () => {
      let outcome: TaskOutcome;
      try {
        const conn = await ctx.net.conn(a.dest, 1);
        signedWith = conn.clockOffsetMs;
        if (a.stopping) {
          outcome = { ok: false, error: new HoistError('internal.unexpected').info, aborted: true, bytesSent: 0 };
        } else {
          // Its CRC from the whole-file pass, if that computes it (waiting for it to get there): then read once, to send.
          const knownChecksum = a.job.mode === 'multipart' && !a.job.contentMd5 ? await a.passChecksums?.forPart(part.offset, part.length, a.job.checksumAlgorithm, snapshotOf(a.job)) : null;
          const base = {
            path: a.source.path, offset: part.offset, length: part.length, snapshot: snapshotOf(a.job), checksumAlgorithm: a.job.checksumAlgorithm, contentMd5: a.job.contentMd5,
            conn, bucket: a.job.bucket, key: a.job.key, target: await ctx.net.target(conn, a.job.bucket),
            ...(ctx.opts.bandwidth ? { bandwidth: ctx.opts.bandwidth.memoryFor(a.dest.id) } : {}),
          };
          const run =
            a.job.mode === 'single'
              ? ctx.pool.run({ ...base, kind: 'put-object', object: objectSettings(a), condition: conditionFor(ctx, a), ...(a.inlineHashes?.length ? { fileHashes: a.inlineHashes } : {}) }, onProgress)
              : ctx.pool.run({ ...base, kind: 'upload-part', uploadId: a.job.uploadId!, partNumber: part.partNumber, ...(knownChecksum ? { knownChecksum } : {}) }, onProgress);
          flight.taskId = run.taskId;
          outcome = await run.outcome;
        }
      } catch (err) {
        outcome = { ok: false, error: toHoistError(err).info, aborted: false, bytesSent: 0 };
      }
      flight.slot.release();
      // The last progress report may not have come before the answer.
      if (outcome.ok) lane.addBytes(part.length - flight.bytesSent);
      landed(a, part.partNumber);
      onPartSettled(ctx, a, part, outcome, lane, signedWith);
    })(),
  );
}

function onPartSettled(ctx: RunContext, a: ActiveJob, part: PartRecord, o: TaskOutcome, lane: Lane, signedWith: number): void {
  if (o.ok) {
    noteServerEncryption(ctx, a, o.result.encryption);
    // Where the checksum goes alone the server was shown to verify it (integrity-plan.ts): accepted is verified.
    if (a.job.checksumAlgorithm && a.job.contentMd5 && !o.result.checksumVerified && !a.checksumUnverifiedNoted) {
      a.checksumUnverifiedNoted = true;
      ctx.store.addEvent(a.job.id, 'checksum-unverified', `The server accepted the ${a.job.checksumAlgorithm} checksum without verifying it (it did not echo it back); Content-MD5 still protects every part.`);
    }
    if (a.job.attempts > 0) {
      ctx.store.resetAttempts(a.job.id);
      a.job.attempts = 0;
    }
    a.bytesAcked += part.length;
    a.partsDone++;
    a.samples.push({ at: Date.now(), bytes: a.bytesAcked });
    // Invariant 1: the part is done only once S3 returned its ETag, and that row is committed; a
    // small file's PutObject ends its job in the same transaction (single-put.ts), the next tick's commit.
    const done = { jobId: a.job.id, partNumber: part.partNumber, etag: normalizeEtag(o.result.etag ?? ''), md5Hex: o.result.md5Hex, checksum: o.result.checksum };
    if (!finishSinglePut(ctx, a, done, o.result)) {
      ctx.storage.recordPartDone(done);
      if (a.job.mode === 'single') a.versionId = o.result.versionId ?? null;
    }
  } else if (o.aborted || a.stopping) {
    ctx.store.markPartPending(a.job.id, part.partNumber, 0, o.bytesSent > 0);
  } else {
    onPartFailed(ctx, a, part, o, lane, signedWith);
  }
  if (a.stopping && a.inflight.size === 0 && a.phase !== 'preparing') ctx.release(a);
  else ctx.tick();
}

function onPartFailed(ctx: RunContext, a: ActiveJob, part: PartRecord, o: Extract<TaskOutcome, { ok: false }>, lane: Lane, signedWith: number): void {
  const err = fromErrorInfo(o.error);
  if (err.code === 'auth.clock-skew' && ctx.net.clockCorrected(a, o.clockOffsetMs, signedWith)) {
    // Refused only for the time it was signed with: at once again, signed with the server's time.
    ctx.store.markPartPending(a.job.id, part.partNumber);
    return;
  }
  if (a.job.mode === 'single' && conditionRefused(ctx, a, err, writeCondition(a.job.keySeen))) {
    // The server does not do conditional writes: the PutObject goes again without the condition.
    ctx.store.markPartPending(a.job.id, part.partNumber);
    return;
  }
  if (err.code === 's3.precondition-failed') {
    // Another writer took the key since the job decided: it decides again (key-decision.ts).
    ctx.store.markPartPending(a.job.id, part.partNumber);
    forgetDecision(ctx, a, err);
    failJob(ctx, a, err);
    return;
  }
  if (isSourceProblem(err.code)) {
    ctx.store.markPartPending(a.job.id, part.partNumber);
    ctx.track(onSourceProblem(ctx, a, err));
    return;
  }
  if (err.code === 's3.no-such-upload') {
    ctx.store.markPartPending(a.job.id, part.partNumber);
    ctx.store.addEvent(a.job.id, 'upload-lost', 'The multipart upload vanished from the server while parts were being sent; starting it afresh.', err.info);
    halt(ctx, a);
    afterHalt(ctx, a, () => ctx.store.restartUpload(a.job.id, { requeueFrom: ['running'] }));
    return;
  }
  if (err.code === 's3.slow-down') lane.onSlowDown(Date.now());
  else if (err.code.startsWith('net.') || err.code === 's3.server-error') lane.onError(Date.now());
  const attempts = ctx.store.partAttempts(a.job.id, part.partNumber) ?? 1;
  if (isRetryable(err.code) && attempts < ctx.retry.partAttempts) {
    const delay = backoffDelay(attempts, ctx.retry);
    ctx.store.retryPartLater(a.job.id, part.partNumber, Date.now() + delay, `Part ${part.partNumber} failed (${err.message}); retrying in ${(delay / 1000).toFixed(1)} s.`, err.info);
    return;
  }
  ctx.store.markPartPending(a.job.id, part.partNumber);
  failJob(ctx, a, err);
}
