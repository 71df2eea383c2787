// The host's file browser (issue 14): a browser tab cannot reveal where files are, so under the
// headless host the UI asks the host to list its folders. Only folders under the roots are listed
// (roots.ts); an entry that is a symlink leading outside them is shown as such, never followed.
import fs from 'node:fs';
import path from 'node:path';
import { HoistError } from '../../../shared/errors.js';
import { MAX_DIRECTORY_ENTRIES, type DirectoryEntry, type DirectoryListing } from '../../../shared/local-files.js';
import { toHoistError } from '../s3/errors.js';
import type { SourceRoots } from './roots.js';

const byName = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

function compareEntries(a: DirectoryEntry, b: DirectoryEntry): number {
  const rank = (e: DirectoryEntry) => (e.kind === 'folder' ? 0 : 1);
  return rank(a) - rank(b) || byName.compare(a.name, b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** The roots themselves, as a listing of folders. */
async function listRoots(roots: string[]): Promise<DirectoryListing> {
  const entries: DirectoryEntry[] = [];
  for (const r of roots) {
    const st = await fs.promises.stat(r).catch(() => null);
    if (st?.isDirectory()) entries.push({ name: r, path: r, kind: 'folder', size: null, modifiedAt: st.mtimeMs });
  }
  return { path: null, crumbs: [], parent: null, roots, entries, truncated: false };
}

/** One entry, or null for what is neither a file nor a folder (sockets, devices, a dangling link). */
async function entryOf(dir: string, dirent: fs.Dirent, roots: SourceRoots, realRoots: string[]): Promise<DirectoryEntry | null> {
  const full = path.join(dir, dirent.name);
  if (dirent.isSymbolicLink()) {
    const target = await fs.promises.realpath(full).catch(() => null);
    if (target === null) return null;
    if (!roots.rootOf(target, realRoots)) {
      // Where it leads is not shown, nor anything about it: only that it leads outside.
      const st = await fs.promises.lstat(full).catch(() => null);
      return { name: dirent.name, path: full, kind: 'outside', size: null, modifiedAt: st?.mtimeMs ?? 0 };
    }
  } else if (!dirent.isFile() && !dirent.isDirectory()) {
    return null;
  }
  const st = await fs.promises.stat(full).catch(() => null);
  if (st?.isDirectory()) return { name: dirent.name, path: full, kind: 'folder', size: null, modifiedAt: st.mtimeMs };
  if (st?.isFile()) return { name: dirent.name, path: full, kind: 'file', size: st.size, modifiedAt: st.mtimeMs };
  return null;
}

/** Lists a folder under the roots (null: the roots). Refuses anything outside them (roots.ts). */
export async function listDirectory(roots: SourceRoots, p: string | null): Promise<DirectoryListing> {
  const realRoots = await roots.real();
  if (p === null) return listRoots(realRoots);
  const real = await roots.admit(p);
  let dirents: fs.Dirent[];
  try {
    const st = await fs.promises.stat(real);
    if (!st.isDirectory()) throw new HoistError('config.invalid', { message: `${p} is a file, not a folder.` });
    dirents = await fs.promises.readdir(real, { withFileTypes: true });
  } catch (err) {
    if (err instanceof HoistError) throw err;
    const code = toHoistError(err).code === 'source.missing' ? 'source.missing' : 'source.unreadable';
    throw new HoistError(code, { message: `Cannot list ${p}: ${(err as Error).message}` });
  }
  const entries: DirectoryEntry[] = [];
  // In batches, so a folder of thousands of clips is not thousands of stats at once.
  for (let i = 0; i < dirents.length; i += 64) {
    const batch = await Promise.all(dirents.slice(i, i + 64).map((d) => entryOf(real, d, roots, realRoots)));
    for (const e of batch) if (e) entries.push(e);
  }
  entries.sort(compareEntries);
  const root = roots.rootOf(real, realRoots)!;
  const crumbs = [{ name: root, path: root }];
  const below = path.relative(root, real);
  if (below !== '') {
    let at = root;
    for (const segment of below.split(path.sep)) {
      at = path.join(at, segment);
      crumbs.push({ name: segment, path: at });
    }
  }
  return {
    path: real,
    crumbs,
    parent: real === root ? null : path.dirname(real),
    roots: realRoots,
    entries: entries.slice(0, MAX_DIRECTORY_ENTRIES),
    truncated: entries.length > MAX_DIRECTORY_ENTRIES,
  };
}
