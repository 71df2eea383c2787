// The admission policy: which open jobs send parts next and which queued jobs open. Pure: plain
// inputs to decisions, no store, no timers, no I/O (test/admission.test.ts).
//
// Parts of jobs already under way go first, in priority order (then age). A queued job is opened
// when its lane has room counting only open jobs of the same or a higher priority, so a high job
// opens at once behind a lane full of normal parts and takes its slots first as they free. One of
// its parts may go beyond the lane's limit when every part in flight there ranks lower, so it need
// not wait for a long normal part to end; never while the server asks for fewer requests.
//
// One writer per key (invariant 12): a queued job does not open while an open job of the same
// destination writes the same key, whatever their priorities; it waits queued (`hoist jobs` says
// for which job) and opens once that one has left, to decide by its own policy what to do there.

/** Jobs opened at once (stat, create or reconcile); small files need several to keep the lane full. */
export const MAX_PREPARING = 4;

/** A lane as the policy sees it: its limit now and the parts in flight per priority rank (0: high). */
export interface LaneView {
  readonly limit: number;
  readonly inflight: number;
  readonly inflightByRank: readonly number[];
}

/** An open job as the policy sees it. */
export interface OpenJob {
  readonly jobId: number;
  readonly destinationId: number;
  /** The key it writes (keep-both may have moved it since it opened). */
  readonly key: string;
  /** PRIORITY_RANK of the job's priority (0: high). */
  readonly rank: number;
  readonly phase: 'preparing' | 'sending' | 'completing';
}

/** The order in which sending jobs get parts: priority, then the older job. */
export function byPriority(x: Pick<OpenJob, 'rank' | 'jobId'>, y: Pick<OpenJob, 'rank' | 'jobId'>): number {
  return x.rank - y.rank || x.jobId - y.jobId;
}

/**
 * Whether one part may go beyond the lane's limit: every part in flight there ranks lower than
 * `rank`, and SlowDown has not lowered the lane below the destination's concurrency.
 */
export function mayOvertake(lane: LaneView, concurrency: number, rank: number): boolean {
  if (lane.limit < concurrency) return false;
  return lane.inflight > 0 && lane.inflight <= lane.limit && lane.inflightByRank.slice(0, rank + 1).every((n) => n === 0);
}

/** How many parts a sending job of `rank` may start now in its lane. */
export function partsAllowed(lane: LaneView, concurrency: number, rank: number): number {
  const free = lane.limit - lane.inflight;
  if (free > 0) return free;
  return mayOvertake(lane, concurrency, rank) ? 1 : 0;
}

/** The open jobs that rank as high as `rank` or higher (a queued job of that rank counts only these). */
export function ahead<J extends Pick<OpenJob, 'rank'>>(open: readonly J[], rank: number): J[] {
  return open.filter((a) => a.rank <= rank);
}

/** Whether as many jobs of this rank or higher are preparing as may be at once. */
export function preparingFull(open: readonly Pick<OpenJob, 'rank' | 'phase'>[], rank: number): boolean {
  return ahead(open, rank).filter((a) => a.phase === 'preparing').length >= MAX_PREPARING;
}

/**
 * Whether the lane of `destinationId` has room for one more job of `rank`, counting only the open
 * jobs and parts that rank as high or higher. A sending job there that still has parts to send
 * fills the room first. A `single` job (one PutObject: a small file) prepares while the lane's
 * parts are on the wire, up to the lane's limit of them preparing at once: its look at the key
 * needs no slot, and waiting for one before looking left the lane idle between small files.
 */
export function spare(lane: LaneView, destinationId: number, rank: number, open: readonly OpenJob[], hasPendingParts: (jobId: number) => boolean, single = false): boolean {
  const mine = ahead(open, rank).filter((a) => a.destinationId === destinationId);
  if (mine.some((a) => a.phase === 'sending' && hasPendingParts(a.jobId))) return false;
  const preparing = mine.filter((a) => a.phase === 'preparing').length;
  if (single) return preparing < lane.limit;
  const inflight = lane.inflightByRank.slice(0, rank + 1).reduce((n, k) => n + k, 0);
  return inflight + preparing < lane.limit;
}

/**
 * The open job that writes `key` of `destinationId`, if any: a queued job bound there waits for it.
 * `open` must hold every job the scheduler has open, those stopping too (their parts may still be
 * on the wire).
 */
export function writerOf<J extends Pick<OpenJob, 'jobId' | 'destinationId' | 'key'>>(open: readonly J[], destinationId: number, key: string): J | undefined {
  return open.find((a) => a.destinationId === destinationId && a.key === key);
}
