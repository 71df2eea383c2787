// The queue as a list (issue 14): which jobs a filter means (states, a file-name search, cleared
// rows left out) and the commands that change many jobs at once, each one statement over a list of
// ids, so 100,000 jobs are paused or cleared in one transaction without a statement per job.
import type { JobFilter } from '../../../shared/contract.js';
import type { JobState, Priority } from '../../../shared/states.js';
import { PRIORITIES } from '../../../shared/states.js';
import type { Db } from './db.js';

/** Shorter searches cannot use the trigram index (it matches runs of three characters): they scan the search table. */
const TRIGRAM = 3;

/**
 * The SQL condition (on `jobs j`) for a filter, with its arguments: the states (none: every state),
 * a case-insensitive substring of the key or the source path, and only the rows the list shows
 * (not cleared) unless `cleared` is set.
 */
export function jobFilterSql(f: JobFilter & { cleared?: boolean }): { where: string; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  if (!f.cleared) where.push('j.cleared_at IS NULL');
  if (f.states?.length) {
    where.push(`j.state IN (${f.states.map(() => '?').join(',')})`);
    args.push(...f.states);
  }
  const search = f.search?.trim() ?? '';
  if ([...search].length >= TRIGRAM) {
    // A quoted phrase: the trigram tokenizer matches it as a substring, case folded; nothing in it is syntax.
    where.push('j.id IN (SELECT rowid FROM job_search WHERE job_search MATCH ?)');
    args.push(`"${search.replaceAll('"', '""')}"`);
  } else if (search) {
    where.push('j.id IN (SELECT rowid FROM job_search WHERE instr(lower(text), ?) > 0)');
    args.push(search.toLowerCase());
  }
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', args };
}

/** What a bulk step changed: the ids of the jobs whose row it changed. */
export type Changed = number[];

export class JobBulkRows {
  constructor(
    private readonly db: Db,
    private readonly now: () => number,
  ) {}

  /** Every job the filter means (cleared rows left out unless asked for), by id: what "select all in this filter" acts on. */
  idsMatching(f: JobFilter & { cleared?: boolean }): number[] {
    const { where, args } = jobFilterSql(f);
    return (this.db.prepare(`SELECT j.id FROM jobs j ${where} ORDER BY j.id`).pluck().all(...args) as number[]);
  }

  /** Those of `ids` that exist, in one of `states` (all when omitted). */
  existing(ids: readonly number[], states?: readonly JobState[]): number[] {
    const inStates = states ? ` AND state IN (${states.map(() => '?').join(',')})` : '';
    return this.db.prepare(`SELECT id FROM jobs WHERE id IN (SELECT value FROM json_each(?))${inStates} ORDER BY id`).pluck().all(JSON.stringify(ids), ...(states ?? [])) as number[];
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
    return this.db
      .prepare('UPDATE jobs SET priority = ? WHERE id IN (SELECT value FROM json_each(?)) AND priority <> ? RETURNING id')
      .pluck()
      .all(level, JSON.stringify(ids), level) as number[];
  }

  /**
   * Takes done and cancelled jobs off the list, keeping their rows (ASC MHL batches, source clean-up
   * and skip-identical rely on them). A flagged done job (its object changed after delivery) stays:
   * it still asks for something to be done.
   */
  clear(ids: readonly number[]): Changed {
    return this.db
      .prepare(
        `UPDATE jobs SET cleared_at = ? WHERE id IN (SELECT value FROM json_each(?)) AND state IN ('done', 'cancelled') AND flag_code IS NULL AND cleared_at IS NULL RETURNING id`,
      )
      .pluck()
      .all(this.now(), JSON.stringify(ids)) as number[];
  }

  /** One UPDATE of the jobs in `from`, then one history entry for each job it changed. */
  private step(ids: readonly number[], set: string, from: readonly JobState[], event: { kind: string; message: string }): Changed {
    const now = this.now();
    return this.db.transaction(() => {
      const changed = this.db
        .prepare(`UPDATE jobs SET ${set}, updated_at = ? WHERE id IN (SELECT value FROM json_each(?)) AND state IN (${from.map(() => '?').join(',')}) RETURNING id`)
        .pluck()
        .all(now, JSON.stringify(ids), ...from) as number[];
      if (changed.length > 0) {
        this.db
          .prepare('INSERT INTO job_events (job_id, at, kind, code, operation, message) SELECT value, ?, ?, NULL, NULL, ? FROM json_each(?) ORDER BY value')
          .run(now, event.kind, event.message, JSON.stringify(changed));
      }
      return changed;
    })();
  }
}
