// Growing files (issue 3): the watcher appends parts while the file is written, and its final
// snapshot once it is stable. Before Complete every part is hashed again, and a part whose bytes
// changed since it was sent (a header rewritten at the end) goes again under the same number:
// invariant 3's exception.
import { fromErrorInfo } from '../s3/errors.js';
import type { PartRecord } from '../store/rows.js';
import { snapshotOf, statSource, type ActiveJob } from './active-job.js';
import type { RunContext } from './context.js';
import { halt, restartForChangedSource } from './failures.js';

/**
 * The watcher appends parts (planning those not sent yet again when the file outgrows them) and,
 * once the file is stable, its final snapshot: take both up. False, and the job's traffic halted,
 * when the watcher refused the file as too large for its destination (issue 13).
 */
export function refreshGrowing(ctx: RunContext, a: ActiveJob): boolean {
  const fresh = ctx.store.getJob(a.job.id);
  if (fresh && fresh.state !== 'running' && fresh.state !== 'completing') {
    halt(ctx, a);
    return false;
  }
  if (fresh) a.job = { ...fresh, uploadId: a.job.uploadId ?? fresh.uploadId };
  return true;
}

/** Returns true when every part still matches and Complete may follow. */
export async function verifyGrownParts(ctx: RunContext, a: ActiveJob): Promise<boolean> {
  const parts = ctx.store.parts(a.job.id);
  const changed: PartRecord[] = [];
  for (let i = 0; i < parts.length && !a.stopping; i += a.dest.concurrency) {
    const batch = parts.slice(i, i + a.dest.concurrency);
    const outcomes = await Promise.all(
      batch.map((p) => ctx.pool.run({ kind: 'hash-range', path: a.source.path, offset: p.offset, length: p.length, snapshot: snapshotOf(a.job), checksumAlgorithm: a.job.checksumAlgorithm }).outcome),
    );
    const failed = outcomes.find((o) => !o.ok);
    if (failed && !failed.ok) {
      const err = fromErrorInfo(failed.error);
      const snap = err.code === 'source.changed' ? await statSource(a.source.path) : null;
      if (!snap) throw err;
      // Changed again after it stopped growing: uploaded afresh as it now is, like any other file.
      await restartForChangedSource(ctx, a, snap);
      return false;
    }
    outcomes.forEach((o, k) => {
      if (o.ok && o.result.md5Hex !== batch[k]!.md5) changed.push(batch[k]!);
    });
  }
  if (a.stopping) {
    ctx.release(a);
    return false;
  }
  // One transaction: the changed parts wait again and the job is back to sending them, or neither.
  ctx.store.settleGrownParts(
    a.job.id,
    changed.map((p) => p.partNumber),
    changed.length > 0
      ? `Part(s) ${changed.map((p) => p.partNumber).join(', ')} changed after they were sent (the file was rewritten as it was finished); they are sent again before Complete.`
      : null,
  );
  a.job.growing = 0;
  if (changed.length === 0) return true;
  for (const p of changed) a.bytesAcked -= p.length;
  a.partsDone -= changed.length;
  a.phase = 'sending';
  ctx.emitJob(a.job.id);
  ctx.tick();
  return false;
}
