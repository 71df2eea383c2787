// What the steps of a job's upload (prepare, send, complete, reconcile, hash pass, growing parts,
// failures) need of the scheduler that runs them: a narrow interface, so each step is a module of
// its own and none reaches into the coordinator.
import type { Destination } from '../../../shared/types.js';
import type { RetryPolicy } from '../backoff.js';
import type { Lane } from '../pacing/lanes.js';
import type { SourceHistories } from '../mhl/source-history.js';
import type { KeyListings } from '../remote/key-listing.js';
import type { JobRecord } from '../store/rows.js';
import type { UploadStore } from '../store/upload-store.js';
import type { PartRunner } from '../upload/worker-pool.js';
import type { ActiveJob } from './active-job.js';
import type { Connections } from './connections.js';
import type { SchedulerOptions } from './options.js';
import type { StorageGuard } from './storage-guard.js';

/**
 * A write that may wait for the next tick's commit (tick-writes.ts: one transaction for a tick's
 * writes): `write` runs inside it, `then` once it is committed; `alone` when it could not go with a
 * tick (that transaction failed, or no tick came: the scheduler stops, the disk is full).
 */
export interface GroupedWrite {
  write(): void;
  then(): void;
  alone(): void;
}

export interface RunContext {
  readonly store: UploadStore;
  readonly pool: PartRunner;
  readonly retry: RetryPolicy;
  readonly opts: SchedulerOptions;
  readonly net: Connections;
  readonly storage: StorageGuard;
  readonly histories: SourceHistories;
  /** Destinations whose server refused a conditional write as not implemented: written without conditions since (key-decision.ts). */
  readonly conditionsRefused: Set<number>;
  /** Recent listings of keys, so that a folder of small files' empty keys are not looked at one HeadObject each. */
  readonly listings: KeyListings;
  lane(dest: Destination): Lane;
  /** Keeps a promise until it settles (stop waits for all); its error is reported, never thrown. */
  track(p: Promise<unknown>): void;
  /** Looks for work now. */
  tick(): void;
  /** Written with the next tick's writes, in one commit (a small file's end); call `tick` after. */
  writeSoon(w: GroupedWrite): void;
  /** Tells hosts the job's row as it is now. */
  emitJob(jobId: number): void;
  /** A hash pass saved how far it got. */
  hashCheckpointSaved(jobId: number, offset: number): void;
  /**
   * The run is over once nothing is in flight: the job leaves the open set and hosts hear of it
   * (`written`: its row as the committed write that ended the run returned it, not read again).
   */
  release(a: ActiveJob, written?: JobRecord): void;
  /** The job leaves the open set now (its row was already settled). */
  forget(a: ActiveJob): void;
}
