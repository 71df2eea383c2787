// Growing files (recorders, long renders): in a folder with growing mode on, parts are sent while
// the file is still written. The watcher appends each part once its bytes exist, and the last
// ones when the file is stable; the scheduler hashes every part again before Complete and re-sends
// those whose bytes changed (a header rewritten at the end): invariant 3's exception.
import { MAX_PARTS, MAX_PART_SIZE } from '../../../shared/limits.js';
import type { Priority } from '../../../shared/states.js';
import type { Destination } from '../../../shared/types.js';
import { newJob, type JobRecord, type JobStore, type NewJob, type PlannedPart } from '../store/job-store.js';
import { choosePartSize } from '../upload/part-plan.js';
import type { FileSnapshot } from './stability.js';

/** Parts of one size per step; each step doubles the size, so 10,000 parts reach tens of TiB. */
const PARTS_PER_STEP = 1000;

/**
 * The size of part `n` of a file whose final size is unknown: the destination's part size for the
 * first 1,000 parts, doubled for each further 1,000, at most 5 GiB.
 */
export function growingPartSize(partNumber: number, basePartSize: number): number {
  const step = Math.floor((partNumber - 1) / PARTS_PER_STEP);
  return Math.min(MAX_PART_SIZE, basePartSize * 2 ** step);
}

/**
 * The parts that follow `after` (the last planned part, if any) up to `size` bytes: only whole
 * parts while the file grows; with `final`, the remainder too.
 */
export function partsUpTo(after: PlannedPart | undefined, size: number, basePartSize: number, final: boolean): PlannedPart[] {
  const out: PlannedPart[] = [];
  let partNumber = (after?.partNumber ?? 0) + 1;
  let offset = after ? after.offset + after.length : 0;
  while (offset < size && partNumber <= MAX_PARTS) {
    const length = growingPartSize(partNumber, basePartSize);
    if (offset + length > size && !final) break;
    const take = Math.min(length, size - offset);
    out.push({ partNumber, offset, length: take });
    offset += take;
    partNumber++;
  }
  return out;
}

export interface GrowingSource {
  dest: Destination;
  file: string;
  key: string;
  /** Whole-file hashes and the ASC MHL batch (issue 8): hashed once the file is finished. */
  hashing?: Pick<NewJob, 'hashAlgorithms' | 'mhl' | 'batchId'>;
  priority: Priority;
}

/** Creates and extends the jobs of growing files; the SQL lives in JobStore. */
export class GrowingUploads {
  constructor(private readonly store: JobStore) {}

  basePartSize(dest: Destination): number {
    return choosePartSize(0, dest.partSize);
  }

  /** Starts the upload of a growing file once its first whole part exists; null until then. */
  start(src: GrowingSource, snap: FileSnapshot): JobRecord | null {
    const parts = partsUpTo(undefined, snap.size, this.basePartSize(src.dest), false);
    if (parts.length === 0) return null;
    const covered = parts.reduce((n, p) => n + p.length, 0);
    return this.store.insertJob(
      newJob({
        dest: src.dest,
        sourcePath: src.file,
        key: src.key,
        snapshot: { size: covered, mtimeMs: snap.mtimeMs, inode: snap.inode },
        plan: { mode: 'multipart', partSize: this.basePartSize(src.dest) },
        priority: src.priority,
        growing: 1,
        ...src.hashing,
      }),
      parts,
    );
  }

  /** Appends the whole parts the file now has; false once the job no longer grows (ended, or restarted). */
  extend(job: JobRecord, snap: FileSnapshot): boolean {
    const parts = partsUpTo(this.lastPart(job.id), snap.size, job.partSize, false);
    if (parts.length === 0) return job.growing === 1;
    const covered = parts[parts.length - 1]!.offset + parts[parts.length - 1]!.length;
    return this.store.appendGrowingParts(job.id, parts, { size: covered, mtimeMs: snap.mtimeMs });
  }

  /** The file is stable: its remaining parts and final snapshot; the scheduler verifies and completes. */
  finish(job: JobRecord, snap: FileSnapshot): boolean {
    const parts = partsUpTo(this.lastPart(job.id), snap.size, job.partSize, true);
    const ok = this.store.finishGrowing(job.id, parts, snap);
    if (ok) this.store.addEvent(job.id, 'grown', `The file stopped growing at ${snap.size} bytes; its last ${parts.length} part(s) follow, then every part is verified before Complete.`);
    return ok;
  }

  private lastPart(jobId: number): PlannedPart | undefined {
    const parts = this.store.parts(jobId);
    return parts[parts.length - 1];
  }
}
