// One job the scheduler has opened (preparing, sending or completing): what is in flight for it
// and the few facts about its source every step needs. The database is the truth; this is only
// what is in flight.
import fs from 'node:fs';
import type { Destination } from '../../../shared/types.js';
import { PRIORITY_RANK, type FileHashAlgorithm } from '../../../shared/states.js';
import type { HoistError } from '../../../shared/errors.js';
import { toHoistError } from '../s3/errors.js';
import type { SlotToken } from '../pacing/lanes.js';
import type { JobRecord } from '../store/rows.js';
import type { KeyDecision } from '../store/upload-store.js';
import type { ObjectSettings, SourceSnapshot } from '../upload/tasks.js';
import type { SourcePlace } from '../job-source.js';
import type { PassChecksums } from './pass-checksums.js';

export interface InFlight {
  taskId: number;
  partNumber: number;
  length: number;
  bytesSent: number;
  /** The lane slot the part holds until it settles (at the job's priority when it was sent). */
  slot: SlotToken;
}

export interface ActiveJob {
  job: JobRecord;
  dest: Destination;
  /** Where this machine reads the job's file (and its ASC MHL history): every step reads `source`, never the job's recorded path (job-source.ts). */
  source: SourcePlace;
  phase: 'preparing' | 'sending' | 'completing';
  inflight: Map<number, InFlight>;
  /** Bytes of parts the server acknowledged. */
  bytesAcked: number;
  partsDone: number;
  /** Set when traffic must stop: the job was paused, cancelled, failed or is restarting. */
  stopping: boolean;
  samples: Array<{ at: number; bytes: number }>;
  checksumUnverifiedNoted?: boolean;
  /** The whole-file hash pass (issue 8): resolves with the problem that ended it, or null once hashed (and verified). */
  hashing?: Promise<HoistError | null>;
  hashTaskId?: number;
  hashedBytes?: number;
  /** The parts' checksums that pass computes, for parts to be read once, to send (pass-checksums.ts). */
  passChecksums?: PassChecksums;
  /**
   * A file that goes in one PutObject with no ASC MHL history to be checked against: its whole-file
   * hashes (these, perhaps none) come from the same read as its body, not from a hash pass (issue 12).
   */
  inlineHashes?: FileHashAlgorithm[];
  /** A ticket of the source histories taken as the job opened: a look at its `ascmhl/` started after it answers (source-history.ts). */
  historySince?: number;
  /** The store said a part of it waits for a slot; cleared when one of its parts is sent (open-queued.ts `partWaits`). */
  partsWaiting?: boolean;
  /**
   * What the job decided at its key, not yet written: it is written with the integrity plan, in one
   * commit, before anything is sent (prepare.ts; issue 12, writes per frame). Lost with the job's
   * opening if that ends first, when the job decides again, as after a crash.
   */
  unsavedDecision?: KeyDecision;
  /** The version a single PutObject made (versioned bucket), from its answer; undefined when not sent by this run. */
  versionId?: string | null;
  /** Called once nothing is in flight any more (whenIdle). */
  idleWaiters: Array<() => void>;
}

export function openedJob(job: JobRecord, dest: Destination, source: SourcePlace): ActiveJob {
  return {
    job: { ...job, state: 'running' },
    dest,
    source,
    phase: 'preparing',
    inflight: new Map(),
    bytesAcked: job.bytesDone,
    partsDone: job.partsDone,
    stopping: false,
    samples: [],
    idleWaiters: [],
  };
}

/** Resolves once the job's last part in flight has settled (at once when none is). */
export function whenIdle(a: ActiveJob): Promise<void> {
  if (a.inflight.size === 0) return Promise.resolve();
  return new Promise((resolve) => a.idleWaiters.push(resolve));
}

/** A part settled: it leaves the job's flight, and those waiting for the job to be idle are told. */
export function landed(a: ActiveJob, partNumber: number): void {
  a.inflight.delete(partNumber);
  if (a.inflight.size > 0) return;
  for (const resolve of a.idleWaiters.splice(0)) resolve();
}

export function rankOf(a: ActiveJob): number {
  return PRIORITY_RANK[a.job.priority];
}

/** The source file changed, vanished or cannot be read: onSourceProblem restarts the upload or fails the job. */
export function isSourceProblem(code: string): boolean {
  return code === 'source.changed' || code === 'source.missing' || code === 'source.unreadable';
}

export function snapshotOf(job: JobRecord): SourceSnapshot {
  return { size: job.size, mtimeMs: job.mtimeMs, inode: job.inode, ...(job.growing === 1 ? { growing: true } : {}) };
}

export function sameSnapshot(s: SourceSnapshot, job: JobRecord): boolean {
  return s.size === job.size && s.mtimeMs === job.mtimeMs && s.inode === job.inode;
}

export async function statSource(file: string): Promise<SourceSnapshot | null> {
  try {
    const st = await fs.promises.stat(file, { bigint: true });
    return { size: Number(st.size), mtimeMs: Number(st.mtimeMs), inode: st.ino.toString() };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw toHoistError(err, 'ReadSource');
  }
}

/** The object's settings for Create and PutObject. */
export function objectSettings(a: ActiveJob): ObjectSettings {
  return {
    contentType: a.job.contentType,
    // A growing file's size and mtime are not known yet when its upload is created.
    metadata: a.job.growing ? {} : { 'source-mtime': new Date(a.job.mtimeMs).toISOString(), 'source-size': String(a.job.size) },
    storageClass: a.dest.storageClass,
    sse: a.dest.sse,
    sseKmsKeyId: a.dest.sseKmsKeyId,
  };
}

/** Waits for the job's parts on the wire to end; false if `signal` aborts first. */
export async function untilIdleOr(a: ActiveJob, signal?: AbortSignal): Promise<boolean> {
  if (!signal) return whenIdle(a).then(() => true);
  if (signal.aborted) return false;
  let onAbort = () => {};
  const stopped = new Promise<false>((resolve) => {
    onAbort = () => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  const idle = await Promise.race([whenIdle(a).then(() => true as const), stopped]);
  signal.removeEventListener('abort', onAbort);
  return idle;
}

/**
 * Every part of the job is on the wire here, so none waits: the store is not asked (issue 12: a small
 * file's one part in flight was looked for in the parts table by every tick, once per job in flight).
 */
export function allInFlight(a: ActiveJob | undefined): boolean {
  // A growing file's parts are still being planned: the store knows how many.
  return a !== undefined && a.job.growing !== 1 && a.inflight.size >= a.job.partCount;
}
