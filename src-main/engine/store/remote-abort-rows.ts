// Remote aborts still owed (invariant 4): an upload that must be aborted survives a network failure
// or a crash as a row of owed work (owed-store.ts, kind remote-abort, by upload id) until
// AbortMultipartUpload goes through; the scheduler's remote-aborts.ts is its handler.
import { OwedWorkStore, type OwedItem } from './owed-store.js';
import type { RemoteAbort } from './rows.js';

/** Owed work of this kind (store/owed-store.ts): an upload to abort, by its id. */
export const REMOTE_ABORT = 'remote-abort';
export type RemoteAbortPayload = Omit<RemoteAbort, 'id' | 'attempts' | 'lastError'>;

function toRemoteAbort(o: OwedItem<RemoteAbortPayload>): RemoteAbort {
  return { ...o.payload, id: o.id, attempts: o.attempts, lastError: o.lastError };
}

export class RemoteAbortRows {
  constructor(
    private readonly owed: OwedWorkStore,
    private readonly now: () => number,
  ) {}

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

  /** Aborts still owed for uploads to one destination. */
  countFor(destinationId: number): number {
    return this.owed.count({ kind: REMOTE_ABORT, scope: `destination:${destinationId}`, states: ['owed'] });
  }

  remoteAbortDone(id: number): void {
    this.owed.settle(id);
  }

  remoteAbortFailed(id: number, error: string, retryAt: number): void {
    this.owed.retry(id, error, retryAt);
  }
}
