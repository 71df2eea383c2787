// The jobs table and each job's history (job_events): what is to be uploaded where, its state
// (compare-and-set, so a pause from another process is never overwritten) and its source snapshot.
import type { Db } from './db.js';
import type { JobFilter, JobSortKey } from '../../../shared/contract.js';
import type { HashVerification, JobEvent, JobFlag } from '../../../shared/types.js';
import type { ChecksumAlgorithm, FileHashAlgorithm, FileHashes, JobState, Priority, UploadMode } from '../../../shared/states.js';
import { DEFAULT_IF_EXISTS, PRIORITIES, type IfExistsPolicy, type JobOutcome } from '../../../shared/states.js';
import type { ErrorInfo } from '../../../shared/errors.js';
import type { IntegrityProof } from '../s3/server-encryption.js';
import type { HashStates } from '../upload/file-hashes.js';
import type { HashCheckpoint, SourceSnapshot } from '../upload/tasks.js';
import { noLimit, progressSql } from './dialect.js';
import { jobFilterSql } from './job-bulk.js';
import { READABLE_BY } from './folder-paths.js';
import type { PartRows } from './part-rows.js';
import { ID_SLICE, JOB_RETURNING, JOB_SELECT, JOB_SORT_COLUMNS, iso, parseJson, toJob, type GrowingState, type JobRecord, type NewJob, type PlannedPart, type Row } from './rows.js';

export class JobRows {
  private readonly s;

  constructor(
    readonly db: Db,
    protected readonly partRows: PartRows,
    protected readonly now: () => number,
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      jobById: p(`${JOB_SELECT} WHERE j.id = ?`),
      jobsByUpload: p('SELECT id FROM jobs WHERE upload_id = ?'),
      addEvent: p('INSERT INTO job_events (job_id, at, kind, code, operation, message) VALUES (?, ?, ?, ?, ?, ?)'),
      events: p('SELECT * FROM job_events WHERE job_id = ? ORDER BY id'),
    };
  }

  // ---- jobs ----

  /** Records a job and its planned parts in one transaction. */
  insertJob(job: NewJob, parts: PlannedPart[]): JobRecord {
    const now = this.now();
    const id = this.db.transaction(() => {
      const info = this.db
        .prepare(
          `INSERT INTO jobs (destination_id, source_path, bucket, key, size, mtime_ms, inode, content_type, mode,
             part_size, part_count, checksum_algorithm, state, priority, growing, hash_algorithms, mhl_root, mhl_path, batch_id, if_exists, integrity_mode,
             machine, folder_id, folder_rel_path, created_at, updated_at)
           VALUES (@destinationId, @sourcePath, @bucket, @key, @size, @mtimeMs, @inode, @contentType, @mode,
             @partSize, @partCount, @checksumAlgorithm, 'queued', @priority, @growing, @hashAlgorithms, @mhlRoot, @mhlPath, @batchId, @ifExists, @integrityMode,
             @machine, @folderId, @folderRelPath, @now, @now) RETURNING id`,
        )
        .get({
          ...job,
          partCount: parts.length,
          priority: PRIORITIES.indexOf(job.priority),
          growing: job.growing ?? 0,
          hashAlgorithms: JSON.stringify(job.hashAlgorithms ?? []),
          mhlRoot: job.mhl?.root ?? null,
          mhlPath: job.mhl?.path ?? null,
          batchId: job.batchId ?? null,
          ifExists: job.ifExists ?? DEFAULT_IF_EXISTS,
          integrityMode: job.integrityMode ?? 'md5',
          machine: job.origin?.machine ?? null,
          folderId: job.origin?.folderId ?? null,
          folderRelPath: job.origin?.relPath ?? null,
          now,
        });
      const jobId = (info as { id: number }).id;
      this.partRows.insert(jobId, parts, now);
      this.s.addEvent.run(jobId, now, 'queued', null, null, `Queued ${job.sourcePath} for s3://${job.bucket}/${job.key}`);
      return jobId;
    })();
    return this.getJob(id)!;
  }

  /** Replaces a job's source snapshot and part plan (after the file changed, before a fresh upload). */
  replanJob(jobId: number, snapshot: { size: number; mtimeMs: number; inode: string; mode: UploadMode; partSize: number }, parts: PlannedPart[]): void {
    const now = this.now();
    this.db.transaction(() => {
      this.partRows.deleteAll(jobId);
      this.partRows.insert(jobId, parts, now);
      this.db
        .prepare(`UPDATE jobs SET size = ?, mtime_ms = ?, inode = ?, mode = ?, part_size = ?, part_count = ?, upload_id = NULL,
                  create_started_at = NULL, etag = NULL, version_id = NULL, flag_code = NULL, flag_message = NULL, etag_verified = NULL, integrity = NULL, proof = NULL, full_checksum = NULL, hashes = NULL, verified_by = NULL, restarts = restarts + 1, updated_at = ? WHERE id = ?`)
        .run(snapshot.size, snapshot.mtimeMs, snapshot.inode, snapshot.mode, snapshot.partSize, parts.length, now, jobId);
    })();
  }

  getJob(id: number): JobRecord | undefined {
    const r = this.s.jobById.get(id) as Row | undefined;
    return r ? toJob(r) : undefined;
  }

  /** Jobs by id, with their records whether or not "Clear finished" took them off the list (`listed`: only those it did not). */
  listJobs(opts: { states?: readonly JobState[]; limit?: number; offset?: number; ids?: readonly number[]; batchId?: number; listed?: boolean } = {}): JobRecord[] {
    if (opts.ids && opts.ids.length > ID_SLICE && opts.limit === undefined && opts.offset === undefined) {
      const out: JobRecord[] = [];
      for (let at = 0; at < opts.ids.length; at += ID_SLICE) out.push(...this.listJobs({ ...opts, ids: opts.ids.slice(at, at + ID_SLICE) }));
      return out.sort((a, b) => a.id - b.id);
    }
    const where: string[] = [];
    const args: unknown[] = [];
    if (opts.batchId !== undefined) {
      where.push('j.batch_id = ?');
      args.push(opts.batchId);
    }
    if (opts.listed) where.push('j.cleared_at IS NULL');
    if (opts.states?.length) {
      where.push(`j.state IN (${opts.states.map(() => '?').join(',')})`);
      args.push(...opts.states);
    }
    if (opts.ids) {
      where.push(`j.id IN (${opts.ids.map(() => '?').join(',') || 'NULL'})`);
      args.push(...opts.ids);
    }
    const sql = `${JOB_SELECT} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY j.id LIMIT ? OFFSET ?`;
    args.push(opts.limit ?? noLimit(this.db), opts.offset ?? 0);
    return (this.db.prepare(sql).all(...args) as Row[]).map(toJob);
  }

  /** The job (if any) in one of `states` that sends this file to this key of this destination (index jobs_by_key). */
  findJobFor(destinationId: number, key: string, sourcePath: string, states: readonly JobState[]): JobRecord | undefined {
    const r = this.db
      .prepare(`${JOB_SELECT} WHERE j.destination_id = ? AND j.key = ? AND j.source_path = ? AND j.state IN (${states.map(() => '?').join(',')}) ORDER BY j.id LIMIT 1`)
      .get(destinationId, key, sourcePath, ...states) as Row | undefined;
    return r ? toJob(r) : undefined;
  }

  /** One page of the list (cleared jobs left out) in the given order, with how many match in all (for a paged, sorted table). */
  queryJobs(q: JobFilter & { offset?: number; limit?: number; sort?: JobSortKey; descending?: boolean } = {}): { jobs: JobRecord[]; total: number } {
    const { where, args } = jobFilterSql(this.db.dialect, q);
    const direction = q.descending ? 'DESC' : 'ASC';
    // By state: the list's (state, cleared_at) index in order (migration 22 dropped the one on state alone).
    const page = q.sort === 'state' ? jobFilterSql(this.db.dialect, q, { clearedByOrder: true }).where : where;
    // The id breaks ties, so pages neither repeat nor skip a job.
    const terms = q.sort === 'progress' ? [progressSql(this.db.dialect)] : JOB_SORT_COLUMNS[q.sort ?? 'id'];
    const order = [...terms, 'j.id'].map((t) => `${t} ${direction}`).join(', ');
    const rows = this.db.prepare(`${JOB_SELECT} ${page} ORDER BY ${order} LIMIT ? OFFSET ?`).all(...args, q.limit ?? noLimit(this.db), q.offset ?? 0) as Row[];
    const total = (this.db.prepare(`SELECT count(*) AS n FROM jobs j ${where}`).get(...args) as { n: number }).n;
    return { jobs: rows.map(toJob), total };
  }

  /** Jobs per state on the list (cleared ones left out), and the bytes of the unfinished ones (acknowledged and in all). */
  totals(): { byState: Record<string, number>; bytesTotal: number; bytesDone: number } {
    const byState: Record<string, number> = {};
    for (const r of this.db.prepare('SELECT state, count(*) AS n FROM jobs WHERE cleared_at IS NULL GROUP BY state').all() as { state: string; n: number }[]) byState[r.state] = r.n;
    const bytes = this.db
      .prepare(`SELECT coalesce(sum(size), 0) AS total, coalesce(sum(bytes_done), 0) AS done FROM jobs WHERE state IN ('queued', 'running', 'completing', 'paused', 'failed')`)
      .get() as { total: number; done: number };
    return { byState, bytesTotal: bytes.total, bytesDone: bytes.done };
  }

  /** The next queued jobs that are due, highest priority first, then oldest. */
  nextQueuedJobs(limit: number): JobRecord[] {
    return this.nextQueuedJobRefs(limit).flatMap((r) => this.getJob(r.id) ?? []);
  }

  /** The same order, only ids, destinations and keys: the scheduler asks every tick and opens few of them. */
  nextQueuedJobRefs(limit: number, machine?: string): Array<{ id: number; destinationId: number; key: string; priority: Priority; mode: UploadMode }> {
    // With a machine (a shared queue), only jobs whose source it can read: the others wait for a machine that can.
    const readable = machine === undefined ? '' : ` AND ${READABLE_BY}`;
    const rows = this.db
      .prepare(`SELECT id, destination_id, key, priority, mode FROM jobs j WHERE state = 'queued' AND available_at <= ?${readable} ORDER BY priority, id LIMIT ?`)
      .all(this.now(), ...(machine === undefined ? [] : [machine, machine]), limit) as Row[];
    return rows.map((r) => ({ id: r.id as number, destinationId: r.destination_id as number, key: r.key as string, priority: PRIORITIES[r.priority as number] ?? 'normal', mode: r.mode as UploadMode }));
  }

  // ---- what a job does at its key (remote/if-exists.ts) ----

  /** The job decided what to do at its key: what it saw there, the outcome it goes for, and (keep-both) the key it goes to instead. */
  setKeyDecision(jobId: number, d: { keySeen: string; outcome: JobOutcome; key?: string }): void {
    // `key` named in an UPDATE fires the search index's trigger (job_search_update) even when its value
    // stays: only a job that moves to another key (keep-both) writes it (issue 12: a frame's decision).
    if (d.key === undefined) {
      this.db.prepare('UPDATE jobs SET key_seen = ?, outcome = ?, updated_at = ? WHERE id = ?').run(d.keySeen, d.outcome, this.now(), jobId);
      return;
    }
    this.db.prepare('UPDATE jobs SET key_seen = ?, outcome = ?, key = ?, updated_at = ? WHERE id = ?').run(d.keySeen, d.outcome, d.key, this.now(), jobId);
  }

  /** Another policy for an unfinished job (asked again for its file): it decides afresh before it sends. */
  setIfExists(jobId: number, policy: IfExistsPolicy): void {
    this.db.prepare('UPDATE jobs SET if_exists = ?, key_seen = NULL, updated_at = ? WHERE id = ? AND if_exists <> ?').run(policy, this.now(), jobId, policy);
  }

  /** What the job saw at its key no longer holds (a conditional write was refused): it decides again before it sends. */
  forgetKeyDecision(jobId: number): void {
    this.db.prepare('UPDATE jobs SET key_seen = NULL, updated_at = ? WHERE id = ?').run(this.now(), jobId);
  }

  /** Another unfinished job bound for this key of this destination (keep-both never picks a key one of them may write). */
  unfinishedJobOnKey(destinationId: number, key: string, exceptJobId: number): number | undefined {
    const r = this.db
      .prepare(`SELECT id FROM jobs WHERE destination_id = ? AND key = ? AND id <> ? AND state NOT IN ('done', 'cancelled') ORDER BY id LIMIT 1`)
      .get(destinationId, key, exceptJobId) as { id: number } | undefined;
    return r?.id;
  }

  /** Part sizes of the multipart uploads Hoist completed at this key: what its object's ETag was most likely made with. */
  partSizesAt(destinationId: number, key: string): number[] {
    const rows = this.db
      .prepare(`SELECT part_size FROM jobs WHERE destination_id = ? AND key = ? AND state = 'done' AND mode = 'multipart' GROUP BY part_size ORDER BY max(finished_at) DESC LIMIT 4`)
      .all(destinationId, key) as { part_size: number }[];
    return rows.map((r) => r.part_size);
  }

  /**
   * Compare-and-set on the state, so a pause or cancel from elsewhere is never overwritten. A job's
   * end may carry its hashes and proof in the same statement (a small file's PutObject: one write
   * instead of three, issue 12).
   */
  transition(jobId: number, from: readonly JobState[], to: JobState, extra: TransitionExtra = {}): boolean {
    const { sql, args } = this.transitionSql(jobId, from, to, extra);
    return this.db.prepare(sql).run(...args).changes === 1;
  }

  /**
   * The same compare-and-set, returning the row it wrote (undefined when it did not apply): for a caller
   * that tells hosts of the job, which read it again before (issue 12: job-row reads per frame).
   */
  transitionRow(jobId: number, from: readonly JobState[], to: JobState, extra: TransitionExtra = {}): JobRecord | undefined {
    const { sql, args } = this.transitionSql(jobId, from, to, extra);
    const r = this.db.prepare(`${sql} ${JOB_RETURNING}`).get(...args) as Row | undefined;
    return r ? toJob(r) : undefined;
  }

  private transitionSql(jobId: number, from: readonly JobState[], to: JobState, extra: TransitionExtra): { sql: string; args: unknown[] } {
    const now = this.now();
    const sets = ['state = ?', 'updated_at = ?'];
    const args: unknown[] = [to, now];
    if (to === 'running') {
      sets.push('started_at = coalesce(started_at, ?)');
      args.push(now);
    }
    if (to === 'done' || to === 'cancelled' || to === 'failed') {
      sets.push('finished_at = ?');
      args.push(now);
    }
    // A job that runs again is back on the queue's list, if "Clear finished" had taken it off.
    if (to === 'queued' || to === 'running') sets.push('finished_at = NULL', 'cleared_at = NULL');
    if (extra.error !== undefined) {
      sets.push('error_code = ?', 'error_message = ?', 'error_operation = ?');
      args.push(extra.error?.code ?? null, extra.error?.message ?? null, extra.error?.operation ?? null);
    }
    if (extra.availableAt !== undefined) {
      sets.push('available_at = ?');
      args.push(extra.availableAt);
    }
    if (extra.etag !== undefined) {
      sets.push('etag = ?');
      args.push(extra.etag);
    }
    if (extra.versionId !== undefined) {
      sets.push('version_id = ?');
      args.push(extra.versionId);
    }
    if (extra.hashes) {
      sets.push('hashes = ?', 'verified_by = NULL');
      args.push(JSON.stringify(extra.hashes));
    }
    if (extra.proof) {
      const p = extra.proof;
      sets.push('etag_verified = ?', 'integrity = ?', 'proof = ?', 'full_checksum = ?');
      args.push(p.etagVerified ? 1 : 0, p.integrity, p.proof, p.fullObjectChecksum ?? null);
      if (p.serverEncryption) {
        sets.push('server_sse = ?');
        args.push(p.serverEncryption);
      }
    }
    return { sql: `UPDATE jobs SET ${sets.join(', ')} WHERE id = ? AND state IN (${from.map(() => '?').join(',')})`, args: [...args, jobId, ...from] };
  }

  /** Flags a done job (its object was found changed after delivery), or clears the flag (null). */
  setFlag(jobId: number, flag: JobFlag | null): void {
    // A flag asks for something to be done: the job comes back on the list.
    this.db
      .prepare('UPDATE jobs SET flag_code = ?, flag_message = ?, cleared_at = CASE WHEN CAST(? AS TEXT) IS NULL THEN cleared_at END, updated_at = ? WHERE id = ?')
      .run(flag?.code ?? null, flag?.message ?? null, flag?.code ?? null, this.now(), jobId);
  }

  /** The file's hashes (of the bytes as the job's snapshot has them) and the source history entry that vouched for them, if any. */
  setHashes(jobId: number, hashes: FileHashes, verifiedBy: HashVerification | null): void {
    this.db
      .prepare('UPDATE jobs SET hashes = ?, verified_by = ?, updated_at = ? WHERE id = ?')
      .run(JSON.stringify(hashes), verifiedBy ? JSON.stringify(verifiedBy) : null, this.now(), jobId);
  }

  /** The encryption the server's answers named (s3/server-encryption.ts). */
  setServerEncryption(jobId: number, encryption: string): void {
    this.db.prepare('UPDATE jobs SET server_sse = ?, updated_at = ? WHERE id = ?').run(encryption, this.now(), jobId);
  }

  /** How a finished job's bytes were proven. */
  setIntegrity(jobId: number, proof: IntegrityProof): void {
    this.db
      .prepare('UPDATE jobs SET etag_verified = ?, integrity = ?, proof = ?, full_checksum = ?, updated_at = ? WHERE id = ?')
      .run(proof.etagVerified ? 1 : 0, proof.integrity, proof.proof, proof.fullObjectChecksum ?? null, this.now(), jobId);
  }

  /** How the job's parts prove their bytes (scheduler/integrity-plan.ts), decided before its first byte is sent. */
  setIntegrityPlan(jobId: number, plan: { checksumAlgorithm: ChecksumAlgorithm | null; contentMd5: boolean; checksumType: 'FULL_OBJECT' | 'COMPOSITE' | null }): void {
    this.db
      .prepare('UPDATE jobs SET checksum_algorithm = ?, content_md5 = ?, checksum_type = ?, updated_at = ? WHERE id = ?')
      .run(plan.checksumAlgorithm, plan.contentMd5 ? 1 : 0, plan.checksumType, this.now(), jobId);
  }

  /** The saved state of the job's hash pass, if one was taken of this very snapshot with these hashes. */
  hashCheckpoint(jobId: number, snap: SourceSnapshot, algorithms: readonly FileHashAlgorithm[]): HashCheckpoint | null {
    const r = this.db.prepare('SELECT size, mtime_ms, inode, algorithms, "offset", states FROM hash_checkpoints WHERE job_id = ?').get(jobId) as
      | { size: number; mtime_ms: number; inode: string; algorithms: string; offset: number; states: string }
      | undefined;
    if (!r || r.size !== snap.size || r.mtime_ms !== snap.mtimeMs || r.inode !== snap.inode || r.algorithms !== algorithms.join(',')) return null;
    return { offset: r.offset, states: parseJson<HashStates>(r.states, {}) };
  }

  saveHashCheckpoint(jobId: number, snap: SourceSnapshot, algorithms: readonly FileHashAlgorithm[], cp: HashCheckpoint): void {
    this.db
      .prepare(
        `INSERT INTO hash_checkpoints (job_id, size, mtime_ms, inode, algorithms, "offset", states, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (job_id) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms, inode = excluded.inode, algorithms = excluded.algorithms,
           "offset" = excluded."offset", states = excluded.states, updated_at = excluded.updated_at`,
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
  setChecksumAlgorithm(jobId: number, algorithm: ChecksumAlgorithm | null): void {
    this.db.prepare('UPDATE jobs SET checksum_algorithm = ?, updated_at = ? WHERE id = ?').run(algorithm, this.now(), jobId);
  }

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
  /**
   * What was in flight goes back to waiting: every job, after a crash (at start); only `jobIds`, the
   * jobs this process had open, when it stops working the queue, since another process may be
   * working the others by then (it took the runner lease).
   */
  recoverInterrupted(jobIds?: readonly number[]): number {
    const now = this.now();
    return this.db.transaction(() => {
      if (!jobIds) {
        this.partRows.unsentToPending(now);
        return this.db
          .prepare(`UPDATE jobs SET state = 'queued', available_at = 0, updated_at = ? WHERE state IN ('running', 'completing')`)
          .run(now).changes;
      }
      const requeue = this.db.prepare(`UPDATE jobs SET state = 'queued', available_at = 0, updated_at = ? WHERE id = ? AND state IN ('running', 'completing')`);
      let changed = 0;
      for (const id of jobIds) {
        this.partRows.unsentToPending(now, id);
        changed += requeue.run(now, id).changes;
      }
      return changed;
    })();
  }

  // ---- growing files (issue 3): the watcher appends parts; the scheduler verifies them before Complete ----

  /**
   * Adds parts to a job whose file is still growing and records how far it has grown.
   * Returns false (and changes nothing) once the job is no longer growing or has ended.
   */
  appendGrowingParts(jobId: number, parts: PlannedPart[], grown: { size: number; mtimeMs: number }, replanFrom?: number): boolean {
    return this.updateGrowing(jobId, 1, parts, grown, replanFrom);
  }

  /** The file stopped growing: records its final snapshot and last parts; the scheduler verifies every part before Complete. */
  finishGrowing(jobId: number, parts: PlannedPart[], final: { size: number; mtimeMs: number; inode: string }, replanFrom?: number): boolean {
    return this.updateGrowing(jobId, 2, parts, final, replanFrom);
  }

  /**
   * With `replanFrom`, the parts from that number on, all still waiting (never on the wire now),
   * are replaced by `parts` (planned again, larger: issue 13); false, changing nothing, if one of
   * them is no longer waiting.
   */
  private updateGrowing(jobId: number, next: GrowingState, parts: PlannedPart[], snap: { size: number; mtimeMs: number; inode?: string }, replanFrom?: number): boolean {
    const now = this.now();
    const db = this.db;
    const run = db.transaction(() => {
      if (replanFrom !== undefined) {
        const after = db.prepare('SELECT count(*) AS n FROM parts WHERE job_id = ? AND part_number >= ?').get(jobId, replanFrom) as { n: number };
        const dropped = db.prepare(`DELETE FROM parts WHERE job_id = ? AND part_number >= ? AND state = 'pending'`).run(jobId, replanFrom).changes;
        if (dropped !== after.n) throw new StaleGrowingPlan();
      }
      this.partRows.insert(jobId, parts, now);
      const info = db
        .prepare(`UPDATE jobs SET size = ?, mtime_ms = ?, inode = coalesce(?, inode), part_count = (SELECT count(*) FROM parts WHERE job_id = jobs.id),
                  growing = ?, updated_at = ? WHERE id = ? AND growing = 1 AND state NOT IN ('done', 'cancelled')`)
        .run(snap.size, snap.mtimeMs, snap.inode ?? null, next, now, jobId);
      if (info.changes !== 1) throw new StaleGrowingPlan();
    });
    try {
      run();
      return true;
    } catch (err) {
      if (err instanceof StaleGrowingPlan) return false;
      throw err;
    }
  }

  setGrowing(jobId: number, growing: GrowingState): void {
    this.db.prepare('UPDATE jobs SET growing = ? WHERE id = ?').run(growing, jobId);
  }

  // ---- history ----

  addEvent(jobId: number, kind: string, message: string, error?: Pick<ErrorInfo, 'code' | 'operation'>): void {
    this.s.addEvent.run(jobId, this.now(), kind, error?.code ?? null, error?.operation ?? null, message);
  }

  /** Whether the job's history has an entry of this kind. */
  hasEvent(jobId: number, kind: string): boolean {
    return this.db.prepare('SELECT 1 FROM job_events WHERE job_id = ? AND kind = ? LIMIT 1').get(jobId, kind) !== undefined;
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
}

/** What a state change may set beside the state. */
export interface TransitionExtra {
  error?: ErrorInfo | null;
  availableAt?: number;
  etag?: string | null;
  versionId?: string | null;
  /** The whole-file hashes (not vouched for by a history): setHashes' columns. */
  hashes?: FileHashes;
  /** How the bytes were proven, and the encryption the answer named: setIntegrity's and setServerEncryption's columns. */
  proof?: IntegrityProof & { serverEncryption?: string | null };
}

/** Rolls back a growing job's update whose premises no longer hold (it ended, or a part went out meanwhile). */
class StaleGrowingPlan extends Error {}
