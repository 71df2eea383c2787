// Remote aborts owed (invariant 4): uploads that must be aborted (a cancelled job, a changed or
// missing source, a create never recorded) are queued in the store and settled here, with back-off,
// until AbortMultipartUpload goes through or the upload is gone. Moved verbatim from scheduler.ts.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Destination } from '../../../shared/types.js';
import { backoffDelay, type RetryPolicy } from '../backoff.js';
import { toHoistError } from '../s3/errors.js';
import * as ops from '../s3/operations.js';
import type { RemoteAbort } from '../store/rows.js';
import type { UploadStore } from '../store/upload-store.js';

export class RemoteAborts {
  /** The pass over owed aborts under way, if any (one at a time). */
  private abortsInFlight: Promise<void> | null = null;

  constructor(
    private readonly store: Pick<UploadStore, 'dueRemoteAborts' | 'getDestination' | 'getJob' | 'remoteAbortDone' | 'remoteAbortFailed' | 'addEvent' | 'setJobError'>,
    private readonly client: (dest: Destination) => Promise<S3Client>,
    private readonly retry: RetryPolicy,
  ) {}

  /** Whether a pass is under way. */
  get busy(): boolean {
    return this.abortsInFlight !== null;
  }

  settleRemoteAborts(opts: { all?: boolean } = {}): Promise<void> {
    const pass = (async () => {
      for (const item of this.store.dueRemoteAborts(20, opts)) await this.settleRemoteAbort(item);
    })().finally(() => {
      if (this.abortsInFlight === pass) this.abortsInFlight = null;
    });
    this.abortsInFlight = pass;
    return pass;
  }

  private async settleRemoteAbort(item: RemoteAbort): Promise<void> {
    const dest = this.store.getDestination(item.destinationId);
    if (!dest) {
      this.store.remoteAbortDone(item.id);
      return;
    }
    const job = item.jobId ? this.store.getJob(item.jobId) : undefined;
    try {
      await ops.abortMultipartUpload(await this.client(dest), item.bucket, item.key, item.uploadId);
    } catch (err) {
      const e = toHoistError(err, 'AbortMultipartUpload');
      if (e.code !== 's3.no-such-upload') {
        this.store.remoteAbortFailed(item.id, `${e.code}${e.info.operation ? ` (${e.info.operation})` : ''}: ${e.message}`, Date.now() + backoffDelay(item.attempts + 1, this.retry));
        if (job && item.attempts === 0) this.store.addEvent(job.id, 'abort-retry', `Could not abort multipart upload ${item.uploadId} yet: ${e.message} Hoist tries again whenever it works the queue.`, e.info);
        // A cancelled job shows why its upload is still on the server, until the abort goes through.
        if (job?.state === 'cancelled') this.store.setJobError(job.id, e.info);
        return;
      }
    }
    this.store.remoteAbortDone(item.id);
    if (!job) return;
    this.store.addEvent(job.id, 'aborted', `Aborted multipart upload ${item.uploadId} (${item.reason}).`);
    if (job.state === 'cancelled' && job.error?.operation === 'AbortMultipartUpload') this.store.setJobError(job.id, null);
  }

  /** Tries every owed abort now, back-off or not (for commands that settle them before they return); returns those still owed. */
  async drainRemoteAborts(): Promise<RemoteAbort[]> {
    while (this.abortsInFlight) await this.abortsInFlight.catch(() => undefined);
    await this.settleRemoteAborts({ all: true });
    return this.store.dueRemoteAborts(1000, { all: true });
  }
}
