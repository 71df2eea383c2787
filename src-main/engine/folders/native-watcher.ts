// Change events for a folder tree from one native recursive fs.watch (FSEvents on macOS,
// ReadDirectoryChangesW on Windows): the system watches the tree, so nothing is walked or opened
// per directory at start. The same events as tree-watcher.ts, so the folder watcher takes either
// (watch-strategy.ts says which where). Folders left out by the filters are still seen by the
// system; their events are dropped here. A symlinked folder is not followed by the system: the
// scan names each one it enters (`follow`), and it gets a recursive watch of its own.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { TreeWatcherEvents, TreeWatcherOptions } from './tree-watcher.js';

export class NativeTreeWatcher extends EventEmitter<TreeWatcherEvents> {
  private watcher: fs.FSWatcher | null = null;
  /** Symlinked folders in the tree, each with its own recursive watch, under their path in the tree. */
  private readonly linked = new Map<string, NativeTreeWatcher>();
  /** Paths with events not yet looked at; flushed once per turn, so a burst of writes is one look. */
  private readonly pending = new Map<string, 'rename' | 'change'>();
  private flushScheduled = false;
  private closed = false;

  constructor(
    private readonly root: string,
    private readonly opts: TreeWatcherOptions,
  ) {
    super();
  }

  /** Starts the system's watch of the tree, then emits `ready`. */
  async start(): Promise<void> {
    try {
      this.watcher = fs.watch(this.root, { persistent: true, recursive: true }, (type, name) => this.onEvent(type, name));
      this.watcher.on('error', (err: NodeJS.ErrnoException) => this.onError(err));
    } catch (err) {
      this.onError(err as NodeJS.ErrnoException);
    }
    await Promise.resolve();
    if (!this.closed) this.emit('ready');
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    this.watcher = null;
    for (const w of this.linked.values()) w.close();
    this.linked.clear();
    this.pending.clear();
  }

  /** Watches a symlinked folder of the tree (the scan found it and the symlink rules let it in). */
  follow(dir: string): void {
    if (this.closed || this.linked.has(dir)) return;
    const w = new NativeTreeWatcher(dir, this.opts);
    for (const kind of ['change', 'addDir', 'unlink', 'unlinkDir'] as const) w.on(kind, (p: string) => this.emit(kind, p));
    w.on('error', (err) => this.emit('error', err));
    this.linked.set(dir, w);
    void w.start();
  }

  /** System watches held: one for the tree, one per symlinked folder followed. */
  get watchedDirs(): number {
    return (this.watcher ? 1 : 0) + [...this.linked.values()].reduce((n, w) => n + w.watchedDirs, 0);
  }

  private onError(err: NodeJS.ErrnoException): void {
    // Out of watches or handles: the owner falls back to scanning. Anything else (the root went
    // away): the start-up scan and the folder sync see to it.
    if (!this.closed && (err.code === 'ENOSPC' || err.code === 'EMFILE')) this.emit('error', err);
  }

  private onEvent(type: string, name: string | Buffer | null): void {
    if (this.closed) return;
    if (name === null) {
      // The system did not say which entry (its queue overflowed): the whole tree is looked at again.
      this.emit('addDir', this.root);
      return;
    }
    const full = path.join(this.root, name.toString());
    if (!this.insideWanted(full)) return;
    // A rename may be a creation, a deletion or a move: it wins over a plain change to the same path.
    if (this.pending.get(full) !== 'rename') this.pending.set(full, type === 'rename' ? 'rename' : 'change');
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  /** Every folder between the root and the path is wanted (not left out by the filters). */
  private insideWanted(full: string): boolean {
    const parts = path.relative(this.root, path.dirname(full)).split(path.sep).filter((p) => p !== '');
    let dir = this.root;
    for (const part of parts) {
      dir = path.join(dir, part);
      if (!this.opts.wantsDir(dir)) return false;
    }
    return true;
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batch = [...this.pending];
    this.pending.clear();
    for (const [file] of batch) {
      if (this.closed) return;
      let st: fs.Stats;
      try {
        st = await fs.promises.stat(file); // follows symlinks: a link to a folder is a folder
      } catch {
        // Gone: a file or a folder, which the system no longer says; forgetting either is harmless.
        this.linked.get(file)?.close();
        this.linked.delete(file);
        this.emit('unlink', file);
        this.emit('unlinkDir', file);
        continue;
      }
      if (st.isDirectory()) {
        if (!this.opts.wantsDir(file)) continue;
        if (fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) this.follow(file);
        this.emit('addDir', file);
      } else if (st.isFile()) {
        this.emit('change', file);
      }
    }
  }
}
