// The watched-folder service: keeps the folders in the database, watches each enabled one (directory
// events, or a timed scan on shares that send none), hands every file that has stopped changing to
// Ingest, and follows folders added or removed by another process. Hosts and `hoist watch` drive it.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { HoistError } from '../../../shared/errors.js';
import type { Destination, WatchedFolder, WatchedFolderInput } from '../../../shared/types.js';
import type { Engine } from '../engine.js';
import type { CopyPlanSettings } from '../s3/copy.js';
import { toHoistError } from '../s3/errors.js';
import { FolderStore } from '../store/folder-store.js';
import { folderFilter, type FolderFilter } from './filters.js';
import { Ingest, type FileActivity, type FileContext, type SkippedFile } from './ingest.js';
import { relativePath } from './object-key.js';
import { RenameCopier } from './renames.js';
import { linkedDirWanted, walkFolder } from './scan.js';
import { StabilityTracker, sameSnapshot, snapshotOf, type FileSnapshot } from './stability.js';
import { TreeWatcher } from './tree-watcher.js';

export const DEFAULT_STABLE_MS = 3000;
export const DEFAULT_POLL_INTERVAL_MS = 5000;
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
}

export interface FolderWatcherEvents {
  folder: [folder: WatchedFolder, change: 'added' | 'removed'];
  /** A file that was not uploaded, and why (key too long, two files for one key, unreadable, …). */
  skipped: [skipped: SkippedFile];
  /** A file queued, copied server-side, found already in the bucket, or growing. */
  file: [activity: FileActivity];
  /** About a folder as a whole: missing, polled, fell back to polling. */
  notice: [notice: { folderId: number; message: string }];
}

interface FolderRuntime {
  folder: WatchedFolder;
  dest: Destination;
  filter: FolderFilter;
  tracker: StabilityTracker;
  watcher: TreeWatcher | null;
  pollTimer: NodeJS.Timeout | null;
  /** The last snapshot settled per relative path, so a rescan only looks at what changed. */
  settled: Map<string, FileSnapshot>;
  scanning: boolean;
  scanned: boolean;
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
  private readonly runtimes = new Map<number, FolderRuntime>();
  private readonly starting = new Set<number>();
  private readonly noticed = new Set<string>();
  private readonly settling = new Map<string, Promise<void>>();
  private readonly background = new Set<Promise<unknown>>();
  private readonly limiter = new Limiter(SETTLE_CONCURRENCY);
  private stopping = new AbortController();
  private syncTimer: NodeJS.Timeout | null = null;
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
  }

  // ---- folders ----

  listFolders(): WatchedFolder[] {
    return this.folders.listFolders();
  }

  /** Validates (the folder exists and is a directory, the destination exists) and starts watching it. */
  async addFolder(input: WatchedFolderInput): Promise<WatchedFolder> {
    const dir = path.resolve(input.path);
    const st = await fs.promises.stat(dir).catch((err: NodeJS.ErrnoException) => {
      throw new HoistError('config.invalid', { message: `Cannot watch ${dir}: ${err.code === 'ENOENT' ? 'it does not exist' : err.message}.` });
    });
    if (!st.isDirectory()) throw new HoistError('config.invalid', { message: `Cannot watch ${dir}: it is not a folder.` });
    if (!this.engine.store.getDestination(input.destinationId)) throw new HoistError('config.invalid', { message: `There is no destination ${input.destinationId}.` });
    const stableMs = input.stableMs ?? this.opts.defaultStableMs ?? DEFAULT_STABLE_MS;
    if (!Number.isInteger(stableMs) || stableMs < 0) throw new HoistError('config.invalid', { message: `The stable interval must be a whole number of milliseconds, not ${stableMs}.` });
    for (const glob of [...(input.include ?? []), ...(input.exclude ?? [])]) {
      try {
        picomatch(glob);
      } catch (err) {
        throw new HoistError('config.invalid', { message: `"${glob}" is not a valid pattern: ${(err as Error).message}` });
      }
    }
    for (const other of this.folders.listFolders()) {
      if (other.destinationId !== input.destinationId) continue;
      if (other.path === dir) throw new HoistError('config.invalid', { message: `${dir} is already watched for this destination (folder ${other.id}).` });
      if (isInside(dir, other.path) || isInside(other.path, dir)) {
        throw new HoistError('config.invalid', { message: `${dir} overlaps watched folder ${other.id} (${other.path}) for the same destination: its files would be uploaded twice.` });
      }
    }
    const folder = this.folders.addFolder({
      path: dir,
      destinationId: input.destinationId,
      prefix: (input.prefix ?? '').replace(/^\/+/, ''),
      include: input.include ?? [],
      exclude: input.exclude ?? [],
      singlePutThreshold: input.singlePutThreshold ?? null,
      growing: input.growing ?? false,
      stableMs,
      enabled: input.enabled ?? true,
    });
    this.emit('folder', folder, 'added');
    if (this.started && folder.enabled) await this.startFolder(folder);
    return folder;
  }

  /**
   * Stops watching and forgets the folder. `cancel` cancels its unfinished jobs and aborts their
   * uploads; `keep` lets them finish (a file still growing is finished as it is now).
   */
  async removeFolder(id: number, unfinished: 'keep' | 'cancel'): Promise<void> {
    const folder = this.folders.getFolder(id);
    if (!folder) throw new HoistError('config.invalid', { message: `There is no watched folder ${id}.` });
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
    this.folders.removeFolder(id);
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
    // The first walk of each folder runs on in the background (`idle` says when it is over): a tree of
    // 100,000 files takes a minute, and hosts open their UI after start() returns.
    this.track(this.syncFolders());
    this.syncTimer = setInterval(() => void this.syncFolders(), FOLDER_SYNC_MS);
  }

  /** Stops watching; waits for decisions and copies under way (a copy cut short is redone at the next start). */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    if (this.syncTimer) clearInterval(this.syncTimer);
    this.stopping.abort();
    await Promise.all([...this.runtimes.values()].map((rt) => this.stopFolder(rt)));
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

  /** True when every folder has been scanned and no file is waiting, being decided or being copied. */
  get idle(): boolean {
    return (
      this.starting.size === 0 &&
      [...this.runtimes.values()].every((rt) => rt.scanned && !rt.scanning && rt.tracker.pending === 0) &&
      this.settling.size === 0 &&
      this.background.size === 0
    );
  }

  /** Follows the database: folders added, removed or disabled elsewhere (the CLI, the other host). */
  private async syncFolders(): Promise<void> {
    const wanted = new Map(this.folders.listFolders().filter((f) => f.enabled).map((f) => [f.id, f]));
    for (const [id, rt] of this.runtimes) if (!wanted.has(id)) await this.stopFolder(rt);
    await Promise.all([...wanted.values()].filter((f) => !this.runtimes.has(f.id) && !this.starting.has(f.id)).map((f) => this.startFolder(f)));
  }

  private notice(folderId: number, message: string, once = message): void {
    if (this.noticed.has(`${folderId}:${once}`)) return;
    this.noticed.add(`${folderId}:${once}`);
    this.emit('notice', { folderId, message });
  }

  private async startFolder(folder: WatchedFolder): Promise<void> {
    if (!this.started || this.runtimes.has(folder.id) || this.starting.has(folder.id)) return;
    this.starting.add(folder.id);
    try {
      const dest = this.engine.store.getDestination(folder.destinationId);
      if (!dest) return this.notice(folder.id, `Folder ${folder.id} (${folder.path}) is not watched: its destination ${folder.destinationId} no longer exists.`);
      const st = await fs.promises.stat(folder.path).catch(() => null);
      // An unmounted card or share: tried again at every sync until it is back.
      if (!st?.isDirectory()) return this.notice(folder.id, `${folder.path} is not there (unmounted?); Hoist watches it as soon as it is back.`, 'missing');
      this.noticed.delete(`${folder.id}:missing`);
      const rt: FolderRuntime = {
        folder,
        dest,
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
        abandonStart: null,
      };
      this.runtimes.set(folder.id, rt);
      if (this.opts.poll || (await isNetworkShare(folder.path))) {
        this.startPolling(rt);
      } else {
        await this.startEvents(rt);
      }
      await this.scan(rt);
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
        const row = this.folders.file(rt.folder.id, relPath);
        const stillGrowing = row?.how === 'growing' && row.jobId !== null && this.engine.getJob(row.jobId)?.growing === 1;
        if (row && sameSnapshot(row, snap) && !stillGrowing) {
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

  private wantsDir(rt: FolderRuntime, dir: string): boolean {
    if (!rt.filter.wantsDir(relativePath(rt.folder.path, dir))) return false;
    return !fs.lstatSync(dir, { throwIfNoEntry: false })?.isSymbolicLink() || linkedDirWanted(rt.folder.path, dir);
  }

  private observe(rt: FolderRuntime, file: string): void {
    if (rt.filter.wantsFile(relativePath(rt.folder.path, file))) rt.tracker.observe(file);
  }

  private context(rt: FolderRuntime, file: string): FileContext {
    return { folder: rt.folder, dest: rt.dest, file, relPath: relativePath(rt.folder.path, file) };
  }

  /** Decisions for one path run one after another; at most a few files are decided at once. */
  private settle(rt: FolderRuntime, file: string, snap: FileSnapshot): void {
    const ctx = this.context(rt, file);
    const previous = this.settling.get(file) ?? Promise.resolve();
    const next: Promise<void> = previous
      .then(() => this.limiter.run(() => this.ingest.settle(ctx, snap)))
      .then(
        () => void rt.settled.set(ctx.relPath, snap),
        (err) => {
          const e = toHoistError(err);
          this.emit('skipped', { folderId: rt.folder.id, path: file, reason: e.code, message: e.message });
        },
      )
      .finally(() => {
        if (this.settling.get(file) === next) this.settling.delete(file);
      });
    this.settling.set(file, next);
  }

  private grew(rt: FolderRuntime, file: string, snap: FileSnapshot): void {
    if (!rt.folder.growing || this.settling.has(file)) return;
    try {
      this.ingest.grew(this.context(rt, file), snap);
    } catch (err) {
      const e = toHoistError(err);
      this.emit('skipped', { folderId: rt.folder.id, path: file, reason: e.code, message: e.message });
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
