// The watched-folder service: keeps the folders in the database, watches each enabled one (directory
// events, or a timed scan on shares that send none), hands every file that has stopped changing to
// Ingest once per destination of its folder, has SourceCleanup delete or move what every destination
// verified, and follows folders added or removed by another process. Hosts and `hoist watch` drive it.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { HoistError } from '../../../shared/errors.js';
import { DEFAULT_FILE_HASHES, PRIORITIES, type Priority } from '../../../shared/states.js';
import type { Destination, WatchedFolder, WatchedFolderInput } from '../../../shared/types.js';
import { requireMhlHash } from '../mhl/manifest.js';
import { checkWebhookUrl } from '../notify/webhook-payloads.js';
import type { Engine } from '../engine.js';
import type { CopyPlanSettings } from '../s3/copy.js';
import { toHoistError } from '../s3/errors.js';
import { FolderStore, type FolderRecord } from '../store/folder-store.js';
import type { JobRecord } from '../store/job-store.js';
import { SourceCleanup, type CleanupRetry } from './cleanup.js';
import { folderFilter, type FolderFilter } from './filters.js';
import { Ingest, type FileActivity, type FileContext, type SkippedFile } from './ingest.js';
import { relativePath } from '../keys.js';
import { RenameCopier } from './renames.js';
import { linkedDirWanted, walkFolder } from './scan.js';
import { StabilityTracker, sameSnapshot, snapshotOf, type FileSnapshot } from './stability.js';
import { TreeWatcher } from './tree-watcher.js';

export const DEFAULT_STABLE_MS = 3000;
export const DEFAULT_POLL_INTERVAL_MS = 5000;
/** How long a folder with ASC MHL on stays idle (nothing arriving, every upload settled) before its batch is sealed. */
export const DEFAULT_BATCH_SETTLE_MS = 5000;
const BATCH_CHECK_MS = 250;
const FOLDER_SYNC_MS = 2000;
/** Files decided at once; each waits mostly on the network (HeadObject), so more than the cores. */
const SETTLE_CONCURRENCY = 16;
/** History entry of a growing upload paused because its watcher stopped (resumed by the next one). */
const PARKED_EVENT = 'watch-stopped';

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

interface FolderRuntime {
  folder: FolderRecord;
  /** Where each file goes: one job (or record) per destination. */
  dests: Destination[];
  filter: FolderFilter;
  tracker: StabilityTracker;
  watcher: TreeWatcher | null;
  pollTimer: NodeJS.Timeout | null;
  /** The last snapshot settled per relative path, so a rescan only looks at what changed. */
  settled: Map<string, FileSnapshot>;
  scanning: boolean;
  scanned: boolean;
  /** Since when nothing has been arriving or waiting in the folder (ASC MHL batches); null while busy. */
  idleSince: number | null;
  /** Ends the wait for the event watcher to be ready: one closed before then never says so. */
  abandonStart: (() => void) | null;
}

// Linux statfs magic numbers of file systems whose changes made elsewhere raise no inotify events.
const NETWORK_FILESYSTEMS = new Set([0x6969 /* NFS */, 0x517b /* SMB */, 0xff534d42 /* CIFS */, 0xfe534d42 /* SMB2 */, 0x01021997 /* 9p */, 0x00c36400 /* Ceph */, 0x65735546 /* FUSE: sshfs, rclone mount */]);

async function isNetworkShare(dir: string): Promise<boolean> {
  if (process.platform !== 'linux') return false;
  try {
    return NETWORK_FILESYSTEMS.has(Number((await fs.promises.statfs(dir)).type));
  } catch {
    return false;
  }
}

/** At most `limit` tasks at once. */
class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

export class FolderWatcher extends EventEmitter<FolderWatcherEvents> {
  readonly folders: FolderStore;
  private readonly ingest: Ingest;
  private readonly cleanup: SourceCleanup;
  private readonly onJob = (job: JobRecord) => this.cleanup.jobSettled(job);
  private readonly runtimes = new Map<number, FolderRuntime>();
  private readonly starting = new Set<number>();
  private readonly noticed = new Set<string>();
  private readonly settling = new Map<string, Promise<void>>();
  private readonly background = new Set<Promise<unknown>>();
  private readonly limiter = new Limiter(SETTLE_CONCURRENCY);
  private stopping = new AbortController();
  private syncTimer: NodeJS.Timeout | null = null;
  private batchTimer: NodeJS.Timeout | null = null;
  private started = false;

  constructor(
    private readonly engine: Engine,
    private readonly opts: FolderWatcherOptions = {},
  ) {
    super();
    this.folders = new FolderStore(engine.store.db);
    this.ingest = new Ingest(
      engine,
      this.folders,
      new RenameCopier(engine.store, opts.copy),
      {
        skipped: (s) => this.emit('skipped', s),
        activity: (a) => this.emit('file', a),
        background: (work) => this.track(work),
      },
      () => this.stopping.signal,
    );
    this.cleanup = new SourceCleanup(
      engine,
      this.folders,
      {
        activity: (a) => this.emit('file', a),
        notice: (n) => this.emit('notice', n),
        watching: (folderId) => this.runtimes.has(folderId),
        changing: (folderId, file) => this.runtimes.get(folderId)?.tracker.isTracking(file) ?? false,
        exclusive: (file, task) => this.serialize(file, task),
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
    const dir = path.resolve(input.path);
    const st = await fs.promises.stat(dir).catch((err: NodeJS.ErrnoException) => {
      throw new HoistError('config.invalid', { message: `Cannot watch ${dir}: ${err.code === 'ENOENT' ? 'it does not exist' : err.message}.` });
    });
    if (!st.isDirectory()) throw new HoistError('config.invalid', { message: `Cannot watch ${dir}: it is not a folder.` });
    const destinationIds = this.checkDestinations(input);
    const after = input.after ?? 'keep';
    const moveTo = await this.checkMoveTo(dir, after, input.moveTo ?? null);
    const priority = input.priority ?? 'normal';
    if (!PRIORITIES.includes(priority)) throw new HoistError('config.invalid', { message: `The priority must be high, normal or low, not "${priority}".` });
    const stableMs = input.stableMs ?? this.opts.defaultStableMs ?? DEFAULT_STABLE_MS;
    if (!Number.isInteger(stableMs) || stableMs < 0) throw new HoistError('config.invalid', { message: `The stable interval must be a whole number of milliseconds, not ${stableMs}.` });
    for (const glob of [...(input.include ?? []), ...(input.exclude ?? [])]) {
      try {
        picomatch(glob);
      } catch (err) {
        throw new HoistError('config.invalid', { message: `"${glob}" is not a valid pattern: ${(err as Error).message}` });
      }
    }
    const hashAlgorithms = [...(input.hashAlgorithms ?? DEFAULT_FILE_HASHES)];
    if (input.mhl) requireMhlHash(hashAlgorithms);
    this.checkOverlaps(dir, destinationIds, after, moveTo);
    const folder = this.folders.addFolder({
      path: dir,
      destinationIds,
      after,
      moveTo,
      priority,
      prefix: (input.prefix ?? '').replace(/^\/+/, ''),
      include: input.include ?? [],
      exclude: input.exclude ?? [],
      singlePutThreshold: input.singlePutThreshold ?? null,
      growing: input.growing ?? false,
      stableMs,
      enabled: input.enabled ?? true,
      hashAlgorithms: hashAlgorithms,
      mhl: input.mhl ?? false,
      webhookUrl: input.webhookUrl ? checkWebhookUrl(input.webhookUrl) : null,
    });
    this.engine.configChanged();
    this.emit('folder', folder, 'added');
    if (this.started && folder.enabled) await this.startFolder(folder);
    return folder;
  }

  /** The folder's destinations in order: `destinationIds` whole, or `destinationId` alone. */
  private checkDestinations(input: WatchedFolderInput): number[] {
    const ids = input.destinationIds ?? [input.destinationId];
    if (ids.length === 0) throw new HoistError('config.invalid', { message: 'A watched folder needs at least one destination.' });
    if (ids[0] !== input.destinationId) throw new HoistError('config.invalid', { message: `destinationId (${input.destinationId}) must be the first of destinationIds (${ids.join(', ')}).` });
    if (new Set(ids).size !== ids.length) throw new HoistError('config.invalid', { message: `A destination is named twice (${ids.join(', ')}): each file would be uploaded to it twice.` });
    for (const id of ids) if (!this.engine.store.getDestination(id)) throw new HoistError('config.invalid', { message: `There is no destination ${id}.` });
    return ids;
  }

  /** `move` needs an absolute folder outside the watched one; the others take none. */
  private async checkMoveTo(dir: string, after: string, moveTo: string | null): Promise<string | null> {
    if (after !== 'keep' && after !== 'delete' && after !== 'move') throw new HoistError('config.invalid', { message: `After delivery a file is kept, deleted or moved, not "${after}".` });
    if (after !== 'move') {
      if (moveTo !== null) throw new HoistError('config.invalid', { message: 'A folder to move files to is given only with after: move (--after move:DIR).' });
      return null;
    }
    if (!moveTo) throw new HoistError('config.invalid', { message: 'Say where delivered files go: --after move:DIR.' });
    const target = path.resolve(moveTo);
    if (target === dir || isInside(target, dir) || isInside(dir, target)) {
      throw new HoistError('config.invalid', { message: `Files cannot be moved to ${target}: it overlaps the watched folder ${dir}. Choose a folder outside it.` });
    }
    const st = await fs.promises.stat(target).catch(() => null);
    // It must exist: a folder made in place of an unmounted volume would take the files somewhere unexpected.
    if (!st) throw new HoistError('config.invalid', { message: `Files cannot be moved to ${target}: it does not exist. Create it (or mount its volume) first.` });
    if (!st.isDirectory()) throw new HoistError('config.invalid', { message: `Files cannot be moved to ${target}: it is not a folder.` });
    return target;
  }

  /**
   * Refuses a folder whose files another folder would also upload to one destination, a folder
   * that overlaps another while either cleans up (one would delete what the other still sends), and
   * a move folder inside a watched folder (moved files would be uploaded again).
   */
  private checkOverlaps(dir: string, destinationIds: number[], after: string, moveTo: string | null): void {
    const overlaps = (a: string, b: string) => a === b || isInside(a, b) || isInside(b, a);
    for (const other of this.folders.listFolders()) {
      const shared = other.destinationIds.some((id) => destinationIds.includes(id));
      if (shared && other.path === dir) throw new HoistError('config.invalid', { message: `${dir} is already watched for this destination (folder ${other.id}).` });
      if (shared && overlaps(dir, other.path)) {
        throw new HoistError('config.invalid', { message: `${dir} overlaps watched folder ${other.id} (${other.path}) for the same destination: its files would be uploaded twice.` });
      }
      if ((after !== 'keep' || other.after !== 'keep') && overlaps(dir, other.path)) {
        throw new HoistError('config.invalid', { message: `${dir} overlaps watched folder ${other.id} (${other.path}), and one of them deletes or moves files after delivery: it would take files the other has not delivered yet.` });
      }
      if (moveTo && overlaps(moveTo, other.path)) {
        throw new HoistError('config.invalid', { message: `Files cannot be moved to ${moveTo}: it overlaps watched folder ${other.id} (${other.path}), which would upload them again.` });
      }
      if (other.moveTo && overlaps(other.moveTo, dir)) {
        throw new HoistError('config.invalid', { message: `${dir} overlaps ${other.moveTo}, where watched folder ${other.id} moves its delivered files: they would be uploaded again.` });
      }
    }
  }

  /** Where the folder's webhook events go (null: nowhere), changed in place: watching goes on undisturbed. */
  setFolderWebhook(id: number, url: string | null): FolderRecord {
    const checked = url === null ? null : checkWebhookUrl(url);
    if (!this.engine.webhooks.outbox.setWebhook(id, checked)) throw noSuchFolder(id);
    return this.folderChanged(id);
  }

  /** The priority of the jobs the folder makes from now on, changed in place (its queued jobs keep theirs). */
  setFolderPriority(id: number, priority: Priority): FolderRecord {
    if (!PRIORITIES.includes(priority)) throw new HoistError('config.invalid', { message: `The priority must be high, normal or low, not "${priority}".` });
    if (!this.folders.setPriority(id, priority)) throw noSuchFolder(id);
    return this.folderChanged(id);
  }

  /** A setting changed in the database: the folder's runtime takes it for the next file, and the recovery file too. */
  private folderChanged(id: number): FolderRecord {
    const folder = this.folders.getFolder(id)!;
    const rt = this.runtimes.get(id);
    if (rt) rt.folder = folder;
    this.engine.configChanged();
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
      const job = this.engine.getJob(jobId);
      if (!job) continue;
      if (unfinished === 'cancel') {
        await this.engine.cancel(jobId);
        continue;
      }
      if (job.growing !== 1) continue;
      const st = await fs.promises.stat(job.sourcePath, { bigint: true }).catch(() => null);
      if (!st || !this.ingest.growing.finish(job, snapshotOf(st))) await this.engine.cancel(jobId);
    }
    // Its files that arrived make a batch of their own: written once their uploads settle.
    for (const b of this.engine.batches.list({ states: ['open'], folderId: id })) this.sealBatch(b.id);
    this.folders.removeFolder(id);
    this.engine.configChanged();
    this.emit('folder', folder, 'removed');
  }

  // ---- running ----

  /** Scans and watches every enabled folder; call after `engine.start()`. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopping = new AbortController();
    this.noticed.clear();
    this.resumeParkedGrowing();
    this.engine.on('job', this.onJob);
    // The first walk of each folder runs on in the background (`idle` says when it is over): a tree of
    // 100,000 files takes a minute, and hosts open their UI after start() returns.
    this.track(this.syncFolders());
    this.cleanup.start();
    this.syncTimer = setInterval(() => void this.syncFolders(), FOLDER_SYNC_MS);
    this.batchTimer = setInterval(() => this.sealQuietBatches(), BATCH_CHECK_MS);
  }

  /** Stops watching; waits for decisions and copies under way (a copy cut short is redone at the next start). */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (this.batchTimer) clearInterval(this.batchTimer);
    this.stopping.abort();
    this.engine.off('job', this.onJob);
    await Promise.all([...this.runtimes.values()].map((rt) => this.stopFolder(rt)));
    await this.cleanup.stop();
    while (this.settling.size > 0 || this.background.size > 0) await Promise.allSettled([...this.settling.values(), ...this.background]);
    this.parkGrowing();
  }

  /** Without a watcher a growing upload can never finish: park it so `hoist run` does not wait on it forever. */
  private parkGrowing(): void {
    for (const job of this.engine.listJobs({ states: ['queued', 'running'] })) {
      if (job.growing !== 1 || !this.engine.pause(job.id)) continue;
      this.engine.store.addEvent(job.id, PARKED_EVENT, 'Paused: Hoist stopped watching while the file was still growing. It resumes when the folder is watched again.');
    }
  }

  private resumeParkedGrowing(): void {
    for (const job of this.engine.listJobs({ states: ['paused'] })) {
      if (job.growing === 1 && this.engine.events(job.id).at(-1)?.kind === PARKED_EVENT) this.engine.resume(job.id);
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
    const unreported = new Set(this.engine.webhooks.foldersWithOpenBatches());
    for (const rt of this.runtimes.values()) {
      const id = rt.folder.id;
      if (!rt.folder.mhl && !unreported.has(id)) {
        rt.idleSince = null;
        continue;
      }
      const busy = !rt.scanned || rt.scanning || rt.tracker.pending > 0 || this.background.size > 0 || [...this.settling.keys()].some((f) => f.startsWith(rt.folder.path + path.sep));
      const quiet = busy || !rt.folder.mhl ? [] : this.engine.batches.quietOpenBatches(id);
      // Webhooks (batch.done): the folder's settled jobs are reported once none of its jobs is still under way.
      const reportable = !busy && unreported.has(id) && this.folders.activeJobCount(id) === 0;
      if (quiet.length === 0 && !reportable) {
        rt.idleSince = null;
        continue;
      }
      rt.idleSince ??= Date.now();
      if (!now && Date.now() - rt.idleSince < settleMs) continue;
      for (const b of quiet) if (this.sealBatch(b.id)) sealed++;
      if (reportable) this.engine.webhooks.folderIdle(rt.folder);
    }
    return sealed;
  }

  private sealBatch(id: number): boolean {
    if (!this.engine.batches.seal(id)) return false;
    this.engine.emit('batch', this.engine.batches.get(id)!);
    return true;
  }

  /** True when every folder has been scanned and no file is waiting, being decided or being copied. */
  get idle(): boolean {
    return (
      this.starting.size === 0 &&
      [...this.runtimes.values()].every((rt) => rt.scanned && !rt.scanning && rt.tracker.pending === 0) &&
      this.settling.size === 0 &&
      this.background.size === 0 &&
      this.cleanup.idle
    );
  }

  /** Follows the database: folders added, removed, disabled or given another webhook or priority elsewhere (the CLI, the other host). */
  private async syncFolders(): Promise<void> {
    const wanted = new Map(this.folders.listFolders().filter((f) => f.enabled).map((f) => [f.id, f]));
    for (const [id, rt] of this.runtimes) {
      const fresh = wanted.get(id);
      if (!fresh) await this.stopFolder(rt);
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
      const dests = folder.destinationIds.map((id) => this.engine.store.getDestination(id));
      const lost = folder.destinationIds.filter((_, i) => !dests[i]);
      if (lost.length > 0) return this.notice(folder.id, `Folder ${folder.id} (${folder.path}) is not watched: its destination(s) ${lost.join(', ')} no longer exist.`);
      const st = await fs.promises.stat(folder.path).catch(() => null);
      // An unmounted card or share: tried again at every sync until it is back.
      if (!st?.isDirectory()) return this.notice(folder.id, `${folder.path} is not there (unmounted?); Hoist watches it as soon as it is back.`, 'missing');
      this.noticed.delete(`${folder.id}:missing`);
      const rt: FolderRuntime = {
        folder,
        dests: dests as Destination[],
        filter: folderFilter(folder.include, folder.exclude),
        tracker: new StabilityTracker(folder.stableMs, {
          stable: (file, snap) => this.settle(rt, file, snap),
          grew: (file, snap) => this.grew(rt, file, snap),
          problem: (file, err) => this.unreadable(rt, file, err),
        }),
        watcher: null,
        pollTimer: null,
        settled: new Map(),
        scanning: false,
        scanned: false,
        idleSince: null,
        abandonStart: null,
      };
      this.runtimes.set(folder.id, rt);
      if (this.opts.poll || (await isNetworkShare(folder.path))) {
        this.startPolling(rt);
      } else {
        await this.startEvents(rt);
      }
      await this.scan(rt);
      // Jobs may have finished while no watcher ran (`hoist run`): their clean-up is owed now.
      this.cleanup.sweep(folder);
    } finally {
      this.starting.delete(folder.id);
    }
  }

  private async stopFolder(rt: FolderRuntime): Promise<void> {
    this.runtimes.delete(rt.folder.id);
    if (rt.pollTimer) clearInterval(rt.pollTimer);
    rt.abandonStart?.();
    rt.tracker.stop();
    await rt.watcher?.close();
  }

  private startPolling(rt: FolderRuntime): void {
    const every = this.opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    rt.pollTimer = setInterval(() => void this.scan(rt), every);
    this.notice(rt.folder.id, `${rt.folder.path} is scanned every ${every / 1000} s (polling: no change events on this kind of share, or --poll).`, 'polling');
  }

  private startEvents(rt: FolderRuntime): Promise<void> {
    const root = rt.folder.path;
    // Directories only: files are filtered by observe(), folders left out are not even watched.
    const watcher = new TreeWatcher(root, { wantsDir: (dir) => this.wantsDir(rt, dir) });
    rt.watcher = watcher;
    watcher.on('change', (file) => this.observe(rt, file));
    watcher.on('addDir', (dir) => void this.scan(rt, dir));
    watcher.on('unlink', (file) => {
      rt.tracker.forget(file);
      rt.settled.delete(relativePath(root, file));
    });
    watcher.on('unlinkDir', (dir) => rt.tracker.forgetUnder(dir, path.sep));
    watcher.on('error', (e) => {
      if (!rt.pollTimer) {
        // Out of inotify watches or file handles: scanning still works.
        this.notice(rt.folder.id, `${root}: the system allows no more file watches (${e.code}); this folder is polled instead. Raise fs.inotify.max_user_watches to get events back.`, 'watch-limit');
        this.startPolling(rt);
      }
    });
    return new Promise((resolve) => {
      rt.abandonStart = resolve;
      watcher.once('ready', () => resolve());
      void watcher.start();
    });
  }

  /** Walks the folder (or one of its subfolders); only files not yet settled as they are now are tracked. */
  private async scan(rt: FolderRuntime, dir = rt.folder.path): Promise<void> {
    const whole = dir === rt.folder.path;
    if (whole && rt.scanning) return;
    if (whole) rt.scanning = true;
    const seen = new Set<string>();
    try {
      const problem = (p: { file: string; error: NodeJS.ErrnoException }) => this.unreadable(rt, p.file, p.error);
      for await (const { file, relPath, stats } of walkFolder(rt.folder.path, rt.filter, problem, dir)) {
        if (this.runtimes.get(rt.folder.id) !== rt) return;
        seen.add(relPath);
        const snap = snapshotOf(stats);
        const settled = rt.settled.get(relPath);
        if (settled && sameSnapshot(settled, snap)) continue;
        if (this.decidedEverywhere(rt, relPath, snap)) {
          rt.settled.set(relPath, snap);
          continue;
        }
        rt.tracker.observe(file, snap);
      }
      // A file deleted locally is forgotten here; its object stays in the bucket.
      if (whole) for (const rel of rt.settled.keys()) if (!seen.has(rel)) rt.settled.delete(rel);
    } catch (err) {
      this.notice(rt.folder.id, `Cannot scan ${dir}: ${(err as Error).message}`);
    } finally {
      if (whole) {
        rt.scanning = false;
        rt.scanned = true;
      }
    }
  }

  /** Every destination has a record of this version of the file, and none of its uploads is still growing. */
  private decidedEverywhere(rt: FolderRuntime, relPath: string, snap: FileSnapshot): boolean {
    const rows = this.folders.fileEverywhere(rt.folder.id, relPath);
    return rt.dests.every((d) => {
      const row = rows.find((r) => r.destinationId === d.id);
      const stillGrowing = row?.how === 'growing' && row.jobId !== null && this.engine.getJob(row.jobId)?.growing === 1;
      return row !== undefined && sameSnapshot(row, snap) && !stillGrowing;
    });
  }

  private wantsDir(rt: FolderRuntime, dir: string): boolean {
    if (!rt.filter.wantsDir(relativePath(rt.folder.path, dir))) return false;
    return !fs.lstatSync(dir, { throwIfNoEntry: false })?.isSymbolicLink() || linkedDirWanted(rt.folder.path, dir);
  }

  private observe(rt: FolderRuntime, file: string): void {
    if (rt.filter.wantsFile(relativePath(rt.folder.path, file))) rt.tracker.observe(file);
  }

  /** The file at one destination of its folder. */
  private contexts(rt: FolderRuntime, file: string): FileContext[] {
    const relPath = relativePath(rt.folder.path, file);
    return rt.dests.map((dest) => ({ folder: rt.folder, dest, file, relPath }));
  }

  /** Work on one path runs one task after another (decisions, clean-up); at most a few files are worked at once. */
  private serialize(file: string, task: () => Promise<void>): Promise<void> {
    const previous = this.settling.get(file) ?? Promise.resolve();
    // A task that failed (and was reported by its caller) does not stop the ones after it.
    const next: Promise<void> = previous
      .then(() => undefined, () => undefined)
      .then(() => this.limiter.run(task))
      .finally(() => {
        if (this.settling.get(file) === next) this.settling.delete(file);
      });
    this.settling.set(file, next);
    return next;
  }

  /**
   * The file is finished: decided for every destination at once (a slow or failing one holds up
   * only its own job), then cleaned up if all have it.
   */
  private settle(rt: FolderRuntime, file: string, snap: FileSnapshot): void {
    void this.serialize(file, async () => {
      const outcomes = await Promise.allSettled(this.contexts(rt, file).map((ctx) => this.ingest.settle(ctx, snap)));
      for (const o of outcomes) {
        if (o.status === 'fulfilled') continue;
        const e = toHoistError(o.reason);
        this.emit('skipped', { folderId: rt.folder.id, path: file, reason: e.code, message: e.message });
      }
      if (outcomes.every((o) => o.status === 'fulfilled')) rt.settled.set(relativePath(rt.folder.path, file), snap);
    }).then(
      () => this.cleanup.consider(rt.folder, relativePath(rt.folder.path, file)),
      (err) => this.emit('skipped', { folderId: rt.folder.id, path: file, reason: toHoistError(err).code, message: toHoistError(err).message }),
    );
  }

  private grew(rt: FolderRuntime, file: string, snap: FileSnapshot): void {
    if (!rt.folder.growing || this.settling.has(file)) return;
    for (const ctx of this.contexts(rt, file)) {
      try {
        this.ingest.grew(ctx, snap);
      } catch (err) {
        const e = toHoistError(err);
        this.emit('skipped', { folderId: rt.folder.id, path: file, reason: e.code, message: e.message });
      }
    }
  }

  private unreadable(rt: FolderRuntime, file: string, err: NodeJS.ErrnoException): void {
    const why = err.code === 'ELOOP' ? 'a symlink loop' : err.code === 'ENOENT' ? 'a symlink to nothing' : err.message;
    const key = `${file}:${err.code}`;
    if (this.noticed.has(key)) return;
    this.noticed.add(key);
    this.emit('skipped', { folderId: rt.folder.id, path: file, reason: 'source.unreadable', message: `${file} cannot be read (${why}); it is passed over.` });
  }

  private track(work: Promise<unknown>): void {
    const tracked: Promise<unknown> = work
      .catch((err) => this.emit('notice', { folderId: 0, message: `hoist watch: ${toHoistError(err).message}` }))
      .finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

function noSuchFolder(id: number): HoistError {
  return new HoistError('config.invalid', { message: `There is no watched folder ${id}.` });
}
