// The engine facade: one object the runtime, the CLI and both hosts drive. Plain Node; knows
// nothing of Electron. It owns the stores, the scheduler and the writers that run under the runner
// lease (lease.ts); the jobs of each job go to their own module: enqueue.ts (files into jobs),
// destinations.ts, remote/remote-uploads.ts (the bucket's in-progress uploads).
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { HoistError } from '../../shared/errors.js';
import type { JobState, Priority } from '../../shared/states.js';
import type { Destination, DestinationInput, JobEvent, JobProgress, MhlBatch, RemotePart, RemoteUpload } from '../../shared/types.js';
import { BandwidthLimiter } from './pacing/bandwidth.js';
import { PaceControls } from './pacing/pace-controls.js';
import { Destinations } from './destinations.js';
import type { EnqueueOptions } from './enqueue.js';
import { JobIntake, type LookedGroup } from './job-intake.js';
import { JobCommands } from './job-commands.js';
import { DEFAULT_LEASE_TIMING, LeaseKeeper, type LeaseAnswer, type LeasedWork, type LeaseState, type LeaseTiming } from './lease.js';
import { logger } from './log.js';
import { MhlService, type MhlServiceOptions } from './mhl/mhl-service.js';
import { RemoteUploads, type AbortOrphansResult } from './remote/remote-uploads.js';
import { ClientCache } from './s3/client.js';
import { CredentialSource, connectionFor } from './s3/connection.js';
import { Scheduler, type SchedulerOptions, type StorageNotice } from './scheduler/scheduler.js';
import { Checkpointer } from './store/checkpointer.js';
import { openDatabase } from './store/db.js';
import { dialectOf } from './store/job-leases.js';
import { ClusterNode } from './cluster-node.js';
import { JobSources } from './job-source.js';
import { machineName } from './machine.js';
import type { NodeRecord } from './store/node-store.js';
import type { JobLease } from './store/watched-jobs.js';
import { OutboxStore } from './store/outbox-store.js';
import { WebhookDispatcher, type WebhookOptions } from './notify/webhooks.js';
import { KeyFileSealer, WebhookSecrets, keyFileFor } from './notify/webhook-secrets.js';
import { BatchStore, type BatchRecord } from './store/batch-store.js';
import { JobStore, REMOTE_ABORT, type JobRecord, type PartRecord, type RemoteAbort } from './store/job-store.js';
import { OwedRunner, type OwedRunnerOptions } from './owed/runner.js';
import { FolderStore } from './store/folder-store.js';
import { RecoveryFile, recoveryFileFor } from './store/recovery-file.js';
import { rebuildDatabase, type RebuildReport } from './store/rebuild.js';
import { adoptUploads, type AdoptionReport } from './remote/adopt.js';
import { PacingStore } from './store/pacing-store.js';
import { WorkerPool, defaultPoolSize } from './upload/worker-pool.js';

export { defaultDbPath } from './app-data.js';
export type { EnqueueOptions } from './enqueue.js';

const log = logger('engine');

export interface EngineOptions {
  dbPath: string;
  scheduler?: SchedulerOptions;
  /** Worker threads (each runs several parts at once); parts in flight are bounded per destination by its concurrency. */
  maxWorkers?: number;
  /** Bytes of parts kept in memory between their checksum and their send, over all threads, so each byte is read once (upload/held-part.ts; 0, the default: read again). */
  heldPartBytes?: number;
  credentials?: CredentialSource;
  /** better-sqlite3's addon built for this runtime, when it is not node_modules' own (Electron). */
  sqliteNativeBinding?: string;
  webhooks?: WebhookOptions;
  owed?: OwedRunnerOptions;
  /** ASC MHL generation writing (issue 8): its pace and retries. */
  mhl?: MhlServiceOptions;
  /**
   * Work a queue shared with other processes (issue 15, docs/architecture.md "The cluster"): on by
   * itself on PostgreSQL; on SQLite only when asked (processes of one machine sharing one file).
   */
  sharedQueue?: boolean;
  /** A shared queue's job lease: not renewed for this long, a job is taken over by another node (default 30 s). */
  jobLeaseMs?: number;
  /** This machine's name in a shared queue (default: HOIST_NODE_NAME, else the hostname; machine.ts). */
  machine?: string;
}

export const DEFAULT_JOB_LEASE_MS = 30_000;

export interface EngineStartOptions {
  /** When another process holds the lease, keep asking at every heartbeat and start once it is ours (hosts); default: give up. */
  wait?: boolean;
  /** More work that may run only under the lease (the folder watcher): started after the engine's, stopped before it. */
  also?: readonly LeasedWork[];
  /** Heartbeat and staleness of the lease (tests). */
  lease?: Partial<LeaseTiming>;
}

/** States in which a job has reached an end that waiting callers care about. */
export const SETTLED_STATES: readonly JobState[] = ['done', 'failed', 'cancelled'];

export interface EngineEvents {
  job: [job: JobRecord];
  progress: [progress: JobProgress[]];
  concurrency: [info: { destinationId: number; limit: number; reason: string }];
  /** An ASC MHL batch changed: made, written, failed. */
  batch: [batch: MhlBatch];
  storage: [notice: StorageNotice];
  /** A whole-file hash pass saved how far it got (it goes on from there after a pause, quit or crash). */
  'hash-checkpoint': [info: { jobId: number; offset: number }];
  /** Working the queue, or waiting for the runner lease another process holds (lease.ts). */
  lease: [state: LeaseState];
}

export class Engine extends EventEmitter<EngineEvents> {
  readonly store: JobStore;
  readonly batches: BatchStore;
  readonly movedAside: string | undefined;
  private readonly mhl: MhlService;
  /** What the fresh database was rebuilt from, when a damaged one was moved aside at this start. */
  readonly rebuilt: RebuildReport | undefined;
  /** hoist.db.recovery.json: the destinations and folders, for a rebuild (none for an in-memory database). */
  private readonly recovery: RecoveryFile | null;
  private readonly folderRecords: FolderStore;
  /** The watched folders' store, built once here: the watcher, adoption and the CLI use it. */
  get folders(): FolderStore { return this.folderRecords; }
  private recoveryWarned = false;
  private readonly pool: WorkerPool;
  private readonly scheduler: Scheduler;
  /** Delivers the watched folders' webhook events while this engine works the queue. */
  readonly webhooks: WebhookDispatcher;
  /** Works what is owed (remote aborts, clean-ups, webhook events, ASC MHL writes) while this engine works the queue. */
  readonly owed: OwedRunner;
  private readonly credentials: CredentialSource;
  private readonly clients = new ClientCache();
  /** This process: its runner lease, or with a shared queue its node id (nodes.id, jobs.lease_owner). */
  readonly owner = randomUUID();
  /** Whether this engine works a queue shared with other nodes (job leases instead of the runner lease). */
  readonly shared: boolean;
  /** This process as a node of the shared queue (null on a queue of its own). */
  private readonly node: ClusterNode | null;
  private readonly jobLeaseMs: number;
  /** This machine (its jobs, where it sees each watched folder: store/folder-paths.ts); recorded on every job it makes. */
  readonly machine: string;
  /** Where this machine reads a job's source (job-source.ts). */
  readonly sources: JobSources;
  /** The runner lease and the work under it, from start() until close(). */
  private lease: LeaseKeeper | null = null;
  /** WAL checkpoints on a worker thread while this engine works the queue (store/checkpointer.ts). */
  private checkpointer: Checkpointer | null = null;
  /** Bandwidth limits and concurrency bounds, in the database (issue 6). */
  readonly pacing: PacingStore;
  private readonly bandwidth: BandwidthLimiter;
  /** What people set of the pace: bandwidth limits, concurrency bounds, what automatic concurrency decided (issue 6; hosts call it directly). */
  readonly pace: PaceControls;
  private pacingSeen = -1;
  private readonly destinations: Destinations;
  private readonly remote: RemoteUploads;
  /** Pause, resume, retry, cancel, priority: what people ask of jobs (job-commands.ts). */
  readonly commands: JobCommands;
  private readonly intake: JobIntake;

  constructor(private readonly opts: EngineOptions) {
    super();
    const { db, movedAside } = openDatabase(opts.dbPath, opts.sqliteNativeBinding ? { nativeBinding: opts.sqliteNativeBinding } : {});
    this.movedAside = movedAside;
    this.store = new JobStore(db);
    this.shared = opts.sharedQueue ?? dialectOf(db) === 'pg';
    this.jobLeaseMs = opts.jobLeaseMs ?? DEFAULT_JOB_LEASE_MS;
    this.machine = opts.machine ?? machineName();
    this.folderRecords = new FolderStore(db, Date.now, this.shared ? this.machine : null);
    this.sources = new JobSources(this.folderRecords);
    // The recovery file rebuilds a damaged SQLite file's queue; a PostgreSQL server keeps its own (WAL, backups) and is shared by several machines.
    this.recovery = opts.dbPath === ':memory:' || db.dialect === 'pg' ? null : new RecoveryFile(recoveryFileFor(opts.dbPath));
    if (movedAside) this.rebuilt = rebuildDatabase(this.store, this.recovery && { file: this.recovery.file, snapshot: this.recovery.read() }, movedAside);
    this.configChanged();
    this.credentials = opts.credentials ?? new CredentialSource();
    this.pool = new WorkerPool(opts.maxWorkers ?? defaultPoolSize(), undefined, opts.heldPartBytes);
    this.pacing = new PacingStore(db);
    // A shared queue shares each limit too: this node's buckets and lanes run at its share (pacing/cluster-share.ts).
    const node = this.node = this.shared ? new ClusterNode(this.store.nodes, this.owner, this.machine, this.jobLeaseMs) : null;
    this.bandwidth = new BandwidthLimiter(this.pacing, undefined, node?.share ?? null);
    this.scheduler = new Scheduler(this.store, this.pool, this.credentials, {
      ...opts.scheduler,
      ...(node ? { shared: node.scheduler } : {}),
      sourceOf: (job) => this.sources.of(job),
      bandwidth: this.bandwidth,
      tuning: { ...opts.scheduler?.tuning, boundsOf: (id) => this.pacing.concurrencyBoundsOf(id) ?? null, ...(node ? { shareOf: (id: number, ceiling: number) => node.slotsOf(id, ceiling) } : {}) },
    });
    node?.follow(this.scheduler);
    this.pace = new PaceControls(this.store, this.bandwidth, this.pacing, this.scheduler);
    this.owed = new OwedRunner(this.store.owed, { ...opts.owed, ...(this.shared ? { shared: { owner: this.owner } } : {}) });
    this.owed.register(REMOTE_ABORT, this.scheduler.remoteAborts());
    this.webhooks = new WebhookDispatcher(this.store, new OutboxStore(db, this.store.owed), this.owed, new WebhookSecrets(this.folderRecords, new KeyFileSealer(keyFileFor(opts.dbPath))), opts.webhooks);
    this.scheduler.on('job', (j) => this.emit('job', j));
    this.scheduler.on('progress', (p) => this.emit('progress', p));
    this.scheduler.on('concurrency', (c) => this.emit('concurrency', c));
    this.scheduler.on('hash-checkpoint', (c) => this.emit('hash-checkpoint', c));
    this.batches = new BatchStore(db, this.store.owed);
    this.mhl = new MhlService(this.store, this.batches, (dest) => this.client(dest), this.owed, opts.mhl, (job) => this.sources.of(job));
    this.mhl.on('batch', (b) => this.emit('batch', b));
    this.scheduler.on('storage', (s) => this.emit('storage', s));
    this.destinations = new Destinations(this.store, () => this.configChanged());
    this.remote = new RemoteUploads(this.store, (dest) => this.client(dest), () => this.scheduler.poke(), () => this.settleOwedAborts());
    this.commands = new JobCommands(this.store, { poke: () => this.scheduler.poke(), settleOwedAborts: () => this.settleOwedAborts() });
    this.intake = new JobIntake(
      { store: this.store, batches: this.batches, machine: this.machine, resume: (id, orFailed) => this.resume(id, orFailed) },
      { pokeSoon: () => this.scheduler.pokeSoon(), job: (j) => this.emit('job', j), batch: (b) => this.emit('batch', b) },
    );
  }

  // ---- running the queue ----

  /**
   * Starts working the queue, unless another live process already does (one runner per database).
   * Jobs that were running when a previous process died resume by themselves. Once held, the lease
   * is renewed; if another process takes it, everything that acts on files or the bucket stops
   * until it is ours again (lease.ts).
   */
  start(opts: EngineStartOptions = {}): LeaseAnswer {
    if (this.lease) return this.lease.working ? { ok: true } : this.lease.start(opts.wait ?? false);
    // A shared queue has no runner lease: the keeper heartbeats this node instead (node-lease.ts).
    const leaseStore = this.node?.leaseStore() ?? this.store;
    this.lease = new LeaseKeeper(leaseStore, this.owner, [this.work, ...(opts.also ?? [])], this.node?.leaseTiming(opts.lease) ?? opts.lease, () => this.configChanged());
    this.lease.on('state', (s) => this.emit('lease', s));
    return this.lease.start(opts.wait ?? false);
  }

  /** A shared queue's node and job lease (undefined off): the watcher holds the jobs it runs itself (a rename's copy) with it. */
  get jobLease(): JobLease | undefined {
    return this.node?.jobLease;
  }

  /** The processes of a shared queue (`hoist nodes`): each one's host, pid, state and the jobs it holds. */
  listNodes(): NodeRecord[] {
    return this.store.nodes.list(this.jobLeaseMs);
  }

  /** Whether this process works the queue now (it holds the runner lease). */
  get running(): boolean {
    return this.lease?.working ?? false;
  }

  /** Resolves once the work under the lease has finished starting (or stopping): an awaited start in the `also` work is over. */
  async leaseSettled(): Promise<void> {
    await this.lease?.settled();
  }

  /** Working, waiting for the lease (held by pid P on host H), or off (never started, or closed). */
  get leaseState(): LeaseState {
    return this.lease?.state ?? { state: 'off' };
  }

  /** The engine's own work under the lease: the scheduler (uploads) and the owed-work runner (aborts, clean-ups, webhooks, ASC MHL writes). */
  private readonly work: LeasedWork = {
    start: () => {
      if (this.opts.dbPath !== ':memory:' && this.store.db.dialect === 'sqlite' && !this.checkpointer) {
        this.checkpointer = new Checkpointer(this.store.db, this.opts.dbPath, this.opts.sqliteNativeBinding ? { nativeBinding: this.opts.sqliteNativeBinding } : {});
      }
      this.scheduler.start();
      // Owed work: aborts, clean-ups, webhook events, ASC MHL writes (owed/runner.ts).
      this.owed.start();
      // Schedules follow the clock; limits and bounds set by another process (`hoist limit`) are read again.
      this.bandwidth.start(1000, () => {
        const version = this.store.dataVersion();
        if (version === this.pacingSeen) return;
        this.pacingSeen = version;
        this.bandwidth.reload();
        this.scheduler.reconfigureLanes();
      });
    },
    stop: async () => {
      this.bandwidth.stop();
      await this.owed.stop();
      await this.scheduler.stop();
    },
  };

  /** Stops all traffic cleanly (running jobs resume at the next start), gives the lease back and closes the database. */
  async close(): Promise<void> {
    await this.lease?.close();
    this.lease = null;
    await this.pool.close();
    await this.checkpointer?.stop();
    this.checkpointer = null;
    this.clients.clear();
    this.configChanged();
    this.store.db.close();
  }

  /** Resolves once every given job is done, failed for good, or cancelled. */
  async waitFor(jobIds: readonly number[], onTick?: () => void, pollMs = 250): Promise<JobRecord[]> {
    for (;;) {
      const jobs = this.store.listJobs({ ids: jobIds });
      if (jobs.every((j) => SETTLED_STATES.includes(j.state))) return jobs;
      onTick?.();
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  progress(): JobProgress[] {
    return this.scheduler.progress();
  }

  // ---- destinations and jobs ----

  upsertDestination(d: DestinationInput): Destination {
    return this.destinations.upsert(d);
  }

  /** Creates a destination (no id; its name must be new) or changes the one with that id. */
  saveDestination(d: DestinationInput & { id?: number }): Destination {
    return this.destinations.save(d);
  }

  /** Removes a destination and its finished jobs; refused (`config.in-use`, naming them) while a folder or an unfinished job uses it. */
  removeDestination(id: number): void {
    this.destinations.remove(id);
  }

  /** Rewrites the recovery file after destinations or watched folders changed (a no-op when they did not). */
  configChanged(): void {
    try {
      this.recovery?.sync(this.store.listDestinations(), this.folderRecords.listFolders(), (id) => this.folderRecords.webhookSecret(id) ?? null);
    } catch (err) {
      // A full or read-only disk: the database itself is what matters; the next change tries again.
      if (!this.recoveryWarned) log.warn(`could not write ${this.recovery?.file}: ${(err as Error).message}`);
      this.recoveryWarned = true;
    }
  }

  /**
   * After a rebuild: the in-progress uploads on the buckets of watched folders whose keys map to
   * watched files become jobs again (remote/adopt.ts). Call before the watcher starts, so a file is
   * not given a second upload. Safe to call again (what a job owns is skipped).
   */
  async adoptAfterRebuild(): Promise<AdoptionReport[]> {
    const ids = new Set(this.folderRecords.listFolders().map((f) => f.destinationId));
    const reports: AdoptionReport[] = [];
    for (const id of ids) {
      const dest = this.store.getDestination(id);
      if (dest) reports.push(await this.adoptUploads(dest));
    }
    return reports;
  }

  /** One destination's bucket: its ownerless uploads that map to watched files become jobs. */
  async adoptUploads(dest: Destination): Promise<AdoptionReport> {
    const report = await adoptUploads(this, dest);
    this.scheduler.poke();
    for (const a of report.adopted) {
      const job = this.store.getJob(a.jobId);
      if (job) this.emit('job', job);
    }
    return report;
  }

  /** Files and folders into jobs (job-intake.ts). */
  enqueue(paths: readonly string[], o: EnqueueOptions): Promise<JobRecord[]> {
    return this.intake.enqueue(paths, o);
  }

  /** A watched folder's batch of files already looked at (folders/enqueue-batch.ts), with its records, in one transaction. */
  enqueueLooked(groups: readonly LookedGroup[]): JobRecord[][] {
    return this.intake.enqueueLooked(groups);
  }

  // ---- ASC MHL batches (issue 8) ----

  batch(id: number): BatchRecord | undefined {
    return this.batches.get(id);
  }

  listBatches(opts: Parameters<BatchStore['list']>[0] = {}): BatchRecord[] {
    return this.batches.list(opts);
  }

  /** Queues the generation of a batch whose write failed again. */
  retryBatch(id: number): void {
    const b = this.batches.get(id);
    if (!b) throw new HoistError('config.invalid', { message: `There is no ASC MHL batch ${id} (see \`hoist batches list\`).` });
    if (!this.batches.requeue(id)) throw new HoistError('config.invalid', { message: `Batch ${id} is ${b.state}; only a batch whose generation failed to be written can be retried.` });
  }

  /**
   * Resolves once every given batch is written or failed (the process that works the queue writes
   * them), or waits on a job nobody works now (paused): its generation comes when that job ends.
   */
  async waitForBatches(ids: readonly number[], pollMs = 250): Promise<BatchRecord[]> {
    const stalled = (b: BatchRecord) => {
      const jobs = this.store.listJobs({ batchId: b.id });
      return !jobs.some((j) => j.state === 'queued' || j.state === 'running' || j.state === 'completing') && jobs.some((j) => !SETTLED_STATES.includes(j.state));
    };
    for (;;) {
      const list = this.batches.list({ ids });
      if (list.every((b) => b.state === 'written' || b.state === 'failed' || b.state === 'open' || stalled(b))) return list;
      if (this.running) this.mhl.poke();
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  getJob(id: number): JobRecord | undefined {
    return this.store.getJob(id);
  }

  listJobs(opts: Parameters<JobStore['listJobs']>[0] = {}): JobRecord[] {
    return this.store.listJobs(opts);
  }

  parts(jobId: number): PartRecord[] {
    return this.store.parts(jobId);
  }

  events(jobId: number): JobEvent[] {
    return this.store.events(jobId);
  }

  // ---- one job's course, or every job's (job-commands.ts) ----

  pause(id: number): boolean { return this.commands.pause(id); }
  pauseAll(): number { return this.commands.pauseAll(); }
  /** Resumes a paused job, or retries a failed one when `orFailed` is set. */
  resume(id: number, orFailed = false): boolean { return this.commands.resume(id, orFailed); }
  resumeAll(): number { return this.commands.resumeAll(); }
  /** Retries a failed job, or sends again a done one whose object was found deleted or overwritten (flagged). */
  retry(id: number): boolean { return this.commands.retry(id); }
  /** Cancels a job and aborts its multipart upload on the server (now, or as soon as the server answers). */
  cancel(id: number): Promise<boolean> { return this.commands.cancel(id); }
  setPriority(id: number, priority: Priority): boolean { return this.commands.setPriority(id, priority); }

  /** Multipart uploads still to be aborted for a job (cancelled, or restarted), with what the server said last. */
  owedAborts(jobId: number): RemoteAbort[] {
    return this.store.remoteAbortsOf(jobId);
  }

  /**
   * Sends every owed abort now, unless another process works the queue (it sends them); returns
   * the ones still owed (denied, unreachable), which the runner keeps retrying.
   */
  async settleOwedAborts(): Promise<RemoteAbort[]> {
    const stillOwed = () => this.store.dueRemoteAborts(1000, { all: true });
    if (this.running) return this.owed.drain(REMOTE_ABORT).then(stillOwed);
    // Waiting for the lease: whoever holds it sends them (a lease borrowed here could be given back under the keeper).
    const lease = this.lease ? ({ ok: false } as const) : this.store.acquireLease(this.owner, DEFAULT_LEASE_TIMING.staleAfterMs);
    if (!lease.ok) return stillOwed();
    try {
      await this.owed.drain(REMOTE_ABORT);
      return stillOwed();
    } finally {
      this.store.releaseLease(this.owner);
    }
  }

  // ---- the bucket's side: in-progress uploads ----

  /** The control-plane client for a destination, for bucket-side calls a host makes (tests, lifecycle). */
  async clientFor(dest: Destination): Promise<S3Client> {
    return this.client(dest);
  }

  private async client(dest: Destination): Promise<S3Client> {
    return this.clients.get(
      await connectionFor(dest, this.credentials, {
        clockOffsetMs: this.scheduler.clocks.offsetFor(dest),
        ...(this.opts.scheduler?.caBundle !== undefined ? { caBundle: this.opts.scheduler.caBundle } : {}),
      }),
    );
  }

  /** Every in-progress multipart upload under the prefix, each marked with the job that owns it. */
  listUploads(dest: Destination, prefix = '', pageSize?: number): Promise<RemoteUpload[]> {
    return this.remote.listUploads(dest, prefix, pageSize);
  }

  listRemoteParts(dest: Destination, key: string, uploadId: string, pageSize?: number): Promise<RemotePart[]> {
    return this.remote.listRemoteParts(dest, key, uploadId, pageSize);
  }

  /** Aborts one upload; one a job of ours made is aborted as a cancel aborts it (its job cancelled first); returns the abort if still owed. */
  abortUpload(dest: Destination, key: string, uploadId: string): Promise<RemoteAbort | null> {
    return this.remote.abortUpload(dest, key, uploadId);
  }

  /** Aborts every upload under the prefix that no live job owns and that began before `olderThanMs` ago. */
  abortOrphans(dest: Destination, opts: { prefix?: string; olderThanMs?: number; pageSize?: number } = {}): Promise<AbortOrphansResult> {
    return this.remote.abortOrphans(dest, opts);
  }
}
