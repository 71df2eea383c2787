// A fresh database after a damaged one was moved aside, rebuilt from what can be known: the
// destinations and watched folders from the recovery file, and whatever rows of the damaged file
// can still be read (destinations and folders it alone knew, unfinished jobs with their upload
// ids). Nothing from the damaged file is trusted as done: a restored job's parts start pending
// and the scheduler's reconcile adopts only those whose ETag equals the MD5 of the same local
// bytes (invariant 2). The bucket's side (uploads whose keys map to watched files) is
// remote/adopt.ts, which needs the network.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAX_PART_SIZE, MIN_PART_SIZE } from '../../../shared/limits.js';
import { AFTER_DELIVERY, CHECKSUM_ALGORITHMS, DEFAULT_FILE_HASHES, DEFAULT_IF_EXISTS, DEFAULT_INTEGRITY, FILE_HASH_ALGORITHMS, PRIORITIES, type AfterDelivery, type ChecksumAlgorithm, type FileHashAlgorithm } from '../../../shared/states.js';
import type { Destination } from '../../../shared/types.js';
import { planParts, splitIntoParts, type PartPlan } from '../upload/part-plan.js';
import type { Db } from './db.js';
import type { JobStore } from './job-store.js';
import { newJob } from './new-job.js';
import { ifExistsOf, integrityModeOf } from './rows.js';
import type { RecoveredFolder, RecoverySnapshot } from './recovery-file.js';
import type BetterSqlite3 from 'better-sqlite3';
import { requireCjs } from '../cjs.js';

// Through require, not import (cjs.ts).
const Database = requireCjs('better-sqlite3') as typeof BetterSqlite3;

export interface RestoredJob {
  jobId: number;
  sourcePath: string;
  key: string;
  uploadId: string | null;
}

export interface RebuildReport {
  movedAside: string;
  /** The recovery file the destinations and folders came from, when there was one to read. */
  recoveryFile: string | null;
  /** Rows the damaged file still gave up (0 when it could not be opened at all). */
  salvagedRows: number;
  destinations: number;
  folders: number;
  jobs: RestoredJob[];
  /** Things that could not be restored, said plainly. */
  problems: string[];
}

type Row = Record<string, unknown>;

interface Salvage {
  destinations: Row[];
  folders: Row[];
  folderDestinations: Row[];
  jobs: Row[];
  rows: number;
}

/** Reads each table until the damage stops it; a file that is no database gives nothing. */
function salvage(damagedFile: string): Salvage {
  const out: Salvage = { destinations: [], folders: [], folderDestinations: [], jobs: [], rows: 0 };
  // Read from a copy: the file moved aside stays byte for byte as it was.
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-salvage-'));
  try {
    const copy = path.join(scratch, 'damaged.db');
    fs.copyFileSync(damagedFile, copy);
    if (fs.existsSync(`${damagedFile}-wal`)) fs.copyFileSync(`${damagedFile}-wal`, `${copy}-wal`);
    let db: BetterSqlite3.Database;
    try {
      db = new Database(copy, { fileMustExist: true });
    } catch {
      return out;
    }
    const take = (sql: string, into: Row[]) => {
      try {
        for (const row of db.prepare(sql).iterate() as Iterable<Row>) {
          into.push(row);
          out.rows++;
        }
      } catch {
        // the rest of this table is unreadable
      }
    };
    try {
      take('SELECT * FROM destinations ORDER BY id', out.destinations);
      take('SELECT * FROM watched_folders ORDER BY id', out.folders);
      take('SELECT * FROM folder_destinations ORDER BY folder_id, position', out.folderDestinations);
      take(`SELECT * FROM jobs WHERE state NOT IN ('done', 'cancelled') ORDER BY id`, out.jobs);
    } finally {
      db.close();
    }
    return out;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const int = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) ? v : null);

function destinationFromRow(r: Row): Destination | null {
  const id = int(r.id);
  const name = str(r.name);
  const bucket = str(r.bucket);
  const region = str(r.region);
  const partSize = int(r.part_size);
  const concurrency = int(r.concurrency);
  const singlePutThreshold = int(r.single_put_threshold);
  const maxObjectSize = int(r.max_object_size);
  if (id === null || !name || !bucket || !region || partSize === null || concurrency === null || singlePutThreshold === null || maxObjectSize === null) return null;
  const checksum = str(r.checksum_algorithm);
  return {
    id,
    name,
    endpoint: str(r.endpoint),
    region,
    bucket,
    prefix: str(r.prefix) ?? '',
    pathStyle: r.path_style === 1,
    profile: str(r.profile),
    storageClass: str(r.storage_class),
    sse: str(r.sse),
    sseKmsKeyId: str(r.sse_kms_key_id),
    partSize,
    concurrency,
    singlePutThreshold,
    maxObjectSize,
    maxParts: int(r.max_parts) ?? 10_000,
    checksumAlgorithm: CHECKSUM_ALGORITHMS.includes(checksum as ChecksumAlgorithm) ? (checksum as ChecksumAlgorithm) : null,
    // Keys the desktop app sealed stay its own: restored as such, so no other process sends with other credentials.
    credentials: r.credentials === 'saved' ? 'saved' : 'chain',
    ifExists: ifExistsOf(r.if_exists) ?? DEFAULT_IF_EXISTS,
    integrity: integrityModeOf(r.integrity) ?? DEFAULT_INTEGRITY,
    // Found out again when next needed.
    checksumProbe: null,
  };
}

function insertDestination(db: Db, d: Destination): void {
  db.prepare(
    `INSERT INTO destinations (id, name, endpoint, region, bucket, prefix, path_style, profile, storage_class, sse, sse_kms_key_id,
       part_size, concurrency, single_put_threshold, max_object_size, max_parts, checksum_algorithm, credentials, if_exists, integrity, created_at)
     VALUES (@id, @name, @endpoint, @region, @bucket, @prefix, @pathStyle, @profile, @storageClass, @sse, @sseKmsKeyId,
       @partSize, @concurrency, @singlePutThreshold, @maxObjectSize, @maxParts, @checksumAlgorithm, @credentials, @ifExists, @integrity, @now)`,
  ).run({ ...d, credentials: d.credentials === 'saved' ? 'saved' : 'chain', pathStyle: d.pathStyle ? 1 : 0, ifExists: ifExistsOf(d.ifExists) ?? DEFAULT_IF_EXISTS, integrity: integrityModeOf(d.integrity) ?? DEFAULT_INTEGRITY, now: Date.now() });
}


function folderFromRow(r: Row, destinationsOf: Map<number, number[]>): RecoveredFolder | null {
  const id = int(r.id);
  const dir = str(r.path);
  const destinationId = int(r.destination_id);
  const stableMs = int(r.stable_ms);
  if (id === null || !dir || destinationId === null || stableMs === null) return null;
  const list = (v: unknown): string[] => {
    try {
      const parsed = JSON.parse(String(v)) as unknown;
      return Array.isArray(parsed) ? parsed.filter((g): g is string => typeof g === 'string') : [];
    } catch {
      return [];
    }
  };
  const after = AFTER_DELIVERY.includes(r.after_delivery as AfterDelivery) ? (r.after_delivery as AfterDelivery) : 'keep';
  const hashes = r.hash_algorithms === undefined ? [...DEFAULT_FILE_HASHES] : list(r.hash_algorithms).filter((h): h is FileHashAlgorithm => FILE_HASH_ALGORITHMS.includes(h as FileHashAlgorithm));
  return {
    id,
    path: dir,
    destinationId,
    destinationIds: destinationsOf.get(id) ?? [destinationId],
    after,
    moveTo: after === 'move' ? str(r.move_to) : null,
    priority: PRIORITIES[int(r.priority) ?? 1] ?? 'normal',
    prefix: str(r.prefix) ?? '',
    include: list(r.include_globs),
    exclude: list(r.exclude_globs),
    singlePutThreshold: int(r.single_put_threshold),
    growing: r.growing === 1,
    stableMs,
    enabled: r.enabled !== 0,
    hashAlgorithms: hashes,
    mhl: r.mhl === 1,
    webhookUrl: str(r.webhook_url),
    webhookSecret: str(r.webhook_secret),
    ifExists: ifExistsOf(r.if_exists),
  };
}

function insertFolder(db: Db, f: RecoveredFolder, known: ReadonlySet<number>): void {
  const destinationIds = (f.destinationIds?.length ? f.destinationIds : [f.destinationId]).filter((d) => known.has(d));
  db.prepare(
    `INSERT INTO watched_folders (id, path, destination_id, prefix, include_globs, exclude_globs, single_put_threshold, growing, stable_ms, enabled,
       after_delivery, move_to, priority, hash_algorithms, mhl, webhook_url, webhook_secret, if_exists, created_at)
     VALUES (@id, @path, @destinationId, @prefix, @include, @exclude, @singlePutThreshold, @growing, @stableMs, @enabled,
       @after, @moveTo, @priority, @hashAlgorithms, @mhl, @webhookUrl, @webhookSecret, @ifExists, @now)`,
  ).run({
    ...f,
    destinationId: destinationIds[0],
    include: JSON.stringify(f.include),
    exclude: JSON.stringify(f.exclude),
    growing: f.growing ? 1 : 0,
    enabled: f.enabled ? 1 : 0,
    after: f.after ?? 'keep',
    moveTo: f.after === 'move' ? (f.moveTo ?? null) : null,
    priority: PRIORITIES.indexOf(f.priority ?? 'normal'),
    hashAlgorithms: JSON.stringify(f.hashAlgorithms ?? DEFAULT_FILE_HASHES),
    mhl: f.mhl ? 1 : 0,
    webhookUrl: f.webhookUrl ?? null,
    webhookSecret: f.webhookSecret ?? null,
    ifExists: ifExistsOf(f.ifExists),
    now: Date.now(),
  });
  const link = db.prepare('INSERT INTO folder_destinations (folder_id, destination_id, position) VALUES (?, ?, ?)');
  destinationIds.forEach((d, position) => link.run(f.id, d, position));
}

/** The plan for a restored job: the damaged file's part size when it had an upload (its parts were cut so), else the destination's. */
function restoredPlan(size: number, dest: Destination, partSize: number | null, withUpload: boolean): PartPlan {
  if (withUpload && partSize !== null && partSize >= MIN_PART_SIZE && partSize <= MAX_PART_SIZE && Math.ceil(size / partSize) <= dest.maxParts) {
    return { mode: 'multipart', partSize, parts: splitIntoParts(size, partSize) };
  }
  return planParts(size, dest);
}

/**
 * Fills the fresh database (already migrated) from the recovery file and the damaged file's
 * readable rows. Runs once, right after the damaged file was moved aside.
 */
export function rebuildDatabase(store: JobStore, recovery: { file: string; snapshot: RecoverySnapshot | null } | null, movedAside: string): RebuildReport {
  const db = store.db;
  const snapshot = recovery?.snapshot ?? null;
  const found = salvage(movedAside);
  const report: RebuildReport = { movedAside, recoveryFile: snapshot ? recovery!.file : null, salvagedRows: found.rows, destinations: 0, folders: 0, jobs: [], problems: [] };
  db.transaction(() => {
    const destinations = new Map<number, Destination>();
    const names = new Set<string>();
    const addDestination = (d: Destination | null) => {
      if (!d || destinations.has(d.id) || names.has(d.name)) return;
      insertDestination(db, d);
      destinations.set(d.id, d);
      names.add(d.name);
    };
    // The same ids as before: credentials a host saved are keyed by destination id.
    for (const d of snapshot?.destinations ?? []) addDestination(d);
    for (const r of found.destinations) addDestination(destinationFromRow(r));
    report.destinations = destinations.size;

    const folderIds = new Set<number>();
    const addFolder = (f: RecoveredFolder | null) => {
      if (!f || folderIds.has(f.id) || !(f.destinationIds ?? [f.destinationId]).some((d) => destinations.has(d))) return;
      insertFolder(db, f, new Set(destinations.keys()));
      folderIds.add(f.id);
    };
    const destinationsOf = new Map<number, number[]>();
    for (const r of found.folderDestinations) {
      const folder = int(r.folder_id);
      const dest = int(r.destination_id);
      if (folder !== null && dest !== null) destinationsOf.set(folder, [...(destinationsOf.get(folder) ?? []), dest]);
    }
    for (const f of snapshot?.folders ?? []) addFolder({ ...f, singlePutThreshold: f.singlePutThreshold ?? null });
    for (const r of found.folders) addFolder(folderFromRow(r, destinationsOf));
    report.folders = folderIds.size;

    for (const r of found.jobs) {
      const restored = restoreJob(store, r, destinations, report.problems);
      if (restored) report.jobs.push(restored);
    }
  })();
  return report;
}

function hashAlgorithmsOf(v: unknown): FileHashAlgorithm[] {
  try {
    const list = JSON.parse(String(v)) as unknown;
    return Array.isArray(list) ? list.filter((h): h is FileHashAlgorithm => FILE_HASH_ALGORITHMS.includes(h as FileHashAlgorithm)) : [...DEFAULT_FILE_HASHES];
  } catch {
    return [...DEFAULT_FILE_HASHES];
  }
}

/** An unfinished job of the damaged file, made again from its source as it is now. */
function restoreJob(store: JobStore, r: Row, destinations: Map<number, Destination>, problems: string[]): RestoredJob | null {
  const sourcePath = str(r.source_path);
  const key = str(r.key);
  const destinationId = int(r.destination_id);
  if (!sourcePath || !key || destinationId === null) return null;
  const dest = destinations.get(destinationId);
  const uploadId = r.mode === 'multipart' ? str(r.upload_id) : null;
  const where = `s3://${str(r.bucket) ?? dest?.bucket ?? '?'}/${key}`;
  if (!dest) {
    problems.push(`${sourcePath} → ${where}: its destination is not known any more; not restored.`);
    return null;
  }
  if (int(r.growing)) {
    problems.push(`${sourcePath} → ${where} was a growing file's upload; the watcher starts it again.`);
    return null;
  }
  let st: fs.BigIntStats;
  try {
    st = fs.statSync(sourcePath, { bigint: true });
  } catch {
    problems.push(`${sourcePath} → ${where}: the file is gone; not restored${uploadId ? ` (its upload ${uploadId} is left on the server as an orphan)` : ''}.`);
    return null;
  }
  if (!st.isFile()) return null;
  const size = Number(st.size);
  const plan = restoredPlan(size, dest, int(r.part_size), uploadId !== null);
  const keepUpload = uploadId !== null && plan.mode === 'multipart';
  if (uploadId && !keepUpload) problems.push(`${sourcePath} → ${where} is now sent whole; its old upload ${uploadId} is left on the server as an orphan.`);
  const checksum = str(r.checksum_algorithm);
  const job = store.insertJob(
    newJob({
      dest,
      sourcePath,
      key,
      snapshot: { size, mtimeMs: Number(st.mtimeMs), inode: st.ino.toString() },
      plan,
      contentType: str(r.content_type) ?? undefined,
      priority: PRIORITIES[int(r.priority) ?? 1] ?? 'normal',
      checksumAlgorithm: CHECKSUM_ALGORITHMS.includes(checksum as ChecksumAlgorithm) ? (checksum as ChecksumAlgorithm) : null,
      hashAlgorithms: hashAlgorithmsOf(r.hash_algorithms),
    }),
    plan.parts,
  );
  if (str(r.mhl_root)) problems.push(`${sourcePath} → ${where}: restored without its ASC MHL batch; its hashes are recorded, but no generation lists it until it is sent again with --mhl.`);
  if (keepUpload) store.setUploadId(job.id, uploadId);
  if (r.state === 'paused') store.transition(job.id, ['queued'], 'paused');
  store.addEvent(
    job.id,
    'rebuilt',
    keepUpload
      ? `Restored after the database was damaged (it was job ${int(r.id) ?? '?'}), with its multipart upload ${uploadId}: the parts on the server count only once their bytes match the file.`
      : `Restored after the database was damaged (it was job ${int(r.id) ?? '?'}).`,
  );
  return { jobId: job.id, sourcePath, key, uploadId: keepUpload ? uploadId : null };
}
