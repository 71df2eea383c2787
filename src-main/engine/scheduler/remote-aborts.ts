// Remote aborts owed (invariant 4): uploads that must be aborted (a cancelled job, a changed or
// missing source, a create never recorded) are owed work in the store (kind remote-abort); this is
// their handler, which the owed-work runner (owed/runner.ts) calls with its one back-off until
// AbortMultipartUpload goes through or the upload is gone.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Destination } from '../../../shared/types.js';
import type { RetryPolicy } from '../backoff.js';
import type { OwedKind, OwedResult } from '../owed/runner.js';
import { toHoistError } from '../s3/errors.js';
import * as ops from '../s3/operations.js';
import type { RemoteAbortPayload } from '../store/remote-abort-rows.js';
import type { OwedItem } from '../store/owed-store.js';
import type { UploadStore } from '../store/upload-store.js';

export class RemoteAborts {
  constructor(
    private readonly store: Pick<UploadStore, 'getDestination' | 'getJob' | 'addEvent' | 'setJobError'>,
    private readonly client: (dest: Destination) => Promise<S3Client>,
    private readonly retry: RetryPolicy,
  ) {}

  /** The handler of owed remote aborts, for the owed-work runner. */
  handler(): OwedKind<RemoteAbortPayload> {
    return { retry: this.retry, handle: (owed) => this.settle(owed) };
  }

  private async settle(owed: OwedItem<RemoteAbortPayload>): Promise<OwedResult> {
    const item = { ...owed.payload, attempts: owed.attempts };
    const dest = this.store.getDestination(item.destinationId);
    if (!dest) return { outcome: 'settled' };
    const job = item.jobId ? this.store.getJob(item.jobId) : undefined;
    try {
      await ops.abortMultipartUpload(await this.client(dest), item.bucket, item.key, item.uploadId);
    } catch (err) {
      const e = toHoistError(err, 'AbortMultipartUpload');
      if (e.code !== 's3.no-such-upload') {
        if (job && item.attempts === 0) this.store.addEvent(job.id, 'abort-retry', `Could not abort multipart upload ${item.uploadId} yet: ${e.message} Hoist tries again whenever it works the queue.`, e.info);
        // A cancelled job shows why its upload is still on the server, until the abort goes through.
        if (job?.state === 'cancelled') this.store.setJobError(job.id, e.info);
        return { outcome: 'failed', error: `${e.code}${e.info.operation ? ` (${e.info.operation})` : ''}: ${e.message}` };
      }
    }
    if (!job) return { outcome: 'settled' };
    this.store.addEvent(job.id, 'aborted', `Aborted multipart upload ${item.uploadId} (${item.reason}).`);
    if (job.state === 'cancelled' && job.error?.operation === 'AbortMultipartUpload') this.store.setJobError(job.id, null);
    return { outcome: 'settled' };
  }
}
