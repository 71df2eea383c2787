import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import mime from 'mime-types';
import type { S3Client } from '@aws-sdk/client-s3';
import { HoistError } from '../../shared/errors.js';
import { MAX_CONCURRENCY, MAX_KEY_BYTES } from '../../shared/limits.js';
import type { ChecksumAlgorithm, JobState, Priority } from '../../shared/states.js';
import type { BandwidthLimit, ConcurrencyBounds, ConcurrencyDecision, Destination, DestinationInput, JobEvent, JobProgress, RemotePart, RemoteUpload } from '../../shared/types.js';
import { BandwidthLimiter, type BandwidthInput } from './bandwidth.js';
import { ClientCache } from './s3/client.js';
import { CredentialSource, connectionFor } from './s3/connection.js';
import { toHoistError } from './s3/errors.js';
import * as ops from './s3/operations.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';
import { openDatabase } from './store/db.js';
import { JobStore, type JobRecord, type PartRecord } from './store/job-store.js';
import { PacingStore } from './store/pacing-store.js';
import { planParts } from './upload/part-plan.js';
import { WorkerPool, defaultPoolSize } from './upload/worker-pool.js';

export interface EngineOptions {
  dbPath: string;
  scheduler?: SchedulerOptions;
  /** Worker threads (each runs several parts at once); parts in flight are bounded per destination by its concurrency. */
  maxWorkers?: number;
  credentials?: CredentialSource;
  /** better-sqlite3's addon built for this runtime, when it is not node_modules' own (Electron). */
  sqliteNativeBinding?: string;
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
}

/** States in which a job has reached an end that waiting callers care about. */
export const SETTLED_STATES: readonly JobState[] = ['done', 'failed', 'cancelled'];

const LEASE_STALE_MS = 15_000;
const LEASE_HEARTBEAT_MS = 2_000;

export interface EngineEvents {
  job: [job: JobRecord];
  progress: [progress: JobProgress[]];
  concurrency: [info: { destinationId: number; limit: number; reason: string }];
}

/** The engine facade: one object the CLI and both hosts drive. Plain Node; knows nothing of Electron. */
export class Engine extends EventEmitter<EngineEvents> {
  readonly store: JobStore;
  readonly movedAside: string | undefined;
  private readonly pool: WorkerPool;
  private readonly scheduler: Scheduler;
  private readonly credentials: CredentialSource;
  private readonly clients = new ClientCache();
  private readonly owner = randomUUID();
  private heartbeat: NodeJS.Timeout | null = null;
  /** Bandwidth limits and concurrency bounds, in the database (issue 6). */
  readonly pacing: PacingStore;
  private readonly bandwidth: BandwidthLimiter;
  private pacingSeen = -1;

  constructor(private readonly opts: EngineOptions) {
    super();
    const { db, movedAside } = openDatabase(opts.dbPath, opts.sqliteNativeBinding ? { nativeBinding: opts.sqliteNativeBinding } : {});
    this.movedAside = movedAside;
    this.store = new JobStore(db);
    this.credentials = opts.credentials ?? new CredentialSource();
    this.pool = new WorkerPool(opts.maxWorkers ?? defaultPoolSize());
    this.pacing = new PacingStore(db);
    this.bandwidth = new BandwidthLimiter(this.pacing);
    this.scheduler = new Scheduler(this.store, this.pool, this.credentials, {
      ...opts.scheduler,
      bandwidth: this.bandwidth,
      tuning: { ...opts.scheduler?.tuning, boundsOf: (id) => this.pacing.concurrencyBoundsOf(id) ?? null },
    });
    this.scheduler.on('job', (j) => this.emit('job', j));
    this.scheduler.on('progress', (p) => this.emit('progress', p));
    this.scheduler.on('concurrency', (c) => this.emit('concurrency', c));
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
      } catch (err) {
        process.emitWarning(`hoist: could not renew the runner lease: ${(err as Error).message}`);
      }
    }, LEASE_HEARTBEAT_MS);
    this.scheduler.start();
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
      await this.scheduler.stop();
      this.store.releaseLease(this.owner);
    }
    await this.pool.close();
    this.clients.clear();
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
    return this.store.upsertDestination(d);
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
    return saved;
  }

  /** Removes a destination and its finished jobs; refused while any of its jobs is unfinished. */
  removeDestination(id: number): void {
    if (!this.store.getDestination(id)) throw new HoistError('config.invalid', { message: `There is no destination ${id}.` });
    const removed = this.store.removeDestination(id);
    if (!removed.ok) {
      const why =
        removed.folders > 0
          ? `${removed.folders} watched folder(s) send to it: remove them or point them elsewhere first`
          : removed.unfinishedJobs > 0
            ? `${removed.unfinishedJobs} of its jobs are not finished: cancel them first`
            : `${removed.owedAborts} upload abort(s) are still owed there: run the queue first`;
      throw new HoistError('config.invalid', { message: `Destination ${id} cannot be removed yet: ${why}.` });
    }
  }

  /** Records jobs for files; a file already queued for the same key is not queued twice, it is resumed. */
  async enqueue(files: readonly string[], o: EnqueueOptions): Promise<JobRecord[]> {
    if (o.key !== undefined && files.length !== 1) throw new HoistError('config.invalid', { message: '--key names one object; with several files use --prefix.' });
    const planned = [];
    for (const file of files) {
      const abs = path.resolve(file);
      let st: fs.BigIntStats;
      try {
        st = await fs.promises.stat(abs, { bigint: true });
      } catch (err) {
        throw new HoistError(toHoistError(err).code === 'source.missing' ? 'source.missing' : 'source.unreadable', { message: `Cannot read ${abs}: ${(err as Error).message}` });
      }
      if (!st.isFile()) throw new HoistError('source.unreadable', { message: `${abs} is not a regular file.` });
      await fs.promises.access(abs, fs.constants.R_OK).catch((err) => {
        throw new HoistError('source.unreadable', { message: `Cannot read ${abs}: ${(err as Error).message}` });
      });
      const key = objectKey(o.key ?? joinKey(o.destination.prefix, o.prefix ?? '', path.basename(abs)));
      const size = Number(st.size);
      const plan = planParts(size, {
        partSize: o.partSize ?? o.destination.partSize,
        singlePutThreshold: o.singlePutThreshold ?? o.destination.singlePutThreshold,
        maxObjectSize: o.maxObjectSize ?? o.destination.maxObjectSize,
        maxParts: o.maxParts ?? o.destination.maxParts,
      });
      planned.push({ abs, key, size, st, plan });
    }
    const jobs: JobRecord[] = [];
    for (const p of planned) {
      const existing = this.store.findJobFor(o.destination.id, p.key, p.abs, ['queued', 'running', 'completing', 'paused', 'failed']);
      if (existing) {
        if (existing.state === 'failed' || existing.state === 'paused') this.resume(existing.id, true);
        jobs.push(this.store.getJob(existing.id)!);
        continue;
      }
      jobs.push(
        this.store.insertJob(
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
          },
          p.plan.parts,
        ),
      );
    }
    this.scheduler.pokeSoon();
    // Hosts show a job from the moment it is queued, not only once the scheduler opens it.
    for (const job of jobs) this.emit('job', job);
    return jobs;
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
    if (ok && job.uploadId) await this.settleAbortsIfIdle();
    return ok;
  }

  /** Without a running queue in this process, owed aborts are sent here and now. */
  private async settleAbortsIfIdle(): Promise<void> {
    if (this.running) return;
    const lease = this.store.acquireLease(this.owner, LEASE_STALE_MS);
    if (!lease.ok) return; // the process that runs the queue will send them
    try {
      await this.scheduler.drainRemoteAborts();
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
    return this.clients.get(await connectionFor(dest, this.credentials, { ...(this.opts.scheduler?.caBundle !== undefined ? { caBundle: this.opts.scheduler.caBundle } : {}) }));
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

function checkBucketName(bucket: string): void {
  if (!bucket || bucket.length < 3) throw new HoistError('config.invalid', { message: `"${bucket}" is not a valid bucket name (3 to 63 characters).` });
}

/** Joins key segments with single slashes. */
export function joinKey(...parts: string[]): string {
  return parts
    .filter(Boolean)
    .map((p, i, all) => (i < all.length - 1 ? p.replace(/\/+$/, '') + '/' : p))
    .join('')
    .replace(/^\/+/, '');
}

/** Keys are NFC (macOS writes NFD names) and at most 1,024 bytes of UTF-8. */
export function objectKey(raw: string): string {
  const key = raw.normalize('NFC');
  if (key.length === 0) throw new HoistError('config.invalid', { message: 'The object key is empty.' });
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    throw new HoistError('limits.key-too-long', { message: `The object key is ${bytes} bytes long; S3 allows at most ${MAX_KEY_BYTES}. (${key.slice(0, 60)}…)` });
  }
  return key;
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
