// The scheduler: a loop that fills each destination's lane with parts of open jobs and opens the
// next queued job (admission.ts decides which), and the coordinator of each job's run: prepare.ts,
// send.ts, complete.ts, with reconcile.ts, hash-pass.ts, growing-parts.ts and failures.ts beside
// them; a full disk under the database (storage-guard.ts), owed aborts (remote-aborts.ts), progress
// (progress.ts). The database is the truth; this holds only what is in flight.
import { EventEmitter } from 'node:events';
import type { Destination, JobProgress } from '../../../shared/types.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../backoff.js';
import { Lanes, readOnce, type Lane } from '../pacing/lanes.js';
import type { Demand } from '../pacing/cluster-share.js';
import { logger } from '../log.js';
import { SourceHistories } from '../mhl/source-history.js';
import { KeyListings } from '../remote/key-listing.js';
import type { CredentialSource } from '../s3/connection.js';
import { DEFAULT_IDLE_TIMEOUT_MS } from '../s3/client.js';
import { toHoistError } from '../s3/errors.js';
import type { OwedKind } from '../owed/runner.js';
import type { RemoteAbortPayload } from '../store/remote-abort-rows.js';
import type { JobRecord } from '../store/rows.js';
import type { UploadStore } from '../store/upload-store.js';
import type { PartRunner } from '../upload/worker-pool.js';
import { allInFlight, rankOf, untilIdleOr, type ActiveJob } from './active-job.js';
import { byPriority, partsAllowed } from './admission.js';
import { openQueuedJobs, view, type OpeningHost } from './open-queued.js';
import { complete } from './complete.js';
import { Connections } from './connections.js';
import type { GroupedWrite, RunContext } from './context.js';
import { failJob, halt, windDown } from './failures.js';
import { refreshGrowing } from './growing-parts.js';
import type { SchedulerEvents, SchedulerOptions } from './options.js';
import { prepare } from './prepare.js';
import { progressOf } from './progress.js';
import { RemoteAborts } from './remote-aborts.js';
import { SharedQueue } from './shared-queue.js';
import { recordedPlace } from '../job-source.js';
import { reserve } from './send.js';
import { TickWrites } from './tick-writes.js';
import { unreachable } from '../support/outage.js';
import { StorageGuard } from './storage-guard.js';

export type { SchedulerEvents, SchedulerOptions, StorageNotice } from './options.js';

const log = logger('scheduler');

/**
 * Picks parts to send, hands them to the worker pool, records what S3 acknowledged, and settles
 * each upload with Complete or Abort.
 */
export class Scheduler extends EventEmitter<SchedulerEvents> {
  private readonly active = new Map<number, ActiveJob>();
  private readonly lanes: Lanes;
  private readonly net: Connections;
  private readonly storage: StorageGuard;
  private readonly aborts: RemoteAborts;
  private readonly ctx: RunContext;
  private readonly retry: RetryPolicy;
  private timer: NodeJS.Timeout | null = null;
  private progressTimer: NodeJS.Timeout | null = null;
  private running = false;
  private ticking = false;
  private pokeScheduled = false;
  private tickScheduled = false;
  private dataVersion = -1;
  private unreachableSaid = false;
  /** The interrupted jobs are still to be put back at this start (recoverInterrupted). */
  private recoveryDue = false;
  private readonly tasks = new Set<Promise<unknown>>();
  /** Writes waiting for the next tick's commit (tick-writes.ts): small files' ends, key decisions and plans. */
  private readonly pendingWrites: GroupedWrite[] = [];
  /** With a shared queue (several nodes), the job leases (shared-queue.ts); off, what one process does. */
  private readonly shared: SharedQueue;
  /** What opening queued jobs needs of this scheduler (open-queued.ts). */
  private readonly opening: OpeningHost;

  constructor(
    private readonly store: UploadStore,
    pool: PartRunner,
    credentials: CredentialSource,
    private readonly opts: SchedulerOptions = {},
  ) {
    super();
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.shared = new SharedQueue(store, opts.shared);
    this.lanes = new Lanes(
      (id) => opts.tuning?.boundsOf?.(id) ?? null,
      (d) => this.emit('concurrency', { destinationId: d.destinationId, limit: d.to, reason: d.reason }),
      opts.tuning?.options,
      undefined,
      opts.tuning?.shareOf ?? null,
    );
    this.net = new Connections(credentials, store, opts);
    this.storage = new StorageGuard(store, (parts) => this.shared.recordAndRecover(parts, [...this.active.keys()]), (notice) => this.emit('storage', notice));
    this.aborts = new RemoteAborts(store, (dest) => this.net.client(dest), this.retry, (uploadId, signal) => this.partsSettled(uploadId, signal));
    this.ctx = {
      store,
      pool,
      retry: this.retry,
      opts,
      net: this.net,
      storage: this.storage,
      histories: new SourceHistories(),
      conditionsRefused: new Set(),
      listings: new KeyListings(),
      lane: (dest) => this.lane(dest),
      track: (p) => this.track(p),
      tick: () => this.tickSoon(),
      // Once stopped no tick comes: written at once (stop() wrote those waiting).
      writeSoon: (w) => (this.running ? this.pendingWrites.push(w) : w.alone()),
      emitJob: (jobId) => this.emitJob(jobId),
      hashCheckpointSaved: (jobId, offset) => this.emit('hash-checkpoint', { jobId, offset }),
      release: (a, written) => this.release(a, written),
      forget: (a) => this.active.delete(a.job.id),
    };
    this.opening = {
      store,
      active: this.active,
      shared: this.shared,
      lane: (dest) => this.lane(dest),
      sourceOf: (job) => (opts.sourceOf ? opts.sourceOf(job) : recordedPlace(job)),
    };
  }

  /** Each endpoint's clock as its answers showed it; every request is signed with it. */
  get clocks(): Connections['clocks'] {
    return this.net.clocks;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.recoveryDue = true;
    this.recoverInterrupted();
    this.timer = setInterval(() => this.tick(), this.opts.tickMs ?? 200);
    this.progressTimer = setInterval(() => this.emitProgress(), 200);
    this.tick();
  }

  /**
   * Puts the interrupted jobs back in the queue, once per start. A shared queue's nodes coming back
   * together after an outage each think they are alone (every heartbeat is old) and update the same
   * rows: PostgreSQL may end one of them as a deadlock, which thrown out of start() ended the process
   * (cluster-outage.test.ts saw it). A failed try is logged and made again at the next tick, and
   * nothing opens before it succeeds (on one machine it puts back every running job, ours too).
   */
  private recoverInterrupted(): boolean {
    if (!this.recoveryDue) return true;
    try {
      const recovered = this.shared.recoverAtStart();
      this.recoveryDue = false;
      if (recovered > 0) this.emitAll();
    } catch (err) {
      this.reportLoopError(err);
    }
    return !this.recoveryDue;
  }

  /** Stops all traffic; jobs that were running go back to the queue, to resume at the next start. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    if (this.progressTimer) clearInterval(this.progressTimer);
    // Only the jobs this process had open: when it stops because another process took the runner
    // lease, the jobs that one runs are not ours to put back in the queue.
    const ours = [...this.active.keys()];
    // Ends answered but not yet written go now, before anything is halted.
    this.writeAlone();
    // Every open job halted, each on its own: halting one whose parts have all landed tells the hosts
    // (emitJob reads the job), which throws while a shared queue's database cannot be reached; had
    // that ended the loop, the jobs after it would go on, a part still being read by its worker would
    // be sent after this node said it stopped (cluster-outage.test.ts saw one), and the tasks below
    // would not be awaited (test/s3/scheduler-outage.test.ts).
    for (const a of [...this.active.values()]) {
      try {
        halt(this.ctx, a);
      } catch (err) {
        this.reportLoopError(err);
      }
    }
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    try {
      this.shared.recoverAtStop(ours);
    } catch (err) {
      // Still full, or (a shared queue) the database cannot be reached: the next start recovers them,
      // or their leases run out and another node takes them over (parts acknowledged meanwhile are adopted by reconcile).
      if (toHoistError(err).code !== 'db.full' && !unreachable(err)) throw err;
    }
    this.net.clear();
  }

  /** Jobs whose traffic is live, for hosts that show progress. */
  progress(): JobProgress[] {
    const now = Date.now();
    return [...this.active.values()].map((a) => progressOf(a, now));
  }

  /** Called after a command changed job states in this process, so the loop reacts at once. */
  poke(): void {
    this.dataVersion = -1;
    this.shared.newWork();
    this.tick();
  }

  /**
   * A job's step ended (a part answered, a job prepared): one tick soon serves every step that ends in
   * this turn of the event loop, as several parts' answers arrive together (issue 12: each ran a pass
   * of its own, a look at the queue and the destinations each).
   */
  private tickSoon(): void {
    if (this.tickScheduled) return;
    this.tickScheduled = true;
    setImmediate(() => {
      this.tickScheduled = false;
      this.tick();
    });
  }

  /** New jobs were queued: one tick soon serves all the enqueues of this turn (a scan queues thousands). */
  pokeSoon(): void {
    if (this.pokeScheduled) return;
    this.pokeScheduled = true;
    setImmediate(() => {
      this.pokeScheduled = false;
      this.poke();
    });
  }

  /** Concurrency settings (bounds) may have changed: the lanes read them again. */
  reconfigureLanes(): void {
    this.lanes.reconfigure((id) => this.store.getDestination(id));
  }

  /** What each destination's lane asked of its share of parts in flight since the last call (a shared queue publishes it). */
  laneDemands(): Map<number, Demand> {
    return this.lanes.demands();
  }

  /**
   * The best rank (PRIORITY_RANK) of this node's work per destination: its open jobs there. (A queued
   * job is left for want of room only behind open jobs of its rank or higher: they stand for it.) A
   * shared queue publishes it with the lanes' demands, so the other nodes serve a higher priority first.
   */
  destinationRanks(): Map<number, number> {
    const out = new Map<number, number>();
    for (const a of this.active.values()) {
      if (!a.stopping) out.set(a.dest.id, Math.min(out.get(a.dest.id) ?? Infinity, rankOf(a)));
    }
    return out;
  }

  /** The lane of a destination, if it has carried traffic: its limit, bounds and recorded decisions. */
  laneOf(destinationId: number): Lane | undefined {
    return this.lanes.find(destinationId);
  }

  /** The handler of owed remote aborts (remote-aborts.ts), which the owed-work runner calls. */
  remoteAborts(): OwedKind<RemoteAbortPayload> {
    return this.aborts.handler();
  }

  /**
   * Resolves once no part of this upload is on the wire here: the owed abort (remote-aborts.ts) waits
   * for it. A job that may no longer run stops sending, and its parts in flight end by themselves
   * (cut after the idle timeout); a job still running on the upload is not ours to stop. False when
   * `signal` (the owed-work runner stopping) ended the wait first.
   */
  async partsSettled(uploadId: string, signal?: AbortSignal): Promise<boolean> {
    // A shared queue: the node holding the upload's job settles its own parts first (shared-queue.ts).
    if (this.shared.heldElsewhere(uploadId)) return false;
    for (const a of [...this.active.values()]) {
      if (a.job.uploadId !== uploadId) continue;
      const fresh = this.store.getJob(a.job.id);
      if (fresh && (fresh.state === 'running' || fresh.state === 'completing') && fresh.uploadId === uploadId) continue;
      if (!a.stopping) windDown(this.ctx, a, this.partsBoundMs);
      if (!(await untilIdleOr(a, signal))) return false;
    }
    return true;
  }

  /** How long a cancelled job's parts on the wire may take to end before they are cut. */
  private get partsBoundMs(): number {
    return this.opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  }

  /** True while any job has traffic or preparation under way. */
  get busy(): boolean {
    return this.active.size > 0 || this.tasks.size > 0;
  }

  // ---- the loop ----

  private tick(): void {
    if (!this.running || this.ticking) return;
    this.ticking = true;
    try {
      if (this.storage.full) {
        if (!this.storage.recover(this.tasks.size > 0, () => this.forgetAllOpen())) return;
        this.emitAll();
      }
      if (!this.recoverInterrupted()) return;
      const version = this.store.dataVersion();
      const now = Date.now();
      if (version !== this.dataVersion || this.shared.noticeDue(now)) {
        this.dataVersion = version;
        this.noticeStateChanges();
      }
      this.renewLeases(now);
      const destOf = readOnce((id) => this.store.getDestination(id));
      this.lanes.tick(destOf);
      this.fillSlots(destOf, now);
      // After the slots were filled: a lane not full now had no more parts to send.
      this.lanes.look();
      this.unreachableSaid = false;
    } catch (err) {
      this.reportLoopError(err);
    } finally {
      this.ticking = false;
      // A tick that ended before its commit (or whose commit failed) leaves them: written alone.
      this.writeAlone();
    }
  }

  /** The writes still waiting for a tick, each alone (RunContext.writeSoon). */
  private writeAlone(): void {
    for (const w of this.pendingWrites.splice(0)) {
      try {
        w.alone();
      } catch (err) {
        this.reportLoopError(err);
      }
    }
  }

  private track<T>(p: Promise<T>): void {
    const wrapped = p.catch((err) => this.reportLoopError(err)).finally(() => this.tasks.delete(wrapped));
    this.tasks.add(wrapped);
  }

  private reportLoopError(err: unknown): void {
    const e = toHoistError(err);
    if (e.code === 'db.full') return this.storage.enter(e);
    // A shared queue's database down: logged once per tick loop, at info (node-lease.ts stops this node
    // after half a lease, and its host says so: support/outage.ts).
    if (unreachable(err)) {
      if (!this.unreachableSaid) log.info(`the job database cannot be reached: nothing new starts (${(err as Error).message})`);
      this.unreachableSaid = true;
      return;
    }
    // The loop must not die.
    log.warn(`${e.info.code}: ${e.message}${e.info.detail ? ` (${e.info.detail})` : ''}`, { code: e.info.code });
  }

  /** Another process (or a command here) changed states or priorities: stop what may no longer run, reorder the rest. */
  private noticeStateChanges(): void {
    if (this.active.size === 0) return;
    // One read for them all: on PostgreSQL each statement is a round trip, and this runs after every write.
    const states = this.store.jobStates([...this.active.keys()]);
    for (const a of this.active.values()) {
      const fresh = states.get(a.job.id);
      if (!fresh || (fresh.state !== 'running' && fresh.state !== 'completing')) {
        // A cancel is followed by an abort: its parts on the wire end first (windDown); a pause cuts them.
        if (a.stopping) continue;
        if (fresh?.state === 'cancelled') windDown(this.ctx, a, this.partsBoundMs);
        else halt(this.ctx, a);
      } else {
        a.job.priority = fresh.priority;
      }
    }
  }

  /** Shared queue: leases renewed; a job another node took over stops here at once; jobs of a node gone go back to the queue. */
  private renewLeases(now: number): void {
    const beat = this.shared.beat(new Set(this.active.keys()), now);
    if (!beat) return;
    for (const id of beat.lost) {
      const a = this.active.get(id);
      if (!a || a.stopping) continue;
      log.warn(`job ${id}: its lease was taken over by another node (this one could not renew it in time); its parts stop here`);
      halt(this.ctx, a);
    }
    if (beat.takenOver.length > 0) {
      log.info(`took over ${beat.takenOver.length} job(s) whose node stopped renewing its lease: ${beat.takenOver.join(', ')}`);
      this.shared.newWork();
      for (const id of beat.takenOver) this.emitJob(id);
    }
  }

  private lane(dest: Destination): Lane {
    return this.lanes.get(dest);
  }

  private fillSlots(destOf: (id: number) => Destination | undefined, now: number): void {
    // The parts sent and the jobs opened are written in one commit at the end (tick-writes.ts).
    const writes = new TickWrites(this.pendingWrites);
    try {
      this.decideSlots(destOf, now, writes);
    } catch (err) {
      writes.drop();
      throw err;
    }
    writes.commit(this.ctx, this.store, (id) => this.shared.claim(id), (a, row) => this.opened(a, row));
  }

  private decideSlots(destOf: (id: number) => Destination | undefined, now: number, writes: TickWrites): void {
    // Parts of jobs already under way first, in priority order; then open the next queued job.
    const ordered = [...this.active.values()].filter((a) => a.phase === 'sending' && !a.stopping).sort((x, y) => byPriority(view(x), view(y)));
    for (const a of ordered) {
      if (a.job.growing && !refreshGrowing(this.ctx, a)) continue;
      const lane = this.lane(a.dest);
      const free = partsAllowed(lane, a.dest.concurrency, rankOf(a));
      if (free <= 0 || allInFlight(a)) continue;
      for (const part of this.store.nextPendingParts(a.job.id, free)) {
        if (a.inflight.has(part.partNumber)) continue;
        writes.send(reserve(a, part, lane));
      }
    }
    this.maybeFinish();
    if (this.shared.lookDue(now)) openQueuedJobs(this.opening, destOf, now, writes);
  }

  private maybeFinish(): void {
    for (const a of this.active.values()) {
      if (a.phase !== 'sending' || a.stopping || a.inflight.size > 0) continue;
      // A growing file gets more parts until the watcher sees it stable.
      if (a.job.growing === 1) continue;
      // A small file's one part is not acknowledged yet: nothing to ask the store (issue 12: asked per
      // tick while the job waited for a slot). Only this run acknowledges a PutObject's part.
      if (a.job.mode === 'single' && a.partsDone < a.job.partCount) continue;
      if (this.store.unfinishedPartCount(a.job.id) === 0) {
        a.phase = 'completing';
        this.track(complete(this.ctx, a));
      }
    }
  }

  /** The job's claim is committed: it is open here, hosts hear of it (the row as claimed), and its preparation starts. */
  private opened(a: ActiveJob, claimed: JobRecord): void {
    const { job } = a;
    this.active.set(job.id, a);
    this.emit('job', claimed);
    // Its first part will need a thread: one starts now, while the job is prepared (worker-pool.ts warm).
    this.ctx.pool.warm();
    this.track(
      prepare(this.ctx, a).catch((err) => {
        failJob(this.ctx, a, toHoistError(err));
      }),
    );
  }

  /** `written`: the job's row as the write that ended its run left it (committed), told to hosts instead of read again. */
  private release(a: ActiveJob, written?: JobRecord): void {
    if (this.active.get(a.job.id) !== a) return;
    if (a.inflight.size > 0) return;
    this.active.delete(a.job.id);
    if (written) this.emit('job', written);
    else this.emitJob(a.job.id);
  }

  /** The database took writes again and every open job went back to the queue: nothing is open or in flight here. */
  private forgetAllOpen(): void {
    this.active.clear();
    for (const lane of this.lanes.all()) lane.releaseAll();
  }

  // ---- events ----

  private emitJob(jobId: number): void {
    const job = this.store.getJob(jobId);
    if (job) this.emit('job', job);
  }

  private emitAll(): void {
    for (const job of this.store.listJobs({ states: ['queued'] })) this.emit('job', job);
  }

  private emitProgress(): void {
    if (this.active.size === 0) return;
    this.emit('progress', this.progress());
  }
}
