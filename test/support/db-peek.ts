// Reads a job database the way a test watches a running `hoist`: read-only, never in its way.
import Database from 'better-sqlite3';

/** Parts recorded as done, across every job; 0 while the database does not exist yet. */
export function donePartCount(db: string): number {
  try {
    const ro = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return (ro.prepare(`SELECT count(*) AS n FROM parts WHERE state = 'done'`).get() as { n: number }).n;
    } finally {
      ro.close();
    }
  } catch {
    return 0;
  }
}
