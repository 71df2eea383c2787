import type { ChecksumAlgorithm, JobState, PartState, Priority, UploadMode } from './states.js';
import type { ErrorInfo } from './errors.js';

/** Where jobs go: one bucket on one endpoint, with its upload settings. */
export interface Destination {
  id: number;
  name: string;
  /** null means Amazon S3's own endpoint for the region. */
  endpoint: string | null;
  region: string;
  bucket: string;
  prefix: string;
  pathStyle: boolean;
  /** The AWS profile whose credentials this destination uses (null: the default chain). */
  profile: string | null;
  storageClass: string | null;
  /** Server-side encryption: 'AES256', 'aws:kms' or null for the bucket's default. */
  sse: string | null;
  sseKmsKeyId: string | null;
  partSize: number;
  concurrency: number;
  singlePutThreshold: number;
  maxObjectSize: number;
  /** Parts one upload may have: 10,000 on S3; some servers are configured lower. */
  maxParts: number;
  checksumAlgorithm: ChecksumAlgorithm | null;
}

export type DestinationInput = Omit<Destination, 'id'>;

/** A job as every host and `hoist jobs --json` show it. Field names are a stable contract. */
export interface Job {
  id: number;
  destinationId: number;
  sourcePath: string;
  bucket: string;
  key: string;
  size: number;
  state: JobState;
  priority: Priority;
  mode: UploadMode;
  partSize: number;
  partCount: number;
  partsDone: number;
  /** Bytes the server has acknowledged (parts done). */
  bytesDone: number;
  checksumAlgorithm: ChecksumAlgorithm | null;
  uploadId: string | null;
  etag: string | null;
  error: ErrorInfo | null;
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Part {
  partNumber: number;
  offset: number;
  length: number;
  state: PartState;
  etag: string | null;
  md5: string | null;
  checksum: string | null;
  sends: number;
}

export interface JobEvent {
  at: string;
  kind: string;
  code: string | null;
  operation: string | null;
  message: string;
}

/** Live progress of one job: acknowledged bytes plus bytes on the wire. */
export interface JobProgress {
  jobId: number;
  state: JobState;
  bytesSent: number;
  size: number;
  partsDone: number;
  partCount: number;
  /** Bytes per second over the last few seconds. */
  rate: number;
  /** Seconds left at the current rate; null when unknown. */
  etaSeconds: number | null;
}

/** An in-progress multipart upload on the bucket. */
export interface RemoteUpload {
  bucket: string;
  key: string;
  uploadId: string;
  initiated: string | null;
  storageClass: string | null;
  /** The Hoist job that owns it, or null for an orphan. */
  jobId: number | null;
}

export interface RemotePart {
  partNumber: number;
  size: number;
  etag: string;
  lastModified: string | null;
}

/** A folder whose finished files are uploaded to a destination (issue 3). */
export interface WatchedFolder {
  id: number;
  path: string;
  destinationId: number;
  /** Prepended to each file's path relative to the folder. */
  prefix: string;
  /** Glob patterns (picomatch) on the relative path; empty = everything. */
  include: string[];
  exclude: string[];
  /** Files below this go as one PutObject; null = the destination's setting. */
  singlePutThreshold: number | null;
  /** Send parts while a file is still being written (recorders, growing files). */
  growing: boolean;
  /** How long size and mtime must stay unchanged before a file counts as finished. */
  stableMs: number;
  enabled: boolean;
  createdAt: string;
}

export type WatchedFolderInput = Omit<WatchedFolder, 'id' | 'createdAt' | 'stableMs' | 'singlePutThreshold' | 'include' | 'exclude' | 'prefix' | 'growing' | 'enabled'> &
  Partial<Pick<WatchedFolder, 'stableMs' | 'singlePutThreshold' | 'include' | 'exclude' | 'prefix' | 'growing' | 'enabled'>>;

/** Counts across the whole queue, for headers, the tray and the throughput chart. */
export interface Totals {
  byState: Record<string, number>;
  bytesTotal: number;
  bytesDone: number;
  /** Bytes per second across all jobs now. */
  rate: number;
}

/** An in-progress upload on the bucket with what it holds (parts and bytes so far). */
export interface RemoteUploadSummary extends RemoteUpload {
  parts: number | null;
  bytes: number | null;
}

/** The result of "Test connection": one line per permission Hoist needs. */
export interface ConnectionCheck {
  permission: 'PutObject' | 'ListBucketMultipartUploads' | 'ListMultipartUploadParts' | 'AbortMultipartUpload';
  ok: boolean;
  /** Error code when not ok (for example s3.access-denied, s3.no-such-bucket, net.unreachable). */
  code: string | null;
  message: string;
}

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A window of the day (local time) with its own bandwidth; `to` before `from` runs past midnight. */
export interface BandwidthWindow {
  /** "HH:MM", 24-hour. */
  from: string;
  to: string;
  /** null: unlimited during the window. */
  bytesPerSecond: number | null;
}

/** A bandwidth limit: the global one (destinationId null), shared by all uploads, or one destination's. */
export interface BandwidthLimit {
  destinationId: number | null;
  /** Outside the schedule's windows; null: unlimited. */
  bytesPerSecond: number | null;
  schedule: BandwidthWindow[];
  /** What applies now (the window in force, else bytesPerSecond). */
  effectiveBytesPerSecond: number | null;
}

/** Automatic concurrency for a destination: parts in flight move between these bounds. */
export interface ConcurrencyBounds {
  destinationId: number;
  min: number;
  max: number;
}

/** One decision of the concurrency tuner, as recorded (tests and `hoist tune --show` read these). */
export interface ConcurrencyDecision {
  at: string;
  destinationId: number;
  from: number;
  to: number;
  /** 'rising' (throughput rose), 'no-gain' (back to the better level), 'SlowDown', 'error', 'recovered', 'probe', 'bounds'. */
  reason: string;
  /** Bytes per second measured over the window that led to the decision, when one did. */
  measuredBytesPerSecond: number | null;
}
