// Walks a watched folder: at start (what arrived while Hoist was stopped) and, for shares that send
// no events, on a timer. Symlinks are followed, but never into a loop or into a folder that is
// already watched (see linkedDirWanted), and an entry that cannot be read is reported and passed
// over; nothing stops the walk.
import fs from 'node:fs';
import path from 'node:path';
import type { FolderFilter } from './filters.js';
import { relativePath } from '../keys.js';

export interface ScannedFile {
  file: string;
  relPath: string;
  stats: fs.BigIntStats;
}

export interface ScanProblem {
  file: string;
  relPath: string;
  error: NodeJS.ErrnoException;
}

/**
 * Whether to descend into `dir`, a symlink to a folder: not when it points into the watched folder
 * (those files are watched already, under their own path) nor at a folder on its own logical path
 * (a loop). The same rule serves the scan and the event watcher, so both see the same files.
 */
export function linkedDirWanted(root: string, dir: string): boolean {
  try {
    const target = fs.realpathSync(dir);
    const contains = (outer: string, inner: string) => inner === outer || inner.startsWith(outer + path.sep);
    if (contains(fs.realpathSync(root), target)) return false;
    for (let p = path.dirname(dir); p.length >= root.length; p = path.dirname(p)) {
      if (contains(target, fs.realpathSync(p))) return false;
      if (p === root) break;
    }
    return true;
  } catch {
    return false;
  }
}

/** Every wanted regular file under `start` (the folder `root` or one of its subfolders); problems go to `onProblem`. */
export async function* walkFolder(
  root: string,
  filter: FolderFilter,
  onProblem: (p: ScanProblem) => void,
  start = root,
  /** Told of each symlinked folder entered (a native recursive watch does not follow links). */
  onLinkedDir?: (dir: string) => void,
): AsyncGenerator<ScannedFile> {
  const entered = new Set<string>();
  const identity = (st: fs.BigIntStats) => `${st.dev}:${st.ino}`;
  const startStats = await fs.promises.stat(start, { bigint: true });
  entered.add(identity(startStats));
  const stack: string[] = [start];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(dir, { withFileTypes: true });
    } catch (err) {
      onProblem({ file: dir, relPath: relativePath(root, dir), error: err as NodeJS.ErrnoException });
      continue;
    }
    for (const entry of entries) {
      const file = path.join(dir, entry.name);
      const relPath = relativePath(root, file);
      if (!entry.isFile() && !entry.isDirectory() && !entry.isSymbolicLink()) continue; // sockets, FIFOs, devices
      let stats: fs.BigIntStats;
      try {
        // stat follows symlinks: a loop answers ELOOP, a dangling link ENOENT.
        stats = await fs.promises.stat(file, { bigint: true });
      } catch (err) {
        onProblem({ file, relPath, error: err as NodeJS.ErrnoException });
        continue;
      }
      if (stats.isDirectory()) {
        if (!filter.wantsDir(relPath) || entered.has(identity(stats))) continue;
        if (entry.isSymbolicLink()) {
          if (!linkedDirWanted(root, file)) continue;
          onLinkedDir?.(file);
        }
        entered.add(identity(stats));
        stack.push(file);
      } else if (stats.isFile() && filter.wantsFile(relPath)) {
        yield { file, relPath, stats };
      }
    }
  }
}
