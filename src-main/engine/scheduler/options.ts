// The scheduler's settings and the events it emits (engine.ts forwards them to hosts).
import type { ErrorInfo } from '../../../shared/errors.js';
import type { JobProgress } from '../../../shared/types.js';
import type { RetryPolicy } from '../backoff.js';
import type { Bounds, TuningOptions } from '../pacing/lanes.js';
import type { JobRecord } from '../store/rows.js';
import type { BucketMemory } from '../pacing/token-bucket.js';
import type { SharedQueueOptions } from './shared-queue.js';
import type { SourcePlace } from '../job-source.js';

export interface SchedulerOptions {
  retry?: Partial<RetryPolicy>;
  /** How often the loop looks for work and for commands from other processes. */
  tickMs?: number;
  /** A queue shared by several nodes: jobs are claimed with leases (shared-queue.ts). Off: one process works the queue. */
  shared?: SharedQueueOptions;
  /** Part ETags are MD5s unless the destination uses SSE-KMS (or SSE-C). */
  caBundle?: string | null;
  idleTimeoutMs?: number;
  /** Page size for ListParts during reconciliation (tests lower it to exercise paging). */
  listPageSize?: number;
  /** The bandwidth limits' token buckets each part to a destination takes from (bandwidth.ts). */
  bandwidth?: { memoryFor(destinationId: number): BucketMemory[] };
  /** How often a whole-file hash pass saves its state (the worker skips it for hashes that cannot be saved); default 1 GiB. */
  hashCheckpointBytes?: number;
  /**
   * The whole-file hash pass computes each part's CRC as well, and a part whose CRC it knows is read
   * once, to send (pass-checksums.ts). Default on; off: every part is read and hashed before it goes.
   */
  passPartChecksums?: boolean;
  /** Where this machine reads a job's source (job-source.ts); null when it cannot. Default: the path recorded with the job. */
  sourceOf?(job: JobRecord): SourcePlace | null;
  /**
   * Automatic concurrency: bounds per destination (none: fixed) and the tuner's settings (lanes.ts);
   * with a shared queue, this node's slots of a destination's concurrency (or max) (cluster-share.ts).
   */
  tuning?: { boundsOf?(destinationId: number): Bounds | null; options?: TuningOptions; shareOf?(destinationId: number, ceiling: number): number };
}

/** The database's disk filled up (`full`), or takes writes again (`recorded`: parts that waited in memory). */
export type StorageNotice = { full: true; error: ErrorInfo } | { full: false; recorded: number };

export interface SchedulerEvents {
  job: [job: JobRecord];
  progress: [progress: JobProgress[]];
  concurrency: [info: { destinationId: number; limit: number; reason: string }];
  storage: [notice: StorageNotice];
  /** A hash pass saved how far it got (tests wait on it; nothing else needs it). */
  'hash-checkpoint': [info: { jobId: number; offset: number }];
}
