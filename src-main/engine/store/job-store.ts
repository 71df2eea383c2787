// The job store over SQLite: jobs and their history (job-rows.ts), parts (part-rows.ts),
// destinations (destination-rows.ts), owed aborts (remote-abort-rows.ts) and the runner lease
// (runner-lease.ts), and the domain steps that write several rows, each one transaction.
import type { Db } from './db.js';
import type { CredentialOrigin, Destination, DestinationInput } from '../../../shared/types.js';
import type { ErrorInfo } from '../../../shared/errors.js';
import type { ChecksumAlgorithm, FileHashes, JobState, Priority, UploadMode } from '../../../shared/states.js';
import { DestinationRows } from './destination-rows.js';
import { JobBulkRows } from './job-bulk.js';
import { JobLeases } from './job-leases.js';
import { JobRows } from './job-rows.js';
import { NodeStore } from './node-store.js';
import { PartRows } from './part-rows.js';
import { OwedWorkStore } from './owed-store.js';
import { RemoteAbortRows, type RemoteAbortPayload } from './remote-abort-rows.js';
import { RunnerLease, type LeaseAnswer } from './runner-lease.js';
import { SendDefaultsStore } from './send-defaults.js';
import type { JobRecord, PartRecord, PlannedPart, RemoteAbort } from './rows.js';
import type { IntegrityProof } from '../s3/server-encryption.js';
import type { DonePart, EventError, FailureVerdict, IntegrityPlan, KeyDecision, UploadStore } from './upload-store.js';

export type { GrowingState, JobRecord, MhlPlace, NewJob, PartRecord, PlannedPart, RemoteAbort } from './rows.js';
export { newJob, type JobSource } from './new-job.js';
export { REMOTE_ABORT, type RemoteAbortPayload } from './remote-abort-rows.js';

/**
 * The only module (with its tables beside it) that speaks SQL. The scheduler sees `UploadStore`,
 * so another store (PostgreSQL with leases, for a shared queue) can replace it without the
 * scheduler changing.
 */
export class JobStore extends JobRows implements UploadStore {
  private readonly destRows: DestinationRows;
  private readonly aborts: RemoteAbortRows;
  /** Work owed until it succeeds (owed-store.ts); the remote aborts are one kind of it. */
  readonly owed: OwedWorkStore;
  /** What "Send files now" last used per destination (send-defaults.ts). */
  readonly sendDefaults: SendDefaultsStore;
  private readonly lease: RunnerLease;
  /** The queue as a list: filters, and commands on many jobs at once (job-bulk.ts). */
  readonly bulk: JobBulkRows;
  /** The processes working a shared queue (node-store.ts). */
  readonly nodes: NodeStore;
  private readonly leases: JobLeases;

  constructor(db: Db, now: () => number = Date.now) {
    super(db, new PartRows(db, now), now);
    this.destRows = new DestinationRows(db, now);
    this.owed = new OwedWorkStore(db, now);
    this.aborts = new RemoteAbortRows(this.owed, now);
    this.lease = new RunnerLease(db, now);
    this.sendDefaults = new SendDefaultsStore(db, now);
    this.bulk = new JobBulkRows(db, now);
    this.nodes = new NodeStore(db, now);
    this.leases = new JobLeases(db, this, this.partRows, now);
  }

  /**
   * A unit of work: every write `fn` makes through the stores on this database commits together, or
   * none does (a nested call joins the outer one). For callers outside store/ that combine several
   * domain methods; none of them opens a transaction on the database itself.
   */
  atomically<T>(fn: () => T, opts: { write?: boolean } = {}): T {
    // `write`: begun as a writer (BEGIN IMMEDIATE), for a read-then-write another process may race.
    return opts.write ? this.db.transaction(fn).immediate() : this.db.transaction(fn)();
  }

  // ---- destinations (destination-rows.ts) ----

  getDestination(id: number): Destination | undefined { return this.destRows.getDestination(id); }
  getDestinationByName(name: string): Destination | undefined { return this.destRows.getDestinationByName(name); }
  listDestinations(): Destination[] { return this.destRows.listDestinations(); }
  upsertDestination(d: DestinationInput): Destination { return this.destRows.upsertDestination(d); }
  updateDestination(id: number, d: DestinationInput): Destination | undefined { return this.destRows.updateDestination(id, d); }
  setCredentialOrigin(id: number, origin: CredentialOrigin): void { this.destRows.setCredentialOrigin(id, origin); }
  recordChecksumProbe(id: number, endpoint: string, verifies: boolean): void { this.destRows.recordChecksumProbe(id, endpoint, verifies); }
  removeDestination(id: number): ReturnType<DestinationRows['removeDestination']> { return this.destRows.removeDestination(id, (d) => this.aborts.countFor(d)); }

  // ---- parts (part-rows.ts) ----

  parts(jobId: number): PartRecord[] { return this.partRows.parts(jobId); }
  nextPendingParts(jobId: number, limit: number): PartRecord[] { return this.partRows.nextPendingParts(jobId, limit); }
  unfinishedPartCount(jobId: number): number { return this.partRows.unfinishedPartCount(jobId); }
  partAttempts(jobId: number, partNumber: number): number | undefined { return this.partRows.partAttempts(jobId, partNumber); }
  markPartSending(jobId: number, partNumber: number): boolean { return this.partRows.markPartSending(jobId, partNumber); }
  markPartDone(jobId: number, partNumber: number, etag: string, md5Hex: string, checksum: string | null): void { this.partRows.markPartDone(jobId, partNumber, etag, md5Hex, checksum); }
  markPartPending(jobId: number, partNumber: number, availableAt = 0, sent = true): void { this.partRows.markPartPending(jobId, partNumber, availableAt, sent); }
  resetParts(jobId: number): void { this.partRows.resetParts(jobId); }
  resendPart(jobId: number, partNumber: number): void { this.partRows.resendPart(jobId, partNumber); }

  // ---- remote aborts still owed (remote-abort-rows.ts) ----

  queueRemoteAbort(a: RemoteAbortPayload): void { this.aborts.queueRemoteAbort(a); }
  dueRemoteAborts(limit = 50, opts: { all?: boolean } = {}): RemoteAbort[] { return this.aborts.dueRemoteAborts(limit, opts); }
  remoteAbortsOf(jobId: number): RemoteAbort[] { return this.aborts.remoteAbortsOf(jobId); }
  pendingAbortUploadIds(): Set<string> { return this.aborts.pendingAbortUploadIds(); }
  remoteAbortDone(id: number): void { this.aborts.remoteAbortDone(id); }
  remoteAbortFailed(id: number, error: string, retryAt: number): void { this.aborts.remoteAbortFailed(id, error, retryAt); }

  // ---- the runner lease (runner-lease.ts) ----

  /** Takes or renews the lease; returns the holder when another live process has it. */
  acquireLease(owner: string, staleAfterMs: number): LeaseAnswer { return this.lease.acquire(owner, staleAfterMs); }
  releaseLease(owner: string): void { this.lease.release(owner); }

  // ---- per-job leases of a shared queue (job-leases.ts) ----

  claimJob(jobId: number, owner: string, leaseMs: number, machine?: string, oneWriter = true): boolean { return this.leases.claim(jobId, owner, leaseMs, machine, oneWriter); }
  renewJobLeases(owner: string, jobIds: readonly number[], leaseMs: number): number[] { return this.leases.renew(owner, jobIds, leaseMs); }
  takeOverExpired(except: ReadonlySet<number>): number[] { return this.leases.takeOverExpired(except); }
  jobStates(ids: readonly number[]): Map<number, { state: JobState; priority: Priority }> { return this.bulk.statesOf(ids); }
    releaseJobs(owner: string, jobIds: readonly number[]): number { return this.leases.release(owner, jobIds); }
  uploadHeldElsewhere(uploadId: string, owner: string): boolean { return this.leases.heldElsewhere(uploadId, owner); }

  /**
   * Changes whenever another connection commits: a cheap way to notice commands from another process.
   * On PostgreSQL a sequence every statement on jobs, parts, destinations and the pacing tables bumps
   * (pg-schema.ts): it also moves on this process's own writes, which costs an extra look, not a miss.
   */
  dataVersion(): number {
    if (this.db.dialect === 'pg') return (this.db.prepare('SELECT last_value FROM data_version').get() as { last_value: number }).last_value;
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  // ---- domain steps: several rows, one transaction each ----

  recordPartsAndRecover(parts: readonly DonePart[], release?: { owner: string; jobIds: readonly number[] }): void {
    this.db.transaction(() => {
      for (const p of parts) this.markPartDone(p.jobId, p.partNumber, p.etag, p.md5Hex, p.checksum);
      if (release) this.leases.release(release.owner, release.jobIds);
      else this.recoverInterrupted();
    })();
  }

  recordUploadCreated(jobId: number, uploadId: string, message: string): void {
    this.db.transaction(() => {
      this.setUploadId(jobId, uploadId);
      this.markCreateStarted(jobId, null);
      this.addEvent(jobId, 'upload-created', message);
    })();
  }

  /**
   * The upload on the server was created with `algorithm` (ListParts says so): the job sends and
   * completes with it from now on, and done parts take the checksum the server lists for them.
   */
  takeUploadChecksums(jobId: number, algorithm: ChecksumAlgorithm, listed: ReadonlyArray<{ partNumber: number; checksum: string }>, message: string | null): void {
    this.db.transaction(() => {
      this.setChecksumAlgorithm(jobId, algorithm);
      for (const p of listed) this.partRows.setPartChecksum(jobId, p.partNumber, p.checksum);
      if (message) this.addEvent(jobId, 'checksum-taken', message);
    })();
  }

  restartUpload(jobId: number, opts: { event?: { message: string; error?: EventError }; requeueFrom?: readonly JobState[] } = {}): void {
    this.db.transaction(() => {
      if (opts.event) this.addEvent(jobId, 'upload-lost', opts.event.message, opts.event.error);
      this.resetParts(jobId);
      this.setUploadId(jobId, null);
      if (opts.requeueFrom) this.transition(jobId, opts.requeueFrom, 'queued', { availableAt: 0 });
    })();
  }

  retryPartLater(jobId: number, partNumber: number, availableAt: number, message: string, error: EventError): void {
    this.db.transaction(() => {
      this.markPartPending(jobId, partNumber, availableAt);
      this.addEvent(jobId, 'part-retry', message, error);
    })();
  }

  /**
   * How the job's parts prove their bytes, decided before its first byte goes, with what its history
   * says of it; and what it decided at its key, when that is still to be written (one commit for both:
   * issue 12, writes per frame). Either may be absent.
   */
  planIntegrity(jobId: number, plan: IntegrityPlan | null, message: string | null, decision?: KeyDecision): void {
    this.db.transaction(() => {
      if (decision) this.setKeyDecision(jobId, decision);
      if (plan) this.setIntegrityPlan(jobId, plan);
      if (message) this.addEvent(jobId, 'integrity', message);
    })();
  }

  alreadyThere(jobId: number, from: readonly JobState[], etag: string, message: string, proof: IntegrityProof, key?: string): boolean {
    return this.db.transaction(() => {
      const job = this.getJob(jobId);
      if (!job || !from.includes(job.state)) return false;
      // Nothing of ours is to become the object: an upload begun for it is owed an abort (invariant 4).
      if (job.uploadId) this.queueRemoteAbort({ destinationId: job.destinationId, bucket: job.bucket, key: job.key, uploadId: job.uploadId, jobId, reason: 'already in the bucket' });
      this.setUploadId(jobId, null);
      this.resetParts(jobId);
      this.setKeyDecision(jobId, { keySeen: etag, outcome: 'already-there', ...(key ? { key } : {}) });
      this.transition(jobId, from, 'done', { etag, error: null });
      this.setIntegrity(jobId, proof);
      this.addEvent(jobId, 'already-there', message);
      return true;
    })();
  }

  moveToKey(jobId: number, d: { key: string; keySeen: string; message: string }): void {
    this.db.transaction(() => {
      const job = this.getJob(jobId);
      if (!job) return;
      // A multipart upload belongs to its key: the one begun for the old key is owed an abort, its parts go again.
      if (job.uploadId) this.queueRemoteAbort({ destinationId: job.destinationId, bucket: job.bucket, key: job.key, uploadId: job.uploadId, jobId, reason: 'kept both: another key' });
      this.setUploadId(jobId, null);
      this.resetParts(jobId);
      this.setKeyDecision(jobId, { keySeen: d.keySeen, outcome: 'kept-both', key: d.key });
      this.addEvent(jobId, 'kept-both', d.message);
    })();
  }

  completeJob(jobId: number, from: readonly JobState[], etag: string | null, message: string, proof: IntegrityProof & { serverEncryption?: string | null }, versionId: string | null = null): void {
    this.db.transaction(() => {
      if (this.transition(jobId, from, 'done', { etag, versionId, error: null })) {
        if (proof.serverEncryption) this.setServerEncryption(jobId, proof.serverEncryption);
        this.setIntegrity(jobId, proof);
      }
      this.addEvent(jobId, 'done', message);
    })();
  }

  finishSinglePut(done: DonePart, hashes: FileHashes | null, hashed: string | null, end: { etag: string; versionId: string | null; message: string; proof: IntegrityProof & { serverEncryption?: string | null } }): JobRecord | undefined {
    return this.db.transaction(() => {
      const { jobId } = done;
      this.markPartDone(jobId, done.partNumber, done.etag, done.md5Hex, done.checksum);
      // One statement ends the job with its hashes and proof, and one history entry says both (issue 12:
      // writes per frame); it returns the row, which the scheduler tells hosts of (no read after it).
      const ended = this.transitionRow(jobId, ['running'], 'done', { etag: end.etag, versionId: end.versionId, error: null, proof: end.proof, ...(hashes ? { hashes } : {}) });
      if (!ended) {
        // Paused or cancelled meanwhile: the hashes of these bytes are kept, as the usual path keeps them.
        if (hashes) this.setHashes(jobId, hashes, null);
        if (hashed) this.addEvent(jobId, 'hashed', hashed);
        return undefined;
      }
      this.addEvent(jobId, 'done', hashed ? `${end.message} ${hashed}` : end.message);
      return ended;
    })();
  }

  /**
   * A done job whose object was found deleted or overwritten (flagged at clean-up) is sent again, on
   * request: its parts forgotten, its ETag, version and flag cleared, queued. False when it is not
   * such a job (any more).
   */
  uploadFlaggedAgain(jobId: number, message: string): boolean {
    return this.db.transaction(() => {
      const job = this.getJob(jobId);
      if (job?.state !== 'done' || !job.flag) return false;
      this.resetParts(jobId);
      this.setUploadId(jobId, null);
      this.setFlag(jobId, null);
      // The proof was of the object that is gone; the new upload earns its own.
      this.db.prepare('UPDATE jobs SET etag_verified = NULL, integrity = NULL, proof = NULL, full_checksum = NULL WHERE id = ?').run(jobId);
      this.transition(jobId, ['done'], 'queued', { availableAt: 0, error: null, etag: null, versionId: null });
      this.resetAttempts(jobId);
      this.addEvent(jobId, 'resumed', message);
      return true;
    })();
  }

  recordServerEncryption(jobId: number, encryption: string, message: string): void {
    this.db.transaction(() => {
      this.setServerEncryption(jobId, encryption);
      this.addEvent(jobId, 'server-encryption', message);
    })();
  }

  settleGrownParts(jobId: number, changedParts: readonly number[], message: string | null): void {
    this.db.transaction(() => {
      for (const n of changedParts) this.resendPart(jobId, n);
      this.setGrowing(jobId, 0);
      if (message) this.addEvent(jobId, 'parts-changed', message);
      if (changedParts.length > 0) this.transition(jobId, ['completing'], 'running');
    })();
  }

  /**
   * A growing file outgrew what its destination accepts (issue 13): the job fails with `error`,
   * nothing more is appended, and its upload is owed an abort in the same transaction (invariant 4).
   */
  refuseGrowing(jobId: number, error: ErrorInfo): boolean {
    return this.db.transaction(() => {
      const job = this.getJob(jobId);
      if (!job?.growing || !this.transition(jobId, ['queued', 'running', 'completing', 'paused'], 'failed', { error })) return false;
      if (job.uploadId) {
        this.queueRemoteAbort({ destinationId: job.destinationId, bucket: job.bucket, key: job.key, uploadId: job.uploadId, jobId, reason: error.code });
        this.setUploadId(jobId, null);
        this.resetParts(jobId);
      }
      this.setGrowing(jobId, 0);
      this.addEvent(jobId, 'failed', error.message, error);
      return true;
    })();
  }

  /**
   * The parts recorded for a job do not cover its file (issue 13): it is never completed. The job
   * fails with `error`, its upload is owed an abort, and its parts are planned afresh (`plan`), so
   * that `hoist retry` sends the whole file; one transaction.
   */
  failWithFreshPlan(jobId: number, error: ErrorInfo, plan: { mode: UploadMode; partSize: number; parts: readonly PlannedPart[] }): void {
    this.db.transaction(() => {
      const job = this.getJob(jobId);
      if (!job || !this.transition(jobId, ['running', 'completing'], 'failed', { error })) return;
      if (job.uploadId) {
        this.queueRemoteAbort({ destinationId: job.destinationId, bucket: job.bucket, key: job.key, uploadId: job.uploadId, jobId, reason: error.code });
      }
      this.replanJob(jobId, { size: job.size, mtimeMs: job.mtimeMs, inode: job.inode, mode: plan.mode, partSize: plan.partSize }, [...plan.parts]);
      this.setGrowing(jobId, 0);
      this.addEvent(jobId, 'failed', `${error.message}${error.detail ? ` (${error.detail})` : ''}`, error);
    })();
  }

  /** Cancels a job that has not ended; its upload, if any, becomes an owed abort in the same transaction (invariant 4). */
  cancelJob(job: Pick<JobRecord, 'id' | 'destinationId' | 'bucket' | 'key' | 'uploadId'>): boolean {
    return this.db.transaction(() => {
      if (!this.transition(job.id, ['queued', 'running', 'completing', 'paused', 'failed'], 'cancelled')) return false;
      if (job.uploadId) {
        this.queueRemoteAbort({ destinationId: job.destinationId, bucket: job.bucket, key: job.key, uploadId: job.uploadId, jobId: job.id, reason: 'cancelled' });
      }
      this.addEvent(job.id, 'cancelled', 'Cancelled.');
      return true;
    })();
  }

  requeueChangedSource(jobId: number, snapshot: { size: number; mtimeMs: number; inode: string; mode: UploadMode; partSize: number }, parts: readonly PlannedPart[], message: string): void {
    this.db.transaction(() => {
      const job = this.getJob(jobId);
      if (!job) return;
      if (job.uploadId) {
        this.queueRemoteAbort({ destinationId: job.destinationId, bucket: job.bucket, key: job.key, uploadId: job.uploadId, jobId, reason: 'source changed' });
      }
      this.replanJob(jobId, snapshot, [...parts]);
      // A grown file that changed again is uploaded afresh as it now is, like any other.
      if (job.growing) this.setGrowing(jobId, 0);
      this.addEvent(jobId, 'source-changed', message, { code: 'source.changed' });
      this.transition(jobId, ['running', 'completing'], 'queued', { availableAt: 0 });
    })();
  }

  recordJobFailure(jobId: number, error: ErrorInfo, opts: { dropUpload: string | null; verdict(attempts: number): FailureVerdict }): void {
    this.db.transaction(() => {
      const job = this.getJob(jobId);
      if (!job || (job.state !== 'running' && job.state !== 'completing')) return;
      if (opts.dropUpload && job.uploadId) {
        // No object can come of this upload: settle it now rather than bill the user for its parts.
        this.queueRemoteAbort({ destinationId: job.destinationId, bucket: job.bucket, key: job.key, uploadId: job.uploadId, jobId, reason: opts.dropUpload });
        this.setUploadId(jobId, null);
        this.resetParts(jobId);
      }
      const v = opts.verdict(this.bumpAttempts(jobId));
      if (v.retryAt !== null) {
        this.transition(jobId, ['running', 'completing'], 'queued', { error, availableAt: v.retryAt });
        this.addEvent(jobId, 'retry', v.message, error);
      } else {
        this.transition(jobId, ['running', 'completing'], 'failed', { error });
        this.addEvent(jobId, 'failed', v.message, error);
      }
    })();
  }
}
