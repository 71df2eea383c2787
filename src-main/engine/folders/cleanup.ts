// Clean-up after verified delivery (issue 8). In a folder set to `after: delete` or `after: move`,
// a source file is touched only when every destination of the folder holds this very version,
// verified (its job is done and the ETag equals the md5-of-md5s computed from the file, or the
// object already there was matched to the file's bytes), the file is unchanged since (size, mtime,
// inode) and not growing, and, looked at once more just before (delivery-evidence.ts), every
// destination's object is still the one verified: one deleted or overwritten since keeps the source
// and flags its job. The debt is owed work (store/cleanup-store.ts), paid by the owed-work runner
// with its back-off until it succeeds, across restarts; each outcome goes into the history of the
// file's jobs.
import fs from 'node:fs';
import type { S3Client } from '@aws-sdk/client-s3';
import { HoistError } from '../../../shared/errors.js';
import type { Destination } from '../../../shared/types.js';
import type { RetryPolicy } from '../backoff.js';
import { sourceKeptPayload } from '../notify/webhook-payloads.js';
import type { AttemptContext, OwedResult, OwedRunner } from '../owed/runner.js';
import { toHoistError } from '../s3/errors.js';
import { CleanupStore, SOURCE_CLEANUP, cleanupScope, type OwedCleanup } from '../store/cleanup-store.js';
import type { FolderRecord, FolderStore, WatchedFileView } from '../store/folder-store.js';
import type { JobRecord, JobStore, PartRecord } from '../store/job-store.js';
import type { OwedItem } from '../store/owed-store.js';
import { WEBHOOK, type OutboxStore } from '../store/outbox-store.js';
import { multipartEtag, normalizeEtag } from '../upload/checksums.js';
import { multipartPartSize } from '../upload/part-plan.js';
import type { FileActivity } from './ingest.js';
import { pathUnder } from '../keys.js';
import { checkDelivered, clientsOf, type DeliveredObject, type StaleObject } from './delivery-evidence.js';
import { currentSnapshot, deleteSource, moveSource, type VerifiedBytes } from './source-files.js';
import { sameSnapshot, type FileSnapshot } from './stability.js';

export type CleanupRetry = Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>;

/** A locked or busy file is tried again after 5 s, then less and less often, at least every 15 minutes. */
export const DEFAULT_CLEANUP_RETRY: CleanupRetry = { baseDelayMs: 5_000, maxDelayMs: 15 * 60_000 };
/** Clean-ups at once (each also waits for whatever the watcher is deciding for its file). */
const PARALLEL_CLEANUPS = 8;

/** What clean-up needs of the engine (an Engine is one). */
export interface CleanupEngine {
  readonly store: Pick<JobStore, 'db' | 'addEvent' | 'getDestination' | 'setFlag'>;
  readonly owed: OwedRunner;
  readonly webhooks: { collectSettled(): void; readonly outbox: Pick<OutboxStore, 'insert'> };
  /** The control-plane client of a destination (the clean-up's HeadObject). */
  clientFor(dest: Destination): Promise<S3Client>;
  getJob(id: number): JobRecord | undefined;
  parts(jobId: number): PartRecord[];
  emit(event: 'job', job: JobRecord): boolean;
}

export interface CleanupHooks {
  activity(a: FileActivity): void;
  notice(n: { folderId: number; message: string }): void;
  /** True while this process watches the folder: only then are its files touched (not a disabled or unmounted one). */
  watching(folderId: number): boolean;
  /** True while the watcher still sees the file changing (not yet stable, or growing). */
  changing(folderId: number, file: string): boolean;
  /** Runs `task` after whatever is being decided for this file, never beside it. */
  exclusive(file: string, task: () => Promise<void>): Promise<void>;
}

type Verdict =
  /** Verified everywhere and unchanged: `objects` are what each destination was verified to hold. */
  | { kind: 'ready'; snap: FileSnapshot; jobs: JobRecord[]; bytes: VerifiedBytes; objects: DeliveredObject[] }
  /** Not (yet) delivered everywhere, or the file is not the delivered version: nothing is owed. */
  | { kind: 'not-yet' }
  /** Delivered, but a destination cannot prove the bytes (no MD5 ETag, e.g. SSE-KMS): the file is kept for good. */
  | { kind: 'unverifiable'; why: string; jobs: JobRecord[] }
  /** A job of it is flagged: its object was found deleted or overwritten; the file stays until it is sent again. */
  | { kind: 'flagged' };

/** True when a finished job's ETag is the MD5 (or md5-of-md5s) computed from the file's bytes when they were sent. */
export function etagVerified(job: JobRecord, md5s: ReadonlyArray<string | null>): boolean {
  if (job.state !== 'done' || !job.etag || md5s.length === 0 || md5s.some((m) => !m)) return false;
  const expected = job.mode === 'single' ? md5s[0]! : multipartEtag(md5s as string[]);
  return normalizeEtag(job.etag) === normalizeEtag(expected);
}

export class SourceCleanup {
  private unregister: (() => Promise<void>) | null = null;
  private readonly running = new Set<Promise<void>>();
  /** Files reported as unverifiable or kept, so the notice is given once. */
  private readonly reported = new Set<string>();
  private readonly retry: CleanupRetry;
  private readonly cleanups: CleanupStore;
  private readonly clientOf: (destinationId: number) => Promise<S3Client>;

  constructor(
    private readonly engine: CleanupEngine,
    private readonly folders: FolderStore,
    private readonly hooks: CleanupHooks,
    retry: Partial<CleanupRetry> = {},
  ) {
    this.retry = { ...DEFAULT_CLEANUP_RETRY, ...retry };
    this.cleanups = new CleanupStore(engine.owed.store, engine.store, folders, engine.webhooks.outbox);
    this.clientOf = clientsOf((id) => engine.store.getDestination(id), (dest) => engine.clientFor(dest));
  }

  /** Pays owed clean-ups of the folders this process watches, from now on (the owed-work runner works them). */
  start(): void {
    if (this.unregister) return;
    this.unregister = this.engine.owed.register<OwedCleanup>(SOURCE_CLEANUP, {
      retry: this.retry,
      concurrency: PARALLEL_CLEANUPS,
      batch: 50,
      // Owed still in a folder not watched now (disabled, unmounted): paid once it is watched again.
      scopes: () => this.watchedFolderIds().map(cleanupScope),
      handle: (item, ctx) => this.payOwed(item, ctx),
    });
  }

  async stop(): Promise<void> {
    const unregister = this.unregister;
    this.unregister = null;
    await unregister?.();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** True when no clean-up is under way and none is due now in a watched folder. */
  get idle(): boolean {
    return this.running.size === 0 && !this.engine.owed.busy(SOURCE_CLEANUP) && this.cleanups.dueIn(this.watchedFolderIds()) === 0;
  }

  /** A job ended: if it was the last destination of a watched file to verify it, the file's clean-up is owed. */
  jobSettled(job: JobRecord): void {
    if (job.state !== 'done') return;
    for (const record of this.folders.filesOfJob(job.id)) {
      const folder = this.folders.getFolder(record.folderId);
      if (folder) this.consider(folder, record.relPath);
    }
  }

  /** Every file of the folder whose clean-up may be owed (after a start: jobs may have finished without a watcher). */
  sweep(folder: FolderRecord): void {
    if (folder.after === 'keep') return;
    for (const relPath of new Set(this.folders.filesOfFolder(folder.id).map((r) => r.relPath))) this.consider(folder, relPath);
  }

  /** Looks at one file now (after the watcher settled it, or a job of it ended): owes its clean-up if it is ready. */
  consider(folder: FolderRecord, relPath: string): void {
    if (folder.after === 'keep' || !this.hooks.watching(folder.id)) return;
    const file = sourcePath(folder, relPath);
    this.track(this.hooks.exclusive(file, () => this.owe(folder, relPath, file)));
  }

  // ---- inside ----

  private watchedFolderIds(): number[] {
    return this.folders.listFolders().filter((f) => this.hooks.watching(f.id)).map((f) => f.id);
  }

  private track(p: Promise<void>): void {
    const tracked: Promise<void> = p
      .catch((err) => this.hooks.notice({ folderId: 0, message: `hoist: clean-up: ${toHoistError(err).message}` }))
      .finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }

  /**
   * Owes the clean-up when every destination verified this version, and has the runner pay it now;
   * a debt for a version that is no longer there is forgotten.
   */
  private async owe(folder: FolderRecord, relPath: string, file: string): Promise<void> {
    const verdict = await this.verdict(folder, relPath, file);
    if (verdict.kind !== 'ready') {
      if (verdict.kind === 'unverifiable') this.reportUnverifiable(folder, file, verdict);
      this.cleanups.forget(folder.id, relPath);
      return;
    }
    // Recorded before anything is touched: a crash in the middle is finished at the next start.
    this.cleanups.owe({ folderId: folder.id, relPath, ...verdict.snap });
    this.engine.owed.poke(SOURCE_CLEANUP);
  }

  /** The owed-work handler: pays one owed clean-up, after whatever the watcher is deciding for its file. */
  private async payOwed(item: OwedItem<OwedCleanup>, ctx: AttemptContext): Promise<OwedResult> {
    const folder = this.folders.getFolder(item.payload.folderId);
    if (!folder || folder.after === 'keep') return { outcome: 'dropped' };
    if (!this.hooks.watching(folder.id)) return { outcome: 'not-yet', retryInMs: this.retry.baseDelayMs };
    let result: OwedResult = { outcome: 'dropped' };
    await this.hooks.exclusive(sourcePath(folder, item.payload.relPath), async () => {
      result = await this.pay(folder, item.payload.relPath, ctx);
    });
    return result;
  }

  /** Deletes or moves the file if every destination verified this version; a failure is owed again later. */
  private async pay(folder: FolderRecord, relPath: string, ctx: AttemptContext): Promise<OwedResult> {
    const file = sourcePath(folder, relPath);
    const verdict = await this.verdict(folder, relPath, file);
    if (verdict.kind !== 'ready') {
      if (verdict.kind === 'unverifiable') this.reportUnverifiable(folder, file, verdict);
      return { outcome: 'dropped' };
    }
    try {
      // Never on stale evidence: each object is looked at once more, just before the file is touched.
      const evidence = await checkDelivered(verdict.objects, this.clientOf);
      if (evidence.kind === 'unknowable') this.reportUnverifiable(folder, file, { kind: 'unverifiable', why: evidence.why, jobs: verdict.jobs });
      if (evidence.kind === 'stale') this.keep(folder, file, verdict, evidence.stale);
      if (evidence.kind !== 'holds') return { outcome: 'dropped' };
      const how = await this.act(folder, relPath, file, verdict);
      this.settled(folder, relPath, file, verdict.jobs, how);
      return { outcome: 'settled' };
    } catch (err) {
      const e = err instanceof HoistError ? err : new HoistError('cleanup.failed', { message: `Could not ${folder.after} ${file}: ${(err as Error).message}`, detail: (err as NodeJS.ErrnoException).code });
      // A new version: the watcher uploads it; this debt was for the old one.
      if (e.code === 'source.changed') return { outcome: 'dropped' };
      const next = ctx.retryInMs === null ? 'not trying again' : `trying again in ${formatDelay(ctx.retryInMs)}`;
      const message = `${e.message} Tried ${ctx.attempt} time(s); ${next}. The file is untouched.`;
      for (const job of verdict.jobs) this.engine.store.addEvent(job.id, 'cleanup-retry', message, { code: 'cleanup.failed' });
      this.hooks.notice({ folderId: folder.id, message });
      return { outcome: 'failed', error: `${e.code}: ${e.message}` };
    }
  }

  private async act(folder: FolderRecord, relPath: string, file: string, v: Extract<Verdict, { kind: 'ready' }>): Promise<string> {
    if (folder.after === 'delete') {
      await deleteSource(file, v.snap);
      return 'Deleted the source file: every destination holds it, verified';
    }
    const moveTo = folder.moveTo!;
    if (!(await fs.promises.stat(moveTo).then((st) => st.isDirectory(), () => false))) {
      // An unmounted volume: its mount point must not fill up with the files instead.
      throw new HoistError('cleanup.failed', { message: `Cannot move ${file}: the folder ${moveTo} is not there (unmounted?).` });
    }
    const target = pathUnder(moveTo, relPath);
    const how = await moveSource(file, target, v.snap, v.bytes);
    return `Moved the source file to ${target}${how === 'copied' ? ' (copied across file systems, verified against the ETag, then removed)' : ''}: every destination holds it, verified`;
  }

  private settled(folder: FolderRecord, relPath: string, file: string, jobs: JobRecord[], how: string): void {
    const destinations = jobs.map((j) => j.destination).filter(Boolean);
    const message = `${how}${destinations.length ? ` (${[...new Set(destinations)].join(', ')})` : ''}.`;
    const records = this.folders.fileEverywhere(folder.id, relPath);
    // The webhook events of these jobs are found through the records retired below: queue them first.
    this.engine.webhooks.collectSettled();
    this.cleanups.paid({
      folderId: folder.id,
      relPath,
      destinationIds: records.map((r) => r.destinationId),
      jobIds: jobs.map((j) => j.id),
      event: folder.after === 'delete' ? 'source-deleted' : 'source-moved',
      message,
    });
    this.emitJobs(jobs);
    this.hooks.activity({ folderId: folder.id, path: file, key: records[0]?.key ?? '', action: folder.after === 'delete' ? 'deleted' : 'moved', jobId: jobs[0]?.id ?? null });
  }

  /** Is this version of the file delivered and verified at every destination of its folder, and still as it was? */
  private async verdict(folder: FolderRecord, relPath: string, file: string): Promise<Verdict> {
    const records = new Map(this.folders.fileEverywhere(folder.id, relPath).map((r) => [r.destinationId, r]));
    const jobs: JobRecord[] = [];
    const objects: DeliveredObject[] = [];
    let bytes: VerifiedBytes | null = null;
    let first: WatchedFileView | null = null;
    for (const destinationId of folder.destinationIds) {
      const r = records.get(destinationId);
      if (!r) return { kind: 'not-yet' };
      if (first && !sameSnapshot(first, r)) return { kind: 'not-yet' };
      first ??= r;
      if (r.how === 'adopted') {
        // Found already there, its ETag matched to the file's bytes when it was adopted (with our part size first, as then).
        if (!r.etag) return { kind: 'not-yet' };
        const dest = this.engine.store.getDestination(r.destinationId);
        bytes ??= { etag: r.etag, partSizeHints: dest ? [multipartPartSize(r.size, dest)] : [] };
        if (dest) objects.push({ destinationId: dest.id, destination: dest.name, bucket: dest.bucket, key: r.key, size: r.size, etag: r.etag, versionId: null, jobId: null });
        continue;
      }
      const job = r.jobId ? this.engine.getJob(r.jobId) : undefined;
      if (!job || job.state !== 'done' || job.growing !== 0 || !sameSnapshot(job, r)) return { kind: 'not-yet' };
      if (job.flag) return { kind: 'flagged' };
      jobs.push(job);
      if (!etagVerified(job, this.engine.parts(job.id).map((p) => p.md5))) {
        return { kind: 'unverifiable', jobs, why: `s3://${job.bucket}/${job.key} has ETag ${job.etag ?? '(none)'}, which is not the MD5 of the file's bytes (SSE-KMS, or the server gave no ETag), so its delivery cannot be proven` };
      }
      // A job's own ETag and part size check a moved copy in one pass.
      bytes = { etag: job.etag!, partSizeHints: [job.partSize] };
      objects.push({ destinationId: job.destinationId, destination: job.destination, bucket: job.bucket, key: job.key, size: job.size, etag: job.etag!, versionId: job.versionId, jobId: job.id });
    }
    if (!first || !bytes) return { kind: 'not-yet' };
    const now = await currentSnapshot(file);
    if (!now || !sameSnapshot(now, first) || this.hooks.changing(folder.id, file)) return { kind: 'not-yet' };
    return { kind: 'ready', snap: now, jobs, bytes, objects };
  }

  /**
   * An object was deleted or overwritten since it was verified: the file stays, each job whose object
   * changed is flagged (so it is not looked at again until it is sent again), the folder's webhook
   * hears `source.kept`, and the watcher says what to do.
   */
  private keep(folder: FolderRecord, file: string, v: Extract<Verdict, { kind: 'ready' }>, stale: readonly StaleObject[]): void {
    const jobIds = stale.flatMap((s) => (s.object.jobId === null ? [] : [s.object.jobId]));
    // An adopted object has no job to flag: it is told once per run.
    if (jobIds.length === 0 && this.reported.has(file)) return;
    this.reported.add(file);
    const after = folder.after === 'move' ? 'move' : 'delete';
    const verb = after === 'delete' ? 'deleted' : 'moved';
    const todo = `${jobIds.length > 0 ? `Send it again with ${jobIds.map((id) => `\`hoist retry ${id}\``).join(' and ')}` : 'Upload it again (`hoist upload`)'}, or ${after} the file by hand if the change was meant.`;
    const message = `${file} is kept, not ${verb}: ${stale.map((s) => s.why).join('; ')}. ${todo}`;
    this.cleanups.kept({
      flags: stale.flatMap((s) => (s.object.jobId === null ? [] : [{ jobId: s.object.jobId, flag: { code: s.code, message: `${file} was kept, not ${verb}: ${s.why}. ${todo}` } }])),
      otherJobIds: v.jobs.map((j) => j.id).filter((id) => !jobIds.includes(id)),
      message,
      webhook: folder.webhookUrl ? { url: folder.webhookUrl, payload: sourceKeptPayload({ folder: { id: folder.id, path: folder.path }, file, size: v.snap.size, after, stale, todo }, Date.now()) } : null,
    });
    if (folder.webhookUrl) this.engine.owed.poke(WEBHOOK);
    this.emitJobs(v.jobs);
    this.hooks.notice({ folderId: folder.id, message });
  }

  /** Hosts see the jobs' new history and flags. */
  private emitJobs(jobs: readonly JobRecord[]): void {
    for (const job of jobs) {
      const fresh = this.engine.getJob(job.id);
      if (fresh) this.engine.emit('job', fresh);
    }
  }

  private reportUnverifiable(folder: FolderRecord, file: string, v: Extract<Verdict, { kind: 'unverifiable' }>): void {
    if (this.reported.has(file)) return;
    this.reported.add(file);
    const message = `${file} is kept, not ${folder.after === 'delete' ? 'deleted' : 'moved'}: ${v.why}.`;
    for (const job of v.jobs) this.engine.store.addEvent(job.id, 'cleanup-kept', message);
    this.hooks.notice({ folderId: folder.id, message });
  }
}

function sourcePath(folder: Pick<FolderRecord, 'path'>, relPath: string): string {
  return pathUnder(folder.path, relPath);
}

function formatDelay(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`;
}
