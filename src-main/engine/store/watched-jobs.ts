// Jobs the watched folders make and move on themselves, not the scheduler: a server-side copy after a
// rename (folders/renames.ts) and an upload taken up again after a rebuild (remote/adopt.ts). Each
// step writes several rows (the job, its state, its history, the file's record) and is one
// transaction, so a crash never leaves a job without its history or a record without its job.
import type { ErrorInfo } from '../../../shared/errors.js';
import type { FileHashes, UploadMode } from '../../../shared/states.js';
import type { IntegrityProof } from '../s3/server-encryption.js';
import type { FolderStore, WatchedFileRecord } from './folder-store.js';
import type { JobRecord, JobStore, NewJob, PlannedPart } from './job-store.js';

/** A copy job as a running job (so nothing else takes it up), with its `copy-started` history. */
export function beginCopyJob(jobs: JobStore, row: NewJob, parts: PlannedPart[], message: string, lease?: JobLease): JobRecord {
  return jobs.db.transaction(() => {
    const job = jobs.insertJob(row, parts);
    // A shared queue: held with a lease like an upload (renewed with the node's others; taken over if the node dies mid-copy).
    // Held whatever else runs on the key: the rename was decided from this folder's record, and the
    // copy must begin now or not at all (a copy onto a key another node writes is not prevented).
    if (lease) jobs.claimJob(job.id, lease.owner, lease.leaseMs, undefined, false);
    else jobs.transition(job.id, ['queued'], 'running');
    jobs.addEvent(job.id, 'copy-started', message);
    return jobs.getJob(job.id)!;
  })();
}

/** A shared queue's node and how long its job leases last (job-leases.ts). */
export interface JobLease {
  owner: string;
  leaseMs: number;
}

export interface CopyResult {
  /** The object's ETag after the copy. */
  etag: string;
  /** The version the copy made, in a versioned bucket. */
  versionId: string | null;
  /** A single CopyObject has no part of its own: its one part is recorded with the object's ETag. */
  single: boolean;
  /** The hashes of the job whose object was copied (the same bytes), if it had any. */
  hashes: FileHashes | null;
  message: string;
  /** How its bytes were proven, and the encryption the server named. */
  proof: IntegrityProof & { serverEncryption: string | null };
}

/** The copy is in the bucket: the job is done, with the ETag the server gave. */
export function copyJobDone(jobs: JobStore, jobId: number, r: CopyResult): void {
  jobs.db.transaction(() => {
    if (r.single) jobs.markPartDone(jobId, 1, r.etag, /^[0-9a-f]{32}$/.test(r.etag) ? r.etag : '', null);
    jobs.transition(jobId, ['running'], 'completing');
    if (jobs.transition(jobId, ['completing'], 'done', { etag: r.etag, versionId: r.versionId, error: null })) {
      if (r.proof.serverEncryption) jobs.setServerEncryption(jobId, r.proof.serverEncryption);
      jobs.setIntegrity(jobId, r.proof);
    }
    if (r.hashes && Object.keys(r.hashes).length > 0) jobs.setHashes(jobId, r.hashes, null);
    jobs.addEvent(jobId, 'done', r.message);
  })();
}

/** A copy's multipart upload that will not be completed: its abort is owed (invariant 4), in the caller's transaction. */
function oweCopyAbort(jobs: JobStore, jobId: number, reason: string): void {
  const job = jobs.getJob(jobId);
  if (job?.uploadId) jobs.queueRemoteAbort({ destinationId: job.destinationId, bucket: job.bucket, key: job.key, uploadId: job.uploadId, jobId, reason });
}

/** The watcher stopped during the copy: cancelled (the rename is found again at the next start), the copy's upload owed an abort. */
export function copyJobInterrupted(jobs: JobStore, jobId: number, message: string): void {
  jobs.db.transaction(() => {
    oweCopyAbort(jobs, jobId, 'server-side copy interrupted');
    jobs.transition(jobId, ['running'], 'cancelled');
    jobs.addEvent(jobId, 'cancelled', message);
  })();
}

/** The copy could not be made: the job is planned again as an ordinary upload and queued; the copy's upload is owed an abort. */
export function copyJobToUpload(
  jobs: JobStore,
  jobId: number,
  plan: { snapshot: { size: number; mtimeMs: number; inode: string; mode: UploadMode; partSize: number }; parts: PlannedPart[] },
  message: string,
  error: Pick<ErrorInfo, 'code' | 'operation'>,
): void {
  jobs.db.transaction(() => {
    // Before the new plan forgets its id.
    oweCopyAbort(jobs, jobId, 'server-side copy failed');
    jobs.replanJob(jobId, plan.snapshot, plan.parts);
    jobs.addEvent(jobId, 'copy-failed', message, error);
    jobs.transition(jobId, ['running'], 'queued', { availableAt: 0 });
  })();
}

/**
 * An ownerless multipart upload on the server becomes a watched file's job again: the job with its
 * upload id and history, and the file's record pointing at it, in one transaction.
 */
export function adoptUploadJob(
  jobs: JobStore,
  folders: FolderStore,
  a: { row: NewJob; parts: PlannedPart[]; uploadId: string; message: string; file: Omit<WatchedFileRecord, 'jobId'> },
): JobRecord {
  return jobs.db.transaction(() => {
    const job = jobs.insertJob(a.row, a.parts);
    jobs.setUploadId(job.id, a.uploadId);
    jobs.addEvent(job.id, 'upload-adopted', a.message);
    folders.recordFile({ ...a.file, jobId: job.id });
    return job;
  })();
}
