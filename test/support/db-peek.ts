// Reads a job database the way a test watches a running `hoist`: read-only, never in its way.
import Database from 'better-sqlite3';

/** Parts recorded as done, across every job (or the jobs for one key); 0 while the database does not exist yet. */
export function donePartCount(db: string, key?: string): number {
  try {
    const ro = new Database(db, { readonly: true, fileMustExist: true });
    try {
      const sql = `SELECT count(*) AS n FROM parts p JOIN jobs j ON j.id = p.job_id WHERE p.state = 'done'${key === undefined ? '' : ' AND j.key = ?'}`;
      return (ro.prepare(sql).get(...(key === undefined ? [] : [key])) as { n: number }).n;
    } finally {
      ro.close();
    }
  } catch {
    return 0;
  }
}
