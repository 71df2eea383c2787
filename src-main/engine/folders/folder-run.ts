// One watched folder while this process watches it: how it learns of changes (an event source or a
// scan on a timer, as watch-strategy.ts chose), the stability tracker of its files, and the versions
// already settled, so a rescan only looks at what changed. What a finished file becomes is decided
// by the FolderWatcher through the hooks.
import fs from 'node:fs';
import path from 'node:path';
import type { Destination } from '../../../shared/types.js';
import type { FolderRecord } from '../store/folder-store.js';
import { folderFilter, type FolderFilter } from './filters.js';
import { relativePath } from '../keys.js';
import { NativeTreeWatcher } from './native-watcher.js';
import { linkedDirWanted, walkFolder } from './scan.js';
import { StabilityTracker, sameSnapshot, snapshotOf, type FileSnapshot } from './stability.js';
import { TreeWatcher } from './tree-watcher.js';
import type { WatchStrategy } from './watch-strategy.js';

export interface FolderRunHooks {
  /** The file has stopped changing. */
  stable(run: FolderRun, file: string, snap: FileSnapshot): void;
  grew(run: FolderRun, file: string, snap: FileSnapshot): void;
  unreadable(run: FolderRun, file: string, err: NodeJS.ErrnoException): void;
  /** About the folder as a whole; `once` names a notice given only once per start. */
  notice(folderId: number, message: string, once?: string): void;
  /** Every destination already has this version of the file: nothing to look at. */
  decided(run: FolderRun, relPath: string, snap: FileSnapshot): boolean;
}

export class FolderRun {
  /** Replaced in place when a setting changes elsewhere (webhook, priority). */
  folder: FolderRecord;
  readonly filter: FolderFilter;
  readonly tracker: StabilityTracker;
  /** The last snapshot settled per relative path, so a rescan only looks at what changed. */
  readonly settled = new Map<string, FileSnapshot>();
  scanning = false;
  scanned = false;
  /** Since when nothing has been arriving or waiting in the folder (ASC MHL batches); null while busy. */
  idleSince: number | null = null;
  private watcher: TreeWatcher | NativeTreeWatcher | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  /** Ends the wait for the event watcher to be ready: one closed before then never says so. */
  private abandonStart: (() => void) | null = null;
  private stopped = false;

  constructor(
    folder: FolderRecord,
    /** Where each file goes: one job (or record) per destination. */
    readonly dests: Destination[],
    private readonly hooks: FolderRunHooks,
    private readonly pollIntervalMs: number,
  ) {
    this.folder = folder;
    this.filter = folderFilter(folder.include, folder.exclude);
    this.tracker = new StabilityTracker(folder.stableMs, {
      stable: (file, snap) => hooks.stable(this, file, snap),
      grew: (file, snap) => hooks.grew(this, file, snap),
      problem: (file, err) => hooks.unreadable(this, file, err),
    });
  }

  /** Starts learning of changes the chosen way (resolves once the event source is ready), then walks the folder. */
  async watch(strategy: WatchStrategy): Promise<void> {
    if (strategy === 'poll') this.startPolling();
    else await this.startEvents(strategy);
    await this.scan();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.abandonStart?.();
    this.tracker.stop();
    this.watcher?.close();
  }

  /** Nothing waiting to become stable, and the folder walked. */
  get quiet(): boolean {
    return this.scanned && !this.scanning && this.tracker.pending === 0;
  }

  private startPolling(): void {
    const every = this.pollIntervalMs;
    this.pollTimer = setInterval(() => void this.scan(), every);
    this.hooks.notice(this.folder.id, `${this.folder.path} is scanned every ${every / 1000} s (polling: no change events on this kind of share, or --poll).`, 'polling');
  }

  private startEvents(strategy: 'tree' | 'recursive'): Promise<void> {
    const root = this.folder.path;
    // Directories only: files are filtered by observe(), folders left out are not even watched.
    const opts = { wantsDir: (dir: string) => this.wantsDir(dir) };
    const watcher = strategy === 'recursive' ? new NativeTreeWatcher(root, opts) : new TreeWatcher(root, opts);
    this.watcher = watcher;
    watcher.on('change', (file) => this.observe(file));
    watcher.on('addDir', (dir) => void this.scan(dir));
    watcher.on('unlink', (file) => {
      this.tracker.forget(file);
      this.settled.delete(relativePath(root, file));
    });
    watcher.on('unlinkDir', (dir) => this.tracker.forgetUnder(dir, path.sep));
    watcher.on('error', (e) => {
      if (!this.pollTimer) {
        // Out of inotify watches or file handles: scanning still works.
        this.hooks.notice(this.folder.id, `${root}: the system allows no more file watches (${e.code}); this folder is polled instead. Raise fs.inotify.max_user_watches to get events back.`, 'watch-limit');
        this.startPolling();
      }
    });
    return new Promise((resolve) => {
      this.abandonStart = resolve;
      watcher.once('ready', () => resolve());
      void watcher.start();
    });
  }

  /** Walks the folder (or one of its subfolders); only files not yet settled as they are now are tracked. */
  async scan(dir = this.folder.path): Promise<void> {
    const whole = dir === this.folder.path;
    if (whole && this.scanning) return;
    if (whole) this.scanning = true;
    const seen = new Set<string>();
    try {
      const problem = (p: { file: string; error: NodeJS.ErrnoException }) => this.hooks.unreadable(this, p.file, p.error);
      const linked = this.watcher instanceof NativeTreeWatcher ? this.watcher : null;
      for await (const { file, relPath, stats } of walkFolder(this.folder.path, this.filter, problem, dir, linked ? (d) => linked.follow(d) : undefined)) {
        if (this.stopped) return;
        seen.add(relPath);
        const snap = snapshotOf(stats);
        const settled = this.settled.get(relPath);
        if (settled && sameSnapshot(settled, snap)) continue;
        if (this.hooks.decided(this, relPath, snap)) {
          this.settled.set(relPath, snap);
          continue;
        }
        this.tracker.observe(file, snap);
      }
      // A file deleted locally is forgotten here; its object stays in the bucket.
      if (whole) for (const rel of this.settled.keys()) if (!seen.has(rel)) this.settled.delete(rel);
    } catch (err) {
      this.hooks.notice(this.folder.id, `Cannot scan ${dir}: ${(err as Error).message}`);
    } finally {
      if (whole) {
        this.scanning = false;
        this.scanned = true;
      }
    }
  }

  private wantsDir(dir: string): boolean {
    if (!this.filter.wantsDir(relativePath(this.folder.path, dir))) return false;
    return !fs.lstatSync(dir, { throwIfNoEntry: false })?.isSymbolicLink() || linkedDirWanted(this.folder.path, dir);
  }

  private observe(file: string): void {
    if (this.filter.wantsFile(relativePath(this.folder.path, file))) this.tracker.observe(file);
  }
}
