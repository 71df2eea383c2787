// Watched folders and what each watched file last became (an upload, a server-side copy, an
// object already in the bucket): the SQL behind issue 3, beside JobStore on the same database.
import type { Db } from './db.js';
import type { WatchedFolder } from '../../../shared/types.js';
import type { FileHashAlgorithm, JobState } from '../../../shared/states.js';

/** How a watched file's current version reached the bucket. */
export type FileOutcome = 'upload' | 'growing' | 'copy' | 'adopted';

/** The version of a watched file that Hoist last sent (or found already in the bucket). */
export interface WatchedFileRecord {
  folderId: number;
  /** Relative to the folder, `/`-separated, exactly as on disk (not normalized). */
  relPath: string;
  key: string;
  size: number;
  mtimeMs: number;
  inode: string;
  how: FileOutcome;
  jobId: number | null;
  /** The object's ETag when no job carries it (an adopted object). */
  etag: string | null;
}

/** A record joined with where its file lives and the state of its job. */
export interface WatchedFileView extends WatchedFileRecord {
  folderPath: string;
  destinationId: number;
  jobState: JobState | null;
  jobEtag: string | null;
}

export type NewFolder = Omit<WatchedFolder, 'id' | 'createdAt'>;

type Row = Record<string, unknown>;

function toFolder(r: Row): WatchedFolder {
  return {
    id: r.id as number,
    path: r.path as string,
    destinationId: r.destination_id as number,
    prefix: r.prefix as string,
    include: JSON.parse(r.include_globs as string) as string[],
    exclude: JSON.parse(r.exclude_globs as string) as string[],
    singlePutThreshold: (r.single_put_threshold as number | null) ?? null,
    growing: r.growing === 1,
    stableMs: r.stable_ms as number,
    enabled: r.enabled === 1,
    hashAlgorithms: JSON.parse(r.hash_algorithms as string) as FileHashAlgorithm[],
    mhl: r.mhl === 1,
    createdAt: new Date(r.created_at as number).toISOString(),
  };
}

function toFile(r: Row): WatchedFileView {
  return {
    folderId: r.folder_id as number,
    relPath: r.rel_path as string,
    key: r.key as string,
    size: r.size as number,
    mtimeMs: r.mtime_ms as number,
    inode: r.inode as string,
    how: r.how as FileOutcome,
    jobId: (r.job_id as number | null) ?? null,
    etag: (r.etag as string | null) ?? null,
    folderPath: r.folder_path as string,
    destinationId: r.destination_id as number,
    jobState: (r.job_state as JobState | null) ?? null,
    jobEtag: (r.job_etag as string | null) ?? null,
  };
}

const FILE_SELECT = `SELECT wf.*, f.path AS folder_path, f.destination_id, j.state AS job_state, j.etag AS job_etag
  FROM watched_files wf JOIN watched_folders f ON f.id = wf.folder_id LEFT JOIN jobs j ON j.id = wf.job_id`;

export class FolderStore {
  private readonly s;

  constructor(readonly db: Db, private readonly now: () => number = Date.now) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      folderById: p('SELECT * FROM watched_folders WHERE id = ?'),
      folderByPath: p('SELECT * FROM watched_folders WHERE path = ? AND destination_id = ?'),
      folders: p('SELECT * FROM watched_folders ORDER BY id'),
      insertFolder: p(`INSERT INTO watched_folders (path, destination_id, prefix, include_globs, exclude_globs, single_put_threshold, growing, stable_ms, enabled, hash_algorithms, mhl, created_at)
                       VALUES (@path, @destinationId, @prefix, @include, @exclude, @singlePutThreshold, @growing, @stableMs, @enabled, @hashAlgorithms, @mhl, @now)`),
      deleteFolder: p('DELETE FROM watched_folders WHERE id = ?'),
      file: p(`${FILE_SELECT} WHERE wf.folder_id = ? AND wf.rel_path = ?`),
      filesOfFolder: p(`${FILE_SELECT} WHERE wf.folder_id = ?`),
      byKey: p(`${FILE_SELECT} WHERE wf.key = ? AND f.destination_id = ?`),
      bySnapshot: p(`${FILE_SELECT} WHERE wf.size = ? AND wf.mtime_ms = ? AND f.destination_id = ?`),
      upsertFile: p(`INSERT INTO watched_files (folder_id, rel_path, key, size, mtime_ms, inode, how, job_id, etag, updated_at)
                     VALUES (@folderId, @relPath, @key, @size, @mtimeMs, @inode, @how, @jobId, @etag, @now)
                     ON CONFLICT(folder_id, rel_path) DO UPDATE SET key = excluded.key, size = excluded.size, mtime_ms = excluded.mtime_ms,
                       inode = excluded.inode, how = excluded.how, job_id = excluded.job_id, etag = excluded.etag, updated_at = excluded.updated_at`),
      deleteFile: p('DELETE FROM watched_files WHERE folder_id = ? AND rel_path = ?'),
      unfinishedJobs: p(`SELECT DISTINCT j.id FROM watched_files wf JOIN jobs j ON j.id = wf.job_id
                         WHERE wf.folder_id = ? AND j.state NOT IN ('done', 'cancelled')`),
    };
  }

  // ---- folders ----

  addFolder(f: NewFolder): WatchedFolder {
    const info = this.s.insertFolder.run({
      ...f,
      include: JSON.stringify(f.include),
      exclude: JSON.stringify(f.exclude),
      growing: f.growing ? 1 : 0,
      enabled: f.enabled ? 1 : 0,
      hashAlgorithms: JSON.stringify(f.hashAlgorithms),
      mhl: f.mhl ? 1 : 0,
      now: this.now(),
    });
    return this.getFolder(Number(info.lastInsertRowid))!;
  }

  getFolder(id: number): WatchedFolder | undefined {
    const r = this.s.folderById.get(id) as Row | undefined;
    return r ? toFolder(r) : undefined;
  }

  findFolder(path: string, destinationId: number): WatchedFolder | undefined {
    const r = this.s.folderByPath.get(path, destinationId) as Row | undefined;
    return r ? toFolder(r) : undefined;
  }

  listFolders(): WatchedFolder[] {
    return (this.s.folders.all() as Row[]).map(toFolder);
  }

  /** Removes the folder and its file records; its jobs stay (keep or cancel them first). */
  removeFolder(id: number): boolean {
    return this.s.deleteFolder.run(id).changes === 1;
  }

  /** Jobs of the folder's files that have not ended (for "keep or cancel" on removal). */
  unfinishedJobIds(folderId: number): number[] {
    return (this.s.unfinishedJobs.all(folderId) as { id: number }[]).map((r) => r.id);
  }

  // ---- files ----

  file(folderId: number, relPath: string): WatchedFileView | undefined {
    const r = this.s.file.get(folderId, relPath) as Row | undefined;
    return r ? toFile(r) : undefined;
  }

  filesOfFolder(folderId: number): WatchedFileView[] {
    return (this.s.filesOfFolder.all(folderId) as Row[]).map(toFile);
  }

  /** Every record, in any folder sending to the destination, whose file maps to this key. */
  filesWithKey(key: string, destinationId: number): WatchedFileView[] {
    return (this.s.byKey.all(key, destinationId) as Row[]).map(toFile);
  }

  /** Records of files with this size and mtime sending to the destination: where a renamed file came from. */
  filesWithSnapshot(size: number, mtimeMs: number, destinationId: number): WatchedFileView[] {
    return (this.s.bySnapshot.all(size, mtimeMs, destinationId) as Row[]).map(toFile);
  }

  recordFile(f: WatchedFileRecord): void {
    this.s.upsertFile.run({ ...f, now: this.now() });
  }

  forgetFile(folderId: number, relPath: string): void {
    this.s.deleteFile.run(folderId, relPath);
  }
}
