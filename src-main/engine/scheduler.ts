import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import type { S3Client } from '@aws-sdk/client-s3';
import { HoistError, isRetryable, type ErrorInfo } from '../../shared/errors.js';
import type { Destination, JobProgress } from '../../shared/types.js';
import { FILE_HASH_ALGORITHMS, PRIORITY_RANK, type FileHashes, type JobState } from '../../shared/states.js';
import type { HashVerification } from '../../shared/types.js';
import { SourceHistories, recordAlgorithms, verifyAgainstHistory } from './mhl/source-history.js';
import { ClientCache, type ConnectionSettings, type StaticCredentials } from './s3/client.js';
import { CLOCK_SKEW_NOTICE_MS, ServerClocks, describeSkew, observedClockOffset } from './s3/clock.js';
import { connectionFor, type CredentialSource } from './s3/connection.js';
import { explainDenied, fromErrorInfo, toHoistError } from './s3/errors.js';
import * as ops from './s3/operations.js';
import type { JobRecord, JobStore, PartRecord, RemoteAbort } from './store/job-store.js';
import { multipartEtag, normalizeEtag } from './upload/checksums.js';
import { Lanes, type Bounds, type Lane, type TuningOptions } from './lanes.js';
import { formatBytes, planParts } from './upload/part-plan.js';
import type { ObjectSettings, SourceSnapshot } from './upload/tasks.js';
import type { BucketMemory } from './upload/token-bucket.js';
import type { TaskOutcome, WorkerPool } from './upload/worker-pool.js';
import { backoffDelay, DEFAULT_RETRY, type RetryPolicy } from './backoff.js';

/** A hash pass cut short loses at most this much reading (a second or so on a fast disk); saving costs one small row. */
const DEFAULT_HASH_CHECKPOINT_BYTES = 1024 ** 3;

export interface SchedulerOptions {
  retry?: Partial<RetryPolicy>;
  /** How often the loop looks for work and for commands from other processes. */
  tickMs?: number;
  /** Part ETags are MD5s unless the destination uses SSE-KMS (or SSE-C). */
  caBundle?: string | null;
  idleTimeoutMs?: number;
  /** Page size for ListParts during reconciliation (tests lower it to exercise paging). */
  listPageSize?: number;
  /** The bandwidth limits' token buckets each part to a destination takes from (bandwidth.ts). */
  bandwidth?: { memoryFor(destinationId: number): BucketMemory[] };
  /** How often a whole-file hash pass saves its state (the worker skips it for hashes that cannot be saved); default 1 GiB. */
  hashCheckpointBytes?: number;
  /** Automatic concurrency: bounds per destination (none: fixed) and the tuner's settings (lanes.ts). */
  tuning?: { boundsOf?(destinationId: number): Bounds | null; options?: TuningOptions };
}

interface InFlight {
  taskId: number;
  partNumber: number;
  length: number;
  bytesSent: number;
  /** The job's priority rank when the part was sent (its lane counts it there until it settles). */
  rank: number;
}

interface ActiveJob {
  job: JobRecord;
  dest: Destination;
  phase: 'preparing' | 'sending' | 'completing';
  inflight: Map<number, InFlight>;
  /** Bytes of parts the server acknowledged. */
  bytesAcked: number;
  partsDone: number;
  /** Set when traffic must stop: the job was paused, cancelled, failed or is restarting. */
  stopping: boolean;
  samples: Array<{ at: number; bytes: number }>;
  checksumUnverifiedNoted?: boolean;
  /** The whole-file hash pass (issue 8): resolves with the problem that ended it, or null once hashed (and verified). */
  hashing?: Promise<HoistError | null>;
  hashTaskId?: number;
  hashedBytes?: number;
}

const RATE_WINDOW_MS = 5_000;
/** Jobs opened at once (stat, create or reconcile); small files need several to keep the lane full. */
const MAX_PREPARING = 4;

/** The database's disk filled up (`full`), or takes writes again (`recorded`: parts that waited in memory). */
export type StorageNotice = { full: true; error: ErrorInfo } | { full: false; recorded: number };

export interface SchedulerEvents {
  job: [job: JobRecord];
  progress: [progress: JobProgress[]];
  concurrency: [info: { destinationId: number; limit: number; reason: string }];
  storage: [notice: StorageNotice];
  /** A hash pass saved how far it got (tests wait on it; nothing else needs it). */
  'hash-checkpoint': [info: { jobId: number; offset: number }];
}

/** A part the server acknowledged while the database could not record it. */
interface UnrecordedPart {
  jobId: number;
  partNumber: number;
  etag: string;
  md5Hex: string;
  checksum: string | null;
}

/** How often a full database is tried again. */
const STORAGE_RETRY_MS = 1_000;

/**
 * Picks parts to send, hands them to the worker pool, records what S3 acknowledged, and settles
 * each upload with Complete or Abort. The database is the truth; this holds only what is in flight.
 */
export class Scheduler extends EventEmitter<SchedulerEvents> {
  private readonly active = new Map<number, ActiveJob>();
  private readonly lanes: Lanes;
  private readonly clients = new ClientCache();
  /** The credentials each destination's requests were last signed with (to tell an expired token from a denial). */
  private readonly signedWith = new Map<number, StaticCredentials>();
  /** Each endpoint's clock as its answers showed it; every request is signed with it. */
  readonly clocks = new ServerClocks();
  private readonly retry: RetryPolicy;
  private timer: NodeJS.Timeout | null = null;
  private progressTimer: NodeJS.Timeout | null = null;
  private running = false;
  private ticking = false;
  /** The pass over owed aborts under way, if any (one at a time). */
  private abortsInFlight: Promise<void> | null = null;
  private pokeScheduled = false;
  private dataVersion = -1;
  private readonly tasks = new Set<Promise<unknown>>();
  private readonly histories = new SourceHistories();
  /** Set while the database's disk is full: nothing new starts; acknowledged parts wait here. */
  private storageFull: { unrecorded: UnrecordedPart[]; lastTry: number } | null = null;

  constructor(
    private readonly store: JobStore,
    private readonly pool: WorkerPool,
    private readonly credentials: CredentialSource,
    private readonly opts: SchedulerOptions = {},
  ) {
    super();
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.lanes = new Lanes(
      (id) => opts.tuning?.boundsOf?.(id) ?? null,
      (d) => this.emit('concurrency', { destinationId: d.destinationId, limit: d.to, reason: d.reason }),
      opts.tuning?.options,
    );
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const recovered = this.store.recoverInterrupted();
    if (recovered > 0) this.emitAll();
    this.timer = setInterval(() => this.tick(), this.opts.tickMs ?? 200);
    this.progressTimer = setInterval(() => this.emitProgress(), 200);
    this.tick();
  }

  /** Stops all traffic; jobs that were running go back to the queue, to resume at the next start. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    if (this.progressTimer) clearInterval(this.progressTimer);
    for (const a of this.active.values()) this.halt(a);
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    try {
      this.store.recoverInterrupted();
    } catch (err) {
      // Still full: the next start recovers them (parts acknowledged meanwhile are adopted by reconcile).
      if (toHoistError(err).code !== 'db.full') throw err;
    }
    this.clients.clear();
  }

  /** Jobs whose traffic is live, for hosts that show progress. */
  progress(): JobProgress[] {
    const now = Date.now();
    return [...this.active.values()].map((a) => this.progressOf(a, now));
  }

  /** Called after a command changed job states in this process, so the loop reacts at once. */
  poke(): void {
    this.dataVersion = -1;
    this.tick();
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

  // ---- the loop ----

  private tick(): void {
    if (!this.running || this.ticking) return;
    this.ticking = true;
    try {
      if (this.storageFull && !this.recoverStorage()) return;
      const version = this.store.dataVersion();
      if (version !== this.dataVersion) {
        this.dataVersion = version;
        this.noticeStateChanges();
      }
      this.lanes.tick((id) => this.store.getDestination(id));
      this.fillSlots();
      if (!this.abortsInFlight && this.store.dueRemoteAborts(1).length > 0) this.track(this.settleRemoteAborts());
      // After the slots were filled: a lane not full now had no more parts to send.
      this.lanes.look();
    } catch (err) {
      this.reportLoopError(err);
    } finally {
      this.ticking = false;
    }
  }

  private track<T>(p: Promise<T>): void {
    const wrapped = p.catch((err) => this.reportLoopError(err)).finally(() => this.tasks.delete(wrapped));
    this.tasks.add(wrapped);
  }

  private reportLoopError(err: unknown): void {
    const e = toHoistError(err);
    if (e.code === 'db.full') return this.enterStorageFull(e);
    // The loop must not die.
    process.emitWarning(`hoist scheduler: ${e.info.code}: ${e.message}${e.info.detail ? ` (${e.info.detail})` : ''}`);
  }

  /** Another process (or a command here) changed states or priorities: stop what may no longer run, reorder the rest. */
  private noticeStateChanges(): void {
    for (const a of this.active.values()) {
      const fresh = this.store.getJob(a.job.id);
      if (!fresh || (fresh.state !== 'running' && fresh.state !== 'completing')) {
        if (!a.stopping) this.halt(a);
      } else {
        a.job.priority = fresh.priority;
      }
    }
  }

  private lane(dest: Destination): Lane {
    return this.lanes.get(dest);
  }

  /** Concurrency settings (bounds) may have changed: the lanes read them again. */
  reconfigureLanes(): void {
    this.lanes.reconfigure((id) => this.store.getDestination(id));
  }

  /** The lane of a destination, if it has carried traffic: its limit, bounds and recorded decisions. */
  laneOf(destinationId: number): Lane | undefined {
    return this.lanes.find(destinationId);
  }

  private fillSlots(): void {
    // Parts of jobs already under way first, in priority order; then open the next queued job.
    const ordered = [...this.active.values()].filter((a) => a.phase === 'sending' && !a.stopping).sort(byPriority);
    for (const a of ordered) {
      if (a.job.growing) this.refreshGrowing(a);
      const lane = this.lane(a.dest);
      let free = lane.limit - lane.inflight;
      if (free <= 0 && this.mayOvertake(lane, a.dest, rankOf(a))) free = 1;
      if (free <= 0) continue;
      for (const part of this.store.nextPendingParts(a.job.id, free)) {
        if (a.inflight.has(part.partNumber)) continue;
        this.dispatch(a, part, lane);
      }
    }
    this.maybeFinish();
    this.openQueuedJobs();
  }

  /**
   * A part may go beyond the lane's limit, once, when every part in flight there has a lower
   * priority: a high-priority job starts at once behind full lanes, and nothing on the wire is
   * aborted. Not while the server asks for fewer requests (SlowDown lowered the limit).
   */
  private mayOvertake(lane: Lane, dest: Destination, rank: number): boolean {
    if (lane.limit < dest.concurrency) return false;
    return lane.inflight > 0 && lane.inflight <= lane.limit && lane.inflightByRank.slice(0, rank + 1).every((n) => n === 0);
  }

  /**
   * Opens queued jobs while a destination has slots that the open jobs of the same or a higher
   * priority cannot fill. Lower-priority work is not counted, so a high-priority job is opened
   * behind a lane full of normal parts and takes its slots first as they free.
   */
  private openQueuedJobs(): void {
    const active = [...this.active.values()].filter((a) => !a.stopping);
    // Asked once per sending job and pass, not once per candidate: opening a job gives no other job parts.
    const pending = new Map<number, boolean>();
    const hasPendingParts = (a: ActiveJob): boolean => {
      let has = pending.get(a.job.id);
      if (has === undefined) pending.set(a.job.id, (has = this.store.nextPendingParts(a.job.id, 1).length > 0));
      return has;
    };
    // Ids first (the scheduler asks every tick and opens few of them); the row only for one that opens.
    for (const ref of this.store.nextQueuedJobRefs(MAX_PREPARING * 4)) {
      if (this.active.has(ref.id)) continue;
      const rank = PRIORITY_RANK[ref.priority];
      const ahead = active.filter((a) => rankOf(a) <= rank);
      if (ahead.filter((a) => a.phase === 'preparing').length >= MAX_PREPARING) continue;
      const dest = this.store.getDestination(ref.destinationId);
      if (!dest || !this.spare(dest, rank, ahead, hasPendingParts)) continue;
      const job = this.store.getJob(ref.id);
      if (!job) continue;
      const opened = this.activate(job, dest);
      if (opened) active.push(opened);
    }
  }

  /** Whether the lane has room for one more job of this rank, counting only jobs that rank as high or higher. */
  private spare(dest: Destination, rank: number, ahead: ActiveJob[], hasPendingParts: (a: ActiveJob) => boolean): boolean {
    const lane = this.lane(dest);
    const mine = ahead.filter((a) => a.dest.id === dest.id);
    if (mine.some((a) => a.phase === 'sending' && hasPendingParts(a))) return false;
    const inflight = lane.inflightByRank.slice(0, rank + 1).reduce((n, k) => n + k, 0);
    return inflight + mine.filter((a) => a.phase === 'preparing').length < lane.limit;
  }

  private maybeFinish(): void {
    for (const a of this.active.values()) {
      if (a.phase !== 'sending' || a.stopping || a.inflight.size > 0) continue;
      // A growing file gets more parts until the watcher sees it stable.
      if (a.job.growing === 1) continue;
      if (this.store.unfinishedPartCount(a.job.id) === 0) {
        a.phase = 'completing';
        this.track(this.complete(a));
      }
    }
  }

  // ---- preparing a job: create or reconcile its upload ----

  private activate(job: JobRecord, dest: Destination): ActiveJob | null {
    if (!this.store.transition(job.id, ['queued'], 'running')) return null;
    const a: ActiveJob = {
      job: { ...job, state: 'running' },
      dest,
      phase: 'preparing',
      inflight: new Map(),
      bytesAcked: job.bytesDone,
      partsDone: job.partsDone,
      stopping: false,
      samples: [],
    };
    this.active.set(job.id, a);
    this.emitJob(job.id);
    this.track(
      this.prepare(a).catch((err) => {
        this.failJob(a, toHoistError(err));
      }),
    );
    return a;
  }

  private async conn(dest: Destination, maxAttempts = 3): Promise<ConnectionSettings> {
    const conn = await connectionFor(dest, this.credentials, {
      maxAttempts,
      clockOffsetMs: this.clocks.offsetFor(dest),
      ...(this.opts.caBundle !== undefined ? { caBundle: this.opts.caBundle } : {}),
      ...(this.opts.idleTimeoutMs ? { idleTimeoutMs: this.opts.idleTimeoutMs } : {}),
    });
    this.signedWith.set(dest.id, conn.credentials);
    return conn;
  }

  private async client(dest: Destination): Promise<S3Client> {
    return this.clients.get(await this.conn(dest));
  }

  private async prepare(a: ActiveJob): Promise<void> {
    const { job } = a;
    const snap = await this.statSource(job.sourcePath);
    if (!snap) throw new HoistError('source.missing', { detail: job.sourcePath });
    if (job.growing !== 1 && !sameSnapshot(snap, job)) {
      await this.restartForChangedSource(a, snap);
      return;
    }
    if (job.mode === 'multipart') {
      const client = await this.client(a.dest);
      if (job.uploadId) {
        const alive = await this.reconcile(a, client, job.uploadId);
        if (!alive && (await this.alreadyCompleted(a, client))) return;
        if (!alive) {
          this.store.addEvent(job.id, 'upload-lost', 'The multipart upload no longer exists on the server (aborted outside Hoist or by a lifecycle rule); starting it afresh.', { code: 's3.no-such-upload' });
          this.store.resetParts(job.id);
          this.store.setUploadId(job.id, null);
          a.job.uploadId = null;
          a.bytesAcked = 0;
          a.partsDone = 0;
        }
      }
      if (!a.job.uploadId) {
        if (job.createStartedAt) await this.cleanUpInterruptedCreate(a, client, job.createStartedAt);
        this.store.markCreateStarted(job.id, Date.now());
        const uploadId = await ops.createMultipartUpload(client, job.bucket, job.key, this.objectSettings(a), job.checksumAlgorithm);
        this.store.db.transaction(() => {
          this.store.setUploadId(job.id, uploadId);
          this.store.markCreateStarted(job.id, null);
        })();
        a.job.uploadId = uploadId;
        this.store.addEvent(job.id, 'upload-created', `Multipart upload created (${job.partCount} parts of up to ${job.partSize} bytes).`);
      }
      // The SDK corrected its own clock if the server refused a skewed signature; the part workers learn it here.
      this.observeClock(a, client);
    }
    if (a.stopping) {
      this.release(a);
      return;
    }
    // Whole-file hashes: beside the parts of a multipart upload (Complete waits for them); before a
    // single PutObject, so that a file its history does not vouch for leaves no object at all.
    if (job.growing !== 1) this.startHashing(a);
    if (job.mode === 'single' && (await a.hashing)) return;
    if (a.stopping) {
      this.release(a);
      return;
    }
    a.phase = 'sending';
    this.tick();
  }

  /**
   * Brings our record in line with the server after a crash: a part S3 holds that we did not
   * record is adopted only if its ETag equals the MD5 of the same local bytes (invariant 2).
   * Returns false when the upload is gone.
   */
  private async reconcile(a: ActiveJob, client: S3Client, uploadId: string): Promise<boolean> {
    const recorded = new Map(this.store.parts(a.job.id).map((p) => [p.partNumber, p]));
    const candidates: Array<{ part: PartRecord; etag: string }> = [];
    try {
      for await (const remote of ops.listParts(client, a.job.bucket, a.job.key, uploadId, this.opts.listPageSize)) {
        const local = recorded.get(remote.partNumber);
        if (!local || local.state === 'done' || remote.size !== local.length) continue;
        candidates.push({ part: local, etag: normalizeEtag(remote.etag) });
      }
    } catch (err) {
      const e = toHoistError(err);
      if (e.code === 's3.no-such-upload') return false;
      if (e.code === 's3.access-denied') {
        this.store.addEvent(a.job.id, 'reconcile-skipped', 'ListParts is not permitted, so parts sent but not recorded before the interruption are sent again.', e.info);
        return true;
      }
      throw e;
    }
    let adopted = 0;
    for (const { part, etag } of candidates) {
      if (a.stopping) break;
      const { outcome } = this.pool.run({
        kind: 'hash-range',
        path: a.job.sourcePath,
        offset: part.offset,
        length: part.length,
        snapshot: snapshotOf(a.job),
        checksumAlgorithm: a.job.checksumAlgorithm,
      });
      const o = await outcome;
      if (!o.ok) throw fromErrorInfo(o.error);
      if (o.result.md5Hex === etag) {
        this.store.markPartDone(a.job.id, part.partNumber, etag, o.result.md5Hex, o.result.checksum);
        a.bytesAcked += part.length;
        a.partsDone++;
        adopted++;
      }
    }
    if (candidates.length > 0) {
      this.store.addEvent(a.job.id, 'reconciled', `Found ${candidates.length} unrecorded part(s) on the server; adopted ${adopted} whose bytes match the file, the rest are sent again.`);
    }
    return true;
  }

  /**
   * An upload that is gone while every part is recorded may have been completed just before an
   * interruption: if the object carries exactly our multipart ETag, the job is done.
   */
  private async alreadyCompleted(a: ActiveJob, client: S3Client): Promise<boolean> {
    const parts = this.store.parts(a.job.id);
    if (parts.some((p) => p.state !== 'done' || !p.md5)) return false;
    const head = await ops.headObject(client, a.job.bucket, a.job.key);
    const expected = normalizeEtag(multipartEtag(parts.map((p) => p.md5!)));
    if (!head || normalizeEtag(head.etag) !== expected || head.size !== a.job.size) return false;
    this.store.db.transaction(() => {
      this.store.transition(a.job.id, ['running'], 'completing');
      this.store.transition(a.job.id, ['completing'], 'done', { etag: expected, error: null });
      this.store.addEvent(a.job.id, 'done', `The upload had already been completed before an interruption; the object's ETag ${expected} matches our record.`);
    })();
    this.release(a);
    return true;
  }

  /** A crash between CreateMultipartUpload and recording its id leaves an upload only we know of: abort it. */
  private async cleanUpInterruptedCreate(a: ActiveJob, client: S3Client, since: number): Promise<void> {
    const live = this.store.liveUploadIds();
    try {
      for await (const u of ops.listMultipartUploads(client, a.job.bucket, a.job.key)) {
        if (u.key !== a.job.key || live.has(u.uploadId)) continue;
        if (u.initiated && u.initiated.getTime() < since - 60_000) continue;
        this.store.queueRemoteAbort({ destinationId: a.dest.id, bucket: a.job.bucket, key: a.job.key, uploadId: u.uploadId, jobId: a.job.id, reason: 'created before an interruption, never recorded' });
      }
    } catch (err) {
      this.store.addEvent(a.job.id, 'cleanup-skipped', 'Could not list uploads to clean up after an interrupted create; an unrecorded upload may remain until a lifecycle rule removes it.', toHoistError(err).info);
    }
    this.store.markCreateStarted(a.job.id, null);
  }

  private objectSettings(a: ActiveJob): ObjectSettings {
    return {
      contentType: a.job.contentType,
      // A growing file's size and mtime are not known yet when its upload is created.
      metadata: a.job.growing ? {} : { 'source-mtime': new Date(a.job.mtimeMs).toISOString(), 'source-size': String(a.job.size) },
      storageClass: a.dest.storageClass,
      sse: a.dest.sse,
      sseKmsKeyId: a.dest.sseKmsKeyId,
    };
  }

  // ---- sending parts ----

  private dispatch(a: ActiveJob, part: PartRecord, lane: Lane): void {
    if (!this.store.markPartSending(a.job.id, part.partNumber)) return;
    const flight: InFlight = { taskId: 0, partNumber: part.partNumber, length: part.length, bytesSent: 0, rank: rankOf(a) };
    lane.inflight++;
    lane.inflightByRank[flight.rank]!++;
    let signedWith = 0;
    const onProgress = (n: number) => {
      lane.addBytes(n - flight.bytesSent);
      flight.bytesSent = n;
    };
    a.inflight.set(part.partNumber, flight);
    this.track(
      (async () => {
        let outcome: TaskOutcome;
        try {
          const conn = await this.conn(a.dest, 1);
          signedWith = conn.clockOffsetMs;
          if (a.stopping) {
            outcome = { ok: false, error: new HoistError('internal.unexpected').info, aborted: true, bytesSent: 0 };
          } else {
            const etagIsMd5 = a.dest.sse !== 'aws:kms' && a.dest.sse !== 'aws:kms:dsse';
            const base = {
              path: a.job.sourcePath, offset: part.offset, length: part.length, snapshot: snapshotOf(a.job), checksumAlgorithm: a.job.checksumAlgorithm,
              conn, bucket: a.job.bucket, key: a.job.key, etagIsMd5,
              ...(this.opts.bandwidth ? { bandwidth: this.opts.bandwidth.memoryFor(a.dest.id) } : {}),
            };
            const run =
              a.job.mode === 'single'
                ? this.pool.run({ ...base, kind: 'put-object', object: this.objectSettings(a) }, onProgress)
                : this.pool.run({ ...base, kind: 'upload-part', uploadId: a.job.uploadId!, partNumber: part.partNumber }, onProgress);
            flight.taskId = run.taskId;
            outcome = await run.outcome;
          }
        } catch (err) {
          outcome = { ok: false, error: toHoistError(err).info, aborted: false, bytesSent: 0 };
        }
        lane.inflight--;
        lane.inflightByRank[flight.rank]!--;
        // The last progress report may not have come before the answer.
        if (outcome.ok) lane.addBytes(part.length - flight.bytesSent);
        a.inflight.delete(part.partNumber);
        this.onPartSettled(a, part, outcome, lane, signedWith);
      })(),
    );
  }

  private onPartSettled(a: ActiveJob, part: PartRecord, o: TaskOutcome, lane: Lane, signedWith: number): void {
    if (o.ok) {
      // Invariant 1: the part is done only once S3 returned its ETag, and that row is committed.
      this.recordPartDone({ jobId: a.job.id, partNumber: part.partNumber, etag: normalizeEtag(o.result.etag ?? ''), md5Hex: o.result.md5Hex, checksum: o.result.checksum });
      a.bytesAcked += part.length;
      a.partsDone++;
      a.samples.push({ at: Date.now(), bytes: a.bytesAcked });
      if (a.job.checksumAlgorithm && !o.result.checksumVerified && !a.checksumUnverifiedNoted) {
        a.checksumUnverifiedNoted = true;
        this.store.addEvent(a.job.id, 'checksum-unverified', `The server accepted the ${a.job.checksumAlgorithm} checksum without verifying it (it did not echo it back); Content-MD5 still protects every part.`);
      }
      if (a.job.attempts > 0) this.store.resetAttempts(a.job.id), (a.job.attempts = 0);
    } else if (o.aborted || a.stopping) {
      this.store.markPartPending(a.job.id, part.partNumber, 0, o.bytesSent > 0);
    } else {
      this.onPartFailed(a, part, o, lane, signedWith);
    }
    if (a.stopping && a.inflight.size === 0 && a.phase !== 'preparing') this.release(a);
    else this.tick();
  }

  private onPartFailed(a: ActiveJob, part: PartRecord, o: Extract<TaskOutcome, { ok: false }>, lane: Lane, signedWith: number): void {
    const err = fromErrorInfo(o.error);
    if (err.code === 'auth.clock-skew' && this.clockCorrected(a, o.clockOffsetMs, signedWith)) {
      // Refused only for the time it was signed with: at once again, signed with the server's time.
      this.store.markPartPending(a.job.id, part.partNumber);
      return;
    }
    if (isSourceProblem(err.code)) {
      this.store.markPartPending(a.job.id, part.partNumber);
      this.track(this.onSourceProblem(a, err));
      return;
    }
    if (err.code === 's3.no-such-upload') {
      this.store.markPartPending(a.job.id, part.partNumber);
      this.store.addEvent(a.job.id, 'upload-lost', 'The multipart upload vanished from the server while parts were being sent; starting it afresh.', err.info);
      this.halt(a);
      this.afterHalt(a, () => {
        this.store.resetParts(a.job.id);
        this.store.setUploadId(a.job.id, null);
        this.store.transition(a.job.id, ['running'], 'queued', { availableAt: 0 });
      });
      return;
    }
    if (err.code === 's3.slow-down') lane.onSlowDown(Date.now());
    else if (err.code.startsWith('net.') || err.code === 's3.server-error') lane.onError(Date.now());
    const attempts = this.store.parts(a.job.id).find((p) => p.partNumber === part.partNumber)?.attempts ?? 1;
    if (isRetryable(err.code) && attempts < this.retry.partAttempts) {
      const delay = backoffDelay(attempts, this.retry);
      this.store.markPartPending(a.job.id, part.partNumber, Date.now() + delay);
      this.store.addEvent(a.job.id, 'part-retry', `Part ${part.partNumber} failed (${err.message}); retrying in ${(delay / 1000).toFixed(1)} s.`, err.info);
      return;
    }
    this.store.markPartPending(a.job.id, part.partNumber);
    this.failJob(a, err);
  }

  // ---- the server's clock (s3/clock.ts) ----

  /** A control-plane client's answers may have shown the server's clock to be elsewhere. */
  private observeClock(a: ActiveJob, client: S3Client): void {
    this.learnClock(a, observedClockOffset(client));
  }

  /** True when the server's clock is now known to differ from the one a refused request was signed with. */
  private clockCorrected(a: ActiveJob, observed: number | undefined, signedWith: number): boolean {
    this.learnClock(a, observed);
    return Math.abs(this.clocks.offsetFor(a.dest) - signedWith) >= CLOCK_SKEW_NOTICE_MS;
  }

  /** Takes an offset an answer showed; one that moves the destination's clock is told in the job's history. */
  private learnClock(a: ActiveJob, observed: number | undefined): void {
    const learned = this.clocks.learn(a.dest, observed);
    if (learned === null) return;
    this.store.addEvent(
      a.job.id,
      'clock-corrected',
      `This computer's clock is ${describeSkew(learned)} the server's, which refuses requests signed far from its own time. Hoist signs with the server's time from now on; set the system clock right (NTP) when you can.`,
      { code: 'auth.clock-skew' },
    );
  }

  // ---- completing ----

  private async complete(a: ActiveJob): Promise<void> {
    const { job } = a;
    try {
      if (!this.store.transition(job.id, ['running'], 'completing')) {
        this.release(a);
        return;
      }
      this.emitJob(job.id);
      if (job.growing === 2 && !(await this.verifyGrownParts(a))) return;
      const snap = await this.statSource(job.sourcePath);
      if (!snap) throw new HoistError('source.missing', { detail: job.sourcePath });
      if (!sameSnapshot(snap, job)) {
        this.store.transition(job.id, ['completing'], 'running');
        await this.restartForChangedSource(a, snap);
        return;
      }
      // Never completed before its hashes are known and agree with the source's history.
      this.startHashing(a);
      if (await a.hashing) return;
      if (a.stopping) {
        this.release(a);
        return;
      }
      const parts = this.store.parts(job.id);
      let etag: string;
      if (job.mode === 'single') {
        etag = parts[0]?.etag ?? '';
      } else {
        const client = await this.client(a.dest);
        const expected = normalizeEtag(multipartEtag(parts.map((p) => p.md5 ?? '')));
        try {
          // Invariant 2: Complete is sent from our own record, never from a listing.
          const out = await ops.completeMultipartUpload(client, job.bucket, job.key, job.uploadId!, parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag ?? '', checksum: p.checksum })), job.checksumAlgorithm);
          etag = normalizeEtag(out.etag);
          // Some servers (radosgw 16) answer Complete with an empty ETag; the object itself has it.
          if (!etag) etag = await this.etagFromHead(a, client);
        } catch (err) {
          const e = toHoistError(err);
          if (e.code !== 's3.no-such-upload') throw e;
          // A Complete that succeeded just before a crash looks like this: the object is there with our ETag.
          const head = await ops.headObject(client, job.bucket, job.key);
          if (!head || normalizeEtag(head.etag) !== expected) {
            this.store.addEvent(job.id, 'upload-lost', 'The multipart upload vanished before it could be completed; starting it afresh.', e.info);
            this.store.resetParts(job.id);
            this.store.setUploadId(job.id, null);
            this.store.transition(job.id, ['completing'], 'queued', { availableAt: 0 });
            this.release(a);
            return;
          }
          etag = normalizeEtag(head.etag);
        }
        const verifiable = a.dest.sse !== 'aws:kms' && a.dest.sse !== 'aws:kms:dsse' && etag !== '';
        if (verifiable && etag !== expected) {
          throw new HoistError('s3.etag-mismatch', { operation: 'CompleteMultipartUpload', detail: `server ${etag}, expected ${expected}` });
        }
      }
      this.store.db.transaction(() => {
        this.store.transition(job.id, ['completing'], 'done', { etag: etag || null, error: null });
        this.store.addEvent(job.id, 'done', etag ? `Uploaded and verified (ETag ${etag}).` : 'Uploaded; every part was verified by Content-MD5 (the final ETag was not available to check).');
      })();
      this.release(a);
    } catch (err) {
      this.failJob(a, toHoistError(err));
    }
  }

  /** The object's ETag by HeadObject; '' (and a note in the history) when HeadObject is not permitted. */
  private async etagFromHead(a: ActiveJob, client: S3Client): Promise<string> {
    try {
      return normalizeEtag((await ops.headObject(client, a.job.bucket, a.job.key))?.etag ?? '');
    } catch (err) {
      const e = toHoistError(err);
      if (e.code !== 's3.access-denied') throw e;
      this.store.addEvent(a.job.id, 'etag-unverified', 'The server returned no ETag for the completed object and HeadObject is not permitted, so the final ETag could not be checked (every part was verified by Content-MD5).', e.info);
      return '';
    }
  }

  // ---- growing files (issue 3) ----

  /** The watcher appends parts and, once the file is stable, its final snapshot: take both up. */
  private refreshGrowing(a: ActiveJob): void {
    const fresh = this.store.getJob(a.job.id);
    if (fresh) a.job = { ...fresh, uploadId: a.job.uploadId ?? fresh.uploadId };
  }

  /**
   * Invariant 3's exception: a grown file's parts are hashed again before Complete, and a part whose
   * bytes changed since it was sent (a header rewritten at the end) goes again under the same number.
   * Returns true when every part still matches and Complete may follow.
   */
  private async verifyGrownParts(a: ActiveJob): Promise<boolean> {
    const parts = this.store.parts(a.job.id);
    const changed: PartRecord[] = [];
    for (let i = 0; i < parts.length && !a.stopping; i += a.dest.concurrency) {
      const batch = parts.slice(i, i + a.dest.concurrency);
      const outcomes = await Promise.all(
        batch.map((p) => this.pool.run({ kind: 'hash-range', path: a.job.sourcePath, offset: p.offset, length: p.length, snapshot: snapshotOf(a.job), checksumAlgorithm: a.job.checksumAlgorithm }).outcome),
      );
      const failed = outcomes.find((o) => !o.ok);
      if (failed && !failed.ok) {
        const err = fromErrorInfo(failed.error);
        const snap = err.code === 'source.changed' ? await this.statSource(a.job.sourcePath) : null;
        if (!snap) throw err;
        // Changed again after it stopped growing: uploaded afresh as it now is, like any other file.
        await this.restartForChangedSource(a, snap);
        return false;
      }
      outcomes.forEach((o, k) => {
        if (o.ok && o.result.md5Hex !== batch[k]!.md5) changed.push(batch[k]!);
      });
    }
    if (a.stopping) {
      this.release(a);
      return false;
    }
    this.store.db.transaction(() => {
      for (const p of changed) this.store.resendPart(a.job.id, p.partNumber);
      this.store.setGrowing(a.job.id, 0);
      if (changed.length > 0) {
        this.store.addEvent(a.job.id, 'parts-changed', `Part(s) ${changed.map((p) => p.partNumber).join(', ')} changed after they were sent (the file was rewritten as it was finished); they are sent again before Complete.`);
      }
    })();
    a.job.growing = 0;
    if (changed.length === 0) return true;
    for (const p of changed) a.bytesAcked -= p.length;
    a.partsDone -= changed.length;
    this.store.transition(a.job.id, ['completing'], 'running');
    a.phase = 'sending';
    this.emitJob(a.job.id);
    this.tick();
    return false;
  }

  // ---- whole-file hashes and the source's ASC MHL history (issue 8) ----

  /** Starts the hash pass once per activation; its problem (a mismatch, a changed file) is handled here, whoever waits. */
  private startHashing(a: ActiveJob): void {
    if (a.hashing) return;
    a.hashing = this.hashAndVerify(a).then(
      () => null,
      (err) => toHoistError(err),
    );
    this.track(
      a.hashing.then(async (err) => {
        if (!err || a.stopping) return;
        if (isSourceProblem(err.code)) await this.onSourceProblem(a, err);
        else this.failJob(a, err);
      }),
    );
  }

  /**
   * Hashes the whole file in one in-order read (worker thread, snapshot checked before and after, as
   * every part is) and checks the result against the newest generation of the root's history that
   * lists the file. Hashes already recorded for this snapshot (before a crash) are not computed again.
   */
  private async hashAndVerify(a: ActiveJob): Promise<void> {
    const { job } = a;
    const history = job.mhlRoot && job.mhlPath ? await this.histories.forRoot(job.mhlRoot) : null;
    const record = history?.lookup(job.mhlPath!) ?? null;
    // The history's own formats are added, so that it can vouch for the file whatever was asked for.
    const wanted = FILE_HASH_ALGORITHMS.filter((alg) => job.hashAlgorithms.includes(alg) || (record && recordAlgorithms(record).includes(alg)));
    if (wanted.length === 0) return;
    let hashes: FileHashes = job.hashes;
    const missing = wanted.filter((alg) => hashes[alg] === undefined);
    if (missing.length > 0) {
      const snap = snapshotOf(job);
      // The pass of a growing file starts only once it has stopped growing, so its snapshot is final.
      const resume = this.store.hashCheckpoint(job.id, snap, wanted);
      if (resume) this.store.addEvent(job.id, 'hash-resumed', `Hashing goes on from ${formatBytes(resume.offset)} of ${formatBytes(job.size)}, where the previous pass stopped.`);
      a.hashedBytes = resume?.offset ?? 0;
      const run = this.pool.run(
        { kind: 'hash-file', path: job.sourcePath, offset: 0, length: job.size, snapshot: snap, checksumAlgorithm: null, algorithms: wanted, checkpointEvery: this.opts.hashCheckpointBytes ?? DEFAULT_HASH_CHECKPOINT_BYTES, ...(resume ? { resume } : {}) },
        (n) => (a.hashedBytes = n),
        (cp) => {
          try {
            this.store.saveHashCheckpoint(job.id, snap, wanted, cp);
          } catch {
            // Only a shortcut for later (the job may be gone, the disk full): the pass itself goes on.
            return;
          }
          this.emit('hash-checkpoint', { jobId: job.id, offset: cp.offset });
        },
      );
      a.hashTaskId = run.taskId;
      const o = await run.outcome;
      a.hashTaskId = undefined;
      a.hashedBytes = undefined;
      if (!o.ok) {
        if (o.aborted || a.stopping) return;
        // The file is not what the checkpoint hashed (changed, gone, unreadable): nothing to go on from.
        this.store.clearHashCheckpoint(job.id);
        throw fromErrorInfo(o.error);
      }
      hashes = { ...hashes, ...o.result.fileHashes };
      if (resume && o.result.hashedFrom === 0) this.store.addEvent(job.id, 'hash-restarted', 'The saved state of the previous pass could not be loaded; the file was hashed from the start.');
    }
    if (a.stopping) return;
    let verifiedBy: HashVerification | null = null;
    try {
      verifiedBy = record ? verifyAgainstHistory(job.sourcePath, job.mhlRoot!, record, hashes) : null;
    } finally {
      // Kept even on a mismatch: the user sees both values.
      this.store.setHashes(job.id, hashes, verifiedBy);
      // Recorded: the pass is over (a pass that ended as the job stopped is not, and goes on from its checkpoint).
      this.store.clearHashCheckpoint(job.id);
      a.job.hashes = hashes;
      a.job.verifiedBy = verifiedBy;
    }
    if (missing.length > 0 || verifiedBy) {
      const list = wanted.map((alg) => `${alg} ${hashes[alg]}`).join(', ');
      this.store.addEvent(job.id, 'hashed', verifiedBy ? `Hashed (${list}); matches ${verifiedBy.manifest} of the source's ASC MHL history.` : `Hashed (${list}).`);
    }
  }

  // ---- source changes ----

  private async statSource(file: string): Promise<SourceSnapshot | null> {
    try {
      const st = await fs.promises.stat(file, { bigint: true });
      return { size: Number(st.size), mtimeMs: Number(st.mtimeMs), inode: st.ino.toString() };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw toHoistError(err, 'ReadSource');
    }
  }

  private async onSourceProblem(a: ActiveJob, err: HoistError): Promise<void> {
    if (a.stopping) return;
    if (err.code !== 'source.changed') {
      this.failJob(a, err);
      return;
    }
    const snap = await this.statSource(a.job.sourcePath);
    if (!snap) {
      this.failJob(a, new HoistError('source.missing', { detail: a.job.sourcePath }));
      return;
    }
    await this.restartForChangedSource(a, snap);
  }

  /** Invariant 3: a changed source is never completed with mixed content; the upload starts again. */
  private async restartForChangedSource(a: ActiveJob, snap: SourceSnapshot): Promise<void> {
    const job = this.store.getJob(a.job.id)!;
    if (job.restarts >= this.retry.sourceRestarts) {
      this.failJob(a, new HoistError('source.changed', { detail: `changed ${job.restarts + 1} times during upload` }));
      return;
    }
    this.halt(a);
    await this.whenIdle(a);
    let plan;
    try {
      plan = planParts(snap.size, a.dest);
    } catch (e) {
      this.failJob(a, toHoistError(e));
      return;
    }
    this.store.db.transaction(() => {
      if (job.uploadId) {
        this.store.queueRemoteAbort({ destinationId: a.dest.id, bucket: job.bucket, key: job.key, uploadId: job.uploadId, jobId: job.id, reason: 'source changed' });
      }
      this.store.replanJob(job.id, { ...snap, mode: plan.mode, partSize: plan.partSize }, plan.parts);
      // A grown file that changed again is uploaded afresh as it now is, like any other.
      if (job.growing) this.store.setGrowing(job.id, 0);
      this.store.addEvent(job.id, 'source-changed', 'The source file changed during the upload; the upload starts again so the object is never a mix of old and new bytes.', { code: 'source.changed' });
      this.store.transition(job.id, ['running', 'completing'], 'queued', { availableAt: 0 });
    })();
    this.active.delete(a.job.id);
    this.emitJob(job.id);
    this.tick();
  }

  // ---- failing, halting, releasing ----

  private failJob(a: ActiveJob, failure: HoistError): void {
    const creds = this.signedWith.get(a.dest.id);
    const err = creds ? fromErrorInfo(explainDenied(failure.info, creds)) : failure;
    // Not the job's fault: it waits, its parts in flight go on, and it is taken up again once there is room.
    if (err.code === 'db.full') return this.enterStorageFull(err);
    this.halt(a);
    this.afterHalt(a, () => {
      const job = this.store.getJob(a.job.id);
      if (!job || (job.state !== 'running' && job.state !== 'completing')) return;
      // An unreadable source (permissions, an unmounted share) keeps its upload: the parts sent are
      // the file's own bytes and access usually comes back; retry resumes it, cancel aborts it.
      const fatalSource = err.code === 'source.missing' || err.code === 'source.changed' || err.code === 'source.hash-mismatch';
      if (fatalSource && job.uploadId) {
        // No object can come of this upload: settle it now rather than bill the user for its parts.
        this.store.queueRemoteAbort({ destinationId: a.dest.id, bucket: job.bucket, key: job.key, uploadId: job.uploadId, jobId: job.id, reason: err.code });
        this.store.setUploadId(job.id, null);
        this.store.resetParts(job.id);
      }
      const attempts = this.store.bumpAttempts(job.id);
      if (isRetryable(err.code) && attempts < this.retry.jobAttempts) {
        const delay = backoffDelay(attempts, { ...this.retry, baseDelayMs: this.retry.baseDelayMs * 4 });
        this.store.transition(job.id, ['running', 'completing'], 'queued', { error: err.info, availableAt: Date.now() + delay });
        this.store.addEvent(job.id, 'retry', `${err.message} Retrying the job in ${(delay / 1000).toFixed(1)} s.`, err.info);
      } else {
        this.store.transition(job.id, ['running', 'completing'], 'failed', { error: err.info });
        this.store.addEvent(job.id, 'failed', err.message + (err.info.detail ? ` (${err.info.detail})` : ''), err.info);
      }
    });
  }

  /** Stops the traffic of a job: aborts its parts in flight. */
  private halt(a: ActiveJob): void {
    a.stopping = true;
    for (const f of a.inflight.values()) if (f.taskId) this.pool.abort(f.taskId);
    if (a.hashTaskId) this.pool.abort(a.hashTaskId);
    if (a.inflight.size === 0 && a.phase !== 'preparing') this.release(a);
  }

  private afterHalt(a: ActiveJob, fn: () => void): void {
    this.track(
      this.whenIdle(a).then(() => {
        fn();
        this.active.delete(a.job.id);
        this.emitJob(a.job.id);
        this.tick();
      }),
    );
  }

  private async whenIdle(a: ActiveJob): Promise<void> {
    while (a.inflight.size > 0) await new Promise((r) => setTimeout(r, 20));
  }

  private release(a: ActiveJob): void {
    if (this.active.get(a.job.id) !== a) return;
    if (a.inflight.size > 0) return;
    this.active.delete(a.job.id);
    this.emitJob(a.job.id);
  }

  // ---- a full disk under the database ----

  private recordPartDone(p: UnrecordedPart): void {
    try {
      this.store.markPartDone(p.jobId, p.partNumber, p.etag, p.md5Hex, p.checksum);
    } catch (err) {
      const e = toHoistError(err);
      if (e.code !== 'db.full') throw err;
      this.enterStorageFull(e);
      this.storageFull!.unrecorded.push(p);
    }
  }

  private enterStorageFull(e: HoistError): void {
    if (this.storageFull) return;
    this.storageFull = { unrecorded: [], lastTry: Date.now() };
    this.emit('storage', { full: true, error: e.info });
  }

  /**
   * True once the database takes writes again and what waited is recorded. Until then nothing new
   * starts; parts on the wire and a Create or Complete under way finish first (their answers wait
   * in memory). Then, as after a crash, the jobs that were open go back to the queue and are
   * reconciled with the server; a part acknowledged but never recorded is adopted there.
   */
  private recoverStorage(): boolean {
    const full = this.storageFull!;
    if (this.tasks.size > 0 || Date.now() - full.lastTry < STORAGE_RETRY_MS) return false;
    full.lastTry = Date.now();
    try {
      this.store.db.transaction(() => {
        for (const p of full.unrecorded) this.store.markPartDone(p.jobId, p.partNumber, p.etag, p.md5Hex, p.checksum);
        this.store.recoverInterrupted();
      })();
    } catch (err) {
      if (toHoistError(err).code === 'db.full') return false;
      throw err;
    }
    this.active.clear();
    for (const lane of this.lanes.all()) (lane.inflight = 0), lane.inflightByRank.fill(0);
    this.storageFull = null;
    this.emit('storage', { full: false, recorded: full.unrecorded.length });
    this.emitAll();
    return true;
  }

  // ---- remote aborts owed (invariant 4) ----

  private settleRemoteAborts(opts: { all?: boolean } = {}): Promise<void> {
    const pass = (async () => {
      for (const item of this.store.dueRemoteAborts(20, opts)) await this.settleRemoteAbort(item);
    })().finally(() => {
      if (this.abortsInFlight === pass) this.abortsInFlight = null;
    });
    this.abortsInFlight = pass;
    return pass;
  }

  private async settleRemoteAbort(item: RemoteAbort): Promise<void> {
    const dest = this.store.getDestination(item.destinationId);
    if (!dest) {
      this.store.remoteAbortDone(item.id);
      return;
    }
    const job = item.jobId ? this.store.getJob(item.jobId) : undefined;
    try {
      await ops.abortMultipartUpload(await this.client(dest), item.bucket, item.key, item.uploadId);
    } catch (err) {
      const e = toHoistError(err, 'AbortMultipartUpload');
      if (e.code !== 's3.no-such-upload') {
        this.store.remoteAbortFailed(item.id, `${e.code}${e.info.operation ? ` (${e.info.operation})` : ''}: ${e.message}`, Date.now() + backoffDelay(item.attempts + 1, this.retry));
        if (job && item.attempts === 0) this.store.addEvent(job.id, 'abort-retry', `Could not abort multipart upload ${item.uploadId} yet: ${e.message} Hoist tries again whenever it works the queue.`, e.info);
        // A cancelled job shows why its upload is still on the server, until the abort goes through.
        if (job?.state === 'cancelled') this.store.setJobError(job.id, e.info);
        return;
      }
    }
    this.store.remoteAbortDone(item.id);
    if (!job) return;
    this.store.addEvent(job.id, 'aborted', `Aborted multipart upload ${item.uploadId} (${item.reason}).`);
    if (job.state === 'cancelled' && job.error?.operation === 'AbortMultipartUpload') this.store.setJobError(job.id, null);
  }

  /** Tries every owed abort now, back-off or not (for commands that settle them before they return); returns those still owed. */
  async drainRemoteAborts(): Promise<RemoteAbort[]> {
    while (this.abortsInFlight) await this.abortsInFlight.catch(() => undefined);
    await this.settleRemoteAborts({ all: true });
    return this.store.dueRemoteAborts(1000, { all: true });
  }

  // ---- events ----

  private emitJob(jobId: number): void {
    const job = this.store.getJob(jobId);
    if (job) this.emit('job', job);
  }

  private emitAll(): void {
    for (const job of this.store.listJobs({ states: ['queued'] })) this.emit('job', job);
  }

  private progressOf(a: ActiveJob, now: number): JobProgress {
    let onWire = 0;
    for (const f of a.inflight.values()) onWire += f.bytesSent;
    const bytesSent = Math.min(a.job.size, a.bytesAcked + onWire);
    a.samples.push({ at: now, bytes: bytesSent });
    while (a.samples.length > 2 && now - a.samples[0]!.at > RATE_WINDOW_MS) a.samples.shift();
    const first = a.samples[0]!;
    const span = (now - first.at) / 1000;
    const rate = span > 0.5 ? Math.max(0, (bytesSent - first.bytes) / span) : 0;
    return {
      jobId: a.job.id,
      state: a.phase === 'completing' ? 'completing' : ('running' as JobState),
      bytesSent,
      size: a.job.size,
      partsDone: a.partsDone,
      partCount: a.job.partCount,
      rate,
      etaSeconds: rate > 0 ? (a.job.size - bytesSent) / rate : null,
      ...(a.hashedBytes !== undefined ? { hashedBytes: a.hashedBytes } : {}),
    };
  }

  private emitProgress(): void {
    if (this.active.size === 0) return;
    this.emit('progress', this.progress());
  }

  /** True while any job has traffic or preparation under way. */
  get busy(): boolean {
    return this.active.size > 0 || this.tasks.size > 0;
  }
}

/** The source file changed, vanished or cannot be read: onSourceProblem restarts the upload or fails the job. */
function isSourceProblem(code: string): boolean {
  return code === 'source.changed' || code === 'source.missing' || code === 'source.unreadable';
}

function rankOf(a: ActiveJob): number {
  return PRIORITY_RANK[a.job.priority];
}

function byPriority(x: ActiveJob, y: ActiveJob): number {
  return rankOf(x) - rankOf(y) || x.job.id - y.job.id;
}

function snapshotOf(job: JobRecord): SourceSnapshot {
  return { size: job.size, mtimeMs: job.mtimeMs, inode: job.inode, ...(job.growing === 1 ? { growing: true } : {}) };
}

function sameSnapshot(s: SourceSnapshot, job: JobRecord): boolean {
  return s.size === job.size && s.mtimeMs === job.mtimeMs && s.inode === job.inode;
}
