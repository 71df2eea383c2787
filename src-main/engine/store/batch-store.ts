// ASC MHL batches (issue 8): the files sent together under one root to one destination, and the
// generation of the root's history that lists them. The SQL behind src-main/engine/mhl/, beside
// JobStore on the same database. Sealing a batch owes its generation (owed work of kind
// `mhl-write`, in the same transaction), so that a crash between the last upload and the manifest
// is finished at the next start.
import type { Db } from './db.js';
import type { OwedWorkStore } from './owed-store.js';
import type { MhlBatch, MhlBatchState } from '../../../shared/types.js';
import { isErrorCode, type ErrorInfo } from '../../../shared/errors.js';

export interface BatchRecord extends MhlBatch {
  folderId: number | null;
  /** Failed writes of its generation so far, and when the next is due (its owed work). */
  attempts: number;
  availableAt: number;
}

/** Owed work of this kind: the generation of batch `subject` to write once its jobs have settled. */
export const MHL_WRITE = 'mhl-write';
export interface MhlWritePayload {
  batchId: number;
}

export interface BatchKey {
  destinationId: number;
  root: string;
  bucket: string;
  keyPrefix: string;
  /** The watched folder whose files make the batch; null for `hoist upload`. */
  folderId: number | null;
}

type Row = Record<string, unknown>;

const iso = (ms: unknown): string | null => (typeof ms === 'number' ? new Date(ms).toISOString() : null);

function toError(r: Row): ErrorInfo | null {
  return isErrorCode(r.error_code) ? { code: r.error_code, message: (r.error_message as string) ?? '' } : null;
}

function toBatch(r: Row): BatchRecord {
  return {
    id: r.id as number,
    destinationId: r.destination_id as number,
    root: r.root as string,
    bucket: r.bucket as string,
    keyPrefix: r.key_prefix as string,
    state: r.state as MhlBatchState,
    generation: (r.generation as number | null) ?? null,
    manifestKey: (r.manifest_key as string | null) ?? null,
    jobs: (r.jobs as number) ?? 0,
    error: toError(r),
    createdAt: iso(r.created_at)!,
    writtenAt: iso(r.written_at),
    folderId: (r.folder_id as number | null) ?? null,
    attempts: (r.attempts as number | null) ?? 0,
    availableAt: (r.available_at as number | null) ?? 0,
  };
}

// Its retry bookkeeping is that of its latest owed write.
const BATCH_SELECT = `SELECT b.*, (SELECT count(*) FROM jobs j WHERE j.batch_id = b.id) AS jobs, o.attempts, o.available_at FROM mhl_batches b
  LEFT JOIN owed_work o ON o.id = (SELECT max(id) FROM owed_work w WHERE w.kind = '${MHL_WRITE}' AND w.subject = CAST(b.id AS TEXT))`;

/** Job states after which a job sends nothing more by itself (failed ones wait for `hoist retry`). */
const SETTLED = `('done', 'failed', 'cancelled')`;

export class BatchStore {
  constructor(
    readonly db: Db,
    private readonly owed: OwedWorkStore,
    private readonly now: () => number = Date.now,
  ) {}

  get(id: number): BatchRecord | undefined {
    const r = this.db.prepare(`${BATCH_SELECT} WHERE b.id = ?`).get(id) as Row | undefined;
    return r ? toBatch(r) : undefined;
  }

  list(opts: { states?: readonly MhlBatchState[]; folderId?: number; ids?: readonly number[] } = {}): BatchRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (opts.states?.length) {
      where.push(`b.state IN (${opts.states.map(() => '?').join(',')})`);
      args.push(...opts.states);
    }
    if (opts.folderId !== undefined) {
      where.push('b.folder_id = ?');
      args.push(opts.folderId);
    }
    if (opts.ids) {
      where.push(`b.id IN (${opts.ids.map(() => '?').join(',') || 'NULL'})`);
      args.push(...opts.ids);
    }
    const sql = `${BATCH_SELECT} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY b.id`;
    return (this.db.prepare(sql).all(...args) as Row[]).map(toBatch);
  }

  /** The open batch for this root, destination and folder, made if there is none; `sealed` makes a new one already complete. */
  batchFor(key: BatchKey, state: 'open' | 'sealed'): BatchRecord {
    if (state === 'open') {
      const r = this.db
        .prepare(`${BATCH_SELECT} WHERE b.state = 'open' AND b.destination_id = ? AND b.root = ? AND b.key_prefix = ? AND b.folder_id IS NOT DISTINCT FROM ? ORDER BY b.id LIMIT 1`)
        .get(key.destinationId, key.root, key.keyPrefix, key.folderId) as Row | undefined;
      if (r) return toBatch(r);
    }
    const now = this.now();
    const id = this.db.transaction(() => {
      const info = this.db
        .prepare(`INSERT INTO mhl_batches (destination_id, root, bucket, key_prefix, folder_id, state, created_at, sealed_at, updated_at)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`)
        .get(key.destinationId, key.root, key.bucket, key.keyPrefix, key.folderId, state, now, state === 'sealed' ? now : null, now) as { id: number };
      const id = info.id;
      if (state === 'sealed') this.oweWrite(id, key.destinationId);
      return id;
    })();
    return this.get(id)!;
  }

  setJobBatch(jobId: number, batchId: number): void {
    this.db.prepare('UPDATE jobs SET batch_id = ?, mhl_generation = NULL WHERE id = ?').run(batchId, jobId);
  }

  /** No more files join it: its generation is written once every job has settled. */
  seal(id: number): boolean {
    const now = this.now();
    return this.db.transaction(() => {
      const sealed = this.db.prepare(`UPDATE mhl_batches SET state = 'sealed', sealed_at = ?, updated_at = ? WHERE id = ? AND state = 'open'`).run(now, now, id).changes === 1;
      if (sealed) this.oweWrite(id, this.get(id)!.destinationId);
      return sealed;
    })();
  }

  private oweWrite(id: number, destinationId: number): void {
    this.owed.owe<MhlWritePayload>(MHL_WRITE, String(id), { batchId: id }, { scope: `destination:${destinationId}` });
  }

  /** True when none of its jobs may still send (none queued, running, completing or paused): its generation can be written. */
  jobsSettled(id: number): boolean {
    return this.db.prepare(`SELECT 1 FROM jobs j WHERE j.batch_id = ? AND j.state NOT IN ${SETTLED} LIMIT 1`).get(id) === undefined;
  }

  /** Open batches none of whose jobs is still under way (none queued, running, completing or paused). */
  quietOpenBatches(folderId: number): BatchRecord[] {
    return (this.db
      .prepare(`${BATCH_SELECT} WHERE b.state = 'open' AND b.folder_id = ?
                AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.batch_id = b.id AND j.state NOT IN ${SETTLED})`)
      .all(folderId) as Row[]).map(toBatch);
  }

  /** Batches whose generation is still owed (open or sealed): waiting callers follow them. */
  unwritten(ids?: readonly number[]): BatchRecord[] {
    return this.list({ states: ['open', 'sealed'], ...(ids ? { ids } : {}) });
  }

  /** The generation number and key are fixed before the PUT, so a retry after a crash overwrites the same object. */
  planGeneration(id: number, generation: number, manifestKey: string): void {
    this.db.prepare('UPDATE mhl_batches SET generation = ?, manifest_key = ?, updated_at = ? WHERE id = ?').run(generation, manifestKey, this.now(), id);
  }

  /** Generation numbers other unwritten batches of the same history have already taken (a write cut short keeps its number). */
  plannedGenerations(b: BatchRecord): number[] {
    return (this.db
      .prepare(`SELECT generation FROM mhl_batches WHERE id != ? AND destination_id = ? AND bucket = ? AND key_prefix = ? AND generation IS NOT NULL AND state IN ('open', 'sealed')`)
      .all(b.id, b.destinationId, b.bucket, b.keyPrefix) as { generation: number }[]).map((r) => r.generation);
  }

  markWritten(id: number, jobIds: readonly number[]): void {
    const now = this.now();
    this.db.transaction(() => {
      const b = this.get(id)!;
      this.db.prepare(`UPDATE mhl_batches SET state = 'written', written_at = ?, error_code = NULL, error_message = NULL, updated_at = ? WHERE id = ?`).run(now, now, id);
      if (jobIds.length === 0) this.db.prepare('UPDATE mhl_batches SET generation = NULL, manifest_key = NULL WHERE id = ?').run(id);
      const mark = this.db.prepare('UPDATE jobs SET mhl_generation = ? WHERE id = ?');
      for (const jobId of jobIds) mark.run(b.generation, jobId);
    })();
  }

  /** A write that failed: tried again later (its owed write says when), or (`final`) left failed with its error for the user. */
  writeFailed(id: number, error: ErrorInfo, final: boolean): void {
    this.db
      .prepare(`UPDATE mhl_batches SET state = ?, error_code = ?, error_message = ?, updated_at = ? WHERE id = ?`)
      .run(final ? 'failed' : 'sealed', error.code, error.message, this.now(), id);
  }

  /** A failed write queued again (`hoist retry` of a batch): owed afresh, its attempts from zero. */
  requeue(id: number): boolean {
    return this.db.transaction(() => {
      const again = this.db.prepare(`UPDATE mhl_batches SET state = 'sealed', updated_at = ? WHERE id = ? AND state = 'failed'`).run(this.now(), id).changes === 1;
      if (again) this.oweWrite(id, this.get(id)!.destinationId);
      return again;
    })();
  }

  /** Moves the late jobs of a written batch into a new sealed batch of the same root and destination, in one step. */
  regroup(jobIds: readonly number[], from: BatchRecord): BatchRecord {
    return this.db.transaction(() => {
      const next = this.batchFor({ destinationId: from.destinationId, root: from.root, bucket: from.bucket, keyPrefix: from.keyPrefix, folderId: from.folderId }, 'sealed');
      for (const jobId of jobIds) this.setJobBatch(jobId, next.id);
      return this.get(next.id)!;
    })();
  }

  /** Jobs that reached `done` after their batch's generation was written (a failed job retried): they need a generation of their own. */
  lateJobIds(): Array<{ jobId: number; batchId: number }> {
    return (this.db
      .prepare(`SELECT j.id AS job_id, j.batch_id FROM jobs j JOIN mhl_batches b ON b.id = j.batch_id
                WHERE b.state = 'written' AND j.state = 'done' AND j.mhl_generation IS NULL ORDER BY j.id`)
      .all() as Array<{ job_id: number; batch_id: number }>).map((r) => ({ jobId: r.job_id, batchId: r.batch_id }));
  }
}
