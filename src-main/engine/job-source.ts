// Where this machine reads a job's source (issue 15, docs/architecture.md "The cluster"): the one
// resolver every step that touches the file goes through (parts, hashing, ASC MHL history,
// completion checks; the watcher's own clean-up reads the folder at its local path already). A job
// of a watched folder records the folder and the path under it; on a shared queue each machine
// reads it through the path where it sees that folder (store/folder-paths.ts), so /mnt/nas/A/x.mov
// queued on one station is /Volumes/NAS/A/x.mov on a Mac. On one machine it is the path recorded.
import path from 'node:path';
import { pathUnder } from './keys.js';
import type { FolderRecord } from './store/folder-store.js';
import type { JobRecord } from './store/rows.js';

/** The file to read and the folder whose ASC MHL history describes it, as this machine sees them. */
export interface SourcePlace {
  path: string;
  mhlRoot: string | null;
}

/** The places as recorded with the job (the machine that made it). */
export function recordedPlace(job: Pick<JobRecord, 'sourcePath' | 'mhlRoot'>): SourcePlace {
  return { path: job.sourcePath, mhlRoot: job.mhlRoot };
}

export interface FolderLookup {
  /** This machine's name on a shared queue; null on one machine. */
  readonly machine: string | null;
  getFolder(id: number): FolderRecord | undefined;
}

export class JobSources {
  constructor(private readonly folders: FolderLookup) {}

  /** Where this machine reads the job's source; null when it cannot (a folder it does not see, a file added by hand on another machine). */
  of(job: Pick<JobRecord, 'sourcePath' | 'mhlRoot' | 'origin'>): SourcePlace | null {
    const machine = this.folders.machine;
    const { folderId, relPath } = job.origin;
    if (machine === null) return recordedPlace(job);
    const mine = job.origin.machine === null || job.origin.machine === machine;
    const folder = folderId === null || relPath === null ? undefined : this.folders.getFolder(folderId);
    // Added by hand, or its folder removed since: only the machine that made it reads the path it recorded.
    if (!folder) return mine ? recordedPlace(job) : null;
    if (!folder.seenHere) return null;
    const file = pathUnder(folder.path, relPath!);
    return { path: file, mhlRoot: job.mhlRoot === null ? null : rebase(job.mhlRoot, madeUnder(job.sourcePath, relPath!), folder.path) };
  }
}

/** The folder the job's maker saw: its recorded path without the path under the folder. */
function madeUnder(sourcePath: string, relPath: string): string | null {
  const tail = path.join(...relPath.split('/'));
  return sourcePath.endsWith(tail) ? sourcePath.slice(0, sourcePath.length - tail.length).replace(/[\\/]+$/, '') : null;
}

/** A path under the maker's folder, moved under this machine's; any other stays as it is. */
function rebase(p: string, from: string | null, to: string): string {
  if (from === null || from === to) return p;
  if (p === from) return to;
  return p.startsWith(from + path.sep) ? path.join(to, p.slice(from.length + 1)) : p;
}
