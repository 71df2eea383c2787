// The scheduler's side of a shared queue (issue 15, docs/architecture.md "The cluster"). Off (a
// SQLite database worked by one process under the runner lease) every step is as before: a queued
// job is opened with a compare-and-set on its state, and all interrupted jobs are recovered at
// start. On, this node claims each job with a lease, renews the leases it holds, stops the parts of
// a job another node took over, takes over jobs whose lease expired, and at start and stop touches
// only what is its own.
import type { JobRecord } from '../store/rows.js';
import type { DonePart, UploadStore } from '../store/upload-store.js';

export interface SharedQueueOptions {
  /** This node's id (its row in `nodes`). */
  owner: string;
  /** This node's machine: it claims only jobs whose source it can read (store/folder-paths.ts). */
  machine: string;
  /** A job lease not renewed for this long is taken over by another node. */
  leaseMs: number;
  /** Other nodes heartbeating now: with none, a start recovers every interrupted job, as one process does. */
  liveOthers(): number;
}

/** Looked at this often: leases renewed, expired ones taken over, commands of other nodes noticed. */
const NOTICE_MS = 500;

/**
 * A look over the queued jobs that found none this machine can read is made again after this long,
 * unless this node knows of new work sooner (newWork). Such a look walks every queued row and filters
 * each out (a folder's pins are not in the jobs' index): on PostgreSQL 15, 100,000 jobs pinned
 * elsewhere cost 38-68 ms of the server's time a look, at every tick (bench/unreadable-queue.ts).
 * Work another node queues, a retry coming due or a folder pinned here is thus found within a second.
 */
const QUIET_LOOK_MS = 1000;

export class SharedQueue {
  private lastRenew = 0;
  private lastNotice = 0;
  /** No look over the queue before this time (0: look at every tick). */
  private quietUntil = 0;

  constructor(
    private readonly store: UploadStore,
    private readonly shared: SharedQueueOptions | undefined,
  ) {}

  get on(): boolean {
    return this.shared !== undefined;
  }

  /** The machine whose readable jobs this node looks at (undefined without the shared queue: every job). */
  get machine(): string | undefined {
    return this.shared?.machine;
  }

  /**
   * Opens a queued job for this node: a compare-and-set alone, or with the shared queue a claim with a
   * lease (only of a job this machine can read); the row as claimed, for the hosts, or undefined. The
   * compare-and-set returns the row it wrote (issue 12: no read after it); the claim's row is read.
   */
  claim(jobId: number): JobRecord | undefined {
    if (!this.shared) return this.store.transitionRow(jobId, ['queued'], 'running');
    return this.store.claimJob(jobId, this.shared.owner, this.shared.leaseMs, this.shared.machine) ? this.store.getJob(jobId) : undefined;
  }

  /** At start: every interrupted job back to waiting, unless other nodes live (then only those whose lease expired). */
  recoverAtStart(): number {
    if (!this.shared || this.shared.liveOthers() === 0) return this.store.recoverInterrupted();
    return this.store.takeOverExpired(new Set()).length;
  }

  /** At stop: the jobs this node had open go back to the queue (with the shared queue, those it still holds). */
  recoverAtStop(ours: readonly number[]): void {
    if (!this.shared) this.store.recoverInterrupted(ours);
    else this.store.releaseJobs(this.shared.owner, ours);
  }

  /**
   * A full disk has room again (storage-guard.ts): the parts acknowledged meanwhile are recorded and
   * the jobs this node had open go back to the queue; with the shared queue only those it holds,
   * never another node's (all interrupted jobs are this process's only when one process works the queue).
   */
  recordAndRecover(parts: readonly DonePart[], ours: readonly number[]): void {
    if (!this.shared) this.store.recordPartsAndRecover(parts);
    else this.store.recordPartsAndRecover(parts, { owner: this.shared.owner, jobIds: ours });
  }

  /**
   * Whether another node may still have parts of this upload on the wire: a cancelled job's lease
   * runs out within a lease of the cancel (it is renewed only while the job runs), and its holder's
   * own abort waits for its parts (scheduler.partsSettled); another node's abort waits for that.
   */
  heldElsewhere(uploadId: string): boolean {
    return this.shared !== undefined && this.store.uploadHeldElsewhere(uploadId, this.shared.owner);
  }

  /** Whether to look over the queued jobs now: always on one process's queue; on a shared one, not within a second of finding none this machine can read. */
  lookDue(now: number): boolean {
    return now >= this.quietUntil;
  }

  /** A look found `readable` jobs this machine can read: none, and the next waits (QUIET_LOOK_MS). */
  looked(readable: number, now: number): void {
    this.quietUntil = this.shared && readable === 0 ? now + QUIET_LOOK_MS : 0;
  }

  /** This node knows of new work (its own enqueue or command, a job taken over): the next tick looks. */
  newWork(): void {
    this.quietUntil = 0;
  }

  /** Whether commands written by other nodes should be looked for now, whatever the data version says (PostgreSQL has none). */
  noticeDue(now: number): boolean {
    if (!this.shared || now - this.lastNotice < NOTICE_MS) return false;
    this.lastNotice = now;
    return true;
  }

  /**
   * Every third of a lease: renews this node's leases and returns the open jobs it lost (to stop)
   * and the jobs whose lease expired that went back to the queue (taken over from a node gone).
   */
  beat(open: ReadonlySet<number>, now: number): { lost: number[]; takenOver: number[] } | null {
    if (!this.shared || now - this.lastRenew < this.shared.leaseMs / 3) return null;
    this.lastRenew = now;
    const lost = this.store.renewJobLeases(this.shared.owner, [...open], this.shared.leaseMs);
    const takenOver = this.store.takeOverExpired(open);
    return { lost, takenOver };
  }
}
