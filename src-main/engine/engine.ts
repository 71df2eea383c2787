import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import mime from 'mime-types';
import type { S3Client } from '@aws-sdk/client-s3';
import { HoistError } from '../../shared/errors.js';
import { MAX_CONCURRENCY } from '../../shared/limits.js';
import { DEFAULT_FILE_HASHES, type ChecksumAlgorithm, type FileHashAlgorithm, type JobState, type Priority } from '../../shared/states.js';
import type { BandwidthLimit, ConcurrencyBounds, ConcurrencyDecision, Destination, DestinationInput, JobEvent, JobProgress, MhlBatch, RemotePart, RemoteUpload } from '../../shared/types.js';
import { BandwidthLimiter, type BandwidthInput } from './bandwidth.js';
import { requireMhlHash } from './mhl/manifest.js';
import { MhlService, type MhlServiceOptions } from './mhl/mhl-service.js';
import { isHistoryPath, mhlPlacement } from './mhl/source-history.js';
import { ClientCache } from './s3/client.js';
import { CredentialSource, connectionFor } from './s3/connection.js';
import { toHoistError } from './s3/errors.js';
import * as ops from './s3/operations.js';
import { Scheduler, type SchedulerOptions, type StorageNotice } from './scheduler.js';
import { Checkpointer } from './store/checkpointer.js';
import { openDatabase } from './store/db.js';
import { OutboxStore } from './store/outbox-store.js';
import { WebhookDispatcher, type WebhookOptions } from './notify/webhooks.js';
import { BatchStore, type BatchRecord } from './store/batch-store.js';
import { JobStore, type JobRecord, type PartRecord, type RemoteAbort } from './store/job-store.js';
import { FolderStore } from './store/folder-store.js';
import { RecoveryFile, recoveryFileFor } from './store/recovery-file.js';
import { rebuildDatabase, type RebuildReport } from './store/rebuild.js';
import { adoptUploads, type AdoptionReport } from './remote/adopt.js';
import { PacingStore } from './store/pacing-store.js';
import { planParts } from './upload/part-plan.js';
import { folderFilter } from './watch/filters.js';
import { joinKey, objectKey } from './keys.js';
import { walkFolder } from './watch/scan.js';
import { WorkerPool, defaultPoolSize } from './upload/worker-pool.js';

export interface EngineOptions {
  dbPath: string;
  scheduler?: SchedulerOptions;
  /** Worker threads (each runs several parts at once); parts in flight are bounded per destination by its concurrency. */
  maxWorkers?: number;
  credentials?: CredentialSource;
  /** better-sqlite3's addon built for this runtime, when it is not node_modules' own (Electron). */
  sqliteNativeBinding?: string;
  webhooks?: WebhookOptions;
  /** ASC MHL generation writing (issue 8): its pace and retries. */
  mhl?: MhlServiceOptions;
}

export interface EnqueueOptions {
  destination: Destination;
  /** The object key, for a single file. */
  key?: string;
  /** Prepended to each file's name when no key is given. */
  prefix?: string;
  /** These override the destination's settings for the jobs made by this call only. */
  partSize?: number;
  singlePutThreshold?: number;
  maxObjectSize?: number;
  maxParts?: number;
  checksum?: ChecksumAlgorithm | null;
  priority?: Priority;
  /** Whole-file hashes to record (default xxh64; [] for none). */
  hashes?: readonly FileHashAlgorithm[];
  /** The folder single files are taken relative to for ASC MHL (a watched folder); default: each file's own folder. */
  base?: string;
  /**
   * ASC MHL generations (issue 8): `upload` makes one complete batch per root of this call;
   * `{ folderId }` adds each file to its watched folder's open batch for its root.
   */
  mhl?: false | 'upload' | { folderId: number };
}

/** One file of an enqueue call, before it becomes a job. */
interface EnqueuedFile {
  abs: string;
  key: string;
  /** What a relative path is taken from: the uploaded directory, the watched folder, or the file's own folder. */
  base: string;
  st: fs.BigIntStats;
}

/** States in which a job has reached an end that waiting callers care about. */
export const SETTLED_STATES: readonly JobState[] = ['done', 'failed', 'cancelled'];

const LEASE_STALE_MS = 15_000;
const LEASE_HEARTBEAT_MS = 2_000;

export interface EngineEvents {
  job: [job: JobRecord];
  progress: [progress: JobProgress[]];
  concurrency: [info: { destinationId: number; limit: number; reason: string }];
  /** An ASC MHL batch changed: made, written, failed. */
  batch: [batch: MhlBatch];
  storage: [notice: StorageNotice];
  /** A whole-file hash pass saved how far it got (it goes on from there after a pause, quit or crash). */
  'hash-checkpoint': [info: { jobId: number; offset: number }];
}

/** The engine facade: one object the CLI and both hosts drive. Plain Node; knows nothing of Electron. */
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
  private recoveryWarned = false;
  private readonly pool: WorkerPool;
  private readonly scheduler: Scheduler;
  /** Delivers the watched folders' webhook events while this engine works the queue. */
  readonly webhooks: WebhookDispatcher;
  private readonly credentials: CredentialSource;
  private readonly clients = new ClientCache();
  private readonly owner = randomUUID();
  private heartbeat: NodeJS.Timeout | null = null;
  /** WAL checkpoints on a worker thread while this engine works the queue (store/checkpointer.ts). */
  private checkpointer: Checkpointer | null = null;
  /** Bandwidth limits and concurrency bounds, in the database (issue 6). */
  readonly pacing: PacingStore;
  private readonly bandwidth: BandwidthLimiter;
  private pacingSeen = -1;

  constructor(private readonly opts: EngineOptions) {
    super();
    const { db, movedAside } = openDatabase(opts.dbPath, opts.sqliteNativeBinding ? { nativeBinding: opts.sqliteNativeBinding } : {});
    this.movedAside = movedAside;
    this.store = new JobStore(db);
    this.folderRecords = new FolderStore(db);
    this.recovery = opts.dbPath === ':memory:' ? null : new RecoveryFile(recoveryFileFor(opts.dbPath));
    if (movedAside) this.rebuilt = rebuildDatabase(this.store, this.recovery && { file: this.recovery.file, snapshot: this.recovery.read() }, movedAside);
    this.configChanged();
    this.credentials = opts.credentials ?? new CredentialSource();
    this.pool = new WorkerPool(opts.maxWorkers ?? defaultPoolSize());
    this.pacing = new PacingStore(db);
    this.bandwidth = new BandwidthLimiter(this.pacing);
    this.scheduler = new Scheduler(this.store, this.pool, this.credentials, {
      ...opts.scheduler,
      bandwidth: this.bandwidth,
      tuning: { ...opts.scheduler?.tuning, boundsOf: (id) => this.pacing.concurrencyBoundsOf(id) ?? null },
    });
    this.webhooks = new WebhookDispatcher(this.store, new OutboxStore(db), opts.webhooks);
    this.scheduler.on('job', (j) => this.emit('job', j));
    this.scheduler.on('progress', (p) => this.emit('progress', p));
    this.scheduler.on('concurrency', (c) => this.emit('concurrency', c));
    this.scheduler.on('hash-checkpoint', (c) => this.emit('hash-checkpoint', c));
    this.batches = new BatchStore(db);
    this.mhl = new MhlService(this.store, this.batches, (dest) => this.client(dest), opts.mhl);
    this.mhl.on('batch', (b) => this.emit('batch', b));
    this.scheduler.on('storage', (s) => this.emit('storage', s));
  }

  // ---- running the queue ----

  /**
   * Starts working the queue, unless another live process already does (one runner per database).
   * Jobs that were running when a previous process died resume by themselves.
   */
  start(): { ok: true } | { ok: false; pid: number; host: string } {
    const lease = this.store.acquireLease(this.owner, LEASE_STALE_MS);
    if (!lease.ok) return lease;
    this.heartbeat = setInterval(() => {
      try {
        const renewed = this.store.acquireLease(this.owner, LEASE_STALE_MS);
        if (!renewed.ok) void this.scheduler.stop();
        // Folders and destinations changed by another process reach the recovery file too.
        this.configChanged();
      } catch (err) {
        // A full disk is reported by the scheduler ('storage'); the lease is renewed once there is room.
        if (toHoistError(err).code !== 'db.full') process.emitWarning(`hoist: could not renew the runner lease: ${(err as Error).message}`);
      }
    }, LEASE_HEARTBEAT_MS);
    if (this.opts.dbPath !== ':memory:' && !this.checkpointer) {
      this.checkpointer = new Checkpointer(this.store.db, this.opts.dbPath, this.opts.sqliteNativeBinding ? { nativeBinding: this.opts.sqliteNativeBinding } : {});
    }
    this.scheduler.start();
    this.webhooks.start();
    this.mhl.start();
    // Schedules follow the clock; limits and bounds set by another process (`hoist limit`) are read again.
    this.bandwidth.start(1000, () => {
      const version = this.store.dataVersion();
      if (version === this.pacingSeen) return;
      this.pacingSeen = version;
      this.bandwidth.reload();
      this.scheduler.reconfigureLanes();
    });
    return { ok: true };
  }

  get running(): boolean {
    return this.heartbeat !== null;
  }

  /** Stops all traffic cleanly (running jobs resume at the next start) and closes the database. */
  async close(): Promise<void> {
    this.bandwidth.stop();
    if (this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = null;
      await this.mhl.stop();
      await this.scheduler.stop();
      await this.webhooks.stop();
      this.store.releaseLease(this.owner);
    }
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
    checkBucketName(d.bucket);
    const saved = this.store.upsertDestination(d);
    this.configChanged();
    return saved;
  }

  /** Creates a destination (no id; its name must be new) or changes the one with that id. */
  saveDestination(d: DestinationInput & { id?: number }): Destination {
    const { id, ...input } = d;
    const sameName = this.store.getDestinationByName(input.name);
    if (sameName && sameName.id !== id) throw new HoistError('config.invalid', { message: `A destination named "${input.name}" already exists.` });
    if (id === undefined) return this.upsertDestination(input);
    checkBucketName(input.bucket);
    const saved = this.store.updateDestination(id, input);
    if (!saved) throw new HoistError('config.invalid', { message: `There is no destination ${id}.` });
    this.configChanged();
    return saved;
  }

  /** Removes a destination and its finished jobs; refused (`config.in-use`, naming them) while a folder or an unfinished job uses it. */
  removeDestination(id: number): void {
    const dest = this.store.getDestination(id);
    if (!dest) throw new HoistError('config.invalid', { message: `There is no destination ${id}.` });
    const removed = this.store.removeDestination(id);
    if (!removed.ok) {
      const uses: string[] = [];
      if (removed.folders.length > 0) uses.push(`watched folder(s) ${removed.folders.map((f) => `${f.id} (${f.path})`).join(', ')} send to it: remove them first`);
      if (removed.unfinishedJobIds.length > 0) uses.push(`job(s) ${listIds(removed.unfinishedJobIds)} are not finished: let them finish or cancel them first`);
      if (removed.owedAborts > 0) uses.push(`${removed.owedAborts} upload abort(s) are still owed there: run the queue first`);
      throw new HoistError('config.in-use', { message: `Destination "${dest.name}" cannot be removed yet: ${uses.join('; ')}.` });
    }
    this.configChanged();
  }

  /** Rewrites the recovery file after destinations or watched folders changed (a no-op when they did not). */
  configChanged(): void {
    try {
      this.recovery?.sync(this.store.listDestinations(), this.folderRecords.listFolders());
    } catch (err) {
      // A full or read-only disk: the database itself is what matters; the next change tries again.
      if (!this.recoveryWarned) process.emitWarning(`hoist: could not write ${this.recovery?.file}: ${(err as Error).message}`);
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

  /**
   * Records jobs for files and folders (a folder's files recursively, keys = prefix + path under
   * it); a file already queued for the same key is not queued twice, it is resumed. Nothing is
   * queued unless every path can be read and every key is valid and distinct.
   */
  async enqueue(paths: readonly string[], o: EnqueueOptions): Promise<JobRecord[]> {
    if (o.key !== undefined && paths.length !== 1) throw new HoistError('config.invalid', { message: '--key names one object; with several files use --prefix.' });
    const hashes = o.hashes ?? DEFAULT_FILE_HASHES;
    if (o.mhl) requireMhlHash(hashes);
    const files = await this.expandPaths(paths, o);
    const planned = files.map((f) => {
      const size = Number(f.st.size);
      const plan = planParts(size, {
        partSize: o.partSize ?? o.destination.partSize,
        singlePutThreshold: o.singlePutThreshold ?? o.destination.singlePutThreshold,
        maxObjectSize: o.maxObjectSize ?? o.destination.maxObjectSize,
        maxParts: o.maxParts ?? o.destination.maxParts,
      });
      // Without ASC MHL a file is still checked against a history its root carries; its key need not follow its path.
      const { rootPrefix, ...place } = mhlPlacement(f.base, f.abs, o.mhl ? f.key : null);
      return { ...f, size, plan, place, rootPrefix };
    });
    const batchIds = new Map<string, number>();
    const batchOf = (p: (typeof planned)[number]): number | null => {
      if (!o.mhl) return null;
      const id = `${p.place.root}\0${p.rootPrefix}`;
      let batchId = batchIds.get(id);
      if (batchId === undefined) {
        const key = { destinationId: o.destination.id, root: p.place.root, bucket: o.destination.bucket, keyPrefix: p.rootPrefix, folderId: o.mhl === 'upload' ? null : o.mhl.folderId };
        batchId = this.batches.batchFor(key, o.mhl === 'upload' ? 'sealed' : 'open').id;
        batchIds.set(id, batchId);
      }
      return batchId;
    };
    // One transaction: a batch is never seen (and written) before all its jobs are in it.
    const jobs = this.store.db.transaction(() =>
      planned.map((p) => {
        const existing = this.store.findJobFor(o.destination.id, p.key, p.abs, ['queued', 'running', 'completing', 'paused', 'failed']);
        if (existing) {
          if (existing.state === 'failed' || existing.state === 'paused') this.resume(existing.id, true);
          const batchId = existing.batchId === null ? batchOf(p) : null;
          if (batchId !== null) this.batches.setJobBatch(existing.id, batchId);
          return this.store.getJob(existing.id)!;
        }
        return this.store.insertJob(
          {
            destinationId: o.destination.id,
            sourcePath: p.abs,
            bucket: o.destination.bucket,
            key: p.key,
            size: p.size,
            mtimeMs: Number(p.st.mtimeMs),
            inode: p.st.ino.toString(),
            contentType: mime.lookup(p.abs) || 'application/octet-stream',
            mode: p.plan.mode,
            partSize: p.plan.partSize,
            priority: o.priority ?? 'normal',
            checksumAlgorithm: o.checksum === undefined ? o.destination.checksumAlgorithm : o.checksum,
            hashAlgorithms: hashes,
            mhl: p.place,
            batchId: batchOf(p),
          },
          p.plan.parts,
        );
      }),
    )();
    this.scheduler.pokeSoon();
    // Hosts show a job from the moment it is queued, not only once the scheduler opens it.
    for (const job of jobs) this.emit('job', job);
    for (const id of new Set(batchIds.values())) this.emit('batch', this.batches.get(id)!);
    return jobs;
  }

  /** Files behind the paths given, each with its key; refuses unreadable paths and two files for one key. */
  private async expandPaths(paths: readonly string[], o: EnqueueOptions): Promise<EnqueuedFile[]> {
    const out: EnqueuedFile[] = [];
    const readable = async (abs: string) => {
      try {
        await fs.promises.access(abs, fs.constants.R_OK);
        return await fs.promises.stat(abs, { bigint: true });
      } catch (err) {
        throw new HoistError(toHoistError(err).code === 'source.missing' ? 'source.missing' : 'source.unreadable', { message: `Cannot read ${abs}: ${(err as Error).message}` });
      }
    };
    for (const p of paths) {
      const abs = path.resolve(p);
      const st = await readable(abs);
      if (st.isDirectory()) {
        if (o.key !== undefined) throw new HoistError('config.invalid', { message: `${abs} is a folder: --key names one object; a folder goes under --prefix.` });
        const before = out.length;
        const problems: string[] = [];
        for await (const f of walkFolder(abs, folderFilter([], []), (pr) => problems.push(`${pr.file}: ${pr.error.message}`))) {
          // With --mhl the folder's ASC MHL history travels with its generation, not as files of its own.
          if (o.mhl && isHistoryPath(f.relPath)) continue;
          out.push({ abs: f.file, key: objectKey(joinKey(o.destination.prefix, o.prefix ?? '', f.relPath)), base: abs, st: f.stats });
        }
        if (problems.length > 0) throw new HoistError('source.unreadable', { message: `Cannot read everything under ${abs}; nothing was queued: ${problems.slice(0, 5).join('; ')}` });
        if (out.length === before) throw new HoistError('config.invalid', { message: `${abs} holds no file to upload.` });
        continue;
      }
      if (!st.isFile()) throw new HoistError('source.unreadable', { message: `${abs} is not a regular file.` });
      out.push({ abs, key: objectKey(o.key ?? joinKey(o.destination.prefix, o.prefix ?? '', path.basename(abs))), base: o.base ?? path.dirname(abs), st });
    }
    const byKey = new Map<string, string>();
    for (const f of out) {
      const other = byKey.get(f.key);
      if (other !== undefined && other !== f.abs) throw new HoistError('config.invalid', { message: `${other} and ${f.abs} both map to s3://${o.destination.bucket}/${f.key}; nothing was queued.` });
      byKey.set(f.key, f.abs);
    }
    return out;
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

  private requireJob(id: number): JobRecord {
    const job = this.store.getJob(id);
    if (!job) throw new HoistError('config.invalid', { message: `There is no job ${id}.` });
    return job;
  }

  pause(id: number): boolean {
    this.requireJob(id);
    const ok = this.store.transition(id, ['queued', 'running'], 'paused');
    if (ok) this.store.addEvent(id, 'paused', 'Paused; finished parts are kept.');
    this.scheduler.poke();
    return ok;
  }

  setPriority(id: number, priority: Priority): boolean {
    this.requireJob(id);
    const ok = this.store.setPriority(id, priority);
    this.scheduler.poke();
    return ok;
  }

  pauseAll(): number {
    return this.store.listJobs({ states: ['queued', 'running'] }).filter((j) => this.pause(j.id)).length;
  }

  /** Resumes a paused job, or retries a failed one when `orFailed` is set. */
  resume(id: number, orFailed = false): boolean {
    this.requireJob(id);
    const from: JobState[] = orFailed ? ['paused', 'failed'] : ['paused'];
    const ok = this.store.transition(id, from, 'queued', { availableAt: 0, error: null });
    if (ok) {
      this.store.resetAttempts(id);
      this.store.addEvent(id, 'resumed', 'Resumed.');
    }
    this.scheduler.poke();
    return ok;
  }

  resumeAll(): number {
    return this.store.listJobs({ states: ['paused'] }).filter((j) => this.resume(j.id)).length;
  }

  retry(id: number): boolean {
    const job = this.requireJob(id);
    if (job.state !== 'failed') throw new HoistError('config.invalid', { message: `Job ${id} is ${job.state}; only a failed job can be retried.` });
    return this.resume(id, true);
  }

  /** Cancels a job and aborts its multipart upload on the server (now, or as soon as the server answers). */
  async cancel(id: number): Promise<boolean> {
    const job = this.requireJob(id);
    const ok = this.store.db.transaction(() => {
      if (!this.store.transition(id, ['queued', 'running', 'completing', 'paused', 'failed'], 'cancelled')) return false;
      if (job.uploadId) {
        this.store.queueRemoteAbort({ destinationId: job.destinationId, bucket: job.bucket, key: job.key, uploadId: job.uploadId, jobId: id, reason: 'cancelled' });
      }
      this.store.addEvent(id, 'cancelled', 'Cancelled.');
      return true;
    })();
    this.scheduler.poke();
    if (ok && job.uploadId) await this.settleOwedAborts();
    return ok;
  }

  /** Multipart uploads still to be aborted for a job (cancelled, or restarted), with what the server said last. */
  owedAborts(jobId: number): RemoteAbort[] {
    return this.store.remoteAbortsOf(jobId);
  }

  /**
   * Sends every owed abort now, unless another process works the queue (it sends them); returns
   * the ones still owed (denied, unreachable), which the runner keeps retrying.
   */
  async settleOwedAborts(): Promise<RemoteAbort[]> {
    if (this.running) return this.scheduler.drainRemoteAborts();
    const lease = this.store.acquireLease(this.owner, LEASE_STALE_MS);
    if (!lease.ok) return this.store.dueRemoteAborts(1000, { all: true });
    try {
      return await this.scheduler.drainRemoteAborts();
    } finally {
      this.store.releaseLease(this.owner);
    }
  }

  // ---- pace: bandwidth limits and automatic concurrency (issue 6) ----

  /** Sets (or, with no rate and no schedule, removes) the global limit or a destination's; running uploads follow at once. */
  setBandwidthLimit(input: BandwidthInput): BandwidthLimit {
    if (input.destinationId !== null && !this.store.getDestination(input.destinationId)) {
      throw new HoistError('config.invalid', { message: `There is no destination ${input.destinationId}.` });
    }
    return this.bandwidth.set(input);
  }

  bandwidthLimits(): BandwidthLimit[] {
    return this.bandwidth.list();
  }

  /** Automatic concurrency between min and max for a destination; null goes back to its fixed concurrency. */
  setConcurrencyBounds(destinationId: number, bounds: { min: number; max: number } | null): void {
    if (!this.store.getDestination(destinationId)) throw new HoistError('config.invalid', { message: `There is no destination ${destinationId}.` });
    if (bounds && !(Number.isInteger(bounds.min) && Number.isInteger(bounds.max) && bounds.min >= 1 && bounds.min <= bounds.max && bounds.max <= MAX_CONCURRENCY)) {
      throw new HoistError('config.invalid', { message: `Concurrency bounds must be whole numbers with 1 <= min <= max <= ${MAX_CONCURRENCY} (got ${bounds.min}..${bounds.max}).` });
    }
    this.pacing.setConcurrencyBounds(destinationId, bounds);
    this.scheduler.reconfigureLanes();
  }

  concurrencyBounds(): ConcurrencyBounds[] {
    return this.pacing.concurrencyBounds();
  }

  /** Parts in flight allowed now for a destination (null before it carried traffic here) and the tuner's decisions so far. */
  concurrencyOf(destinationId: number): { limit: number | null; bounds: ConcurrencyBounds | null; decisions: ConcurrencyDecision[] } {
    const lane = this.scheduler.laneOf(destinationId);
    return { limit: lane?.limit ?? null, bounds: this.pacing.concurrencyBoundsOf(destinationId) ?? null, decisions: [...(lane?.decisions ?? [])] };
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
  async listUploads(dest: Destination, prefix = '', pageSize?: number): Promise<RemoteUpload[]> {
    const client = await this.client(dest);
    const live = this.store.liveUploadIds();
    const out: RemoteUpload[] = [];
    for await (const u of ops.listMultipartUploads(client, dest.bucket, prefix, pageSize)) {
      out.push({
        bucket: dest.bucket,
        key: u.key,
        uploadId: u.uploadId,
        initiated: u.initiated?.toISOString() ?? null,
        storageClass: u.storageClass,
        jobId: live.has(u.uploadId) ? (this.store.jobIdsForUpload(u.uploadId)[0] ?? null) : null,
      });
    }
    return out;
  }

  async listRemoteParts(dest: Destination, key: string, uploadId: string, pageSize?: number): Promise<RemotePart[]> {
    const client = await this.client(dest);
    const out: RemotePart[] = [];
    for await (const p of ops.listParts(client, dest.bucket, key, uploadId, pageSize)) out.push(p);
    return out;
  }

  /** Aborts one upload; if a live job owns it, that job is cancelled first so it cannot send more parts. */
  async abortUpload(dest: Destination, key: string, uploadId: string): Promise<void> {
    for (const jobId of this.store.jobIdsForUpload(uploadId)) {
      const job = this.store.getJob(jobId);
      if (job && job.state !== 'done' && job.state !== 'cancelled') {
        this.store.transition(jobId, [job.state], 'cancelled');
        this.store.addEvent(jobId, 'cancelled', 'Cancelled: its multipart upload was aborted from the uploads list.');
      }
    }
    this.scheduler.poke();
    await ops.abortMultipartUpload(await this.client(dest), dest.bucket, key, uploadId);
  }

  /** Aborts every upload under the prefix that no live job owns and that began before `olderThanMs` ago. */
  async abortOrphans(dest: Destination, opts: { prefix?: string; olderThanMs?: number; pageSize?: number } = {}): Promise<{ aborted: RemoteUpload[]; kept: RemoteUpload[] }> {
    const cutoff = Date.now() - (opts.olderThanMs ?? 0);
    const uploads = await this.listUploads(dest, opts.prefix ?? '', opts.pageSize);
    const client = await this.client(dest);
    const aborted: RemoteUpload[] = [];
    const kept: RemoteUpload[] = [];
    for (const u of uploads) {
      const old = u.initiated === null || Date.parse(u.initiated) <= cutoff;
      if (u.jobId !== null || !old) {
        kept.push(u);
        continue;
      }
      try {
        await ops.abortMultipartUpload(client, dest.bucket, u.key, u.uploadId);
      } catch (err) {
        if (toHoistError(err).code !== 's3.no-such-upload') throw err;
      }
      aborted.push(u);
    }
    return { aborted, kept };
  }
}

/** "3, 4, 9" or "3, 4, 9, … (12 in all)" */
function listIds(ids: readonly number[], shown = 10): string {
  return ids.length <= shown ? ids.join(', ') : `${ids.slice(0, shown).join(', ')}, … (${ids.length} in all)`;
}

function checkBucketName(bucket: string): void {
  if (!bucket || bucket.length < 3) throw new HoistError('config.invalid', { message: `"${bucket}" is not a valid bucket name (3 to 63 characters).` });
}

/** The user's application-data folder, the same one the desktop app uses. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HOIST_DB) return env.HOIST_DB;
  const home = os.homedir();
  const base =
    process.platform === 'darwin'
      ? path.join(home, 'Library', 'Application Support')
      : process.platform === 'win32'
        ? (env.APPDATA ?? path.join(home, 'AppData', 'Roaming'))
        : (env.XDG_CONFIG_HOME ?? path.join(home, '.config'));
  return path.join(base, 'Hoist', 'hoist.db');
}
