// Which files of a watched folder become uploads: never temporary or sidecar files, then the
// folder's own include and exclude globs (picomatch) on the path relative to the folder.
import type Picomatch from 'picomatch';
import { requireCjs } from '../cjs.js';

// Through require, not import (cjs.ts).
const picomatch = requireCjs('picomatch') as typeof Picomatch;

/** Names that are never whole media: partial downloads, editors' lock files, OS sidecars. */
export const DEFAULT_IGNORED_NAMES: readonly string[] = ['*.part', '*.tmp', '*.crdownload', '~$*', '._*', '.DS_Store', 'Thumbs.db'];

/** Folders the OS keeps on volumes (card and drive roots): never media, often unreadable. */
export const DEFAULT_IGNORED_DIRS: readonly string[] = ['.Trashes', '.Spotlight-V100', '.fseventsd', '.TemporaryItems', '$RECYCLE.BIN', 'System Volume Information'];

export interface FolderFilter {
  /** True when a file at this relative path (`/`-separated) is to be uploaded. */
  wantsFile(relPath: string): boolean;
  /** False for a folder whose whole content is ignored, so it is not even walked. */
  wantsDir(relPath: string): boolean;
}

function baseName(relPath: string): string {
  return relPath.slice(relPath.lastIndexOf('/') + 1);
}

export function folderFilter(include: readonly string[], exclude: readonly string[]): FolderFilter {
  // Windows and macOS write these names in any case (THUMBS.DB).
  const ignoredName = picomatch([...DEFAULT_IGNORED_NAMES], { dot: true, nocase: true });
  const ignoredDirs = new Set(DEFAULT_IGNORED_DIRS);
  // A pattern without a slash matches the name at any depth, as in .gitignore.
  const opts = { dot: true, basename: true };
  const included = include.length > 0 ? picomatch([...include], opts) : () => true;
  const excluded = exclude.length > 0 ? picomatch([...exclude], opts) : () => false;
  const excludedDir = exclude.length > 0 ? picomatch(exclude.map((g) => g.replace(/\/\*\*$/, '')), opts) : () => false;
  return {
    wantsFile: (relPath) => !ignoredName(baseName(relPath)) && included(relPath) && !excluded(relPath),
    wantsDir: (relPath) => !ignoredDirs.has(baseName(relPath)) && !excludedDir(relPath),
  };
}
