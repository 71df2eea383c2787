// The few SQL fragments that differ between SQLite and PostgreSQL, by the database's dialect; the
// rest of the store's SQL is written once, in what both accept.
import type { Db, Dialect } from './db-types.js';

/** LIMIT's "no limit": SQLite takes a negative number, PostgreSQL NULL. */
export function noLimit(db: Db): number | null {
  return db.dialect === 'pg' ? null : -1;
}

/** A table of the ids in one JSON array parameter, column `value` (a bulk step's ids, without one parameter per id). */
export function idTable(db: Db): string {
  return db.dialect === 'pg' ? '(SELECT CAST(value AS BIGINT) AS value FROM json_array_elements_text(CAST(? AS JSON))) AS ids' : 'json_each(?)';
}

/** A job's progress, 0..1: the same expression as the jobs_by_progress index in each schema, so the index serves the sort. */
export function progressSql(dialect: Dialect): string {
  return `CASE WHEN state = 'done' THEN 1.0 ELSE bytes_done * 1.0 / ${dialect === 'pg' ? 'GREATEST' : 'max'}(size, 1) END`;
}

/**
 * Jobs whose key or source path holds `search`, case folded: SQLite's trigram FTS5 table (a quoted
 * phrase, or a scan of it below three characters); PostgreSQL has no such table here and matches
 * the substring in the jobs themselves (strpos over lower(): portable, a scan of the jobs).
 */
export function searchCondition(dialect: Dialect, search: string): { sql: string; arg: string } {
  if (dialect === 'pg') return { sql: `strpos(lower(j.key || chr(10) || j.source_path), ?) > 0`, arg: search.toLowerCase() };
  if ([...search].length >= TRIGRAM) {
    // A quoted phrase: the trigram tokenizer matches it as a substring, case folded; nothing in it is syntax.
    return { sql: 'j.id IN (SELECT rowid FROM job_search WHERE job_search MATCH ?)', arg: `"${search.replaceAll('"', '""')}"` };
  }
  return { sql: 'j.id IN (SELECT rowid FROM job_search WHERE instr(lower(text), ?) > 0)', arg: search.toLowerCase() };
}

/** Shorter searches cannot use the trigram index (it matches runs of three characters): they scan the search table. */
const TRIGRAM = 3;
