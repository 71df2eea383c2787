import os from 'node:os';
import type { Db } from './db.js';
import type { JobSortKey } from '../../../shared/contract.js';
import type { CredentialOrigin, Destination, DestinationInput, HashVerification, Job, JobEvent, Part } from '../../../shared/types.js';
import type { ChecksumAlgorithm, FileHashAlgorithm, FileHashes, JobState, Priority, UploadMode } from '../../../shared/states.js';
import { PRIORITIES } from '../../../shared/states.js';
import type { ErrorInfo } from '../../../shared/errors.js';
import { isErrorCode } from '../../../shared/errors.js';
import type { HashStates } from '../upload/file-hashes.js';
import type { HashCheckpoint, SourceSnapshot } from '../upload/tasks.js';
import { OwedWorkStore, type OwedItem } from './owed-store.js';

/** A job row as the engine needs it (internal fields included). */
export interface JobRecord extends Job {
  destination: string;
  mtimeMs: number;
  inode: string;
  contentType: string;
  createStartedAt: number | null;
  availableAt: number;
  restarts: number;
  /** 0: an ordinary job; 1: its file is still growing; 2: grown, parts are verified before Complete (issue 3). */
  growing: GrowingState;
  /** The local folder whose ASC MHL history describes the file (issue 8), and the file's path under it. */
  mhlRoot: string | null;
  mhlPath: string | null;
  /** The generation of the root's history in the bucket that lists the file, once written. */
  mhlGeneration: number | null;
}

export type GrowingState = 0 | 1 | 2;

/** Where a file sits for ASC MHL: its root folder and `/`-separated path under it. */
export interface MhlPlace {
  root: string;
  path: string;
}

export interface NewJob {
  destinationId: number;
  sourcePath: string;
  bucket: string;
  key: string;
  size: number;
  mtimeMs: number;
  inode: string;
  contentType: string;
  mode: UploadMode;
  partSize: number;
  priority: Priority;
  checksumAlgorithm: ChecksumAlgorithm | null;
  /** 1 for a file that is still being written (its parts are appended as it grows). */
  growing?: GrowingState;
  /** Whole-file hashes to compute (issue 8). */
  hashAlgorithms?: readonly FileHashAlgorithm[];
  mhl?: MhlPlace | null;
  batchId?: number | null;
}

export interface PlannedPart {
  partNumber: number;
  offset: number;
  length: number;
}

export interface PartRecord extends Part {
  jobId: number;
  attempts: number;
  availableAt: number;
}

export interface RemoteAbort {
  id: number;
  destinationId: number;
  bucket: string;
  key: string;
  uploadId: string;
  jobId: number | null;
  reason: string;
  attempts: number;
  /** What the server said at the last try ("s3.access-denied (AbortMultipartUpload): …"), null before one failed. */
  lastError: string | null;
}

type Row = Record<string, unknown>;

const iso = (ms: unknown): string | null => (typeof ms === 'number' ? new Date(ms).toISOString() : null);

function toDestination(r: Row): Destination {
  return {
    id: r.id as number,
    name: r.name as string,
    endpoint: (r.endpoint as string | null) ?? null,
    region: r.region as string,
    bucket: r.bucket as string,
    prefix: r.prefix as string,
    pathStyle: r.path_style === 1,
    profile: (r.profile as string | null) ?? null,
    storageClass: (r.storage_class as string | null) ?? null,
    sse: (r.sse as string | null) ?? null,
    sseKmsKeyId: (r.sse_kms_key_id as string | null) ?? null,
    partSize: r.part_size as number,
    concurrency: r.concurrency as number,
    singlePutThreshold: r.single_put_threshold as number,
    maxObjectSize: r.max_object_size as number,
    maxParts: r.max_parts as number,
    checksumAlgorithm: (r.checksum_algorithm as ChecksumAlgorithm | null) ?? null,
    credentials: (r.credentials as CredentialOrigin | undefined) ?? 'chain',
  };
}

function toError(r: Row): ErrorInfo | null {
  if (!isErrorCode(r.error_code)) return null;
  return {
    code: r.error_code,
    message: (r.error_message as string) ?? '',
    ...(r.error_operation ? { operation: r.error_operation as string } : {}),
  };
}

function toJob(r: Row): JobRecord {
  return {
    id: r.id as number,
    destinationId: r.destination_id as number,
    destination: (r.destination_name as string | null) ?? '',
    sourcePath: r.source_path as string,
    bucket: r.bucket as string,
    key: r.key as string,
    size: r.size as number,
    state: r.state as JobState,
    priority: PRIORITIES[r.priority as number] ?? 'normal',
    mode: r.mode as UploadMode,
    partSize: r.part_size as number,
    partCount: r.part_count as number,
    partsDone: (r.parts_done as number) ?? 0,
    bytesDone: (r.bytes_done as number) ?? 0,
    checksumAlgorithm: (r.checksum_algorithm as ChecksumAlgorithm | null) ?? null,
    uploadId: (r.upload_id as string | null) ?? null,
    etag: (r.etag as string | null) ?? null,
    error: toError(r),
    attempts: r.attempts as number,
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    mtimeMs: r.mtime_ms as number,
    inode: r.inode as string,
    contentType: r.content_type as string,
    createStartedAt: (r.create_started_at as number | null) ?? null,
    availableAt: r.available_at as number,
    restarts: r.restarts as number,
    growing: ((r.growing as number | undefined) ?? 0) as GrowingState,
    hashAlgorithms: parseJson<FileHashAlgorithm[]>(r.hash_algorithms, []),
    hashes: parseJson<FileHashes>(r.hashes, {}),
    verifiedBy: parseJson<HashVerification | null>(r.verified_by, null),
    batchId: (r.batch_id as number | null) ?? null,
    mhlRoot: (r.mhl_root as string | null) ?? null,
    mhlPath: (r.mhl_path as string | null) ?? null,
    mhlGeneration: (r.mhl_generation as number | null) ?? null,
  };
}

function parseJson<T>(v: unknown, fallback: T): T {
  return typeof v === 'string' ? (JSON.parse(v) as T) : fallback;
}

function toPart(r: Row): PartRecord {
  return {
    jobId: r.job_id as number,
    partNumber: r.part_number as number,
    offset: r.offset as number,
    length: r.length as number,
    state: r.state as Part['state'],
    etag: (r.etag as string | null) ?? null,
    md5: (r.md5_hex as string | null) ?? null,
    checksum: (r.checksum as string | null) ?? null,
    sends: r.sends as number,
    attempts: r.attempts as number,
    availableAt: r.available_at as number,
  };
}

/** Owed work of this kind (store/owed-store.ts): an upload to abort, by its id. */
export const REMOTE_ABORT = 'remote-abort';
export type RemoteAbortPayload = Omit<RemoteAbort, 'id' | 'attempts' | 'lastError'>;

function toRemoteAbort(o: OwedItem<RemoteAbortPayload>): RemoteAbort {
  return { ...o.payload, id: o.id, attempts: o.attempts, lastError: o.lastError };
}

/** SQL for each sort key of the jobs table (fixed strings: nothing from the caller reaches the SQL). */
const JOB_SORT_COLUMNS: Record<JobSortKey, string> = {
  id: 'j.id',
  state: 'j.state',
  size: 'j.size',
  // The same expression as the jobs_by_progress index, so that index serves the sort.
  progress: `CASE WHEN state = 'done' THEN 1.0 ELSE bytes_done * 1.0 / max(size, 1) END`,
  createdAt: 'j.created_at',
};

const ID_SLICE = 10_000;

// parts_done and bytes_done are kept by triggers on parts (migration 6), so a page of jobs reads no parts.
const JOB_SELECT = `SELECT j.*, (SELECT name FROM destinations d WHERE d.id = j.destination_id) AS destination_name FROM jobs j`;

/**
 * The only module that speaks SQL. The scheduler sees this interface, so another store
 * (PostgreSQL with leases, for a shared queue) can replace it without the scheduler changing.
 */
export class JobStore {
  private readonly s;
  /** Work owed until it succeeds; the remote aborts below are one kind of it. */
  readonly owed: OwedWorkStore;

  constructor(readonly db: Db, private readonly now: () => number = Date.now) {
    this.owed = new OwedWorkStore(db, now);
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      destById: p('SELECT * FROM destinations WHERE id = ?'),
      destByName: p('SELECT * FROM destinations WHERE name = ?'),
      destList: p('SELECT * FROM destinations ORDER BY id'),
      jobById: p(`${JOB_SELECT} WHERE j.id = ?`),
      jobsByUpload: p('SELECT id FROM jobs WHERE upload_id = ?'),
      parts: p('SELECT * FROM parts WHERE job_id = ? ORDER BY part_number'),
      nextParts: p(`SELECT * FROM parts WHERE job_id = ? AND state = 'pending' AND available_at <= ?
                    ORDER BY part_number LIMIT ?`),
      countPending: p(`SELECT count(*) AS n FROM parts WHERE job_id = ? AND state != 'done'`),
      setPartSending: p(`UPDATE parts SET state = 'sending', attempts = attempts + 1, sends = sends + 1, updated_at = ?
                         WHERE job_id = ? AND part_number = ? AND state = 'pending'`),
      setPartDone: p(`UPDATE parts SET state = 'done', etag = ?, md5_hex = ?, checksum = ?, available_at = 0, updated_at = ?
                      WHERE job_id = ? AND part_number = ?`),
      setPartPending: p(`UPDATE parts SET state = 'pending', available_at = ?, updated_at = ?
                         WHERE job_id = ? AND part_number = ? AND state = 'sending'`),
      setPartUnsent: p(`UPDATE parts SET sends = sends - 1 WHERE job_id = ? AND part_number = ? AND sends > 0`),
      resetParts: p(`UPDATE parts SET state = 'pending', etag = NULL, md5_hex = NULL, checksum = NULL, attempts = 0, available_at = 0, updated_at = ? WHERE job_id = ?`),
      deleteParts: p('DELETE FROM parts WHERE job_id = ?'),
      insertPart: p(`INSERT INTO parts (job_id, part_number, offset, length, state, updated_at) VALUES (?, ?, ?, ?, 'pending', ?)`),
      addEvent: p('INSERT INTO job_events (job_id, at, kind, code, operation, message) VALUES (?, ?, ?, ?, ?, ?)'),
      events: p('SELECT * FROM job_events WHERE job_id = ? ORDER BY id'),
    };
  }

  // ---- destinations ----

  getDestination(id: number): Destination | undefined {
    const r = this.s.destById.get(id) as Row | undefined;
    return r ? toDestination(r) : undefined;
  }

  getDestinationByName(name: string): Destination | undefined {
    const r = this.s.destByName.get(name) as Row | undefined;
    return r ? toDestination(r) : undefined;
  }

  listDestinations(): Destination[] {
    return (this.s.destList.all() as Row[]).map(toDestination);
  }

  /** Creates the destination, or updates the one of that name to these settings. */
  upsertDestination(d: DestinationInput): Destination {
    this.db
      .prepare(
        `INSERT INTO destinations (name, endpoint, region, bucket, prefix, path_style, profile, storage_class, sse,
           sse_kms_key_id, part_size, concurrency, single_put_threshold, max_object_size, max_parts, checksum_algorithm, created_at)
         VALUES (@name, @endpoint, @region, @bucket, @prefix, @pathStyle, @profile, @storageClass, @sse,
           @sseKmsKeyId, @partSize, @concurrency, @singlePutThreshold, @maxObjectSize, @maxParts, @checksumAlgorithm, @now)
         ON CONFLICT(name) DO UPDATE SET endpoint = excluded.endpoint, region = excluded.region, bucket = excluded.bucket,
           prefix = excluded.prefix, path_style = excluded.path_style, profile = excluded.profile,
           storage_class = excluded.storage_class, sse = excluded.sse, sse_kms_key_id = excluded.sse_kms_key_id,
           part_size = excluded.part_size, concurrency = excluded.concurrency,
           single_put_threshold = excluded.single_put_threshold, max_object_size = excluded.max_object_size, max_parts = excluded.max_parts,
           checksum_algorithm = excluded.checksum_algorithm`,
      )
      .run({ ...d, pathStyle: d.pathStyle ? 1 : 0, now: this.now() });
    return this.getDestinationByName(d.name)!;
  }

  /** Changes a destination's settings in place (its name too); its jobs keep their own bucket and key. */
  updateDestination(id: number, d: DestinationInput): Destination | undefined {
    const info = this.db
      .prepare(
        `UPDATE destinations SET name = @name, endpoint = @endpoint, region = @region, bucket = @bucket, prefix = @prefix,
           path_style = @pathStyle, profile = @profile, storage_class = @storageClass, sse = @sse, sse_kms_key_id = @sseKmsKeyId,
           part_size = @partSize, concurrency = @concurrency, single_put_threshold = @singlePutThreshold,
           max_object_size = @maxObjectSize, max_parts = @maxParts, checksum_algorithm = @checksumAlgorithm
         WHERE id = @id`,
      )
      .run({ ...d, id, pathStyle: d.pathStyle ? 1 : 0 });
    return info.changes === 1 ? this.getDestination(id) : undefined;
  }

  /** Records that the destination's credentials are sealed by a host (or come from the chain again). */
  setCredentialOrigin(id: number, origin: CredentialOrigin): void {
    this.db.prepare('UPDATE destinations SET credentials = ? WHERE id = ?').run(origin, id);
  }

  /**
   * Removes a destination with its finished jobs' records. Refused (returns what still uses it)
   * while a watched folder sends to it, a job may still send to it or an abort is still owed
   * there: invariant 4 needs the destination.
   */
  removeDestination(id: number): { ok: true } | { ok: false; unfinishedJobIds: number[]; owedAborts: number; folders: Array<{ id: number; path: string }> } {
    return this.db.transaction(() => {
      const unfinishedJobIds = (this.db.prepare(`SELECT id FROM jobs WHERE destination_id = ? AND state NOT IN ('done', 'cancelled') ORDER BY id`).all(id) as { id: number }[]).map((r) => r.id);
      const owedAborts = this.owed.count({ kind: REMOTE_ABORT, scope: `destination:${id}`, states: ['owed'] });
      const folders = this.db
        .prepare('SELECT f.id, f.path FROM watched_folders f WHERE f.id IN (SELECT folder_id FROM folder_destinations WHERE destination_id = ?) ORDER BY f.id')
        .all(id) as Array<{ id: number; path: string }>;
      if (unfinishedJobIds.length > 0 || owedAborts > 0 || folders.length > 0) return { ok: false as const, unfinishedJobIds, owedAborts, folders };
      this.db.prepare('DELETE FROM watched_files WHERE destination_id = ?').run(id);
      this.db.prepare('DELETE FROM jobs WHERE destination_id = ?').run(id);
      this.db.prepare('DELETE FROM destinations WHERE id = ?').run(id);
      return { ok: true as const };
    })();
  }

  // ---- jobs ----

  /** Records a job and its planned parts in one transaction. */
  insertJob(job: NewJob, parts: PlannedPart[]): JobRecord {
    const now = this.now();
    const id = this.db.transaction(() => {
      const info = this.db
        .prepare(
          `INSERT INTO jobs (destination_id, source_path, bucket, key, size, mtime_ms, inode, content_type, mode,
             part_size, part_count, checksum_algorithm, state, priority, growing, hash_algorithms, mhl_root, mhl_path, batch_id, created_at, updated_at)
           VALUES (@destinationId, @sourcePath, @bucket, @key, @size, @mtimeMs, @inode, @contentType, @mode,
             @partSize, @partCount, @checksumAlgorithm, 'queued', @priority, @growing, @hashAlgorithms, @mhlRoot, @mhlPath, @batchId, @now, @now)`,
        )
        .run({
          ...job,
          partCount: parts.length,
          priority: PRIORITIES.indexOf(job.priority),
          growing: job.growing ?? 0,
          hashAlgorithms: JSON.stringify(job.hashAlgorithms ?? []),
          mhlRoot: job.mhl?.root ?? null,
          mhlPath: job.mhl?.path ?? null,
          batchId: job.batchId ?? null,
          now,
        });
      const jobId = Number(info.lastInsertRowid);
      for (const part of parts) this.s.insertPart.run(jobId, part.partNumber, part.offset, part.length, now);
      this.s.addEvent.run(jobId, now, 'queued', null, null, `Queued ${job.sourcePath} for s3://${job.bucket}/${job.key}`);
      return jobId;
    })();
    return this.getJob(id)!;
  }

  /** Replaces a job's source snapshot and part plan (after the file changed, before a fresh upload). */
  replanJob(jobId: number, snapshot: { size: number; mtimeMs: number; inode: string; mode: UploadMode; partSize: number }, parts: PlannedPart[]): void {
    const now = this.now();
    this.db.transaction(() => {
      this.s.deleteParts.run(jobId);
      for (const part of parts) this.s.insertPart.run(jobId, part.partNumber, part.offset, part.length, now);
      this.db
        .prepare(`UPDATE jobs SET size = ?, mtime_ms = ?, inode = ?, mode = ?, part_size = ?, part_count = ?, upload_id = NULL,
                  create_started_at = NULL, etag = NULL, hashes = NULL, verified_by = NULL, restarts = restarts + 1, updated_at = ? WHERE id = ?`)
        .run(snapshot.size, snapshot.mtimeMs, snapshot.inode, snapshot.mode, snapshot.partSize, parts.length, now, jobId);
    })();
  }

  getJob(id: number): JobRecord | undefined {
    const r = this.s.jobById.get(id) as Row | undefined;
    return r ? toJob(r) : undefined;
  }

  listJobs(opts: { states?: readonly JobState[]; limit?: number; offset?: number; ids?: readonly number[]; batchId?: number } = {}): JobRecord[] {
    // SQLite takes at most 32,766 parameters: a long list of ids is asked for in slices.
    if (opts.ids && opts.ids.length > ID_SLICE && opts.limit === undefined && opts.offset === undefined) {
      const out: JobRecord[] = [];
      for (let at = 0; at < opts.ids.length; at += ID_SLICE) out.push(...this.listJobs({ ...opts, ids: opts.ids.slice(at, at + ID_SLICE) }));
      return out.sort((a, b) => a.id - b.id);
    }
    const where: string[] = [];
    const args: unknown[] = [];
    if (opts.batchId !== undefined) where.push('j.batch_id = ?'), args.push(opts.batchId);
    if (opts.states?.length) {
      where.push(`j.state IN (${opts.states.map(() => '?').join(',')})`);
      args.push(...opts.states);
    }
    if (opts.ids) {
      where.push(`j.id IN (${opts.ids.map(() => '?').join(',') || 'NULL'})`);
      args.push(...opts.ids);
    }
    const sql = `${JOB_SELECT} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY j.id LIMIT ? OFFSET ?`;
    args.push(opts.limit ?? -1, opts.offset ?? 0);
    return (this.db.prepare(sql).all(...args) as Row[]).map(toJob);
  }

  /** The job (if any) in one of `states` that sends this file to this key of this destination (index jobs_by_key). */
  findJobFor(destinationId: number, key: string, sourcePath: string, states: readonly JobState[]): JobRecord | undefined {
    const r = this.db
      .prepare(`${JOB_SELECT} WHERE j.destination_id = ? AND j.key = ? AND j.source_path = ? AND j.state IN (${states.map(() => '?').join(',')}) ORDER BY j.id LIMIT 1`)
      .get(destinationId, key, sourcePath, ...states) as Row | undefined;
    return r ? toJob(r) : undefined;
  }

  /** One page of jobs in the given order, with how many match in all (for a paged, sorted table). */
  queryJobs(q: { states?: readonly JobState[]; offset?: number; limit?: number; sort?: JobSortKey; descending?: boolean } = {}): { jobs: JobRecord[]; total: number } {
    const where = q.states?.length ? `WHERE j.state IN (${q.states.map(() => '?').join(',')})` : '';
    const states = q.states ?? [];
    const direction = q.descending ? 'DESC' : 'ASC';
    // The id breaks ties, so pages neither repeat nor skip a job.
    const order = `${JOB_SORT_COLUMNS[q.sort ?? 'id']} ${direction}, j.id ${direction}`;
    const rows = this.db.prepare(`${JOB_SELECT} ${where} ORDER BY ${order} LIMIT ? OFFSET ?`).all(...states, q.limit ?? -1, q.offset ?? 0) as Row[];
    const total = (this.db.prepare(`SELECT count(*) AS n FROM jobs j ${where}`).get(...states) as { n: number }).n;
    return { jobs: rows.map(toJob), total };
  }

  /** Jobs per state across the queue, and the bytes of the unfinished ones (acknowledged and in all). */
  totals(): { byState: Record<string, number>; bytesTotal: number; bytesDone: number } {
    const byState: Record<string, number> = {};
    for (const r of this.db.prepare('SELECT state, count(*) AS n FROM jobs GROUP BY state').all() as { state: string; n: number }[]) byState[r.state] = r.n;
    const bytes = this.db
      .prepare(`SELECT coalesce(sum(size), 0) AS total, coalesce(sum(bytes_done), 0) AS done FROM jobs WHERE state IN ('queued', 'running', 'completing', 'paused', 'failed')`)
      .get() as { total: number; done: number };
    return { byState, bytesTotal: bytes.total, bytesDone: bytes.done };
  }

  /** The next queued jobs that are due, highest priority first, then oldest. */
  nextQueuedJobs(limit: number): JobRecord[] {
    return this.nextQueuedJobRefs(limit).flatMap((r) => this.getJob(r.id) ?? []);
  }

  /** The same order, only ids and destinations: the scheduler asks every tick and opens few of them. */
  nextQueuedJobRefs(limit: number): Array<{ id: number; destinationId: number; priority: Priority }> {
    const rows = this.db
      .prepare(`SELECT id, destination_id, priority FROM jobs WHERE state = 'queued' AND available_at <= ? ORDER BY priority, id LIMIT ?`)
      .all(this.now(), limit) as Row[];
    return rows.map((r) => ({ id: r.id as number, destinationId: r.destination_id as number, priority: PRIORITIES[r.priority as number] ?? 'normal' }));
  }

  /** Compare-and-set on the state, so a pause or cancel from elsewhere is never overwritten. */
  transition(jobId: number, from: readonly JobState[], to: JobState, extra: { error?: ErrorInfo | null; availableAt?: number; etag?: string | null } = {}): boolean {
    const now = this.now();
    const sets = ['state = ?', 'updated_at = ?'];
    const args: unknown[] = [to, now];
    if (to === 'running') sets.push('started_at = coalesce(started_at, ?)'), args.push(now);
    if (to === 'done' || to === 'cancelled' || to === 'failed') sets.push('finished_at = ?'), args.push(now);
    if (to === 'queued' || to === 'running') sets.push('finished_at = NULL');
    if (extra.error !== undefined) {
      sets.push('error_code = ?', 'error_message = ?', 'error_operation = ?');
      args.push(extra.error?.code ?? null, extra.error?.message ?? null, extra.error?.operation ?? null);
    }
    if (extra.availableAt !== undefined) sets.push('available_at = ?'), args.push(extra.availableAt);
    if (extra.etag !== undefined) sets.push('etag = ?'), args.push(extra.etag);
    const info = this.db
      .prepare(`UPDATE jobs SET ${sets.join(', ')} WHERE id = ? AND state IN (${from.map(() => '?').join(',')})`)
      .run(...args, jobId, ...from);
    return info.changes === 1;
  }

  /** The file's hashes (of the bytes as the job's snapshot has them) and the source history entry that vouched for them, if any. */
  setHashes(jobId: number, hashes: FileHashes, verifiedBy: HashVerification | null): void {
    this.db
      .prepare('UPDATE jobs SET hashes = ?, verified_by = ?, updated_at = ? WHERE id = ?')
      .run(JSON.stringify(hashes), verifiedBy ? JSON.stringify(verifiedBy) : null, this.now(), jobId);
  }

  /** The saved state of the job's hash pass, if one was taken of this very snapshot with these hashes. */
  hashCheckpoint(jobId: number, snap: SourceSnapshot, algorithms: readonly FileHashAlgorithm[]): HashCheckpoint | null {
    const r = this.db.prepare('SELECT size, mtime_ms, inode, algorithms, offset, states FROM hash_checkpoints WHERE job_id = ?').get(jobId) as
      | { size: number; mtime_ms: number; inode: string; algorithms: string; offset: number; states: string }
      | undefined;
    if (!r || r.size !== snap.size || r.mtime_ms !== snap.mtimeMs || r.inode !== snap.inode || r.algorithms !== algorithms.join(',')) return null;
    return { offset: r.offset, states: parseJson<HashStates>(r.states, {}) };
  }

  saveHashCheckpoint(jobId: number, snap: SourceSnapshot, algorithms: readonly FileHashAlgorithm[], cp: HashCheckpoint): void {
    this.db
      .prepare(
        `INSERT INTO hash_checkpoints (job_id, size, mtime_ms, inode, algorithms, offset, states, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (job_id) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms, inode = excluded.inode, algorithms = excluded.algorithms,
           offset = excluded.offset, states = excluded.states, updated_at = excluded.updated_at`,
      )
      .run(jobId, snap.size, snap.mtimeMs, snap.inode, algorithms.join(','), cp.offset, JSON.stringify(cp.states), this.now());
  }

  clearHashCheckpoint(jobId: number): void {
    this.db.prepare('DELETE FROM hash_checkpoints WHERE job_id = ?').run(jobId);
  }

  /** The error a job shows after it ended (an abort still owed for a cancelled job), or none. */
  setJobError(jobId: number, error: ErrorInfo | null): void {
    this.db
      .prepare('UPDATE jobs SET error_code = ?, error_message = ?, error_operation = ?, updated_at = ? WHERE id = ?')
      .run(error?.code ?? null, error?.message ?? null, error?.operation ?? null, this.now(), jobId);
  }

  setUploadId(jobId: number, uploadId: string | null): void {
    this.db.prepare('UPDATE jobs SET upload_id = ?, updated_at = ? WHERE id = ?').run(uploadId, this.now(), jobId);
  }

  /** Marks the moment before CreateMultipartUpload, so a crash in between can be cleaned up. */
  markCreateStarted(jobId: number, at: number | null): void {
    this.db.prepare('UPDATE jobs SET create_started_at = ? WHERE id = ?').run(at, jobId);
  }

  bumpAttempts(jobId: number): number {
    this.db.prepare('UPDATE jobs SET attempts = attempts + 1 WHERE id = ?').run(jobId);
    return (this.db.prepare('SELECT attempts FROM jobs WHERE id = ?').get(jobId) as { attempts: number }).attempts;
  }

  resetAttempts(jobId: number): void {
    this.db.prepare('UPDATE jobs SET attempts = 0 WHERE id = ?').run(jobId);
  }

  setPriority(jobId: number, priority: Priority): boolean {
    return this.db.prepare('UPDATE jobs SET priority = ? WHERE id = ?').run(PRIORITIES.indexOf(priority), jobId).changes === 1;
  }

  jobIdsForUpload(uploadId: string): number[] {
    return (this.s.jobsByUpload.all(uploadId) as { id: number }[]).map((r) => r.id);
  }

  /** Upload ids that still belong to a job that may complete them. */
  liveUploadIds(): Set<string> {
    const rows = this.db
      .prepare(`SELECT upload_id FROM jobs WHERE upload_id IS NOT NULL AND state NOT IN ('done', 'cancelled')`)
      .all() as { upload_id: string }[];
    return new Set(rows.map((r) => r.upload_id));
  }

  /** After a crash: what was in flight goes back to waiting; the parts are re-sent or adopted. */
  recoverInterrupted(): number {
    const now = this.now();
    return this.db.transaction(() => {
      this.db.prepare(`UPDATE parts SET state = 'pending', updated_at = ? WHERE state = 'sending'`).run(now);
      return this.db
        .prepare(`UPDATE jobs SET state = 'queued', available_at = 0, updated_at = ? WHERE state IN ('running', 'completing')`)
        .run(now).changes;
    })();
  }

  // ---- parts ----

  parts(jobId: number): PartRecord[] {
    return (this.s.parts.all(jobId) as Row[]).map(toPart);
  }

  nextPendingParts(jobId: number, limit: number): PartRecord[] {
    return (this.s.nextParts.all(jobId, this.now(), limit) as Row[]).map(toPart);
  }

  unfinishedPartCount(jobId: number): number {
    return (this.s.countPending.get(jobId) as { n: number }).n;
  }

  markPartSending(jobId: number, partNumber: number): boolean {
    return this.s.setPartSending.run(this.now(), jobId, partNumber).changes === 1;
  }

  markPartDone(jobId: number, partNumber: number, etag: string, md5Hex: string, checksum: string | null): void {
    this.s.setPartDone.run(etag, md5Hex, checksum, this.now(), jobId, partNumber);
  }

  /** Puts a part back to wait; `sent` false means no byte of it reached the wire (a pause before sending). */
  markPartPending(jobId: number, partNumber: number, availableAt = 0, sent = true): void {
    this.s.setPartPending.run(availableAt, this.now(), jobId, partNumber);
    if (!sent) this.s.setPartUnsent.run(jobId, partNumber);
  }

  resetParts(jobId: number): void {
    this.s.resetParts.run(this.now(), jobId);
  }

  // ---- growing files (issue 3): the watcher appends parts; the scheduler verifies them before Complete ----

  /**
   * Adds parts to a job whose file is still growing and records how far it has grown.
   * Returns false (and changes nothing) once the job is no longer growing or has ended.
   */
  appendGrowingParts(jobId: number, parts: PlannedPart[], grown: { size: number; mtimeMs: number }): boolean {
    return this.updateGrowing(jobId, 1, parts, grown);
  }

  /** The file stopped growing: records its final snapshot and last parts; the scheduler verifies every part before Complete. */
  finishGrowing(jobId: number, parts: PlannedPart[], final: { size: number; mtimeMs: number; inode: string }): boolean {
    return this.updateGrowing(jobId, 2, parts, final);
  }

  private updateGrowing(jobId: number, next: GrowingState, parts: PlannedPart[], snap: { size: number; mtimeMs: number; inode?: string }): boolean {
    const now = this.now();
    return this.db.transaction(() => {
      const info = this.db
        .prepare(`UPDATE jobs SET size = ?, mtime_ms = ?, inode = coalesce(?, inode), part_count = part_count + ?, growing = ?, updated_at = ?
                  WHERE id = ? AND growing = 1 AND state NOT IN ('done', 'cancelled')`)
        .run(snap.size, snap.mtimeMs, snap.inode ?? null, parts.length, next, now, jobId);
      if (info.changes !== 1) return false;
      for (const part of parts) this.s.insertPart.run(jobId, part.partNumber, part.offset, part.length, now);
      return true;
    })();
  }

  setGrowing(jobId: number, growing: GrowingState): void {
    this.db.prepare('UPDATE jobs SET growing = ? WHERE id = ?').run(growing, jobId);
  }

  /** A sent part whose bytes changed since (a rewritten header): it goes again under the same number. */
  resendPart(jobId: number, partNumber: number): void {
    this.db
      .prepare(`UPDATE parts SET state = 'pending', etag = NULL, md5_hex = NULL, checksum = NULL, attempts = 0, available_at = 0, updated_at = ?
                WHERE job_id = ? AND part_number = ? AND state = 'done'`)
      .run(this.now(), jobId, partNumber);
  }

  // ---- history ----

  addEvent(jobId: number, kind: string, message: string, error?: Pick<ErrorInfo, 'code' | 'operation'>): void {
    this.s.addEvent.run(jobId, this.now(), kind, error?.code ?? null, error?.operation ?? null, message);
  }

  events(jobId: number): JobEvent[] {
    return (this.s.events.all(jobId) as Row[]).map((r) => ({
      at: iso(r.at)!,
      kind: r.kind as string,
      code: (r.code as string | null) ?? null,
      operation: (r.operation as string | null) ?? null,
      message: r.message as string,
    }));
  }

  // ---- remote aborts still owed (invariant 4) ----

  queueRemoteAbort(a: RemoteAbortPayload): void {
    this.owed.owe<RemoteAbortPayload>(REMOTE_ABORT, a.uploadId, a, { scope: `destination:${a.destinationId}` });
  }

  /** Owed aborts whose back-off has passed; `all` takes the waiting ones too (a command settling them now). */
  dueRemoteAborts(limit = 50, opts: { all?: boolean } = {}): RemoteAbort[] {
    return this.owed.list<RemoteAbortPayload>({ kind: REMOTE_ABORT, states: ['owed'], dueBy: opts.all ? Number.MAX_SAFE_INTEGER : this.now() }).slice(0, limit).map(toRemoteAbort);
  }

  /** The aborts still owed for one job's uploads. */
  remoteAbortsOf(jobId: number): RemoteAbort[] {
    return this.owed.list<RemoteAbortPayload>({ kind: REMOTE_ABORT, states: ['owed'] }).filter((o) => o.payload.jobId === jobId).map(toRemoteAbort);
  }

  pendingAbortUploadIds(): Set<string> {
    return new Set(this.owed.list({ kind: REMOTE_ABORT, states: ['owed'] }).map((o) => o.subject));
  }

  remoteAbortDone(id: number): void {
    this.owed.settle(id);
  }

  remoteAbortFailed(id: number, error: string, retryAt: number): void {
    this.owed.retry(id, error, retryAt);
  }

  // ---- the runner lease: one process works the queue at a time ----

  /** Takes or renews the lease; returns the holder when another live process has it. */
  acquireLease(owner: string, staleAfterMs: number): { ok: true } | { ok: false; pid: number; host: string } {
    const now = this.now();
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT * FROM runner_lease WHERE id = 1').get() as Row | undefined;
      if (row && row.owner !== owner && now - (row.heartbeat_at as number) < staleAfterMs && leaseHolderAlive(row)) {
        return { ok: false as const, pid: row.pid as number, host: row.host as string };
      }
      this.db
        .prepare(`INSERT INTO runner_lease (id, owner, pid, host, heartbeat_at) VALUES (1, ?, ?, ?, ?)
                  ON CONFLICT(id) DO UPDATE SET owner = excluded.owner, pid = excluded.pid, host = excluded.host, heartbeat_at = excluded.heartbeat_at`)
        .run(owner, process.pid, os.hostname(), now);
      return { ok: true as const };
    }).immediate();
  }

  releaseLease(owner: string): void {
    this.db.prepare('DELETE FROM runner_lease WHERE id = 1 AND owner = ?').run(owner);
  }

  /** Changes whenever another connection commits: a cheap way to notice commands from another process. */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }
}

/** A lease held by a dead process on this host can be taken at once. */
function leaseHolderAlive(row: Row): boolean {
  if (row.host !== os.hostname()) return true;
  try {
    process.kill(row.pid as number, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
