// Turning files and folders into jobs: each path expanded to its files and keys, each file planned
// (single PUT or parts), and all of them recorded in one transaction (with their ASC MHL batch).
import fs from 'node:fs';
import path from 'node:path';
import { HoistError } from '../../shared/errors.js';
import { DEFAULT_FILE_HASHES, type ChecksumAlgorithm, type FileHashAlgorithm, type IfExistsPolicy, type Priority } from '../../shared/states.js';
import type { Destination } from '../../shared/types.js';
import { joinKey, objectKey, relativePath } from './keys.js';
import { requireMhlHash } from './mhl/manifest.js';
import { isHistoryPath, mhlPlacement } from './mhl/source-history.js';
import { toHoistError } from './s3/errors.js';
import type { BatchStore } from './store/batch-store.js';
import { newJob, type JobRecord, type JobStore } from './store/job-store.js';
import { planParts } from './upload/part-plan.js';
import { folderFilter } from './folders/filters.js';
import { walkFolder } from './folders/scan.js';

export interface EnqueueOptions {
  destination: Destination;
  /** The object key, for a single file. */
  key?: string;
  /** Prepended to each file's name when no key is given. */
  prefix?: string;
  /** These override the destination's settings for the jobs made by this call only. */
  partSize?: number;
  singlePutThreshold?: number;
  maxObjectSize?: number;
  maxParts?: number;
  checksum?: ChecksumAlgorithm | null;
  priority?: Priority;
  /** Whole-file hashes to record (default xxh64; [] for none). */
  hashes?: readonly FileHashAlgorithm[];
  /** The folder single files are taken relative to for ASC MHL (a watched folder); default: each file's own folder. */
  base?: string;
  /**
   * ASC MHL generations (issue 8): `upload` makes one complete batch per root of this call;
   * `{ folderId }` adds each file to its watched folder's open batch for its root.
   */
  mhl?: false | 'upload' | { folderId: number };
  /** When a key already holds an object (default: the destination's policy). */
  ifExists?: IfExistsPolicy;
  /**
   * Called with every path given and every file a folder expands to, before it is read: throws to
   * refuse it, and then nothing is queued (a host's roots: engine/sources/roots.ts).
   */
  admit?: (abs: string) => Promise<unknown>;
  /**
   * Called with each job made or found, in the transaction that records them: false drops the whole
   * call (nothing recorded, no job returned). A watched file of a shared queue claims its record
   * there, so two processes deciding one file make one job (folders/ingest.ts).
   */
  claim?: (job: JobRecord) => boolean;
  /** The watched folder the files are under (`base` is where this machine sees it): each job records it and its path under it. */
  folderId?: number;
}

/** A claim was lost: the enqueue's transaction is rolled back. */
class ClaimLost extends Error {}

/** What enqueueing needs from the engine: the stores, and how a paused or failed job is resumed. */
export interface EnqueueDeps {
  store: JobStore;
  batches: BatchStore;
  /** This machine's name, recorded on each job it makes (a shared queue gives a hand-added job only to it). */
  machine: string;
  resume(id: number, orFailed: boolean): boolean;
}

/** One file of an enqueue call, before it becomes a job. */
export interface EnqueuedFile {
  abs: string;
  key: string;
  /** What a relative path is taken from: the uploaded directory, the watched folder, or the file's own folder. */
  base: string;
  st: fs.BigIntStats;
}

/**
 * Records jobs for files and folders (a folder's files recursively, keys = prefix + path under
 * it); a file already queued for the same key is not queued twice, it is resumed. Nothing is
 * queued unless every path can be read and every key is valid and distinct. Returns the jobs and
 * the ASC MHL batches they went into.
 */
export async function enqueueJobs(deps: EnqueueDeps, paths: readonly string[], o: EnqueueOptions): Promise<{ jobs: JobRecord[]; batchIds: number[] }> {
  if (o.key !== undefined && paths.length !== 1) throw new HoistError('config.invalid', { message: '--key names one object; with several files use --prefix.' });
  const hashes = o.hashes ?? DEFAULT_FILE_HASHES;
  if (o.mhl) requireMhlHash(hashes);
  const files = await expandPaths(paths, o);
  const sources = files.map((f) => ({ abs: f.abs, key: f.key, base: f.base, snapshot: { size: Number(f.st.size), mtimeMs: Number(f.st.mtimeMs), inode: f.st.ino.toString() } }));
  return recordFiles(deps, planFiles(sources, o), o);
}

/** A file to queue as it was looked at: what its job records and checks before it completes. */
export interface SourceFile {
  abs: string;
  key: string;
  base: string;
  snapshot: { size: number; mtimeMs: number; inode: string };
}

/** A file of an enqueue call with its plan and its place for ASC MHL. */
export type PlannedFile = ReturnType<typeof planFiles>[number];

/** Each file's plan (single PUT or parts) and ASC MHL place; throws for a file that cannot be sent (too large). */
export function planFiles(files: readonly SourceFile[], o: EnqueueOptions) {
  return files.map((f) => {
    const size = f.snapshot.size;
    const plan = planParts(size, {
      partSize: o.partSize ?? o.destination.partSize,
      singlePutThreshold: o.singlePutThreshold ?? o.destination.singlePutThreshold,
      maxObjectSize: o.maxObjectSize ?? o.destination.maxObjectSize,
      maxParts: o.maxParts ?? o.destination.maxParts,
    });
    // Without ASC MHL a file is still checked against a history its root carries; its key need not follow its path.
    const { rootPrefix, ...place } = mhlPlacement(f.base, f.abs, o.mhl ? f.key : null);
    return { ...f, size, plan, place, rootPrefix };
  });
}

/**
 * Records planned files as jobs in one transaction (joining the caller's, when there is one: a
 * watcher's batch records each file's folder record with its job); a file already queued for its
 * key is resumed instead.
 */
export function recordFiles(deps: EnqueueDeps, planned: readonly PlannedFile[], o: EnqueueOptions): { jobs: JobRecord[]; batchIds: number[] } {
  const { store, batches } = deps;
  const hashes = o.hashes ?? DEFAULT_FILE_HASHES;
  const batchIds = new Map<string, number>();
  const batchOf = (p: (typeof planned)[number]): number | null => {
    if (!o.mhl) return null;
    const id = `${p.place.root}\0${p.rootPrefix}`;
    let batchId = batchIds.get(id);
    if (batchId === undefined) {
      const key = { destinationId: o.destination.id, root: p.place.root, bucket: o.destination.bucket, keyPrefix: p.rootPrefix, folderId: o.mhl === 'upload' ? null : o.mhl.folderId };
      batchId = batches.batchFor(key, o.mhl === 'upload' ? 'sealed' : 'open').id;
      batchIds.set(id, batchId);
    }
    return batchId;
  };
  // One transaction: a batch is never seen (and written) before all its jobs are in it.
  const record = () => planned.map((p) => {
      const existing = store.findJobFor(o.destination.id, p.key, p.abs, ['queued', 'running', 'completing', 'paused', 'failed']);
      if (existing) {
        // Asked again with another policy: that one decides what it does at the key.
        if (o.ifExists) store.setIfExists(existing.id, o.ifExists);
        if (existing.state === 'failed' || existing.state === 'paused') deps.resume(existing.id, true);
        const batchId = existing.batchId === null ? batchOf(p) : null;
        if (batchId !== null) batches.setJobBatch(existing.id, batchId);
        return claimed(store.getJob(existing.id)!);
      }
      const row = newJob({
        dest: o.destination,
        sourcePath: p.abs,
        key: p.key,
        snapshot: p.snapshot,
        plan: p.plan,
        priority: o.priority ?? 'normal',
        checksumAlgorithm: o.checksum,
        hashAlgorithms: hashes,
        mhl: p.place,
        batchId: batchOf(p),
        ...(o.ifExists ? { ifExists: o.ifExists } : {}),
        origin: {
          machine: deps.machine,
          folderId: o.folderId ?? null,
          relPath: o.folderId === undefined ? null : relativePath(p.base, p.abs),
        },
      });
      return claimed(store.insertJob(row, p.plan.parts));
    });
  const claimed = (job: JobRecord): JobRecord => {
    if (o.claim && !o.claim(job)) throw new ClaimLost();
    return job;
  };
  let jobs: JobRecord[];
  try {
    // A claim reads, then writes: taken as a writer from the start, so no other process writes in between (SQLite).
    jobs = store.atomically(record, { write: o.claim !== undefined });
  } catch (err) {
    if (err instanceof ClaimLost) return { jobs: [], batchIds: [] };
    throw err;
  }
  return { jobs, batchIds: [...new Set(batchIds.values())] };
}

/**
 * Files behind the paths given, each with its key, in the order they are queued; refuses unreadable
 * paths, paths `admit` refuses and two files for one key. What enqueueJobs queues, what a
 * preview shows, and what `hoist verify` compares (the same keys).
 */
export async function expandPaths(paths: readonly string[], o: Pick<EnqueueOptions, 'destination' | 'key' | 'prefix' | 'mhl' | 'base' | 'admit'>): Promise<EnqueuedFile[]> {
  const out: EnqueuedFile[] = [];
  const readable = async (abs: string) => {
    try {
      await fs.promises.access(abs, fs.constants.R_OK);
      return await fs.promises.stat(abs, { bigint: true });
    } catch (err) {
      throw new HoistError(toHoistError(err).code === 'source.missing' ? 'source.missing' : 'source.unreadable', { message: `Cannot read ${abs}: ${(err as Error).message}` });
    }
  };
  for (const p of paths) {
    const abs = path.resolve(p);
    await o.admit?.(abs);
    const st = await readable(abs);
    if (st.isDirectory()) {
      if (o.key !== undefined) throw new HoistError('config.invalid', { message: `${abs} is a folder: --key names one object; a folder goes under --prefix.` });
      const before = out.length;
      const problems: string[] = [];
      for await (const f of walkFolder(abs, folderFilter([], []), (pr) => problems.push(`${pr.file}: ${pr.error.message}`))) {
        // With --mhl the folder's ASC MHL history travels with its generation, not as files of its own.
        if (o.mhl && isHistoryPath(f.relPath)) continue;
        // The walk follows symlinks: where each file really is is checked too.
        await o.admit?.(f.file);
        out.push({ abs: f.file, key: objectKey(joinKey(o.destination.prefix, o.prefix ?? '', f.relPath)), base: abs, st: f.stats });
      }
      if (problems.length > 0) throw new HoistError('source.unreadable', { message: `Cannot read everything under ${abs}; nothing was queued: ${problems.slice(0, 5).join('; ')}` });
      if (out.length === before) throw new HoistError('config.invalid', { message: `${abs} holds no file to upload.` });
      continue;
    }
    if (!st.isFile()) throw new HoistError('source.unreadable', { message: `${abs} is not a regular file.` });
    out.push({ abs, key: objectKey(o.key ?? joinKey(o.destination.prefix, o.prefix ?? '', path.basename(abs))), base: o.base ?? path.dirname(abs), st });
  }
  const byKey = new Map<string, string>();
  for (const f of out) {
    const other = byKey.get(f.key);
    if (other !== undefined && other !== f.abs) throw new HoistError('config.invalid', { message: `${other} and ${f.abs} both map to s3://${o.destination.bucket}/${f.key}; nothing was queued.` });
    byKey.set(f.key, f.abs);
  }
  return out;
}
