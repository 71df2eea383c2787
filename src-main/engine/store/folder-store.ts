// Watched folders, their destinations, what each watched file last became at each destination (an
// upload, a server-side copy, an object already in the bucket): the SQL behind issues 3 and 8,
// beside JobStore on the same database. Clean-ups still owed: store/cleanup-store.ts.
import type { Db } from './db.js';
import type { WatchedFolder } from '../../../shared/types.js';
import { ifExistsOf } from './rows.js';
import { FolderPaths, LOCAL_FOLDER_PATH } from './folder-paths.js';
import { PRIORITIES, type AfterDelivery, type FileHashAlgorithm, type JobState, type Priority } from '../../../shared/states.js';

/** How a watched file's current version reached the bucket. */
export type FileOutcome = 'upload' | 'growing' | 'copy' | 'adopted';

/** The version of a watched file that Hoist last sent to one destination (or found already there). */
export interface WatchedFileRecord {
  folderId: number;
  destinationId: number;
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
  jobState: JobState | null;
  jobEtag: string | null;
}

/**
 * A folder as the engine keeps it: every field of the contract set. With a machine (a shared queue),
 * `path` is where this machine sees it, and `seenHere` says whether it does at all (folder-paths.ts);
 * `sharedPath` is the path it was added with.
 */
export type FolderRecord = WatchedFolder & { destinationIds: number[]; after: AfterDelivery; moveTo: string | null; priority: Priority; seenHere: boolean; sharedPath: string };

export type NewFolder = Omit<FolderRecord, 'id' | 'createdAt' | 'destinationId' | 'seenHere' | 'sharedPath'>;

type Row = Record<string, unknown>;

function toFolder(r: Row): FolderRecord {
  const destinationIds = (r.destination_ids as string | null)?.split(',').map(Number) ?? [r.destination_id as number];
  return {
    id: r.id as number,
    path: (r.local_path as string | null) ?? (r.path as string),
    seenHere: r.local_path !== null,
    sharedPath: r.path as string,
    destinationId: destinationIds[0]!,
    destinationIds,
    after: r.after_delivery as AfterDelivery,
    moveTo: (r.move_to as string | null) ?? null,
    priority: PRIORITIES[r.priority as number] ?? 'normal',
    prefix: r.prefix as string,
    include: JSON.parse(r.include_globs as string) as string[],
    exclude: JSON.parse(r.exclude_globs as string) as string[],
    singlePutThreshold: (r.single_put_threshold as number | null) ?? null,
    ifExists: ifExistsOf(r.if_exists),
    growing: r.growing === 1,
    stableMs: r.stable_ms as number,
    enabled: r.enabled === 1,
    hashAlgorithms: JSON.parse(r.hash_algorithms as string) as FileHashAlgorithm[],
    mhl: r.mhl === 1,
    webhookUrl: (r.webhook_url as string | null) ?? null,
    createdAt: new Date(r.created_at as number).toISOString(),
  };
}

function toFile(r: Row): WatchedFileView {
  return {
    folderId: r.folder_id as number,
    destinationId: r.destination_id as number,
    relPath: r.rel_path as string,
    key: r.key as string,
    size: r.size as number,
    mtimeMs: r.mtime_ms as number,
    inode: r.inode as string,
    how: r.how as FileOutcome,
    jobId: (r.job_id as number | null) ?? null,
    etag: (r.etag as string | null) ?? null,
    folderPath: (r.local_path as string | null) ?? (r.folder_path as string),
    jobState: (r.job_state as JobState | null) ?? null,
    jobEtag: (r.job_etag as string | null) ?? null,
  };
}

/** Where this machine sees the folder: one parameter (the machine) with one, its own path without (one machine). */
const localPath = (machine: string | null) => (machine === null ? 'f.path' : LOCAL_FOLDER_PATH);

const fileSelect = (machine: string | null) => `SELECT wf.*, f.path AS folder_path, ${localPath(machine)} AS local_path, j.state AS job_state, j.etag AS job_etag
  FROM watched_files wf JOIN watched_folders f ON f.id = wf.folder_id LEFT JOIN jobs j ON j.id = wf.job_id`;

const folderSelect = (machine: string | null) => `SELECT f.*, ${localPath(machine)} AS local_path, (SELECT string_agg(CAST(d.destination_id AS TEXT), ',' ORDER BY d.position) FROM folder_destinations d
    WHERE d.folder_id = f.id) AS destination_ids FROM watched_folders f`;

export class FolderStore {
  private readonly s;
  /** Where each machine sees a folder (folder-paths.ts). */
  readonly paths: FolderPaths;
  /** The arguments of a statement that reads where this machine sees a folder: the machine first (none on one machine). */
  private readonly at: <T extends unknown[]>(...args: T) => unknown[];

  /**
   * `machine`: this machine's name on a shared queue (folders read with the path this machine sees
   * them at, and pinned to it when added); null on one machine (every folder at its own path).
   */
  constructor(readonly db: Db, private readonly now: () => number = Date.now, readonly machine: string | null = null) {
    const p = (sql: string) => db.prepare(sql);
    this.paths = new FolderPaths(db);
    this.at = (...args) => (machine === null ? args : [machine, ...args]);
    const FOLDER_SELECT = folderSelect(machine);
    const FILE_SELECT = fileSelect(machine);
    this.s = {
      folderById: p(`${FOLDER_SELECT} WHERE f.id = ?`),
      folders: p(`${FOLDER_SELECT} ORDER BY f.id`),
      foldersOfDestination: p(`${FOLDER_SELECT} WHERE f.id IN (SELECT folder_id FROM folder_destinations WHERE destination_id = ?) ORDER BY f.id`),
      insertFolder: p(`INSERT INTO watched_folders (path, destination_id, prefix, include_globs, exclude_globs, single_put_threshold, growing, stable_ms, enabled,
                         after_delivery, move_to, priority, hash_algorithms, mhl, webhook_url, if_exists, created_at)
                       VALUES (@path, @destinationId, @prefix, @include, @exclude, @singlePutThreshold, @growing, @stableMs, @enabled,
                         @after, @moveTo, @priority, @hashAlgorithms, @mhl, @webhookUrl, @ifExists, @now) RETURNING id`),
      insertFolderDestination: p('INSERT INTO folder_destinations (folder_id, destination_id, position) VALUES (?, ?, ?)'),
      deleteFolder: p('DELETE FROM watched_folders WHERE id = ?'),
      setPriority: p('UPDATE watched_folders SET priority = ? WHERE id = ?'),
      setWebhook: p('UPDATE watched_folders SET webhook_url = ? WHERE id = ?'),
      webhookSecret: p('SELECT webhook_secret FROM watched_folders WHERE id = ?'),
      setWebhookSecret: p('UPDATE watched_folders SET webhook_secret = ? WHERE id = ?'),
      setWebhookSecretIfNone: p('UPDATE watched_folders SET webhook_secret = ? WHERE id = ? AND webhook_secret IS NULL'),
      file: p(`${FILE_SELECT} WHERE wf.folder_id = ? AND wf.destination_id = ? AND wf.rel_path = ?`),
      // Named: without statistics SQLite takes the primary key's (folder_id) prefix and reads the whole folder.
      // (SQLite only: PostgreSQL has no INDEXED BY, and plans it from its statistics.)
      fileEverywhere: p(`${db.dialect === 'pg' ? FILE_SELECT : FILE_SELECT.replace('watched_files wf', 'watched_files wf INDEXED BY watched_files_by_path')} WHERE wf.folder_id = ? AND wf.rel_path = ?`),
      filesOfFolder: p(`${FILE_SELECT} WHERE wf.folder_id = ?`),
      filesOfJob: p(`${FILE_SELECT} WHERE wf.job_id = ?`),
      byKey: p(`${FILE_SELECT} WHERE wf.key = ? AND wf.destination_id = ?`),
      bySnapshot: p(`${FILE_SELECT} WHERE wf.size = ? AND wf.mtime_ms = ? AND wf.destination_id = ?`),
      upsertFile: p(`INSERT INTO watched_files (folder_id, destination_id, rel_path, key, size, mtime_ms, inode, how, job_id, etag, updated_at)
                     VALUES (@folderId, @destinationId, @relPath, @key, @size, @mtimeMs, @inode, @how, @jobId, @etag, @now)
                     ON CONFLICT(folder_id, destination_id, rel_path) DO UPDATE SET key = excluded.key, size = excluded.size, mtime_ms = excluded.mtime_ms,
                       inode = excluded.inode, how = excluded.how, job_id = excluded.job_id, etag = excluded.etag, updated_at = excluded.updated_at`),
      deleteFile: p('DELETE FROM watched_files WHERE folder_id = ? AND destination_id = ? AND rel_path = ?'),
      claimNewFile: p(`INSERT INTO watched_files (folder_id, destination_id, rel_path, key, size, mtime_ms, inode, how, job_id, etag, updated_at)
                       VALUES (@folderId, @destinationId, @relPath, @key, @size, @mtimeMs, @inode, @how, @jobId, @etag, @now)
                       ON CONFLICT (folder_id, destination_id, rel_path) DO NOTHING`),
      claimSeenFile: p(`UPDATE watched_files SET key = @key, size = @size, mtime_ms = @mtimeMs, inode = @inode, how = @how, job_id = @jobId, etag = @etag, updated_at = @now
                        WHERE folder_id = @folderId AND destination_id = @destinationId AND rel_path = @relPath
                          AND size = @wasSize AND mtime_ms = @wasMtimeMs AND inode = @wasInode AND how = @wasHow AND coalesce(job_id, 0) = @wasJobId`),
      unfinishedJobs: p(`SELECT DISTINCT j.id FROM watched_files wf JOIN jobs j ON j.id = wf.job_id
                         WHERE wf.folder_id = ? AND j.state NOT IN ('done', 'cancelled')`),
      activeJobs: p(`SELECT count(DISTINCT j.id) AS n FROM watched_files wf JOIN jobs j ON j.id = wf.job_id
                      WHERE wf.folder_id = ? AND j.state IN ('queued', 'running', 'completing', 'paused')`),
    };
  }

  // ---- folders ----

  /** Records the folder and its destinations (the first one also in watched_folders.destination_id) in one transaction. */
  addFolder(f: NewFolder): FolderRecord {
    const id = this.db.transaction(() => {
      const info = this.s.insertFolder.get({
        ...f,
        destinationId: f.destinationIds[0],
        include: JSON.stringify(f.include),
        exclude: JSON.stringify(f.exclude),
        growing: f.growing ? 1 : 0,
        enabled: f.enabled ? 1 : 0,
        priority: PRIORITIES.indexOf(f.priority),
        hashAlgorithms: JSON.stringify(f.hashAlgorithms),
        mhl: f.mhl ? 1 : 0,
        ifExists: f.ifExists ?? null,
        now: this.now(),
      });
      const folderId = (info as { id: number }).id;
      f.destinationIds.forEach((destinationId, position) => this.s.insertFolderDestination.run(folderId, destinationId, position));
      // A shared queue: the machine that adds a folder sees it there; others say where they see it (`hoist folders path`).
      if (this.machine !== null) this.paths.set(folderId, this.machine, f.path);
      return folderId;
    })();
    return this.getFolder(id)!;
  }

  getFolder(id: number): FolderRecord | undefined {
    const r = this.s.folderById.get(...this.at(id)) as Row | undefined;
    return r ? toFolder(r) : undefined;
  }

  listFolders(): FolderRecord[] {
    return (this.s.folders.all(...this.at()) as Row[]).map(toFolder);
  }

  /** Folders that send to this destination (among others, perhaps). */
  foldersOfDestination(destinationId: number): FolderRecord[] {
    return (this.s.foldersOfDestination.all(...this.at(destinationId)) as Row[]).map(toFolder);
  }

  /** The priority of the jobs the folder makes from now on; false when there is no such folder. */
  setPriority(id: number, priority: Priority): boolean {
    return this.s.setPriority.run(PRIORITIES.indexOf(priority), id).changes === 1;
  }

  /** Where the folder's webhook events go (null: nowhere); false when there is no such folder. */
  setWebhook(id: number, url: string | null): boolean {
    return this.s.setWebhook.run(url, id).changes === 1;
  }

  /** The folder's webhook signing secret as stored (sealed), null when it has none; undefined when there is no such folder. */
  webhookSecret(id: number): string | null | undefined {
    const row = this.s.webhookSecret.get(id) as { webhook_secret: string | null } | undefined;
    return row ? row.webhook_secret : undefined;
  }

  /**
   * Stores a sealed signing secret: in place of any (`replace`), or only where the folder has none,
   * so two processes making one at once keep the first. False when nothing was written.
   */
  setWebhookSecret(id: number, sealed: string, replace: boolean): boolean {
    return (replace ? this.s.setWebhookSecret : this.s.setWebhookSecretIfNone).run(sealed, id).changes === 1;
  }

  /** Removes the folder and its file records; its jobs stay (keep or cancel them first). */
  removeFolder(id: number): boolean {
    return this.s.deleteFolder.run(id).changes === 1;
  }

  /** Jobs of the folder's files that may still send (a failed job has settled; a paused one has not). */
  activeJobCount(folderId: number): number {
    return (this.s.activeJobs.get(folderId) as { n: number }).n;
  }

  /** Jobs of the folder's files that have not ended (for "keep or cancel" on removal). */
  unfinishedJobIds(folderId: number): number[] {
    return (this.s.unfinishedJobs.all(folderId) as { id: number }[]).map((r) => r.id);
  }

  // ---- files ----

  file(folderId: number, destinationId: number, relPath: string): WatchedFileView | undefined {
    const r = this.s.file.get(...this.at(folderId, destinationId, relPath)) as Row | undefined;
    return r ? toFile(r) : undefined;
  }

  /** The file's records at every destination of its folder. */
  fileEverywhere(folderId: number, relPath: string): WatchedFileView[] {
    // Sorted here: an ORDER BY would have SQLite prefer the primary key's order again.
    return (this.s.fileEverywhere.all(...this.at(folderId, relPath)) as Row[]).map(toFile).sort((a, b) => a.destinationId - b.destinationId);
  }

  /** The records a job stands for (one, unless a record was moved on to another job since). */
  filesOfJob(jobId: number): WatchedFileView[] {
    return (this.s.filesOfJob.all(...this.at(jobId)) as Row[]).map(toFile);
  }

  filesOfFolder(folderId: number): WatchedFileView[] {
    return (this.s.filesOfFolder.all(...this.at(folderId)) as Row[]).map(toFile);
  }

  /** Every record at the destination, in any folder, whose file maps to this key. */
  filesWithKey(key: string, destinationId: number): WatchedFileView[] {
    return (this.s.byKey.all(...this.at(key, destinationId)) as Row[]).map(toFile);
  }

  /** Records of files with this size and mtime sending to the destination: where a renamed file came from. */
  filesWithSnapshot(size: number, mtimeMs: number, destinationId: number): WatchedFileView[] {
    return (this.s.bySnapshot.all(...this.at(size, mtimeMs, destinationId)) as Row[]).map(toFile);
  }

  recordFile(f: WatchedFileRecord): void {
    this.s.upsertFile.run({ ...f, now: this.now() });
  }

  /** Many records at once, in one transaction (a tree known to be in the bucket already). */
  recordFiles(files: readonly WatchedFileRecord[]): void {
    this.db.transaction(() => {
      for (const f of files) this.recordFile(f);
    })();
  }

  /**
   * Records the file only if its record is still what this process read before deciding (`seen`;
   * null: there was none), one statement: of several processes deciding one file of a shared queue
   * at once, one wins, the others drop their decision (issue 15). False when another got there first.
   */
  claimFile(seen: WatchedFileRecord | null, f: WatchedFileRecord): boolean {
    const now = this.now();
    if (!seen) return this.s.claimNewFile.run({ ...f, now }).changes === 1;
    return this.s.claimSeenFile.run({ ...f, now, wasSize: seen.size, wasMtimeMs: seen.mtimeMs, wasInode: seen.inode, wasHow: seen.how, wasJobId: seen.jobId ?? 0 }).changes === 1;
  }

  forgetFile(folderId: number, destinationId: number, relPath: string): void {
    this.s.deleteFile.run(folderId, destinationId, relPath);
  }
}
