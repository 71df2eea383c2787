import type { AfterDelivery, ChecksumAlgorithm, FileHashAlgorithm, FileHashes, IfExistsPolicy, IntegrityMode, JobOutcome, JobProof, JobState, PartState, Priority, UploadMode } from './states.js';
import type { ErrorCode, ErrorInfo } from './errors.js';

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
  /** A flexible checksum sent beside Content-MD5 where its jobs use MD5 (`integrity` md5, or auto on a server that verifies none); null for none. */
  checksumAlgorithm: ChecksumAlgorithm | null;
  /** What its jobs do when their key already holds an object (default skip-identical); a folder or an upload may say otherwise. */
  ifExists: IfExistsPolicy;
  /** How its uploads prove their bytes (shared/states.ts INTEGRITY_MODES; default auto; docs/integrity.md). */
  integrity: IntegrityMode;
  /**
   * Whether the server verifies flexible checksums, as found out for the destination's current
   * endpoint (a tiny part sent with a wrong CRC32 must be refused with BadDigest); null before it
   * was found out, or after the endpoint changed (it is found out again when next needed).
   */
  checksumProbe: ChecksumProbe | null;
  /**
   * Where its credentials come from: `chain` (its profile, or the standard AWS chain) or `saved`
   * (sealed by the desktop app with the OS keychain; only that host can open them). Set by the
   * engine, never by an input.
   */
  credentials: CredentialOrigin;
}

export type CredentialOrigin = 'chain' | 'saved';

/** What the integrity probe found at an endpoint (remote/integrity-probe.ts). */
export interface ChecksumProbe {
  /** True when the server refused a wrong checksum (BadDigest) and accepted the right one. */
  verifies: boolean;
  /** The endpoint it was found for (Amazon S3's regional one when the destination names none). */
  endpoint: string;
  checkedAt: string;
}

/** A destination's settings; `ifExists` and `integrity` may be left out (their defaults, or what the destination had). */
export type DestinationInput = Omit<Destination, 'id' | 'credentials' | 'ifExists' | 'integrity' | 'checksumProbe'> & { ifExists?: IfExistsPolicy; integrity?: IntegrityMode };

/** A job as every host and `hoist jobs --json` show it. Field names are a stable contract. */
export interface Job {
  id: number;
  destinationId: number;
  /** The destination's name. */
  destination: string;
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
  /**
   * True for a failed job whose multipart upload is still open on the bucket (its parts kept there,
   * and billed): retry resumes it, cancel aborts it. False otherwise (`shared/kept-upload.ts`).
   */
  uploadKept: boolean;
  etag: string | null;
  /** The object version Complete, PutObject or the server-side copy made, in a versioned bucket (null otherwise). */
  versionId: string | null;
  error: ErrorInfo | null;
  /**
   * Set on a done job whose object was found deleted or overwritten when its source was about to be
   * freed (clean-up after delivery): the source was kept; `message` says what to do.
   */
  flag: JobFlag | null;
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Whole-file hashes asked for (issue 8); empty when none. */
  hashAlgorithms: FileHashAlgorithm[];
  /** The hashes of exactly the bytes uploaded, once computed ({} before). */
  hashes: FileHashes;
  /** The source ASC MHL history entry that vouched for the file's hash, when one did. */
  verifiedBy: HashVerification | null;
  /** The ASC MHL batch the file belongs to (its root's next generation), or null. */
  batchId: number | null;
  /**
   * The encryption the server's answers named: `AES256` (SSE-S3), `aws:kms` (SSE-KMS), `aws:kms:dsse`
   * (DSSE-KMS), `SSE-C`; null while none named one. Under the last three ETags are not MD5s.
   */
  serverEncryption: string | null;
  /** Once done: true when the object's ETag matched the MD5s computed here; false when it was not comparable or not returned (`integrity` says what proved the bytes). */
  etagVerified: boolean | null;
  /** Once done: the proof the server gave, e.g. "Content-MD5 accepted by the server for every part; ETag not comparable under SSE-KMS". */
  integrity: string | null;
  /** Once done: the strongest proof the job got (shared/states.ts JOB_PROOFS); null before. */
  proof: JobProof | null;
  /** The integrity mode the job was made with (its destination's, or the upload's `--checksum`). */
  integrityMode: IntegrityMode;
  /** Whether its parts carry Content-MD5 (false once a server shown to verify checksums takes the checksum alone). */
  contentMd5: boolean;
  /** `FULL_OBJECT` when the object is completed with the whole file's CRC, `COMPOSITE` for a checksum of the parts' checksums; null without a checksum. */
  checksumType: 'FULL_OBJECT' | 'COMPOSITE' | null;
  /** The whole file's checksum of `checksumAlgorithm` (base64), once the server returned it equal to ours; null otherwise. */
  fullObjectChecksum: string | null;
  /** What the job does when its key already holds an object (shared/states.ts IF_EXISTS_POLICIES). */
  ifExists: IfExistsPolicy;
  /** Once done, what it did at the key: created, replaced, kept-both, already-there (nothing sent), sent; null before. */
  outcome: JobOutcome | null;
  /** While queued: the job that writes the same key now (one writer per key, docs/architecture.md), which this one waits for; else null. */
  waitingFor: number | null;
  /** When "Clear finished" took this done or cancelled job off the queue's list (its record stays); null while listed. */
  clearedAt: string | null;
  /** A running job of a queue shared by several processes (issue 15): the one working it, by host and pid (`local`: this machine); null otherwise. */
  node: { host: string; pid: number; local: boolean } | null;
}

/** What was found wrong with a done job's object after delivery (codes `cleanup.object-missing`, `cleanup.object-changed`). */
export interface JobFlag {
  code: ErrorCode;
  message: string;
}

/** A file checked against the ASC MHL history its root carried (written at offload). */
export interface HashVerification {
  /** The manifest that listed the file, relative to the root (e.g. `ascmhl/0001_A002R2EC_2024-05-01_101500Z.mhl`). */
  manifest: string;
  /** The algorithms whose values matched. */
  algorithms: FileHashAlgorithm[];
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
  /** Bytes the whole-file hash pass has read (issue 8), while it runs; Complete waits for it to reach `size`. */
  hashedBytes?: number;
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
  /** The additional checksum the server lists for the part (base64) and its algorithm; null when it lists none (radosgw 16 never does). */
  checksum: string | null;
  checksumAlgorithm: ChecksumAlgorithm | null;
}

/** A folder whose finished files are uploaded to one or more destinations (issues 3 and 8). */
export interface WatchedFolder {
  id: number;
  path: string;
  /** The first of `destinationIds` (kept for hosts that know one destination per folder). */
  destinationId: number;
  /** Every destination the folder sends to, in order: each file becomes one job per destination. */
  destinationIds: number[];
  /** After every destination verified a file: keep it, delete it, or move it to `moveTo` (same relative path). */
  after: AfterDelivery;
  /** Absolute folder for `after: 'move'`, else null. */
  moveTo: string | null;
  /** The priority of the jobs the folder makes (changed in place with setFolderPriority). */
  priority: Priority;
  /** Prepended to each file's path relative to the folder. */
  prefix: string;
  /** Glob patterns (picomatch) on the relative path; empty = everything. */
  include: string[];
  exclude: string[];
  /** Files below this go as one PutObject; null = the destination's setting. */
  singlePutThreshold: number | null;
  /** What its files do when their key already holds an object; null = the destination's policy. */
  ifExists: IfExistsPolicy | null;
  /** Send parts while a file is still being written (recorders, growing files). */
  growing: boolean;
  /** How long size and mtime must stay unchanged before a file counts as finished. */
  stableMs: number;
  enabled: boolean;
  /** Whole-file hashes recorded for each file (default xxh64). */
  hashAlgorithms: FileHashAlgorithm[];
  /** Write an ASC MHL generation under each root's prefix once a batch of files has arrived. */
  mhl: boolean;
  /** Receives a JSON POST for each job done or failed and each batch done (docs/webhooks.md); null for none (changed in place with setFolderWebhook). */
  webhookUrl: string | null;
  createdAt: string;
}

/** A new folder: `destinationId`, or for several `destinationIds` (the whole list, starting with `destinationId`); the rest has defaults. */
export type WatchedFolderInput = Pick<WatchedFolder, 'path' | 'destinationId'> &
  Partial<Pick<WatchedFolder, 'destinationIds' | 'after' | 'moveTo' | 'priority' | 'stableMs' | 'singlePutThreshold' | 'ifExists' | 'include' | 'exclude' | 'prefix' | 'growing' | 'enabled' | 'hashAlgorithms' | 'mhl' | 'webhookUrl'>>;

export type MhlBatchState = 'open' | 'sealed' | 'written' | 'failed';

/**
 * The files sent together under one root to one destination (issue 8): once all are settled, their
 * ASC MHL generation is written under the root's prefix in the bucket.
 */
export interface MhlBatch {
  id: number;
  destinationId: number;
  /** The local folder the history belongs to (a card, a watched folder, an uploaded directory). */
  root: string;
  bucket: string;
  /** Where the root lands in the bucket ('' or ending in `/`); its history is `<prefix>ascmhl/`. */
  keyPrefix: string;
  /** `open`: still taking files (a watched folder that is not idle); `sealed`: complete, written once its jobs settle. */
  state: MhlBatchState;
  /** The generation number written (or being written), and its object key. */
  generation: number | null;
  manifestKey: string | null;
  jobs: number;
  error: ErrorInfo | null;
  createdAt: string;
  writtenAt: string | null;
}

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
  /**
   * The four S3 permissions uploads use; then `GetEncryptionConfiguration` (the bucket's default
   * encryption and what integrity uploads get under it: its message says) and, where uploads use
   * SSE-KMS, `kms:Decrypt` (proved by completing a tiny upload, deleted after); last
   * `ChecksumVerification`: whether the server verifies flexible checksums (ok either way; its
   * message says which integrity uploads get there), found out afresh and remembered.
   */
  permission: 'PutObject' | 'ListBucketMultipartUploads' | 'ListMultipartUploadParts' | 'AbortMultipartUpload' | 'GetEncryptionConfiguration' | 'kms:Decrypt' | 'ChecksumVerification';
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

export type Weekday = 'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat';

/** A window of the day (local time) with its own bandwidth; `to` before `from` runs past midnight (shared/timetable.ts). */
export interface BandwidthWindow {
  /** "HH:MM", 24-hour; `to` may be "24:00" (midnight at the end of the day). */
  from: string;
  to: string;
  /** null: unlimited during the window. */
  bytesPerSecond: number | null;
  /** The days it begins on, in week order (absent: every day). */
  days?: Weekday[];
}

/** A bandwidth limit: the global one (destinationId null), shared by all uploads, or one destination's. */
export interface BandwidthLimit {
  destinationId: number | null;
  /** Outside the schedule's windows; null: unlimited. */
  bytesPerSecond: number | null;
  schedule: BandwidthWindow[];
  /** What applies now (the window in force, else bytesPerSecond). */
  effectiveBytesPerSecond: number | null;
  /** Whether that rate comes from a window of the timetable. */
  fromTimetable?: boolean;
  /** When the rate in force changes next (ISO), or null. */
  changesAt?: string | null;
  /** Whether the limit held uploads back over the last second (only the process working the queue knows). */
  holding?: boolean;
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
