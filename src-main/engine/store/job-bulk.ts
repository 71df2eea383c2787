// The queue as a list (issue 14): which jobs a filter means (states, a file-name search, cleared
// rows left out) and the commands that change many jobs at once, each one statement over a list of
// ids, so 100,000 jobs are paused or cleared in one transaction without a statement per job.
import type { JobFilter } from '../../../shared/contract.js';
import type { JobState, Priority } from '../../../shared/states.js';
import { PRIORITIES } from '../../../shared/states.js';
import type { Db, Dialect } from './db.js';
import { idTable, searchCondition } from './dialect.js';

/**
 * The SQL condition (on `jobs j`) for a filter, with its arguments: the states (none: every state),
 * a case-insensitive substring of the key or the source path, and only the rows the list shows
 * (not cleared) unless `cleared` is set.
 */
export function jobFilterSql(dialect: Dialect, f: JobFilter & { cleared?: boolean }, opts: { clearedByOrder?: boolean } = {}): { where: string; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  // clearedByOrder (SQLite): the condition is not used to look rows up (unary +), so that an ORDER BY
  // state, cleared_at, id can read (state, cleared_at) in order; as a lookup it made SQLite sort (3.53).
  if (!f.cleared) where.push(opts.clearedByOrder && dialect === 'sqlite' ? '+j.cleared_at IS NULL' : 'j.cleared_at IS NULL');
  if (f.states?.length) {
    where.push(`j.state IN (${f.states.map(() => '?').join(',')})`);
    args.push(...f.states);
  }
  const search = f.search?.trim() ?? '';
  if (search) {
    const { sql, arg } = searchCondition(dialect, search);
    where.push(sql);
    args.push(arg);
  }
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', args };
}

/** RETURNING gives rows in no set order on PostgreSQL (SQLite's is the rowid's): the changed ids are sorted here. */
const byId = (a: number, b: number) => a - b;

/** What a bulk step changed: the ids of the jobs whose row it changed, in id order. */
export type Changed = number[];

export class JobBulkRows {
  constructor(
    private readonly db: Db,
    private readonly now: () => number,
  ) {}

  /** Every job the filter means (cleared rows left out unless asked for), by id: what "select all in this filter" acts on. */
  idsMatching(f: JobFilter & { cleared?: boolean }): number[] {
    const { where, args } = jobFilterSql(this.db.dialect, f);
    return (this.db.prepare(`SELECT j.id FROM jobs j ${where} ORDER BY j.id`).pluck().all(...args) as number[]);
  }

  /**
   * The state and priority of each of `ids` that exists, in one statement: the scheduler's look at its
   * active jobs after another process wrote (on PostgreSQL one round trip, not one a job).
   */
  statesOf(ids: readonly number[]): Map<number, { state: JobState; priority: Priority }> {
    const rows = this.db.prepare(`SELECT id, state, priority FROM jobs WHERE id IN (SELECT value FROM ${idTable(this.db)})`).all(JSON.stringify(ids)) as { id: number; state: JobState; priority: number }[];
    return new Map(rows.map((r) => [r.id, { state: r.state, priority: PRIORITIES[r.priority] ?? 'normal' }]));
  }

  /** Those of `ids` that exist, in one of `states` (all when omitted). */
  existing(ids: readonly number[], states?: readonly JobState[]): number[] {
    const inStates = states ? ` AND state IN (${states.map(() => '?').join(',')})` : '';
    return this.db.prepare(`SELECT id FROM jobs WHERE id IN (SELECT value FROM ${idTable(this.db)})${inStates} ORDER BY id`).pluck().all(JSON.stringify(ids), ...(states ?? [])) as number[];
  }

  /** Queued or running jobs become paused (finished parts kept), each with a history entry. */
  pause(ids: readonly number[]): Changed {
    return this.step(ids, `state = 'paused'`, ['queued', 'running'], { kind: 'paused', message: 'Paused; finished parts are kept.' });
  }

  /** Jobs in `from` (paused; failed for a retry) are queued again now, their attempts and error reset; back on the list if cleared. */
  resume(ids: readonly number[], from: readonly JobState[]): Changed {
    return this.step(ids, `state = 'queued', available_at = 0, error_code = NULL, error_message = NULL, error_operation = NULL, attempts = 0, finished_at = NULL, cleared_at = NULL`, from, {
      kind: 'resumed',
      message: 'Resumed.',
    });
  }

  /** Another priority for these jobs; only the rows whose priority differs count as changed. */
  setPriority(ids: readonly number[], priority: Priority): Changed {
    const level = PRIORITIES.indexOf(priority);
    return (this.db
      .prepare(`UPDATE jobs SET priority = ? WHERE id IN (SELECT value FROM ${idTable(this.db)}) AND priority <> ? RETURNING id`)
      .pluck()
      .all(level, JSON.stringify(ids), level) as number[]).sort(byId);
  }

  /**
   * Takes done and cancelled jobs off the list, keeping their rows (ASC MHL batches, source clean-up
   * and skip-identical rely on them). A flagged done job (its object changed after delivery) stays:
   * it still asks for something to be done.
   */
  clear(ids: readonly number[]): Changed {
    return (this.db
      .prepare(
        `UPDATE jobs SET cleared_at = ? WHERE id IN (SELECT value FROM ${idTable(this.db)}) AND state IN ('done', 'cancelled') AND flag_code IS NULL AND cleared_at IS NULL RETURNING id`,
      )
      .pluck()
      .all(this.now(), JSON.stringify(ids)) as number[]).sort(byId);
  }

  /** One UPDATE of the jobs in `from`, then one history entry for each job it changed. */
  private step(ids: readonly number[], set: string, from: readonly JobState[], event: { kind: string; message: string }): Changed {
    const now = this.now();
    return this.db.transaction(() => {
      const changed = (this.db
        .prepare(`UPDATE jobs SET ${set}, updated_at = ? WHERE id IN (SELECT value FROM ${idTable(this.db)}) AND state IN (${from.map(() => '?').join(',')}) RETURNING id`)
        .pluck()
        .all(now, JSON.stringify(ids), ...from) as number[]).sort(byId);
      if (changed.length > 0) {
        this.db
          // Typed: PostgreSQL does not infer a parameter's type from the INSERT's column through a SELECT.
          .prepare(`INSERT INTO job_events (job_id, at, kind, code, operation, message) SELECT value, CAST(? AS BIGINT), CAST(? AS TEXT), NULL, NULL, CAST(? AS TEXT) FROM ${idTable(this.db)} ORDER BY value`)
          .run(now, event.kind, event.message, JSON.stringify(changed));
      }
      return changed;
    })();
  }
}
