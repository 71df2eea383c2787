// The reads a diagnostics file needs that no other store makes (issue 14): the latest job events
// across every job, with the file and key each is about.
import type { Db } from './db.js';

export interface RecentJobEvent {
  id: number;
  jobId: number;
  at: string;
  kind: string;
  code: string | null;
  operation: string | null;
  message: string;
  sourcePath: string | null;
  bucket: string | null;
  key: string | null;
  state: string | null;
}

type Row = Record<string, unknown>;

export class DiagnosticsRows {
  constructor(private readonly db: Db) {}

  /** The last `limit` job events, oldest first. */
  recentJobEvents(limit: number): RecentJobEvent[] {
    const rows = this.db
      .prepare(`SELECT e.id, e.job_id, e.at, e.kind, e.code, e.operation, e.message, j.source_path, j.bucket, j.key, j.state
                FROM job_events e LEFT JOIN jobs j ON j.id = e.job_id ORDER BY e.id DESC LIMIT ?`)
      .all(limit) as Row[];
    return rows.reverse().map((r) => ({
      id: r.id as number,
      jobId: r.job_id as number,
      at: new Date(r.at as number).toISOString(),
      kind: r.kind as string,
      code: (r.code as string | null) ?? null,
      operation: (r.operation as string | null) ?? null,
      message: r.message as string,
      sourcePath: (r.source_path as string | null) ?? null,
      bucket: (r.bucket as string | null) ?? null,
      key: (r.key as string | null) ?? null,
      state: (r.state as string | null) ?? null,
    }));
  }

  sqliteVersion(): string {
    return (this.db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  }
}
