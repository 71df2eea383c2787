// What a failed job that still holds its multipart upload on the bucket says, the same in the
// `hoist` command line and the UI: its parts stay there (and are billed) until it is retried or
// cancelled. `Job.uploadKept` says whether a job is such a one.
import type { Job } from './types.js';

/** A failed multipart job whose upload is still open on the bucket (as our record says). */
export function holdsUpload(job: Pick<Job, 'state' | 'mode' | 'uploadId'>): boolean {
  return job.state === 'failed' && job.mode === 'multipart' && job.uploadId !== null;
}

/** The sentence both hosts show for it. */
export const UPLOAD_KEPT_NOTE = 'Upload kept on the bucket: retry resumes it, cancel aborts it.';

/** With how much the bucket holds of it: "Upload kept on the bucket (3 of 12 parts): retry resumes it, cancel aborts it." */
export function uploadKeptNote(job: Pick<Job, 'partsDone' | 'partCount'>): string {
  return UPLOAD_KEPT_NOTE.replace(':', ` (${job.partsDone} of ${job.partCount} parts):`);
}
