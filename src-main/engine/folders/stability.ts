// A file is finished when its size and mtime have not changed for `stableMs`: a 200 GB copy from
// a card is never sent half-written. Each tracked file is looked at on a timer, so the verdict does
// not depend on file-system events arriving (network shares send none).
import fs from 'node:fs';

/** What a file looked like: the same three facts the scheduler checks before Complete. */
export interface FileSnapshot {
  size: number;
  mtimeMs: number;
  inode: string;
}

/** From bigint stats, exactly as the engine records a job's source (whole milliseconds, exact inode). */
export function snapshotOf(st: fs.BigIntStats): FileSnapshot {
  return { size: Number(st.size), mtimeMs: Number(st.mtimeMs), inode: st.ino.toString() };
}

export function sameSnapshot(a: FileSnapshot, b: FileSnapshot): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.inode === b.inode;
}

export interface StabilityHandlers {
  /** Unchanged for the whole interval: the file is finished. */
  stable(file: string, snap: FileSnapshot): void;
  /** It got longer since it was last looked at (for growing-file uploads). */
  grew?(file: string, snap: FileSnapshot): void;
  /** It could not be looked at (other than vanishing, which just ends the tracking). */
  problem(file: string, err: NodeJS.ErrnoException): void;
}

interface Tracked {
  snap: FileSnapshot | null;
  /** When the current size and mtime were first seen. */
  since: number;
  timer: NodeJS.Timeout | null;
}

export class StabilityTracker {
  private readonly tracked = new Map<string, Tracked>();
  private readonly checkEveryMs: number;
  private stopped = false;

  constructor(
    private readonly stableMs: number,
    private readonly on: StabilityHandlers,
    private readonly now: () => number = Date.now,
  ) {
    // Several looks per interval, so a file is declared finished soon after the interval ends.
    this.checkEveryMs = Math.min(1000, Math.max(50, Math.round(stableMs / 3)));
  }

  /**
   * Starts watching a file until it is stable; a file already tracked is left to its timer. `seen` is
   * a look just taken (a scan's stat), which saves the first one: a scan of 100,000 files stats each once less.
   */
  observe(file: string, seen?: FileSnapshot): void {
    if (this.stopped || this.tracked.has(file)) return;
    const t: Tracked = { snap: seen ?? null, since: this.now(), timer: null };
    this.tracked.set(file, t);
    if (seen) t.timer = setTimeout(() => void this.look(file), this.checkEveryMs);
    else void this.look(file);
  }

  forget(file: string): void {
    const t = this.tracked.get(file);
    if (t?.timer) clearTimeout(t.timer);
    this.tracked.delete(file);
  }

  /** Forgets every tracked file under a folder (it was deleted or moved away). */
  forgetUnder(dir: string, sep: string): void {
    for (const file of [...this.tracked.keys()]) if (file.startsWith(dir + sep)) this.forget(file);
  }

  /** True while the file is being looked at (it changed lately and is not yet stable). */
  isTracking(file: string): boolean {
    return this.tracked.has(file);
  }

  /** Files not yet stable. */
  get pending(): number {
    return this.tracked.size;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.tracked.values()) if (t.timer) clearTimeout(t.timer);
    this.tracked.clear();
  }

  private async look(file: string): Promise<void> {
    const t = this.tracked.get(file);
    if (!t) return;
    t.timer = null;
    let snap: FileSnapshot;
    try {
      const st = await fs.promises.stat(file, { bigint: true });
      if (!st.isFile()) {
        this.tracked.delete(file);
        return;
      }
      snap = snapshotOf(st);
    } catch (err) {
      this.tracked.delete(file);
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'ENOENT' && !this.stopped) this.on.problem(file, e);
      return;
    }
    if (this.tracked.get(file) !== t || this.stopped) return;
    const now = this.now();
    if (!t.snap || !sameSnapshot(t.snap, snap)) {
      const grew = t.snap !== null && snap.size > t.snap.size && snap.inode === t.snap.inode;
      t.snap = snap;
      t.since = now;
      if (grew) this.on.grew?.(file, snap);
    } else if (now - t.since >= this.stableMs) {
      this.tracked.delete(file);
      this.on.stable(file, snap);
      return;
    }
    t.timer = setTimeout(() => void this.look(file), this.checkEveryMs);
  }
}
