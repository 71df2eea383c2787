// What the scheduler needs of a job store: reads, single-row writes, and domain steps that are each
// one transaction by design. JobStore (SQLite) implements it; a shared queue (PostgreSQL, issue 15)
// can implement it too without the scheduler changing. No SQL, no handle on a database here.
import type { Destination } from '../../../shared/types.js';
import type { ErrorInfo } from '../../../shared/errors.js';
import type { ChecksumAlgorithm, FileHashAlgorithm, FileHashes, JobOutcome, JobState, Priority, UploadMode } from '../../../shared/states.js';
import type { HashVerification } from '../../../shared/types.js';
import type { IntegrityProof } from '../s3/server-encryption.js';
import type { HashCheckpoint, SourceSnapshot } from '../upload/tasks.js';
import type { JobRecord, PartRecord, PlannedPart, RemoteAbort } from './rows.js';

/** An error's code (and operation) as a history entry carries it. */
export type EventError = Pick<ErrorInfo, 'code' | 'operation'>;

/** What a job decided at its key: what it saw there and the outcome it goes for (and, keep-both, the key it goes to instead). */
export interface KeyDecision {
  keySeen: string;
  outcome: JobOutcome;
  key?: string;
}

/** A part the server acknowledged: what its row records. */
export interface DonePart {
  jobId: number;
  partNumber: number;
  etag: string;
  md5Hex: string;
  checksum: string | null;
}

/** How a job's parts prove their bytes (scheduler/integrity-plan.ts). */
export interface IntegrityPlan {
  checksumAlgorithm: ChecksumAlgorithm | null;
  contentMd5: boolean;
  checksumType: 'FULL_OBJECT' | 'COMPOSITE' | null;
}

/** How a failed job goes on, decided from its attempts so far (this one counted). */
export type FailureVerdict = { retryAt: number; message: string } | { retryAt: null; message: string };

export interface UploadStore {
  // ---- reads ----
  getJob(id: number): JobRecord | undefined;
  getDestination(id: number): Destination | undefined;
  listJobs(opts: { states?: readonly JobState[] }): JobRecord[];
  /** Due queued jobs, highest priority first, then oldest: ids only (asked every tick); with `machine`, only those whose source it can read. */
  nextQueuedJobRefs(limit: number, machine?: string): Array<{ id: number; destinationId: number; key: string; priority: Priority; mode: UploadMode }>;
  /** Another unfinished job bound for this key of this destination, if any. */
  unfinishedJobOnKey(destinationId: number, key: string, exceptJobId: number): number | undefined;
  /** Part sizes of the uploads Hoist completed at this key (hints for its object's multipart ETag). */
  partSizesAt(destinationId: number, key: string): number[];
  parts(jobId: number): PartRecord[];
  nextPendingParts(jobId: number, limit: number): PartRecord[];
  /** State and priority of each of these jobs that exists, in one read. */
  jobStates(ids: readonly number[]): Map<number, { state: JobState; priority: Priority }>;
  unfinishedPartCount(jobId: number): number;
  partAttempts(jobId: number, partNumber: number): number | undefined;
  /** Upload ids that still belong to a job that may complete them. */
  liveUploadIds(): Set<string>;
  hashCheckpoint(jobId: number, snap: SourceSnapshot, algorithms: readonly FileHashAlgorithm[]): HashCheckpoint | null;
  /** Whether the job's history has an entry of this kind. */
  hasEvent(jobId: number, kind: string): boolean;
  /** Changes whenever another process commits: commands from elsewhere are noticed by it. */
  dataVersion(): number;

  // ---- single writes ----
  transition(jobId: number, from: readonly JobState[], to: JobState, extra?: { error?: ErrorInfo | null; availableAt?: number; etag?: string | null }): boolean;
  /** The same, returning the row it wrote (undefined when it did not apply): the caller tells hosts of it without reading it again. */
  transitionRow(jobId: number, from: readonly JobState[], to: JobState): JobRecord | undefined;
  addEvent(jobId: number, kind: string, message: string, error?: EventError): void;
  markCreateStarted(jobId: number, at: number | null): void;
  markPartSending(jobId: number, partNumber: number): boolean;
  markPartDone(jobId: number, partNumber: number, etag: string, md5Hex: string, checksum: string | null): void;
  markPartPending(jobId: number, partNumber: number, availableAt?: number, sent?: boolean): void;
  resetAttempts(jobId: number): void;
  setHashes(jobId: number, hashes: FileHashes, verifiedBy: HashVerification | null): void;
  saveHashCheckpoint(jobId: number, snap: SourceSnapshot, algorithms: readonly FileHashAlgorithm[], cp: HashCheckpoint): void;
  clearHashCheckpoint(jobId: number): void;
  setJobError(jobId: number, error: ErrorInfo | null): void;
  /** What the job saw at its key and the outcome it goes for (remote/if-exists.ts). */
  setKeyDecision(jobId: number, d: KeyDecision): void;
  /** A conditional write was refused: the job decides again what to do at its key. */
  forgetKeyDecision(jobId: number): void;

  // ---- domain steps, one transaction each ----
  /** A unit of work: the writes `fn` makes through this store commit together, or none does (a nested call joins the outer one). */
  atomically<T>(fn: () => T): T;
  /** After a crash (or a full disk): what was in flight goes back to waiting; with ids, only those jobs' (this process's, at stop). */
  recoverInterrupted(jobIds?: readonly number[]): number;
  /**
   * Parts acknowledged while the database could not record them, then recoverInterrupted; with
   * `release` (a shared queue), only the jobs that node holds among its ids go back (releaseJobs).
   */
  recordPartsAndRecover(parts: readonly DonePart[], release?: { owner: string; jobIds: readonly number[] }): void;
  /** CreateMultipartUpload answered: its id is the job's, the create marker is cleared. */
  recordUploadCreated(jobId: number, uploadId: string, message: string): void;
  /** The server's upload has this checksum algorithm: the job takes it, and done parts the checksums the server lists. */
  takeUploadChecksums(jobId: number, algorithm: ChecksumAlgorithm, listed: ReadonlyArray<{ partNumber: number; checksum: string }>, message: string | null): void;
  /** The job's upload is gone from the server: parts forgotten, upload id cleared, and with `requeueFrom` the job queued again. */
  restartUpload(jobId: number, opts?: { event?: { message: string; error?: EventError }; requeueFrom?: readonly JobState[] }): void;
  /** A part goes again after `availableAt`, with why in the history. */
  retryPartLater(jobId: number, partNumber: number, availableAt: number, message: string, error: EventError): void;
  /**
   * The key already holds the file's bytes: the job is done without sending (outcome already-there);
   * an upload it had begun is owed an abort; `key`: where the bytes are (keep-both found them
   * beside the first key); `proof`: what showed the bytes to be the same. False when the job is no
   * longer in `from`.
   */
  alreadyThere(jobId: number, from: readonly JobState[], etag: string, message: string, proof: IntegrityProof, key?: string): boolean;
  /** keep-both: the job goes to another key; an upload it had begun (bound to the old key) is owed an abort, its parts go again. */
  moveToKey(jobId: number, d: { key: string; keySeen: string; message: string }): void;
  /** The object is there, its bytes proven (`proof`: by its ETag, or by Content-MD5 where the ETag is not an MD5), and in a versioned bucket the version we wrote: the job is done. */
  completeJob(jobId: number, from: readonly JobState[], etag: string | null, message: string, proof: IntegrityProof & { serverEncryption?: string | null }, versionId?: string | null): void;
  /**
   * A small file's PutObject answered (issue 12): its part done, the whole-file hashes read with its
   * body (with `hashed`, their history entry) and the job done, in one transaction; the row it ended,
   * as written. Undefined (the part and hashes still recorded) when the job is no longer running.
   */
  finishSinglePut(done: DonePart, hashes: FileHashes | null, hashed: string | null, end: { etag: string; versionId: string | null; message: string; proof: IntegrityProof & { serverEncryption?: string | null } }): JobRecord | undefined;
  /** How the job's parts prove their bytes, decided before its first byte goes; `message` goes to its history. */
  planIntegrity(jobId: number, plan: IntegrityPlan | null, message: string | null, decision?: KeyDecision): void;
  /** Whether the destination's server verifies flexible checksums, as found at this endpoint. */
  recordChecksumProbe(destinationId: number, endpoint: string, verifies: boolean): void;
  /** The server's answers named an encryption (another than the job had recorded): recorded, with a history entry. */
  recordServerEncryption(jobId: number, encryption: string, message: string): void;
  /** A grown file's parts were hashed again: the changed ones go again (the job back to running), the others stand. */
  settleGrownParts(jobId: number, changedParts: readonly number[], message: string | null): void;
  /** Invariant 3: the source changed; the upload is owed an abort, the job re-planned and queued again. */
  requeueChangedSource(jobId: number, snapshot: { size: number; mtimeMs: number; inode: string; mode: UploadMode; partSize: number }, parts: readonly PlannedPart[], message: string): void;
  /**
   * A job failed (if it is still running or completing): with `dropUpload` its upload is owed an
   * abort and its parts forgotten; its attempts are counted and `verdict` says whether it waits to
   * be retried or stays failed.
   */
  recordJobFailure(jobId: number, error: ErrorInfo, opts: { dropUpload: string | null; verdict(attempts: number): FailureVerdict }): void;
  /** The recorded parts do not cover the file: the job fails, its upload is owed an abort, its parts are planned afresh (issue 13). */
  failWithFreshPlan(jobId: number, error: ErrorInfo, plan: { mode: UploadMode; partSize: number; parts: readonly PlannedPart[] }): void;

  // ---- per-job leases of a shared queue (job-leases.ts, issue 15) ----
  /** Claims a queued job for `owner` (running, leased until now + leaseMs); false when another node has it, it is not queued, or `machine` cannot read its source. */
  claimJob(jobId: number, owner: string, leaseMs: number, machine?: string, oneWriter?: boolean): boolean;
  /** Renews `owner`'s leases; returns which of `jobIds` another node has taken over. */
  renewJobLeases(owner: string, jobIds: readonly number[], leaseMs: number): number[];
  /** Running jobs with an expired lease (none of `except`) go back to the queue; their ids. */
  takeOverExpired(except: ReadonlySet<number>): number[];
  /** The jobs among `jobIds` that `owner` still holds go back to the queue (it stops working them). */
  releaseJobs(owner: string, jobIds: readonly number[]): number;
  /** Whether another node's live lease holds a job of this upload (its parts may be on the wire there). */
  uploadHeldElsewhere(uploadId: string, owner: string): boolean;

  // ---- remote aborts owed (invariant 4) ----
  queueRemoteAbort(a: { destinationId: number; bucket: string; key: string; uploadId: string; jobId: number | null; reason: string }): void;
  dueRemoteAborts(limit?: number, opts?: { all?: boolean }): RemoteAbort[];
  remoteAbortDone(id: number): void;
  remoteAbortFailed(id: number, error: string, retryAt: number): void;
}
