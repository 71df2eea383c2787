// How a job's run ends early: halting its traffic (or, for a cancel, winding it down), failing it (retried later with back-off, or
// left failed for `hoist retry`), and restarting it when its source changed (invariant 3).
import { HoistError, isRetryable } from '../../../shared/errors.js';
import { backoffDelay } from '../backoff.js';
import { explainDenied, fromErrorInfo, toHoistError } from '../s3/errors.js';
import { planParts } from '../upload/part-plan.js';
import type { SourceSnapshot } from '../upload/tasks.js';
import { statSource, whenIdle, type ActiveJob } from './active-job.js';
import type { RunContext } from './context.js';

export function failJob(ctx: RunContext, a: ActiveJob, failure: HoistError): void {
  const creds = ctx.net.signedWith.get(a.dest.id);
  const err = creds ? fromErrorInfo(explainDenied(failure.info, creds)) : failure;
  // Not the job's fault: it waits, its parts in flight go on, and it is taken up again once there is room.
  if (err.code === 'db.full') return ctx.storage.enter(err);
  halt(ctx, a);
  afterHalt(ctx, a, () => {
    // An unreadable source (permissions, an unmounted share) keeps its upload: the parts sent are
    // the file's own bytes and access usually comes back; retry resumes it, cancel aborts it.
    const fatalSource = err.code === 'source.missing' || err.code === 'source.changed' || err.code === 'source.hash-mismatch';
    // never-overwrite found the key taken: no object can come of an upload begun for it.
    const noObject = fatalSource || err.code === 's3.object-exists';
    ctx.store.recordJobFailure(a.job.id, err.info, {
      dropUpload: noObject ? err.code : null,
      verdict: (attempts) => {
        if (isRetryable(err.code) && attempts < ctx.retry.jobAttempts) {
          const delay = backoffDelay(attempts, { ...ctx.retry, baseDelayMs: ctx.retry.baseDelayMs * 4 });
          return { retryAt: Date.now() + delay, message: `${err.message} Retrying the job in ${(delay / 1000).toFixed(1)} s.` };
        }
        return { retryAt: null, message: err.message + (err.info.detail ? ` (${err.info.detail})` : '') };
      },
    });
  });
}

/**
 * The recorded parts do not cover the file exactly (issue 13): never completed short. The job fails
 * with `upload.plan-mismatch`, its upload is aborted and its parts are planned afresh from the file's
 * recorded size, so that `hoist retry` sends it whole.
 */
export function failWithFreshPlan(ctx: RunContext, a: ActiveJob, err: HoistError): void {
  let plan: ReturnType<typeof planParts>;
  try {
    plan = planParts(a.job.size, a.dest);
  } catch (e) {
    failJob(ctx, a, toHoistError(e));
    return;
  }
  halt(ctx, a);
  afterHalt(ctx, a, () => ctx.store.failWithFreshPlan(a.job.id, err.info, plan));
}

/** Stops the traffic of a job: aborts its parts in flight. */
export function halt(ctx: RunContext, a: ActiveJob): void {
  a.stopping = true;
  for (const f of a.inflight.values()) if (f.taskId) ctx.pool.abort(f.taskId);
  if (a.hashTaskId) ctx.pool.abort(a.hashTaskId);
  if (a.inflight.size === 0 && a.phase !== 'preparing') ctx.release(a);
}

/**
 * Stops a cancelled job's traffic the way the S3 guide asks before its upload is aborted: no new part
 * is sent, and those on the wire end by themselves (one cut off could still land after the abort);
 * any still on the wire after `boundMs` (the idle timeout) are cut. remote-aborts.ts waits for it.
 */
export function windDown(ctx: RunContext, a: ActiveJob, boundMs: number): void {
  a.stopping = true;
  if (a.hashTaskId) ctx.pool.abort(a.hashTaskId);
  if (a.inflight.size === 0) {
    if (a.phase !== 'preparing') ctx.release(a);
    return;
  }
  const cut = setTimeout(() => halt(ctx, a), boundMs);
  cut.unref();
  void whenIdle(a).then(() => clearTimeout(cut));
}

/** Once the halted job's last part has settled: `fn` settles its row, then the job leaves the open set. */
export function afterHalt(ctx: RunContext, a: ActiveJob, fn: () => void): void {
  ctx.track(
    whenIdle(a).then(() => {
      fn();
      ctx.forget(a);
      ctx.emitJob(a.job.id);
      ctx.tick();
    }),
  );
}

export async function onSourceProblem(ctx: RunContext, a: ActiveJob, err: HoistError): Promise<void> {
  if (a.stopping) return;
  if (err.code !== 'source.changed') {
    failJob(ctx, a, err);
    return;
  }
  const snap = await statSource(a.source.path);
  if (!snap) {
    failJob(ctx, a, new HoistError('source.missing', { detail: a.source.path }));
    return;
  }
  await restartForChangedSource(ctx, a, snap);
}

/** Invariant 3: a changed source is never completed with mixed content; the upload starts again. */
export async function restartForChangedSource(ctx: RunContext, a: ActiveJob, snap: SourceSnapshot): Promise<void> {
  const job = ctx.store.getJob(a.job.id)!;
  if (job.restarts >= ctx.retry.sourceRestarts) {
    failJob(ctx, a, new HoistError('source.changed', { detail: `changed ${job.restarts + 1} times during upload` }));
    return;
  }
  halt(ctx, a);
  await whenIdle(a);
  let plan;
  try {
    plan = planParts(snap.size, a.dest);
  } catch (e) {
    failJob(ctx, a, toHoistError(e));
    return;
  }
  ctx.store.requeueChangedSource(
    job.id,
    { ...snap, mode: plan.mode, partSize: plan.partSize },
    plan.parts,
    'The source file changed during the upload; the upload starts again so the object is never a mix of old and new bytes.',
  );
  ctx.forget(a);
  ctx.emitJob(job.id);
  ctx.tick();
}
