// The bucket's side of a rebuilt database: in-progress multipart uploads that no job owns but whose
// keys map to files in the watched folders are taken up again as jobs, not left as orphans (which
// `abort-orphans` would throw away with all their parts). The part size is read from the upload's
// own parts; the scheduler's reconcile then adopts each part only if its ETag equals the MD5 of
// the same local byte range (invariant 2), and sends the rest.
import fs from 'node:fs';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { MAX_PART_SIZE, MIN_PART_SIZE } from '../../../shared/limits.js';
import type { ErrorInfo } from '../../../shared/errors.js';
import type { JobState } from '../../../shared/states.js';
import type { Destination, RemotePart, WatchedFolder } from '../../../shared/types.js';
import { toHoistError } from '../s3/errors.js';
import * as ops from '../s3/operations.js';
import type { FolderStore } from '../store/folder-store.js';
import { newJob, type JobRecord, type JobStore } from '../store/job-store.js';
import { adoptUploadJob } from '../store/watched-jobs.js';
import { planParts, splitIntoParts } from '../upload/part-plan.js';
import { keyFor, relativePath } from '../keys.js';

export interface AdoptedUpload {
  key: string;
  uploadId: string;
  jobId: number;
  file: string;
  /** Parts the server held; each still has to match the file's bytes to count. */
  partsOnServer: number;
}

export interface LeftUpload {
  key: string;
  uploadId: string;
  why: string;
}

export interface AdoptionReport {
  destinationId: number;
  bucket: string;
  adopted: AdoptedUpload[];
  /** Uploads no job owns that were left as they are, and why. */
  left: LeftUpload[];
  /** Set when the bucket's uploads could not be listed at all. */
  error?: ErrorInfo;
}

interface LocalFile {
  folder: WatchedFolder;
  file: string;
}

/** A path segment as written on disk: the key is NFC, a macOS disk may hold the NFD spelling. */
function segmentOnDisk(dir: string, segment: string): string | null {
  if (fs.existsSync(path.join(dir, segment))) return segment;
  try {
    return fs.readdirSync(dir).find((name) => name.normalize('NFC') === segment) ?? null;
  } catch {
    return null;
  }
}

/** The watched file whose key this is, if any. */
function fileForKey(dest: Destination, folders: WatchedFolder[], key: string): LocalFile | null {
  for (const folder of folders) {
    // keyFor(dest, folder, 'x') minus the 'x' is the folder's key prefix, slashes as keyFor puts them.
    const prefix = keyFor(dest, folder, 'x').slice(0, -1);
    if (!key.startsWith(prefix)) continue;
    let dir = folder.path;
    let ok = true;
    for (const segment of key.slice(prefix.length).split('/')) {
      const found = segment && segment !== '.' && segment !== '..' ? segmentOnDisk(dir, segment) : null;
      if (!found) {
        ok = false;
        break;
      }
      dir = path.join(dir, found);
    }
    if (!ok) continue;
    try {
      if (!fs.statSync(dir).isFile() || keyFor(dest, folder, relativePath(folder.path, dir)) !== key) continue;
    } catch {
      continue;
    }
    return { folder, file: dir };
  }
  return null;
}

/** What adoption needs of the engine (Engine has it): the stores, the unfinished jobs and a client. */
export interface AdoptionHost {
  /** Jobs are made here, with their history, in one transaction with the file's record. */
  readonly store: JobStore;
  readonly folders: FolderStore;
  listJobs(opts: { states: readonly JobState[] }): JobRecord[];
  clientFor(dest: Destination): Promise<S3Client>;
}

/** The part size an upload was cut with: every part but the last has it. */
function partSizeOf(parts: RemotePart[]): number | null {
  if (parts.length === 0) return null;
  return Math.max(...parts.map((p) => p.size));
}

export async function adoptUploads(engine: AdoptionHost, dest: Destination): Promise<AdoptionReport> {
  const report: AdoptionReport = { destinationId: dest.id, bucket: dest.bucket, adopted: [], left: [] };
  const folders = engine.folders.listFolders().filter((f) => f.destinationId === dest.id);
  const live = engine.store.liveUploadIds();
  const byKey = new Map<string, Array<{ uploadId: string; initiated: number }>>();
  let client;
  try {
    client = await engine.clientFor(dest);
    for await (const u of ops.listMultipartUploads(client, dest.bucket, dest.prefix)) {
      if (live.has(u.uploadId)) continue;
      const list = byKey.get(u.key) ?? [];
      list.push({ uploadId: u.uploadId, initiated: u.initiated?.getTime() ?? 0 });
      byKey.set(u.key, list);
    }
  } catch (err) {
    report.error = toHoistError(err).info;
    return report;
  }
  const unfinished = engine.listJobs({ states: ['queued', 'running', 'completing', 'paused', 'failed'] });
  for (const [key, uploads] of byKey) {
    const local = fileForKey(dest, folders, key);
    if (!local) {
      for (const u of uploads) report.left.push({ key, uploadId: u.uploadId, why: 'no watched file maps to this key' });
      continue;
    }
    if (unfinished.some((j) => j.destinationId === dest.id && j.key === key)) {
      for (const u of uploads) report.left.push({ key, uploadId: u.uploadId, why: 'a job already sends this key' });
      continue;
    }
    // Of several uploads for one key (one may be from an interrupted create), the one holding the most bytes.
    let best: { uploadId: string; initiated: number; parts: RemotePart[]; bytes: number } | null = null;
    for (const u of uploads) {
      let parts: RemotePart[];
      try {
        parts = [];
        for await (const p of ops.listParts(client, dest.bucket, key, u.uploadId)) parts.push(p);
      } catch (err) {
        const e = toHoistError(err);
        if (e.code === 's3.no-such-upload') continue;
        // Without ListParts nothing can be checked; the upload is still taken, its parts sent again.
        parts = [];
      }
      const bytes = parts.reduce((n, p) => n + p.size, 0);
      if (!best || bytes > best.bytes || (bytes === best.bytes && u.initiated > best.initiated)) best = { ...u, parts, bytes };
    }
    if (!best) continue;
    for (const u of uploads) if (u.uploadId !== best.uploadId) report.left.push({ key, uploadId: u.uploadId, why: `another upload of ${key} holds more of it` });
    const adopted = adoptOne(engine.store, engine.folders, dest, local, key, best.uploadId, best.parts);
    if (adopted) report.adopted.push(adopted);
    else report.left.push({ key, uploadId: best.uploadId, why: 'its parts do not fit the file as it is now' });
  }
  return report;
}

function adoptOne(jobs: JobStore, folders: FolderStore, dest: Destination, local: LocalFile, key: string, uploadId: string, parts: RemotePart[]): AdoptedUpload | null {
  const st = fs.statSync(local.file, { bigint: true });
  const size = Number(st.size);
  const seen = partSizeOf(parts);
  let partSize: number;
  if (seen === null) {
    const plan = planParts(size, { ...dest, singlePutThreshold: 0 });
    partSize = plan.partSize;
  } else {
    partSize = seen;
    const fits = seen >= MIN_PART_SIZE && seen <= MAX_PART_SIZE && Math.ceil(size / seen) <= dest.maxParts;
    if (!fits) return null;
  }
  const snap = { size, mtimeMs: Number(st.mtimeMs), inode: st.ino.toString() };
  const job = adoptUploadJob(jobs, folders, {
    row: newJob({
      dest,
      sourcePath: local.file,
      key,
      snapshot: snap,
      plan: { mode: 'multipart', partSize },
      priority: local.folder.priority ?? 'normal',
      hashAlgorithms: local.folder.hashAlgorithms,
    }),
    parts: splitIntoParts(size, partSize),
    uploadId,
    message: `Taken up again after the database was rebuilt: multipart upload ${uploadId} on the server (${parts.length} part(s)) is this watched file's; each part counts only once its bytes match the file.`,
    file: { folderId: local.folder.id, destinationId: dest.id, relPath: relativePath(local.folder.path, local.file), key, ...snap, how: 'upload', etag: null },
  });
  return { key, uploadId, jobId: job.id, file: local.file, partsOnServer: parts.length };
}
