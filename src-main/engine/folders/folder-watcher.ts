// The watched-folder service: keeps the folders in the database, watches each enabled one (see
// folder-run.ts and watch-strategy.ts), hands every file that has stopped changing to Ingest once per
// destination of its folder (file-decisions.ts), has SourceCleanup delete or move what every
// destination verified, seals ASC MHL batches of quiet folders, and follows folders added or removed
// by another process. Hosts and `hoist watch` drive it.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { JobState, Priority } from '../../../shared/states.js';
import type { Destination, JobEvent, MhlBatch, WatchedFolder, WatchedFolderInput } from '../../../shared/types.js';
import { logger } from '../log.js';
import { unreachable } from '../support/outage.js';
import { TimerWork } from '../support/timer-work.js';
import { checkWebhookUrl } from '../notify/webhook-payloads.js';
import type { WebhookDispatcher } from '../notify/webhooks.js';
import type { CopyPlanSettings } from '../remote/copy.js';
import { toHoistError } from '../s3/errors.js';
import type { BatchStore } from '../store/batch-store.js';
import type { FolderRecord, FolderStore } from '../store/folder-store.js';
import type { JobRecord } from '../store/job-store.js';
import type { JobSources } from '../job-source.js';
import type { JobLease } from '../store/watched-jobs.js';
import { SourceCleanup, type CleanupRetry } from './cleanup.js';
import { FileDecisions } from './file-decisions.js';
import { FolderRun } from './folder-run.js';
import { checkNewFolder, checkPriority, noSuchFolder } from './folder-rules.js';
import { Ingest, type FileActivity, type IngestHost, type SkippedFile } from './ingest.js';
import { volumeFacts } from './network-share.js';
import { RenameCopier } from './renames.js';
import { sameSnapshot, snapshotOf, type FileSnapshot } from './stability.js';
import { chooseWatchStrategy } from './watch-strategy.js';

export { DEFAULT_STABLE_MS } from './folder-rules.js';
export const DEFAULT_POLL_INTERVAL_MS = 5000;
/** How long a folder with ASC MHL on stays idle (nothing arriving, every upload settled) before its batch is sealed. */
export const DEFAULT_BATCH_SETTLE_MS = 5000;
const BATCH_CHECK_MS = 250;
const FOLDER_SYNC_MS = 2000;
/** History entry of a growing upload paused because its watcher stopped (resumed by the next one). */
const PARKED_EVENT = 'watch-stopped';

const log = logger('watch');

/** Where jobs and batches the watcher made or moved on are announced (by default, as the engine's own events). */
export interface WatchEventSink {
  job(job: JobRecord): void;
  batch(batch: MhlBatch): void;
}

export interface FolderWatcherOptions {
  /** Poll every folder by scanning it (network shares that send no events); else only shares detected as such are polled. */
  poll?: boolean;
  pollIntervalMs?: number;
  /** For folders added without their own setting. */
  defaultStableMs?: number;
  /** Server-side copy of renamed files: threshold for UploadPartCopy (default 5 GiB), range size, ranges at once. */
  copy?: CopyPlanSettings & { concurrency?: number };
  /** ASC MHL (issue 8): a batch is the files that arrived until the folder stayed idle this long. */
  batchSettleMs?: number;
  /** Back-off of a delete or move after delivery that failed (default 5 s doubling to 15 min). */
  cleanupRetry?: Partial<CleanupRetry>;
  /** Default: the host's `job` and `batch` events. */
  events?: WatchEventSink;
}

export interface FolderWatcherEvents {
  folder: [folder: WatchedFolder, change: 'added' | 'removed'];
  /** A file that was not uploaded, and why (key too long, two files for one key, unreadable, …). */
  skipped: [skipped: SkippedFile];
  /** A file queued, copied server-side, found already in the bucket, growing, or deleted or moved after delivery. */
  file: [activity: FileActivity];
  /** About a folder as a whole (missing, polled, fell back to polling), or a clean-up that failed and is retried. */
  notice: [notice: { folderId: number; message: string }];
}

/** What the watcher needs of the engine beyond Ingest's (Engine has it all). */
export interface FolderWatcherHost extends IngestHost {
  readonly folders: FolderStore;
  /** Where this machine reads a job's source (job-source.ts). */
  readonly sources: Pick<JobSources, 'of'>;
  /** A shared queue's node and lease: jobs the watcher runs itself (a rename's copy) are held with it. */
  readonly jobLease?: JobLease | undefined;
  readonly batches: Pick<BatchStore, 'batchFor' | 'quietOpenBatches' | 'seal' | 'get' | 'list'>;
  readonly webhooks: Pick<WebhookDispatcher, 'foldersWithOpenBatches' | 'folderIdle' | 'ensureSecret'>;
  listJobs(opts: { states: readonly JobState[] }): JobRecord[];
  events(jobId: number): JobEvent[];
  pause(id: number): boolean;
  resume(id: number): boolean;
  /** Destinations or folders changed: the recovery file follows. */
  configChanged(): void;
  on(event: 'job', listener: (job: JobRecord) => void): unknown;
  off(event: 'job', listener: (job: JobRecord) => void): unknown;
  emit(event: 'job', job: JobRecord): boolean;
  emit(event: 'batch', batch: MhlBatch): boolean;
}

/** SourceCleanup's own needs (cleanup.ts declares them). */
type CleanupHost = ConstructorParameters<typeof SourceCleanup>[0];
export type WatchHost = FolderWatcherHost & CleanupHost;

export class FolderWatcher extends EventEmitter<FolderWatcherEvents> {
  readonly folders: FolderStore;
  private readonly ingest: Ingest;
  private readonly decisions: FileDecisions;
  private readonly cleanup: SourceCleanup;
  private readonly sink: WatchEventSink;
  private readonly onJob = (job: JobRecord) => this.cleanup.jobSettled(job);
  private readonly runtimes = new Map<number, FolderRun>();
  private readonly starting = new Set<number>();
  private readonly noticed = new Set<string>();
  private readonly background = new Set<Promise<unknown>>();
  private stopping = new AbortController();
  private syncTimer: NodeJS.Timeout | null = null;
  private batchTimer: NodeJS.Timeout | null = null;
  private started = false;
  private readonly syncing = new TimerWork(log, 'looking for added or removed watched folders');
  private readonly sealing = new TimerWork(log, 'looking for quiet batches');

  constructor(
    private readonly host: WatchHost,
    private readonly opts: FolderWatcherOptions = {},
  ) {
    super();
    this.folders = host.folders;
    this.sink = opts.events ?? { job: (j) => host.emit('job', j), batch: (b) => host.emit('batch', b) };
    this.ingest = new Ingest(
      host,
      this.folders,
      new RenameCopier(host.store, opts.copy, host.jobLease),
      {
        skipped: (s) => this.emit('skipped', s),
        activity: (a) => this.emit('file', a),
        job: (j) => this.sink.job(j),
        background: (work) => this.track(work),
      },
      () => this.stopping.signal,
    );
    this.decisions = new FileDecisions(this.ingest, {
      skipped: (s) => this.emit('skipped', s),
      settled: (folder, relPath) => this.cleanup.consider(folder, relPath),
    });
    this.cleanup = new SourceCleanup(
      host,
      this.folders,
      {
        activity: (a) => this.emit('file', a),
        notice: (n) => this.emit('notice', n),
        watching: (folderId) => this.runtimes.has(folderId),
        changing: (folderId, file) => this.runtimes.get(folderId)?.tracker.isTracking(file) ?? false,
        exclusive: (file, task) => this.decisions.serialize(file, task),
      },
      opts.cleanupRetry,
    );
  }

  // ---- folders ----

  listFolders(): FolderRecord[] {
    return this.folders.listFolders();
  }

  /**
   * Validates (the folder exists and is a directory, every destination exists, no file could be
   * uploaded twice to one destination or cleaned up under another folder's feet) and starts watching it.
   */
  async addFolder(input: WatchedFolderInput): Promise<FolderRecord> {
    const checked = await checkNewFolder(input, {
      existing: this.folders.listFolders(),
      destinationExists: (id) => this.host.store.getDestination(id) !== undefined,
      ...(this.opts.defaultStableMs !== undefined ? { defaultStableMs: this.opts.defaultStableMs } : {}),
    });
    const folder = this.folders.addFolder(checked);
    if (folder.webhookUrl) this.host.webhooks.ensureSecret(folder.id);
    this.host.configChanged();
    this.emit('folder', folder, 'added');
    if (this.started && folder.enabled) await this.startFolder(folder);
    return folder;
  }

  /** Where the folder's webhook events go (null: nowhere), changed in place: watching goes on undisturbed. */
  setFolderWebhook(id: number, url: string | null): FolderRecord {
    const checked = url === null ? null : checkWebhookUrl(url);
    if (!this.folders.setWebhook(id, checked)) throw noSuchFolder(id);
    if (checked) this.host.webhooks.ensureSecret(id);
    return this.folderChanged(id);
  }

  /** The priority of the jobs the folder makes from now on, changed in place (its queued jobs keep theirs). */
  setFolderPriority(id: number, priority: Priority): FolderRecord {
    if (!this.folders.setPriority(id, checkPriority(priority))) throw noSuchFolder(id);
    return this.folderChanged(id);
  }

  /** A setting changed in the database: the folder's runtime takes it for the next file, and the recovery file too. */
  private folderChanged(id: number): FolderRecord {
    const folder = this.folders.getFolder(id)!;
    const rt = this.runtimes.get(id);
    if (rt) rt.folder = folder;
    this.host.configChanged();
    return folder;
  }

  /**
   * Stops watching and forgets the folder. `cancel` cancels its unfinished jobs and aborts their
   * uploads; `keep` lets them finish (a file still growing is finished as it is now).
   */
  async removeFolder(id: number, unfinished: 'keep' | 'cancel'): Promise<void> {
    const folder = this.folders.getFolder(id);
    if (!folder) throw noSuchFolder(id);
    const rt = this.runtimes.get(id);
    if (rt) await this.stopFolder(rt);
    for (const jobId of this.folders.unfinishedJobIds(id)) {
      const job = this.host.getJob(jobId);
      if (!job) continue;
      if (unfinished === 'cancel') {
        await this.host.cancel(jobId);
        continue;
      }
      if (job.growing !== 1) continue;
      const source = this.host.sources.of(job);
      const st = source ? await fs.promises.stat(source.path, { bigint: true }).catch(() => null) : null;
      if (!st || !this.ingest.growing.finish(job, snapshotOf(st))) await this.host.cancel(jobId);
    }
    // Its files that arrived make a batch of their own: written once their uploads settle.
    for (const b of this.host.batches.list({ states: ['open'], folderId: id })) this.sealBatch(b.id);
    this.folders.removeFolder(id);
    this.host.configChanged();
    this.emit('folder', folder, 'removed');
  }

  // ---- running ----

  /** Scans and watches every enabled folder; call after `engine.start()`. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopping = new AbortController();
    this.noticed.clear();
    this.decisions.reset();
    this.resumeParkedGrowing();
    this.host.on('job', this.onJob);
    // The first walk of each folder runs on in the background (`idle` says when it is over): a tree of
    // 100,000 files takes a minute, and hosts open their UI after start() returns.
    this.track(this.syncFolders());
    this.cleanup.start();
    this.syncTimer = setInterval(() => this.syncing.run(() => this.syncFolders()), FOLDER_SYNC_MS);
    this.batchTimer = setInterval(() => this.sealing.run(() => void this.sealQuietBatches()), BATCH_CHECK_MS);
  }

  /** Stops watching; waits for decisions and copies under way (a copy cut short is redone at the next start). */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (this.batchTimer) clearInterval(this.batchTimer);
    this.stopping.abort();
    this.host.off('job', this.onJob);
    await Promise.all([...this.runtimes.values()].map((rt) => this.stopFolder(rt)));
    await this.cleanup.stop();
    while (this.decisions.busy > 0 || this.background.size > 0) await Promise.allSettled([...this.decisions.underWay(), ...this.background]);
    this.parkGrowing();
  }

  /**
   * Without a watcher a growing upload can never finish: park it so `hoist run` does not wait on it
   * forever. A node stopping because the job database cannot be reached (its host says so once) parks
   * nothing: its watcher starts again when the database answers, and its jobs' leases meanwhile run out.
   */
  private parkGrowing(): void {
    try {
      for (const job of this.host.listJobs({ states: ['queued', 'running'] })) {
        if (job.growing !== 1 || !this.host.pause(job.id)) continue;
        this.host.store.addEvent(job.id, PARKED_EVENT, 'Paused: Hoist stopped watching while the file was still growing. It resumes when the folder is watched again.');
      }
    } catch (err) {
      if (!unreachable(err)) throw err;
      log.info(`growing uploads not paused at this stop: ${(err as Error).message}`);
    }
  }

  private resumeParkedGrowing(): void {
    for (const job of this.host.listJobs({ states: ['paused'] })) {
      if (job.growing === 1 && this.host.events(job.id).at(-1)?.kind === PARKED_EVENT) this.host.resume(job.id);
    }
  }

  // ---- ASC MHL batches (issue 8) ----

  /**
   * A watched folder's batch is the files that arrived until the folder went idle: nothing waiting
   * to become stable, being decided or copied, every upload of the batch settled, for the settle
   * time. Then it is sealed, and the engine writes its root's next generation; and the jobs the
   * folder settled since it was last idle are reported to its webhook as one batch.done. `now`
   * seals what is quiet without waiting (for `hoist watch --once`).
   */
  sealQuietBatches(now = false): number {
    let sealed = 0;
    const settleMs = this.opts.batchSettleMs ?? DEFAULT_BATCH_SETTLE_MS;
    const unreported = new Set(this.host.webhooks.foldersWithOpenBatches());
    for (const rt of this.runtimes.values()) {
      const id = rt.folder.id;
      if (!rt.folder.mhl && !unreported.has(id)) {
        rt.idleSince = null;
        continue;
      }
      const busy = !rt.quiet || this.background.size > 0 || this.decisions.busyUnder(rt.folder.path, path.sep);
      const quiet = busy || !rt.folder.mhl ? [] : this.host.batches.quietOpenBatches(id);
      // Webhooks (batch.done): the folder's settled jobs are reported once none of its jobs is still under way.
      const reportable = !busy && unreported.has(id) && this.folders.activeJobCount(id) === 0;
      if (quiet.length === 0 && !reportable) {
        rt.idleSince = null;
        continue;
      }
      rt.idleSince ??= Date.now();
      if (!now && Date.now() - rt.idleSince < settleMs) continue;
      for (const b of quiet) if (this.sealBatch(b.id)) sealed++;
      if (reportable) this.host.webhooks.folderIdle(rt.folder);
    }
    return sealed;
  }

  private sealBatch(id: number): boolean {
    if (!this.host.batches.seal(id)) return false;
    this.sink.batch(this.host.batches.get(id)!);
    return true;
  }

  /** True when every folder has been scanned and no file is waiting, being decided or being copied. */
  get idle(): boolean {
    return (
      this.starting.size === 0 &&
      [...this.runtimes.values()].every((rt) => rt.quiet) &&
      this.decisions.busy === 0 &&
      this.background.size === 0 &&
      this.cleanup.idle
    );
  }

  /** Follows the database: folders added, removed, disabled or given another webhook or priority elsewhere (the CLI, the other host). */
  private async syncFolders(): Promise<void> {
    // A folder pinned to other machines is not watched here (store/folder-paths.ts).
    const wanted = new Map(this.folders.listFolders().filter((f) => f.enabled && f.seenHere).map((f) => [f.id, f]));
    for (const [id, rt] of this.runtimes) {
      const fresh = wanted.get(id);
      // Its path on this machine changed (`hoist folders path`): watched again from there.
      if (!fresh || fresh.path !== rt.folder.path) await this.stopFolder(rt);
      // Only settings that change in place can differ (anything else is a remove and an add, with a new id).
      else rt.folder = fresh;
    }
    await Promise.all([...wanted.values()].filter((f) => !this.runtimes.has(f.id) && !this.starting.has(f.id)).map((f) => this.startFolder(f)));
  }

  private notice(folderId: number, message: string, once = message): void {
    if (this.noticed.has(`${folderId}:${once}`)) return;
    this.noticed.add(`${folderId}:${once}`);
    this.emit('notice', { folderId, message });
  }

  private async startFolder(folder: FolderRecord): Promise<void> {
    if (!this.started || this.runtimes.has(folder.id) || this.starting.has(folder.id)) return;
    this.starting.add(folder.id);
    try {
      const dests = folder.destinationIds.map((id) => this.host.store.getDestination(id));
      const lost = folder.destinationIds.filter((_, i) => !dests[i]);
      if (lost.length > 0) return this.notice(folder.id, `Folder ${folder.id} (${folder.path}) is not watched: its destination(s) ${lost.join(', ')} no longer exist.`);
      const st = await fs.promises.stat(folder.path).catch(() => null);
      // An unmounted card or share: tried again at every sync until it is back.
      if (!st?.isDirectory()) return this.notice(folder.id, `${folder.path} is not there (unmounted?); Hoist watches it as soon as it is back.`, 'missing');
      this.noticed.delete(`${folder.id}:missing`);
      const rt = new FolderRun(folder, dests as Destination[], {
        stable: (run, file, snap) => this.decisions.settle(run, file, snap),
        grew: (run, file, snap) => this.decisions.grew(run, file, snap),
        unreadable: (run, file, err) => this.decisions.unreadable(run, file, err),
        notice: (folderId, message, once) => this.notice(folderId, message, once),
        decided: (run, relPath, snap) => this.decidedEverywhere(run, relPath, snap),
      }, this.opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
      this.runtimes.set(folder.id, rt);
      const choice = chooseWatchStrategy({ platform: process.platform, volume: this.opts.poll ? {} : await volumeFacts(folder.path), forcePoll: this.opts.poll ?? false });
      log.info(`folder ${folder.id} (${folder.path}) is watched by ${choice.strategy}: ${choice.why}`, { folderId: folder.id, strategy: choice.strategy });
      await rt.watch(choice.strategy);
      // Jobs may have finished while no watcher ran (`hoist run`): their clean-up is owed now.
      this.cleanup.sweep(folder);
    } finally {
      this.starting.delete(folder.id);
    }
  }

  private async stopFolder(rt: FolderRun): Promise<void> {
    this.runtimes.delete(rt.folder.id);
    await rt.stop();
  }

  /** Every destination has a record of this version of the file, and none of its uploads is still growing. */
  private decidedEverywhere(rt: FolderRun, relPath: string, snap: FileSnapshot): boolean {
    const rows = this.folders.fileEverywhere(rt.folder.id, relPath);
    return rt.dests.every((d) => {
      const row = rows.find((r) => r.destinationId === d.id);
      const stillGrowing = row?.how === 'growing' && row.jobId !== null && this.host.getJob(row.jobId)?.growing === 1;
      return row !== undefined && sameSnapshot(row, snap) && !stillGrowing;
    });
  }

  private track(work: Promise<unknown>): void {
    const tracked: Promise<unknown> = work
      .catch((err) => this.emit('notice', { folderId: 0, message: `hoist watch: ${toHoistError(err).message}` }))
      .finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }
}
