// Growing files (recorders, long renders): in a folder with growing mode on, parts are sent while
// the file is still written. The watcher appends each part once its bytes exist, and the last
// ones when the file is stable; the scheduler hashes every part again before Complete and re-sends
// those whose bytes changed (a header rewritten at the end): invariant 3's exception. The parts are
// planned against the destination's limits (upload/growing-plan.ts): the ones not sent yet are
// planned again when the file outgrows them, and a file no plan can hold fails `limits.too-large`
// as soon as it is that large, its upload aborted (issue 13).
import type { Priority } from '../../../shared/states.js';
import type { Destination } from '../../../shared/types.js';
import { toHoistError } from '../s3/errors.js';
import { newJob, type JobRecord, type JobStore, type NewJob, type PartRecord, type PlannedPart } from '../store/job-store.js';
import { planGrowingParts, type GrowingLimits } from '../upload/growing-plan.js';
import { choosePartSize, formatBytes, planParts } from '../upload/part-plan.js';
import type { FileSnapshot } from './stability.js';

export interface GrowingSource {
  dest: Destination;
  file: string;
  key: string;
  /** Whole-file hashes and the ASC MHL batch (issue 8): hashed once the file is finished. */
  hashing?: Pick<NewJob, 'hashAlgorithms' | 'mhl' | 'batchId'>;
  priority: Priority;
  /** The watched folder and path under it (a shared queue: any machine that sees the folder may send it). */
  origin?: NewJob['origin'];
}

/** A growing job's plan is bound by its destination's limits as they are now, from the job's own base part size. */
function limitsOf(dest: Pick<Destination, 'maxParts' | 'maxObjectSize'>, basePartSize: number): GrowingLimits {
  return { basePartSize, maxParts: dest.maxParts, maxObjectSize: dest.maxObjectSize };
}

const samePart = (a: PlannedPart, b: PlannedPart) => a.partNumber === b.partNumber && a.offset === b.offset && a.length === b.length;

/** Creates and extends the jobs of growing files; the SQL lives in JobStore. */
export class GrowingUploads {
  constructor(private readonly store: JobStore) {}

  basePartSize(dest: Destination): number {
    return choosePartSize(0, dest.partSize);
  }

  /** Starts the upload of a growing file once its first whole part exists; null until then (or when it is already too large: it is refused once finished). */
  start(src: GrowingSource, snap: FileSnapshot): JobRecord | null {
    const base = this.basePartSize(src.dest);
    let parts: PlannedPart[];
    try {
      parts = planGrowingParts({ next: { partNumber: 1, offset: 0 }, size: snap.size, final: false, limits: limitsOf(src.dest, base) });
    } catch (err) {
      if (toHoistError(err).code === 'limits.too-large') return null;
      throw err;
    }
    if (parts.length === 0) return null;
    const covered = parts.reduce((n, p) => n + p.length, 0);
    return this.store.insertJob(
      newJob({
        dest: src.dest,
        sourcePath: src.file,
        key: src.key,
        snapshot: { size: covered, mtimeMs: snap.mtimeMs, inode: snap.inode },
        plan: { mode: 'multipart', partSize: base },
        priority: src.priority,
        growing: 1,
        ...src.hashing,
        ...(src.origin ? { origin: src.origin } : {}),
      }),
      parts,
    );
  }

  /** Appends the whole parts the file now has (the ones not sent yet planned again if need be); false once the job no longer grows (ended, refused, or restarted). */
  extend(job: JobRecord, snap: FileSnapshot): boolean {
    return this.update(job, snap, false) !== null;
  }

  /** The file is stable: its remaining parts and final snapshot; the scheduler verifies and completes. */
  finish(job: JobRecord, snap: FileSnapshot): boolean {
    const added = this.update(job, snap, true);
    if (added !== null) this.store.addEvent(job.id, 'grown', `The file stopped growing at ${snap.size} bytes; its last ${added} part(s) follow, then every part is verified before Complete.`);
    return added !== null;
  }

  /**
   * A growing job refused as too large, for this very file, that an ordinary upload could not take
   * either: nothing more is started for it (the watcher reports it once).
   */
  refused(job: JobRecord | undefined, snap: FileSnapshot, dest: Destination): boolean {
    if (job?.state !== 'failed' || job.error?.code !== 'limits.too-large' || job.inode !== snap.inode || job.growing !== 0) return false;
    try {
      planParts(snap.size, { ...dest, singlePutThreshold: 0 });
      return false;
    } catch {
      return true;
    }
  }

  /**
   * Plans the parts after the last one sent (or on the wire) against the destination's limits now,
   * and records them: the parts still waiting that the new plan keeps stay, the others are
   * replaced. Returns how many parts were added, or null when the job no longer grows or was refused.
   */
  private update(job: JobRecord, snap: FileSnapshot, final: boolean): number | null {
    const dest = this.store.getDestination(job.destinationId);
    if (!dest) return null;
    const existing = this.store.parts(job.id);
    const lastSent = existing.findLastIndex((p) => p.state !== 'pending');
    const kept = existing.slice(0, lastSent + 1);
    const waiting: PartRecord[] = existing.slice(lastSent + 1);
    const last = kept[kept.length - 1];
    const next = { partNumber: last ? last.partNumber + 1 : 1, offset: last ? last.offset + last.length : 0 };
    let plan: PlannedPart[];
    try {
      plan = planGrowingParts({ next, size: snap.size, final, limits: limitsOf(dest, job.partSize) });
    } catch (err) {
      const e = toHoistError(err);
      if (e.code !== 'limits.too-large') throw e;
      this.store.refuseGrowing(job.id, e.info);
      return null;
    }
    let same = 0;
    while (same < waiting.length && same < plan.length && samePart(waiting[same]!, plan[same]!)) same++;
    const fresh = plan.slice(same);
    const replanFrom = same < waiting.length ? waiting[same]!.partNumber : undefined;
    if (!final && fresh.length === 0 && replanFrom === undefined) return job.growing === 1 ? 0 : null;
    const end = plan.at(-1) ?? waiting[same - 1] ?? last;
    const covered = end ? end.offset + end.length : 0;
    const ok = this.store.atomically(() => {
      const recorded = final
        ? this.store.finishGrowing(job.id, fresh, snap, replanFrom)
        : this.store.appendGrowingParts(job.id, fresh, { size: covered, mtimeMs: snap.mtimeMs }, replanFrom);
      if (recorded && replanFrom !== undefined) {
        const biggest = Math.max(...fresh.map((p) => p.length));
        this.store.addEvent(
          job.id,
          'parts-replanned',
          `Parts from ${replanFrom} on were not sent yet and are planned again as ${fresh.length} part(s) of up to ${formatBytes(biggest)}, so that the file fits in this destination's ${dest.maxParts} parts of at most ${formatBytes(dest.maxObjectSize)} in all.`,
        );
      }
      return recorded;
    });
    return ok ? fresh.length : null;
  }
}
