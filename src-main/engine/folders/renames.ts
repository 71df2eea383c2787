// A file that was uploaded and is then renamed or moved inside a watched folder is copied
// server-side from its old key instead of being sent again. The copy is a job like any other
// (the UI and `hoist jobs` show it), done by the watcher rather than the scheduler; if the copy
// cannot be made the job falls back to an ordinary upload.
import fs from 'node:fs';
import type { S3Client } from '@aws-sdk/client-s3';
import { HoistError } from '../../../shared/errors.js';
import type { Priority } from '../../../shared/states.js';
import type { Destination } from '../../../shared/types.js';
import { copyInParts, copyProof, copyWhole, headSource, planCopy, versionRead, type CopyPlanSettings, type ObjectRef } from '../remote/copy.js';
import { toHoistError } from '../s3/errors.js';
import type { WatchedFileView } from '../store/folder-store.js';
import { newJob, type JobRecord, type JobStore, type NewJob } from '../store/job-store.js';
import { beginCopyJob, copyJobDone, copyJobInterrupted, copyJobToUpload, type JobLease } from '../store/watched-jobs.js';
import { planParts, type PlanSettings } from '../upload/part-plan.js';
import { pathUnder } from '../keys.js';
import type { FileSnapshot } from './stability.js';

/** The ETag of the object a record stands for, when that object is known to be whole in the bucket. */
export function uploadedEtag(r: WatchedFileView): string | null {
  if (r.how === 'adopted') return r.etag;
  return r.jobState === 'done' ? r.jobEtag : null;
}

/**
 * Where a new file came from, if it is a rename or move: a record of a file with the same inode,
 * size and mtime, whose object is in the bucket and whose old path no longer exists.
 */
export async function renamedFrom(candidates: readonly WatchedFileView[], snap: FileSnapshot, self: { folderId: number; relPath: string }): Promise<WatchedFileView | null> {
  for (const c of candidates) {
    if (c.inode !== snap.inode || (c.folderId === self.folderId && c.relPath === self.relPath) || !uploadedEtag(c)) continue;
    const gone = await fs.promises.access(pathUnder(c.folderPath, c.relPath)).then(() => false, () => true);
    if (gone) return c;
  }
  return null;
}

export interface CopyJob {
  dest: Destination;
  file: string;
  key: string;
  snap: FileSnapshot;
  from: WatchedFileView;
  /** The upload plan to fall back on when the copy cannot be made. */
  uploadPlan: PlanSettings;
  /** Whole-file hashes and the ASC MHL batch (issue 8). */
  hashing?: Pick<NewJob, 'hashAlgorithms' | 'mhl' | 'batchId'>;
  /** The folder's: kept when the copy becomes an upload. */
  priority: Priority;
}

export type CopyEnd = 'copied' | 'uploading' | 'interrupted';

export class RenameCopier {
  constructor(
    private readonly store: JobStore,
    private readonly settings: CopyPlanSettings & { concurrency?: number } = {},
    /** A shared queue's: the copy job is held with this node's lease, as an upload job is. */
    private readonly lease?: JobLease,
  ) {}

  /**
   * Records the copy as a running job (so that nothing else takes it up) and returns it; `run` then
   * copies. Kept apart so the caller can claim the key in the same synchronous step.
   */
  begin(c: CopyJob): JobRecord {
    const plan = planCopy(c.snap.size, { ...this.settings, maxParts: c.dest.maxParts });
    return beginCopyJob(
      this.store,
      newJob({
        dest: c.dest,
        sourcePath: c.file,
        key: c.key,
        snapshot: c.snap,
        plan: { mode: plan.mode, partSize: plan.mode === 'multipart' ? plan.partSize : c.snap.size },
        priority: c.priority,
        checksumAlgorithm: null,
        ...c.hashing,
      }),
      plan.parts,
      `Renamed or moved from ${pathUnder(c.from.folderPath, c.from.relPath)}: copying s3://${c.dest.bucket}/${c.from.key} server-side instead of uploading again.`,
      this.lease,
    );
  }

  /** Copies; on failure the job becomes an ordinary upload, on `signal` it is cancelled (the rename is found again at the next start). */
  async run(job: JobRecord, c: CopyJob, clientFor: (dest: Destination) => Promise<S3Client>, signal: AbortSignal): Promise<CopyEnd> {
    const source: ObjectRef = { bucket: c.dest.bucket, key: c.from.key };
    const target: ObjectRef = { bucket: c.dest.bucket, key: c.key };
    const expectedEtag = uploadedEtag(c.from)!;
    const object = { storageClass: c.dest.storageClass, sse: c.dest.sse, sseKmsKeyId: c.dest.sseKmsKeyId };
    try {
      const client = await clientFor(c.dest);
      // Some servers (radosgw 16) ignore x-amz-copy-source-if-match: look first as well.
      const head = await headSource(client, source);
      if (head.size !== c.snap.size || head.etag !== expectedEtag) {
        throw new HoistError('source.changed', { message: `s3://${source.bucket}/${source.key} is no longer the object uploaded from this file (size ${head.size}, ETag ${head.etag}).` });
      }
      const parts = this.store.parts(job.id);
      const result =
        job.mode === 'single'
          ? await copyWhole(client, source, target, { ...object, ifMatch: expectedEtag, signal })
          : await copyInParts(client, source, target, parts, {
              ...object,
              size: head.size,
              ifMatch: expectedEtag,
              signal,
              ...(head.contentType ? { contentType: head.contentType } : {}),
              metadata: head.metadata,
              ...(this.settings.concurrency !== undefined ? { concurrency: this.settings.concurrency } : {}),
              onCreated: (uploadId) => this.store.setUploadId(job.id, uploadId),
              onPart: (n, etag) => this.store.markPartDone(job.id, n, etag, /^[0-9a-f]{32}$/.test(etag) ? etag : '', null),
            });
      // The same bytes as the object copied (inode and snapshot, or the ETag, say so): the same hashes.
      const fromJob = c.from.jobId ? this.store.getJob(c.from.jobId) : undefined;
      const versionId = result.versionId ?? (head.versionId !== null ? versionRead(result, await headSource(client, target)) : null);
      copyJobDone(this.store, job.id, {
        etag: result.etag,
        versionId,
        single: job.mode === 'single',
        hashes: fromJob?.hashes ?? null,
        proof: copyProof(result),
        message: `Copied server-side (${result.mode === 'single' ? 'CopyObject' : `${result.parts} UploadPartCopy ranges`}); ETag ${result.etag}${versionId ? `, version ${versionId}` : ''}. No byte was uploaded again.`,
      });
      return 'copied';
    } catch (err) {
      const e = toHoistError(err);
      if (signal.aborted) {
        copyJobInterrupted(this.store, job.id, 'Hoist stopped during the server-side copy; the rename is found and copied again at the next start.');
        return 'interrupted';
      }
      this.fallBackToUpload(job, c, e);
      return 'uploading';
    }
  }

  private fallBackToUpload(job: JobRecord, c: CopyJob, e: HoistError): void {
    const plan = planParts(c.snap.size, c.uploadPlan);
    copyJobToUpload(
      this.store,
      job.id,
      { snapshot: { ...c.snap, mode: plan.mode, partSize: plan.partSize }, parts: plan.parts },
      `The server-side copy could not be made (${e.code}: ${e.message}); the file is uploaded instead.`,
      e.info,
    );
  }
}
