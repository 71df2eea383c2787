// Which queued jobs a tick opens (admission.ts decides each): while a destination has slots that the
// open jobs of the same or a higher priority cannot fill, the next due jobs this machine can read. A
// job opened is claimed with the tick's other writes, in one commit (tick-writes.ts), and prepared
// only once that commit took.
import type { Destination } from '../../../shared/types.js';
import { PRIORITY_RANK } from '../../../shared/states.js';
import type { SourcePlace } from '../job-source.js';
import type { Lane } from '../pacing/lanes.js';
import type { JobRecord } from '../store/rows.js';
import type { UploadStore } from '../store/upload-store.js';
import { allInFlight, openedJob, rankOf, type ActiveJob } from './active-job.js';
import { preparingFull, spare, writerOf, MAX_PREPARING, type OpenJob } from './admission.js';
import type { SharedQueue } from './shared-queue.js';
import type { TickWrites } from './tick-writes.js';

/** What opening needs of the scheduler. */
export interface OpeningHost {
  readonly store: UploadStore;
  readonly active: ReadonlyMap<number, ActiveJob>;
  readonly shared: SharedQueue;
  lane(dest: Destination): Lane;
  /** Where this machine reads the job's file; null: a job it cannot read is left for a machine that can (the claim refuses it too). */
  sourceOf(job: JobRecord): SourcePlace | null;
}

/** An open job as the admission policy sees it. */
export function view(a: ActiveJob): OpenJob & { a: ActiveJob } {
  return { jobId: a.job.id, destinationId: a.dest.id, key: a.job.key, rank: rankOf(a), phase: a.phase, a };
}

/** Opens queued jobs while a destination has slots that the open jobs of the same or a higher priority cannot fill. */
export function openQueuedJobs(h: OpeningHost, destOf: (id: number) => Destination | undefined, now: number, writes: TickWrites): void {
  const open = [...h.active.values()].filter((a) => !a.stopping).map(view);
  // Every job with traffic on its key, stopping ones too: one writer per key (invariant 12).
  const writers = [...h.active.values()].map(view);
  // Asked once per sending job and pass, not once per candidate: opening a job gives no other job parts.
  const pending = new Map<number, boolean>();
  const hasPendingParts = (jobId: number): boolean => {
    let has = pending.get(jobId);
    if (has === undefined) pending.set(jobId, (has = partWaits(h.store, h.active.get(jobId), jobId)));
    return has;
  };
  // Ids first (the scheduler asks every tick and opens few of them); the row only for one that opens.
  const refs = h.store.nextQueuedJobRefs(MAX_PREPARING * 4, h.shared.machine);
  h.shared.looked(refs.length, now);
  for (const ref of refs) {
    if (h.active.has(ref.id)) continue;
    if (writerOf(writers, ref.destinationId, ref.key)) continue;
    const rank = PRIORITY_RANK[ref.priority];
    if (preparingFull(open, rank)) continue;
    const dest = destOf(ref.destinationId);
    if (!dest || !spare(h.lane(dest), dest.id, rank, open, hasPendingParts, ref.mode === 'single')) continue;
    const job = h.store.getJob(ref.id);
    const source = job ? h.sourceOf(job) : null;
    if (!job || !source) continue;
    // Claimed with the tick's commit; counted as open from now on, for the candidates after it.
    const opened = openedJob(job, dest, source);
    writes.open(opened);
    open.push(view(opened));
    writers.push(view(opened));
  }
}

/**
 * Whether a part of the job waits for a slot (pending and due). A yes stays true until one of its
 * parts is sent (send.ts `reserve` clears `partsWaiting`): only this node's run of the job changes its
 * parts' rows while it is open, so the store is not asked again every tick while the job waits for a
 * slot (issue 12: a frame prepared ahead of the lane cost a query per tick). A no is asked again (a
 * retry's delay ends by itself).
 */
function partWaits(store: Pick<UploadStore, 'nextPendingParts'>, a: ActiveJob | undefined, jobId: number): boolean {
  if (allInFlight(a)) return false;
  if (a?.partsWaiting) return true;
  const waits = store.nextPendingParts(jobId, 1).length > 0;
  if (a) a.partsWaiting = waits;
  return waits;
}
