// Change events for a folder tree, from one fs.watch per directory. chokidar watched every file on
// its own (100,000 inotify watches for 100,000 files) after walking and stat-ing the whole tree a
// second time, and held the event loop for seconds doing it. Here only directories are watched: a
// directory's watch reports its files' changes too. Which files are finished is decided elsewhere
// (the stability tracker looks at each one on a timer), so an event only needs to say "look here".
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';

export interface TreeWatcherEvents {
  /** A file was created or written to (or may have been: look at it). */
  change: [file: string];
  /** A directory appeared (created, or moved in): its files need a scan. */
  addDir: [dir: string];
  unlink: [file: string];
  unlinkDir: [dir: string];
  /** ENOSPC or EMFILE: no more watches or handles; the owner falls back to scanning. */
  error: [err: NodeJS.ErrnoException];
  ready: [];
}

export interface TreeWatcherOptions {
  /** Whether to watch (and descend into) a directory below the root: filters, symlink rules. */
  wantsDir(dir: string): boolean;
}

/** Directories set up per turn of the event loop while walking, so a large tree never holds it up. */
const DIRS_PER_TURN = 64;

export class TreeWatcher extends EventEmitter<TreeWatcherEvents> {
  private readonly watchers = new Map<string, fs.FSWatcher>();
  /** Paths with events not yet looked at; flushed once per turn, so a burst of writes is one look. */
  private readonly pending = new Map<string, 'rename' | 'change'>();
  private flushScheduled = false;
  private closed = false;
  private failed = false;

  constructor(
    private readonly root: string,
    private readonly opts: TreeWatcherOptions,
  ) {
    super();
  }

  /** Watches every wanted directory of the tree, then emits `ready`. */
  async start(): Promise<void> {
    await this.watchTree(this.root);
    if (!this.closed) this.emit('ready');
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    this.pending.clear();
  }

  get watchedDirs(): number {
    return this.watchers.size;
  }

  /** Watches `top` and the directories under it, breadth first, yielding to the event loop as it goes. */
  private async watchTree(top: string): Promise<void> {
    const queue = [top];
    let sinceYield = 0;
    while (queue.length > 0 && !this.closed && !this.failed) {
      const dir = queue.shift()!;
      if (this.watchers.has(dir) || !this.watchDir(dir)) continue;
      let entries: fs.Dirent[];
      try {
        entries = await fs.promises.readdir(dir, { withFileTypes: true });
      } catch {
        continue; // unreadable or gone: the scan reports what it cannot read
      }
      for (const e of entries) {
        if (!e.isDirectory() && !e.isSymbolicLink()) continue;
        const sub = path.join(dir, e.name);
        if (e.isSymbolicLink() && !(await isDirectory(sub))) continue;
        if (this.opts.wantsDir(sub)) queue.push(sub);
      }
      if (++sinceYield >= DIRS_PER_TURN) {
        sinceYield = 0;
        await new Promise((r) => setImmediate(r));
      }
    }
  }

  private watchDir(dir: string): boolean {
    let w: fs.FSWatcher;
    try {
      w = fs.watch(dir, { persistent: true }, (type, name) => this.onEvent(dir, type, name));
    } catch (err) {
      this.onWatchError(err as NodeJS.ErrnoException);
      return false;
    }
    // A watched directory that is removed reports an error on some systems; its parent reports the removal.
    w.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ENOSPC' || err.code === 'EMFILE' ? this.onWatchError(err) : this.unwatchUnder(dir)));
    this.watchers.set(dir, w);
    return true;
  }

  private onWatchError(err: NodeJS.ErrnoException): void {
    if (err.code !== 'ENOSPC' && err.code !== 'EMFILE') return; // EACCES, ENOENT: that directory is passed over
    if (this.failed) return;
    this.failed = true;
    this.emit('error', err);
  }

  private onEvent(dir: string, type: string, name: string | Buffer | null): void {
    if (this.closed) return;
    if (name === null) {
      // The system did not say which entry: the whole directory is looked at again.
      this.emit('addDir', dir);
      return;
    }
    const full = path.join(dir, name.toString());
    // A rename may be a creation, a deletion or a move: it wins over a plain change to the same path.
    if (this.pending.get(full) !== 'rename') this.pending.set(full, type === 'rename' ? 'rename' : 'change');
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batch = [...this.pending];
    this.pending.clear();
    for (const [file, type] of batch) {
      if (this.closed) return;
      if (type === 'change' && !this.watchers.has(file)) {
        this.emit('change', file);
        continue;
      }
      let st: fs.Stats;
      try {
        st = await fs.promises.stat(file); // follows symlinks: a link to a folder is a folder
      } catch {
        if (this.watchers.has(file)) {
          this.unwatchUnder(file);
          this.emit('unlinkDir', file);
        } else {
          this.emit('unlink', file);
        }
        continue;
      }
      if (st.isDirectory()) {
        if (this.watchers.has(file) || !this.opts.wantsDir(file)) continue;
        await this.watchTree(file);
        this.emit('addDir', file);
      } else if (st.isFile()) {
        this.emit('change', file);
      }
    }
  }

  private unwatchUnder(dir: string): void {
    for (const [d, w] of this.watchers) {
      if (d === dir || d.startsWith(dir + path.sep)) {
        w.close();
        this.watchers.delete(d);
      }
    }
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.promises.stat(p)).isDirectory();
  } catch {
    return false;
  }
}
