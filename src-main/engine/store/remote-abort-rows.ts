// Remote aborts still owed (invariant 4): an upload that must be aborted survives a network failure
// or a crash here until AbortMultipartUpload goes through (the scheduler's remote-aborts.ts settles them).
import type { Db } from './db.js';
import { toRemoteAbort, type RemoteAbort, type Row } from './rows.js';

export class RemoteAbortRows {
  private readonly s;

  constructor(db: Db, private readonly now: () => number) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      queueAbort: p(`INSERT INTO remote_aborts (destination_id, bucket, key, upload_id, job_id, reason, created_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(upload_id) DO NOTHING`),
      dueAborts: p('SELECT * FROM remote_aborts WHERE available_at <= ? ORDER BY id LIMIT ?'),
      abortsOfJob: p('SELECT * FROM remote_aborts WHERE job_id = ? ORDER BY id'),
      abortDone: p('DELETE FROM remote_aborts WHERE id = ?'),
      abortRetry: p('UPDATE remote_aborts SET attempts = attempts + 1, last_error = ?, available_at = ? WHERE id = ?'),
      pendingAbortIds: p('SELECT upload_id FROM remote_aborts'),
    };
  }

  queueRemoteAbort(a: { destinationId: number; bucket: string; key: string; uploadId: string; jobId: number | null; reason: string }): void {
    this.s.queueAbort.run(a.destinationId, a.bucket, a.key, a.uploadId, a.jobId, a.reason, this.now());
  }

  /** Owed aborts whose back-off has passed; `all` takes the waiting ones too (a command settling them now). */
  dueRemoteAborts(limit = 50, opts: { all?: boolean } = {}): RemoteAbort[] {
    return (this.s.dueAborts.all(opts.all ? Number.MAX_SAFE_INTEGER : this.now(), limit) as Row[]).map(toRemoteAbort);
  }

  /** The aborts still owed for one job's uploads. */
  remoteAbortsOf(jobId: number): RemoteAbort[] {
    return (this.s.abortsOfJob.all(jobId) as Row[]).map(toRemoteAbort);
  }

  pendingAbortUploadIds(): Set<string> {
    return new Set((this.s.pendingAbortIds.all() as { upload_id: string }[]).map((r) => r.upload_id));
  }

  remoteAbortDone(id: number): void {
    this.s.abortDone.run(id);
  }

  remoteAbortFailed(id: number, error: string, retryAt: number): void {
    this.s.abortRetry.run(error, retryAt, id);
  }
}
