// The bucket's side of the queue: the multipart uploads in progress under a destination, their
// parts, and aborting them (one, or the orphans no job owns), for `hoist uploads` and the UI.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Destination, RemotePart, RemoteUpload } from '../../../shared/types.js';
import { toHoistError } from '../s3/errors.js';
import * as ops from '../s3/operations.js';
import type { JobStore, RemoteAbort } from '../store/job-store.js';

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
export type RemoteUploadsStore = Pick<JobStore, 'liveUploadIds' | 'jobIdsForUpload' | 'getJob' | 'transition' | 'addEvent' | 'atomically' | 'queueRemoteAbort'>;

export class RemoteUploads {
  constructor(
    private readonly store: RemoteUploadsStore,
    private readonly client: (dest: Destination) => Promise<S3Client>,
    /** Tells the scheduler that job states changed under it. */
    private readonly poke: () => void,
    /** Works the owed aborts now (Engine.settleOwedAborts); returns those still owed. */
    private readonly settleOwed: () => Promise<RemoteAbort[]>,
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

  /**
   * Aborts one upload. One a job of ours made is aborted the way a cancel aborts it: its live job is
   * cancelled (no more parts) with the abort owed in the same transaction, and the owed abort goes
   * once that job's parts on the wire have ended and is made sure of (scheduler/remote-aborts.ts);
   * returns it if it is still owed (refused, still listed, or another process works the queue).
   * Anyone else's upload is aborted at once.
   */
  async abortUpload(dest: Destination, key: string, uploadId: string): Promise<RemoteAbort | null> {
    const ours = this.store.jobIdsForUpload(uploadId).map((id) => this.store.getJob(id)).filter((j) => j !== undefined);
    if (ours.length === 0) {
      await ops.abortMultipartUpload(await this.client(dest), dest.bucket, key, uploadId);
      return null;
    }
    this.store.atomically(() => {
      this.store.queueRemoteAbort({ destinationId: dest.id, bucket: dest.bucket, key, uploadId, jobId: ours[0]!.id, reason: 'aborted from the uploads list' });
      for (const job of ours) {
        if (job.state === 'done' || job.state === 'cancelled') continue;
        this.store.transition(job.id, [job.state], 'cancelled');
        this.store.addEvent(job.id, 'cancelled', 'Cancelled: its multipart upload was aborted from the uploads list.');
      }
    });
    this.poke();
    return (await this.settleOwed()).find((a) => a.uploadId === uploadId) ?? null;
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
