// Remote aborts owed (invariant 4): uploads that must be aborted (a cancelled job, a changed or
// missing source, a failed server-side copy, a create never recorded) are owed work in the store
// (kind remote-abort); this is their handler, which the owed-work runner (owed/runner.ts) calls with
// its one back-off. Each attempt keeps the S3 guide's order: no part of the upload is on the wire
// here any more (the scheduler lets those in flight end, cut after the idle timeout), then
// AbortMultipartUpload, then a look (ops.uploadPresence): a part that was on the wire may still land
// after the abort, so only an upload shown gone settles it; one still there is aborted again later.
import type { S3Client } from '@aws-sdk/client-s3';
import { HoistError } from '../../../shared/errors.js';
import type { Destination } from '../../../shared/types.js';
import type { RetryPolicy } from '../backoff.js';
import { logger } from '../log.js';
import type { OwedKind, OwedResult } from '../owed/runner.js';
import { toHoistError } from '../s3/errors.js';
import * as ops from '../s3/operations.js';
import type { RemoteAbortPayload } from '../store/remote-abort-rows.js';
import type { OwedItem } from '../store/owed-store.js';
import type { UploadStore } from '../store/upload-store.js';

const log = logger('aborts');

/** How an attempt that failed is written in the owed item's last error. */
function describe(e: HoistError): string {
  return `${e.code}${e.info.operation ? ` (${e.info.operation})` : ''}: ${e.message}${e.info.detail ? ` (${e.info.detail})` : ''}`;
}

export class RemoteAborts {
  constructor(
    private readonly store: Pick<UploadStore, 'getDestination' | 'getJob' | 'addEvent' | 'setJobError'>,
    private readonly client: (dest: Destination) => Promise<S3Client>,
    private readonly retry: RetryPolicy,
    /** Resolves once no part of the upload is on the wire in this process, false if `signal` came first (Scheduler.partsSettled). */
    private readonly partsSettled: (uploadId: string, signal: AbortSignal) => Promise<boolean>,
  ) {}

  /** The handler of owed remote aborts, for the owed-work runner. */
  handler(): OwedKind<RemoteAbortPayload> {
    // Several at once: an attempt may wait for its upload's parts on the wire.
    return { retry: this.retry, concurrency: 4, handle: (owed, ctx) => this.settle(owed, ctx.signal) };
  }

  private async settle(owed: OwedItem<RemoteAbortPayload>, stopping: AbortSignal): Promise<OwedResult> {
    const item = owed.payload;
    const dest = this.store.getDestination(item.destinationId);
    if (!dest) return { outcome: 'settled' };
    const job = item.jobId ? this.store.getJob(item.jobId) : undefined;
    // Hoist stopping while parts are still on the wire: not now (they are cut as it stops), at the next start.
    if (!(await this.partsSettled(item.uploadId, stopping))) return { outcome: 'not-yet', retryInMs: 0 };
    const client = await this.client(dest);
    try {
      await ops.abortMultipartUpload(client, item.bucket, item.key, item.uploadId);
    } catch (err) {
      const e = toHoistError(err, 'AbortMultipartUpload');
      // Gone already: the look below makes sure.
      if (e.code !== 's3.no-such-upload') return this.failed(owed, e, `Could not abort multipart upload ${item.uploadId} yet: ${e.message} Hoist tries again whenever it works the queue.`);
    }
    const seen = await ops.uploadPresence(client, item.bucket, item.key, item.uploadId);
    if (seen.state === 'there') {
      const e = new HoistError('s3.upload-still-there', { operation: 'AbortMultipartUpload', detail: seen.detail });
      return this.failed(owed, e, `Multipart upload ${item.uploadId} is still there after the abort (${seen.detail}): a part that was on the wire may have landed after it. Hoist aborts it again until the server shows it gone.`);
    }
    const done = `Aborted multipart upload ${item.uploadId} (${item.reason})`;
    // Neither listing permitted: the abort's own answer is all there is to go on (docs/reliability.md).
    const note = seen.state === 'unknown'
      ? ['abort-unverified', `${done}; neither ListParts nor ListMultipartUploads is permitted, so whether a part landed after the abort cannot be checked.`] as const
      : ['aborted', `${done}; ${seen.by} shows it gone.`] as const;
    if (!job) {
      if (seen.state === 'unknown') log.warn(note[1], { uploadId: item.uploadId });
      return { outcome: 'settled' };
    }
    this.store.addEvent(job.id, note[0], note[1]);
    if (job.state === 'cancelled' && job.error?.operation === 'AbortMultipartUpload') this.store.setJobError(job.id, null);
    return { outcome: 'settled' };
  }

  /** An attempt that did not settle it: said once in the job's history (until the reason changes), and tried again after the back-off. */
  private failed(owed: OwedItem<RemoteAbortPayload>, e: HoistError, message: string): OwedResult {
    const error = describe(e);
    const job = owed.payload.jobId ? this.store.getJob(owed.payload.jobId) : undefined;
    if (job) {
      if (!owed.lastError?.startsWith(`${e.code} `)) this.store.addEvent(job.id, e.code === 's3.upload-still-there' ? 'abort-recheck' : 'abort-retry', message, e.info);
      // A cancelled job shows why its upload is still on the server, until the abort goes through.
      if (job.state === 'cancelled') this.store.setJobError(job.id, e.info);
    }
    return { outcome: 'failed', error };
  }
}
