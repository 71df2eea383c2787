// An ASC MHL batch as the app's batches screen shows it (issue 14): the batch, its state in words
// (a sealed batch whose write failed and waits for its next attempt is `retrying`), when that
// attempt is due, the manifest's s3:// address and the batch's files. `hoist batches list` prints
// the same batches (cli/batches.ts).
import type { BatchEntry, BatchStatus } from '../../../shared/records.js';
import { publicBatchOf } from '../public-records.js';
import type { BatchRecord } from '../store/batch-store.js';
import type { JobRecord } from '../store/job-store.js';

export function batchStatusOf(b: Pick<BatchRecord, 'state' | 'attempts' | 'error'>): BatchStatus {
  if (b.state === 'sealed' && (b.attempts > 0 || b.error !== null)) return 'retrying';
  return b.state;
}

export function batchEntryOf(b: BatchRecord, files: readonly JobRecord[]): BatchEntry {
  const status = batchStatusOf(b);
  return {
    batch: publicBatchOf(b),
    status,
    attempts: b.attempts,
    nextAttemptAt: status === 'retrying' ? new Date(b.availableAt).toISOString() : null,
    manifestUrl: b.manifestKey === null ? null : `s3://${b.bucket}/${b.manifestKey}`,
    files: files.map((j) => ({ jobId: j.id, sourcePath: j.sourcePath, key: j.key, state: j.state })),
  };
}
