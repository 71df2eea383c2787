// What becomes of a finished (or growing) file in a watched folder, at one of its destinations:
// nothing (already in the bucket), a server-side copy (a rename), an upload, or a clear refusal
// (key too long, two files for one key). The watcher asks once per destination, and every record
// is per destination. Each decision ends in one synchronous step that re-checks and claims the key,
// so two files settled at once cannot both take it.
import fs from 'node:fs';
import type { S3Client } from '@aws-sdk/client-s3';
import { HoistError, type ErrorCode } from '../../../shared/errors.js';
import type { IfExistsPolicy } from '../../../shared/states.js';
import type { Destination } from '../../../shared/types.js';
import * as ops from '../s3/operations.js';
import { toHoistError } from '../s3/errors.js';
import type { BatchStore } from '../store/batch-store.js';
import type { FolderRecord, FolderStore, WatchedFileRecord, WatchedFileView } from '../store/folder-store.js';
import type { JobRecord, JobStore, NewJob } from '../store/job-store.js';
import { isHistoryPath, mhlPlacement } from '../mhl/source-history.js';
import { multipartPartSize, type PlanSettings } from '../upload/part-plan.js';
import { KeyListings } from '../remote/key-listing.js';
import type { EnqueueOptions } from '../enqueue.js';
import { EnqueueBatcher, type BatchHost } from './enqueue-batch.js';
import { GrowingUploads } from './growing.js';
import { fileMatchesEtag, firstMatchingEtag } from './local-etag.js';
import { keyFor, pathUnder } from '../keys.js';
import { RenameCopier, renamedFrom, uploadedEtag, type CopyJob } from './renames.js';
import { sameSnapshot, type FileSnapshot } from './stability.js';

/** Why a file was not uploaded: an error code, or two files mapping to one key. */
export type SkipReason = ErrorCode | 'key-collision';

export interface SkippedFile {
  folderId: number;
  path: string;
  reason: SkipReason;
  message: string;
}

export type FileAction = 'queued' | 'copied' | 'adopted' | 'growing' | 'grown' | 'copy-failed' | 'deleted' | 'moved';

export interface FileActivity {
  folderId: number;
  path: string;
  key: string;
  action: FileAction;
  jobId: number | null;
  /** For a copy: the key it was copied from. */
  fromKey?: string;
}

/** One file of one watched folder, bound for one of the folder's destinations. */
export interface FileContext {
  folder: FolderRecord;
  dest: Destination;
  file: string;
  relPath: string;
}

/** Refuses a file this process cannot read, as enqueue does for the paths it is given. */
async function readable(file: string): Promise<void> {
  try {
    await fs.promises.access(file, fs.constants.R_OK);
  } catch (err) {
    throw new HoistError(toHoistError(err).code === 'source.missing' ? 'source.missing' : 'source.unreadable', { message: `Cannot read ${file}: ${(err as Error).message}` });
  }
}

/** What deciding a file needs of the engine (Engine has it): job commands, a client factory, the stores. */
export interface IngestHost {
  /** Growing uploads and rename copies make and extend their own job rows (growing.ts, renames.ts). */
  readonly store: JobStore;
  /** Other processes watch the same folders (a shared queue, issue 15): a file's record is claimed, not overwritten. */
  readonly shared: boolean;
  readonly batches: Pick<BatchStore, 'batchFor'>;
  getJob(id: number): JobRecord | undefined;
  /** Jobs for looked-at files, many in one transaction (enqueue-batch.ts). */
  enqueueLooked: BatchHost['enqueueLooked'];
  /** One file's job, its record claimed in the same transaction (a shared queue: false makes no job). */
  enqueue(paths: readonly string[], o: EnqueueOptions): Promise<JobRecord[]>;
  cancel(id: number): Promise<boolean>;
  clientFor(dest: Destination): Promise<S3Client>;
}

export interface IngestHooks {
  skipped(s: SkippedFile): void;
  activity(a: FileActivity): void;
  /** A job made or moved on here, not by the scheduler: hosts still hear of it. */
  job(job: JobRecord): void;
  /** A copy runs on after `settle` returns; the watcher waits for it on stop. */
  background(work: Promise<unknown>): void;
}

const UNFINISHED = new Set(['queued', 'running', 'completing', 'paused']);

export class Ingest {
  readonly growing: GrowingUploads;
  /** Keys being queued right now (their batch is not yet committed), so a second file for the same key sees them taken. */
  private readonly claimed = new Map<string, string>();
  private readonly batcher: EnqueueBatcher;
  /** Which keys are empty, from one listing for many files instead of a HeadObject each (remote/key-listing.ts). */
  private readonly listings = new KeyListings();

  constructor(
    private readonly host: IngestHost,
    private readonly folders: FolderStore,
    private readonly copier: RenameCopier,
    private readonly hooks: IngestHooks,
    /** Aborted when the watcher stops: copies under way end and are redone at the next start. */
    private readonly stopping: () => AbortSignal,
  ) {
    this.growing = new GrowingUploads(host.store);
    this.batcher = new EnqueueBatcher(host);
  }

  /** The file has stopped changing: decide what it becomes. */
  async settle(ctx: FileContext, snap: FileSnapshot): Promise<void> {
    if (this.isHistory(ctx)) return;
    const key = this.keyOrSkip(ctx);
    if (key === null) return;
    const row = this.folders.file(ctx.folder.id, ctx.dest.id, ctx.relPath);
    const job = row?.jobId ? this.host.getJob(row.jobId) : undefined;
    if (row?.how === 'growing' && job?.growing === 1 && UNFINISHED.has(job.state)) {
      this.finishGrowing(ctx, key, job, snap);
      return;
    }
    if (row?.how === 'growing' && this.growing.refused(job, snap, ctx.dest)) {
      this.hooks.skipped({ folderId: ctx.folder.id, path: ctx.file, reason: 'limits.too-large', message: job!.error!.message });
      return;
    }
    if (row && sameSnapshot(row, snap)) return;
    if (this.collides(ctx, key)) return;
    if (job && UNFINISHED.has(job.state)) {
      // The scheduler restarts an unfinished upload whose source changed; only our record moves on.
      this.folders.recordFile({ ...row!, key, ...snap });
      return;
    }
    const uploadPlan = this.uploadPlan(ctx);
    const renamed = await renamedFrom(this.folders.filesWithSnapshot(snap.size, snap.mtimeMs, ctx.dest.id), snap, { folderId: ctx.folder.id, relPath: ctx.relPath });
    if (renamed) return this.startCopy(ctx, key, snap, renamed, uploadPlan);
    const client = await this.host.clientFor(ctx.dest);
    // Policy overwrite sends without looking; the others spare the upload of bytes already at the key.
    if (this.policy(ctx) !== 'overwrite' && (await this.alreadyInBucket(ctx, client, key, snap, uploadPlan, row ?? null))) return;
    const duplicate = await this.sameBytesUploaded(ctx, snap);
    if (duplicate) return this.startCopy(ctx, key, snap, duplicate, uploadPlan);
    await this.upload(ctx, key, snap, job, row ?? null);
  }

  /** The file got longer: in a growing folder, its parts start (or keep) going out. Problems wait for `settle` to report them once. */
  grew(ctx: FileContext, snap: FileSnapshot): void {
    if (this.isHistory(ctx)) return;
    const key = this.keyOrSkip(ctx, false);
    if (key === null) return;
    const row = this.folders.file(ctx.folder.id, ctx.dest.id, ctx.relPath);
    const job = row?.jobId ? this.host.getJob(row.jobId) : undefined;
    if (row?.how === 'growing' && job && job.growing === 1 && UNFINISHED.has(job.state)) {
      this.growing.extend(job, snap);
      return;
    }
    if (job && UNFINISHED.has(job.state)) return;
    // Refused as too large while it grew: not started again (settle reports it once it is finished).
    if (row?.how === 'growing' && job?.error?.code === 'limits.too-large' && job.inode === snap.inode) return;
    if (this.collides(ctx, key, false)) return;
    const started = this.growing.start({ dest: ctx.dest, file: ctx.file, key, priority: ctx.folder.priority, hashing: this.hashing(ctx, key), origin: { machine: this.folders.machine, folderId: ctx.folder.id, relPath: ctx.relPath } }, snap);
    if (!started) return;
    this.folders.recordFile({ folderId: ctx.folder.id, destinationId: ctx.dest.id, relPath: ctx.relPath, key, ...snap, how: 'growing', jobId: started.id, etag: null });
    this.announce(started.id);
    this.hooks.activity({ folderId: ctx.folder.id, path: ctx.file, key, action: 'growing', jobId: started.id });
  }

  private finishGrowing(ctx: FileContext, key: string, job: JobRecord, snap: FileSnapshot): void {
    if (this.growing.finish(job, snap)) {
      this.folders.recordFile({ folderId: ctx.folder.id, destinationId: ctx.dest.id, relPath: ctx.relPath, key, ...snap, how: 'growing', jobId: job.id, etag: null });
      this.announce(job.id);
      this.hooks.activity({ folderId: ctx.folder.id, path: ctx.file, key, action: 'grown', jobId: job.id });
    }
  }

  /** With ASC MHL on, a root's `ascmhl/` folder travels with its generation (the MHL writer copies it), not as files of its own. */
  private isHistory(ctx: FileContext): boolean {
    return ctx.folder.mhl && isHistoryPath(ctx.relPath);
  }

  /** What the folder's files do when their key already holds an object: the folder's policy, else the destination's. */
  private policy(ctx: FileContext): IfExistsPolicy {
    return ctx.folder.ifExists ?? ctx.dest.ifExists;
  }

  /** The folder's whole-file hashes, its --if-exists policy, and the file's place in its root's open ASC MHL batch (issue 8). */
  private hashing(ctx: FileContext, key: string): Pick<NewJob, 'hashAlgorithms' | 'mhl' | 'batchId' | 'ifExists'> {
    const { rootPrefix, ...place } = mhlPlacement(ctx.folder.path, ctx.file, ctx.folder.mhl ? key : null);
    const batchId = ctx.folder.mhl
      ? this.host.batches.batchFor({ destinationId: ctx.dest.id, root: place.root, bucket: ctx.dest.bucket, keyPrefix: rootPrefix, folderId: ctx.folder.id }, 'open').id
      : null;
    return { hashAlgorithms: ctx.folder.hashAlgorithms, mhl: place, batchId, ifExists: this.policy(ctx) };
  }

  private announce(jobId: number): void {
    const job = this.host.getJob(jobId);
    if (job) this.hooks.job(job);
  }

  private keyOrSkip(ctx: FileContext, report = true): string | null {
    try {
      return keyFor(ctx.dest, ctx.folder, ctx.relPath);
    } catch (err) {
      const e = toHoistError(err);
      if (report) this.hooks.skipped({ folderId: ctx.folder.id, path: ctx.file, reason: e.code, message: e.message });
      return null;
    }
  }

  /** Another file that still exists already maps to this key: report, never overwrite. */
  private collides(ctx: FileContext, key: string, report = true): boolean {
    const claims = this.folders.filesWithKey(key, ctx.dest.id).map((r) => pathUnder(r.folderPath, r.relPath));
    const claimedNow = this.claimed.get(`${ctx.dest.id}:${key}`);
    if (claimedNow) claims.push(claimedNow);
    for (const otherFile of claims) {
      if (otherFile === ctx.file || !fs.existsSync(otherFile)) continue;
      if (report) this.hooks.skipped({
        folderId: ctx.folder.id,
        path: ctx.file,
        reason: 'key-collision',
        message: `${ctx.file} and ${otherFile} both map to s3://${ctx.dest.bucket}/${key}; the object stays the one from ${otherFile}. Rename one of them.`,
      });
      return true;
    }
    return false;
  }

  private uploadPlan(ctx: FileContext): PlanSettings {
    return { ...ctx.dest, singlePutThreshold: ctx.folder.singlePutThreshold ?? ctx.dest.singlePutThreshold };
  }

  /** An object already at the key with the same size and our bytes (by ETag) is not sent again. */
  private async alreadyInBucket(ctx: FileContext, client: S3Client, key: string, snap: FileSnapshot, plan: PlanSettings, seen: WatchedFileRecord | null): Promise<boolean> {
    let head: Awaited<ReturnType<typeof ops.headObject>>;
    try {
      // An empty key a fresh listing shows needs no look of its own; the scheduler still looks before it writes (invariant 12).
      if (await this.listings.empty(client, ctx.dest.id, ctx.dest.bucket, key)) return false;
      head = await ops.headObject(client, ctx.dest.bucket, key);
    } catch {
      // Nothing can be known (no s3:GetObject for a PutObject-only user, or no network): upload, and let the scheduler retry.
      return false;
    }
    if (!head || head.size !== snap.size) return false;
    const ourPartSize = multipartPartSize(snap.size, plan);
    if (!(await fileMatchesEtag(ctx.file, head.etag, [ourPartSize]))) return false;
    if (this.collides(ctx, key)) return true;
    const adopted: WatchedFileRecord = { folderId: ctx.folder.id, destinationId: ctx.dest.id, relPath: ctx.relPath, key, ...snap, how: 'adopted', jobId: null, etag: head.etag };
    // Another process that decided this file first (it may have sent these very bytes) keeps its record.
    if (this.host.shared) {
      if (!this.folders.claimFile(seen, adopted)) return true;
    } else this.folders.recordFile(adopted);
    this.hooks.activity({ folderId: ctx.folder.id, path: ctx.file, key, action: 'adopted', jobId: null });
    return true;
  }

  /** A copy of an uploaded file (same size and mtime, another inode) whose bytes match: copy, do not upload. */
  private async sameBytesUploaded(ctx: FileContext, snap: FileSnapshot): Promise<WatchedFileView | null> {
    const candidates: Array<{ record: WatchedFileView; etag: string; partSizeHints: number[] }> = [];
    for (const c of this.folders.filesWithSnapshot(snap.size, snap.mtimeMs, ctx.dest.id)) {
      if (c.inode === snap.inode || (c.folderId === ctx.folder.id && c.relPath === ctx.relPath)) continue;
      const etag = uploadedEtag(c);
      if (!etag) continue;
      // Only a multipart ETag depends on the part size; the job is read only then.
      const partSize = c.jobId && /-\d+"?$/.test(etag) ? this.host.getJob(c.jobId)?.partSize : undefined;
      candidates.push({ record: c, etag, partSizeHints: partSize ? [partSize] : [] });
    }
    if (candidates.length === 0) return null;
    // One read of the file for every candidate: a frame sequence has many files of one size and mtime.
    return candidates[await firstMatchingEtag(ctx.file, candidates)]?.record ?? null;
  }

  private startCopy(ctx: FileContext, key: string, snap: FileSnapshot, from: WatchedFileView, uploadPlan: PlanSettings): void {
    if (this.collides(ctx, key)) return;
    const c: CopyJob = { dest: ctx.dest, file: ctx.file, key, snap, from, uploadPlan, priority: ctx.folder.priority, hashing: this.hashing(ctx, key) };
    const job = this.copier.begin(c);
    this.folders.recordFile({ folderId: ctx.folder.id, destinationId: ctx.dest.id, relPath: ctx.relPath, key, ...snap, how: 'copy', jobId: job.id, etag: null });
    this.announce(job.id);
    this.hooks.background(
      (async () => {
        const end = await this.copier.run(job, c, (dest) => this.host.clientFor(dest), this.stopping());
        this.announce(job.id);
        if (end === 'interrupted') this.folders.forgetFile(ctx.folder.id, ctx.dest.id, ctx.relPath);
        if (end === 'uploading') this.folders.recordFile({ folderId: ctx.folder.id, destinationId: ctx.dest.id, relPath: ctx.relPath, key, ...snap, how: 'upload', jobId: job.id, etag: null });
        this.hooks.activity({ folderId: ctx.folder.id, path: ctx.file, key, action: end === 'copied' ? 'copied' : 'copy-failed', jobId: job.id, fromKey: from.key });
      })(),
    );
  }

  private async upload(ctx: FileContext, key: string, snap: FileSnapshot, previous: JobRecord | undefined, seen: WatchedFileRecord | null): Promise<void> {
    // A failed upload of an older version would be resumed by enqueue; that version is gone, so end it.
    if (previous?.state === 'failed') await this.host.cancel(previous.id);
    if (this.collides(ctx, key)) return;
    const claim = `${ctx.dest.id}:${key}`;
    this.claimed.set(claim, ctx.file);
    const record = (jobId: number): WatchedFileRecord => ({ folderId: ctx.folder.id, destinationId: ctx.dest.id, relPath: ctx.relPath, key, ...snap, how: 'upload', jobId, etag: null });
    const o = {
      destination: ctx.dest,
      key,
      base: ctx.folder.path,
      folderId: ctx.folder.id,
      hashes: ctx.folder.hashAlgorithms,
      mhl: ctx.folder.mhl ? { folderId: ctx.folder.id } as const : (false as const),
      priority: ctx.folder.priority,
      ifExists: this.policy(ctx),
      ...(ctx.folder.singlePutThreshold !== null ? { singlePutThreshold: ctx.folder.singlePutThreshold } : {}),
    };
    let job: JobRecord | undefined;
    try {
      await readable(ctx.file);
      if (this.host.shared) {
        // A shared queue: the file's record is claimed with its job, one transaction per file (a batch
        // would be dropped whole by one lost claim); a process that lost makes no job.
        [job] = await this.host.enqueue([ctx.file], { ...o, claim: (j: JobRecord) => this.folders.claimFile(seen, record(j.id)) });
      } else {
        // Queued with the files decided about now, in one transaction: the job with the folder's record of the file.
        job = await this.batcher.add({ source: { abs: ctx.file, key, base: ctx.folder.path, snapshot: snap }, o, within: (made) => this.folders.recordFile(record(made.id)) });
      }
    } catch (err) {
      const e = toHoistError(err);
      this.hooks.skipped({ folderId: ctx.folder.id, path: ctx.file, reason: e.code, message: e.message });
      return;
    } finally {
      this.claimed.delete(claim);
    }
    // Another process decided this file first: its job is the file's.
    if (!job) return;
    this.hooks.activity({ folderId: ctx.folder.id, path: ctx.file, key, action: 'queued', jobId: job.id });
  }
}
