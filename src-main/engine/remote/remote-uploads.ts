// The bucket's side of the queue: the multipart uploads in progress under a destination, their
// parts, and aborting them (one, or the orphans no job owns), for `hoist uploads` and the UI.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Destination, RemotePart, RemoteUpload } from '../../../shared/types.js';
import { toHoistError } from '../s3/errors.js';
import * as ops from '../s3/operations.js';
import type { JobStore } from '../store/job-store.js';

/** An orphan younger than this is left alone unless an age is given (`--older-than 0s` sweeps them all). */
export const ORPHAN_MIN_AGE_MS = 24 * 3600_000;

export interface AbortOrphansResult {
  aborted: RemoteUpload[];
  /** Every upload left: those live jobs own and the orphans spared for their age. */
  kept: RemoteUpload[];
  /** Orphans left only because they began less than `minAgeMs` ago. */
  spared: number;
  /** The age an orphan had to reach to be aborted. */
  minAgeMs: number;
}

/** The job records an upload listing is matched against, and what a cancel from the list writes. */
export type RemoteUploadsStore = Pick<JobStore, 'liveUploadIds' | 'jobIdsForUpload' | 'getJob' | 'transition' | 'addEvent'>;

export class RemoteUploads {
  constructor(
    private readonly store: RemoteUploadsStore,
    private readonly client: (dest: Destination) => Promise<S3Client>,
    /** Tells the scheduler that job states changed under it. */
    private readonly poke: () => void,
  ) {}

  /** Every in-progress multipart upload under the prefix, each marked with the job that owns it. */
  async listUploads(dest: Destination, prefix = '', pageSize?: number): Promise<RemoteUpload[]> {
    const client = await this.client(dest);
    const live = this.store.liveUploadIds();
    const out: RemoteUpload[] = [];
    for await (const u of ops.listMultipartUploads(client, dest.bucket, prefix, pageSize)) {
      out.push({
        bucket: dest.bucket,
        key: u.key,
        uploadId: u.uploadId,
        initiated: u.initiated?.toISOString() ?? null,
        storageClass: u.storageClass,
        jobId: live.has(u.uploadId) ? (this.store.jobIdsForUpload(u.uploadId)[0] ?? null) : null,
      });
    }
    return out;
  }

  async listRemoteParts(dest: Destination, key: string, uploadId: string, pageSize?: number): Promise<RemotePart[]> {
    const client = await this.client(dest);
    const out: RemotePart[] = [];
    for await (const p of ops.listParts(client, dest.bucket, key, uploadId, pageSize)) out.push(p);
    return out;
  }

  /** Aborts one upload; if a live job owns it, that job is cancelled first so it cannot send more parts. */
  async abortUpload(dest: Destination, key: string, uploadId: string): Promise<void> {
    for (const jobId of this.store.jobIdsForUpload(uploadId)) {
      const job = this.store.getJob(jobId);
      if (job && job.state !== 'done' && job.state !== 'cancelled') {
        this.store.transition(jobId, [job.state], 'cancelled');
        this.store.addEvent(jobId, 'cancelled', 'Cancelled: its multipart upload was aborted from the uploads list.');
      }
    }
    this.poke();
    await ops.abortMultipartUpload(await this.client(dest), dest.bucket, key, uploadId);
  }

  /**
   * Aborts every upload under the prefix that no live job owns and that began at least `olderThanMs`
   * ago: by default ORPHAN_MIN_AGE_MS (24 h, as rclone's cleanup), so another client's upload begun a
   * moment ago is never swept. `spared` counts the orphans kept only because they were younger.
   */
  async abortOrphans(dest: Destination, opts: { prefix?: string; olderThanMs?: number; pageSize?: number } = {}): Promise<AbortOrphansResult> {
    const minAgeMs = opts.olderThanMs ?? ORPHAN_MIN_AGE_MS;
    const cutoff = Date.now() - minAgeMs;
    const uploads = await this.listUploads(dest, opts.prefix ?? '', opts.pageSize);
    const client = await this.client(dest);
    const aborted: RemoteUpload[] = [];
    const kept: RemoteUpload[] = [];
    let spared = 0;
    for (const u of uploads) {
      const old = u.initiated === null || Date.parse(u.initiated) <= cutoff;
      if (u.jobId !== null || !old) {
        if (u.jobId === null) spared++;
        kept.push(u);
        continue;
      }
      try {
        await ops.abortMultipartUpload(client, dest.bucket, u.key, u.uploadId);
      } catch (err) {
        if (toHoistError(err).code !== 's3.no-such-upload') throw err;
      }
      aborted.push(u);
    }
    return { aborted, kept, spared, minAgeMs };
  }
}
