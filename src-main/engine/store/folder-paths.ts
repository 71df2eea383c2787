// Where each machine sees a watched folder (issue 15, docs/architecture.md "The cluster"): a folder
// keeps its shared id; per machine, the local path (/mnt/nas/A on one station, /Volumes/NAS/A on a
// Mac). A folder with no path recorded for any machine is seen by every machine at its own path (as
// before pinning existed); once pinned, only the machines named see it. A job records its folder and
// path under it, so whoever claims it reads the file through its own path (engine/job-source.ts).
import type { Db } from './db.js';

/** Where `machine` sees folder `f` (the alias of watched_folders): its own path, the folder's when unpinned, NULL when pinned elsewhere. One parameter: the machine. */
export const LOCAL_FOLDER_PATH = `CASE WHEN NOT EXISTS (SELECT 1 FROM folder_paths p WHERE p.folder_id = f.id) THEN f.path
  ELSE (SELECT p.path FROM folder_paths p WHERE p.folder_id = f.id AND p.machine = ?) END`;

/**
 * Whether `machine` can read the source of job `j` (the alias of jobs): a job of a folder that
 * still exists, if the folder is unpinned or pinned to this machine; any other job (added by hand,
 * or its folder removed) if it was made on this machine or before machines were recorded. Two
 * parameters, both the machine.
 */
export const READABLE_BY = `(CASE WHEN j.folder_id IS NOT NULL AND EXISTS (SELECT 1 FROM watched_folders wfo WHERE wfo.id = j.folder_id)
  THEN NOT EXISTS (SELECT 1 FROM folder_paths p WHERE p.folder_id = j.folder_id)
    OR EXISTS (SELECT 1 FROM folder_paths p WHERE p.folder_id = j.folder_id AND p.machine = ?)
  ELSE j.machine IS NULL OR j.machine = ? END)`;

export interface FolderPath {
  folderId: number;
  machine: string;
  path: string;
}

export class FolderPaths {
  constructor(private readonly db: Db) {}

  /** On `machine` the folder is at `path` (replacing what was said before). */
  set(folderId: number, machine: string, path: string): void {
    this.db
      .prepare(`INSERT INTO folder_paths (folder_id, machine, path) VALUES (?, ?, ?)
                ON CONFLICT (folder_id, machine) DO UPDATE SET path = excluded.path`)
      .run(folderId, machine, path);
  }

  /** `machine` no longer sees the folder; false when it had no path. */
  remove(folderId: number, machine: string): boolean {
    return this.db.prepare('DELETE FROM folder_paths WHERE folder_id = ? AND machine = ?').run(folderId, machine).changes === 1;
  }

  /** The machines that see the folder and where (none: every machine, at the folder's own path). */
  of(folderId: number): FolderPath[] {
    const rows = this.db.prepare('SELECT folder_id, machine, path FROM folder_paths WHERE folder_id = ? ORDER BY machine').all(folderId) as Array<Record<string, unknown>>;
    return rows.map((r) => ({ folderId: Number(r.folder_id), machine: r.machine as string, path: r.path as string }));
  }
}
