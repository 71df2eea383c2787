// The job store's row types and how a SQLite row becomes one. Shared by the store's tables
// (job-rows.ts, part-rows.ts, destination-rows.ts, remote-aborts.ts); nothing outside store/ maps rows.
import type { JobSortKey } from '../../../shared/contract.js';
import { progressSql } from './dialect.js';
import type { ChecksumProbe, CredentialOrigin, Destination, HashVerification, Job, Part } from '../../../shared/types.js';
import type { ChecksumAlgorithm, FileHashAlgorithm, FileHashes, IfExistsPolicy, IntegrityMode, JobOutcome, JobProof, JobState, Priority, UploadMode } from '../../../shared/states.js';
import { DEFAULT_IF_EXISTS, DEFAULT_INTEGRITY, IF_EXISTS_POLICIES, INTEGRITY_MODES, JOB_OUTCOMES, JOB_PROOFS, PRIORITIES } from '../../../shared/states.js';
import type { ErrorInfo } from '../../../shared/errors.js';
import { isErrorCode } from '../../../shared/errors.js';
import { holdsUpload } from '../../../shared/kept-upload.js';
import { probeEndpoint } from '../../../shared/integrity.js';
import { machineName } from '../machine.js';

/** A job row as the engine needs it (internal fields included). */
export interface JobRecord extends Job {
  destination: string;
  mtimeMs: number;
  inode: string;
  contentType: string;
  createStartedAt: number | null;
  availableAt: number;
  restarts: number;
  /** 0: an ordinary job; 1: its file is still growing; 2: grown, parts are verified before Complete (issue 3). */
  growing: GrowingState;
  /** The local folder whose ASC MHL history describes the file (issue 8), and the file's path under it. */
  mhlRoot: string | null;
  mhlPath: string | null;
  /** The generation of the root's history in the bucket that lists the file, once written. */
  mhlGeneration: number | null;
  /**
   * What the job saw at its key when it decided what to do there (remote/if-exists.ts): the ETag of
   * the object it may replace, '' for an empty key, null before it decided (or after a refused
   * conditional write, when it decides again).
   */
  keySeen: string | null;
  /** The outcome it decided on (JobOutcome), kept before the job is done; the contract shows it only once done. */
  plannedOutcome: JobOutcome | null;
  /** Where its source is, for a shared queue (issue 15): the machine that made it, and a watched file's folder and `/`-separated path under it. */
  origin: JobOrigin;
}

/** The machine that made a job (null: made before machines were recorded) and, for a watched file, its folder and path under it. */
export interface JobOrigin {
  machine: string | null;
  folderId: number | null;
  relPath: string | null;
}

export type GrowingState = 0 | 1 | 2;

/** Where a file sits for ASC MHL: its root folder and `/`-separated path under it. */
export interface MhlPlace {
  root: string;
  path: string;
}

export interface NewJob {
  destinationId: number;
  sourcePath: string;
  bucket: string;
  key: string;
  size: number;
  mtimeMs: number;
  inode: string;
  contentType: string;
  mode: UploadMode;
  partSize: number;
  priority: Priority;
  checksumAlgorithm: ChecksumAlgorithm | null;
  /** 1 for a file that is still being written (its parts are appended as it grows). */
  growing?: GrowingState;
  /** Whole-file hashes to compute (issue 8). */
  hashAlgorithms?: readonly FileHashAlgorithm[];
  mhl?: MhlPlace | null;
  batchId?: number | null;
  /** Default: skip-identical. */
  ifExists?: IfExistsPolicy;
  /** Default: md5 (as every job was before the integrity model). */
  integrityMode?: IntegrityMode;
  /** Default: no machine, no folder. */
  origin?: JobOrigin;
}

export interface PlannedPart {
  partNumber: number;
  offset: number;
  length: number;
}

export interface PartRecord extends Part {
  jobId: number;
  attempts: number;
  availableAt: number;
}

export interface RemoteAbort {
  id: number;
  destinationId: number;
  bucket: string;
  key: string;
  uploadId: string;
  jobId: number | null;
  reason: string;
  attempts: number;
  /** What the server said at the last try ("s3.access-denied (AbortMultipartUpload): …"), null before one failed. */
  lastError: string | null;
}


export type Row = Record<string, unknown>;

export const iso = (ms: unknown): string | null => (typeof ms === 'number' ? new Date(ms).toISOString() : null);

export function toDestination(r: Row): Destination {
  return {
    id: r.id as number,
    name: r.name as string,
    endpoint: (r.endpoint as string | null) ?? null,
    region: r.region as string,
    bucket: r.bucket as string,
    prefix: r.prefix as string,
    pathStyle: r.path_style === 1,
    profile: (r.profile as string | null) ?? null,
    storageClass: (r.storage_class as string | null) ?? null,
    sse: (r.sse as string | null) ?? null,
    sseKmsKeyId: (r.sse_kms_key_id as string | null) ?? null,
    partSize: r.part_size as number,
    concurrency: r.concurrency as number,
    singlePutThreshold: r.single_put_threshold as number,
    maxObjectSize: r.max_object_size as number,
    maxParts: r.max_parts as number,
    checksumAlgorithm: (r.checksum_algorithm as ChecksumAlgorithm | null) ?? null,
    ifExists: ifExistsOf(r.if_exists) ?? DEFAULT_IF_EXISTS,
    integrity: integrityModeOf(r.integrity) ?? DEFAULT_INTEGRITY,
    checksumProbe: probeOf(r),
    credentials: (r.credentials as CredentialOrigin | undefined) ?? 'chain',
  };
}

/** What the probe found, only while the destination still has the endpoint it was found for. */
function probeOf(r: Row): ChecksumProbe | null {
  if (typeof r.checksum_probe !== 'number' || typeof r.checksum_probe_endpoint !== 'string') return null;
  if (r.checksum_probe_endpoint !== probeEndpoint({ endpoint: (r.endpoint as string | null) ?? null, region: r.region as string })) return null;
  return { verifies: r.checksum_probe === 1, endpoint: r.checksum_probe_endpoint, checkedAt: iso(r.checksum_probe_at) ?? '' };
}

export function integrityModeOf(v: unknown): IntegrityMode | null {
  return (INTEGRITY_MODES as readonly unknown[]).includes(v) ? (v as IntegrityMode) : null;
}

/** A policy read back from a column: null when absent (a folder that follows its destination). */
export function ifExistsOf(v: unknown): IfExistsPolicy | null {
  return (IF_EXISTS_POLICIES as readonly unknown[]).includes(v) ? (v as IfExistsPolicy) : null;
}

function outcomeOf(v: unknown): JobOutcome | null {
  return (JOB_OUTCOMES as readonly unknown[]).includes(v) ? (v as JobOutcome) : null;
}

function toError(r: Row): ErrorInfo | null {
  if (!isErrorCode(r.error_code)) return null;
  return {
    code: r.error_code,
    message: (r.error_message as string) ?? '',
    ...(r.error_operation ? { operation: r.error_operation as string } : {}),
  };
}


export function toJob(r: Row): JobRecord {
  return {
    id: r.id as number,
    destinationId: r.destination_id as number,
    destination: (r.destination_name as string | null) ?? '',
    sourcePath: r.source_path as string,
    bucket: r.bucket as string,
    key: r.key as string,
    size: r.size as number,
    state: r.state as JobState,
    priority: PRIORITIES[r.priority as number] ?? 'normal',
    mode: r.mode as UploadMode,
    partSize: r.part_size as number,
    partCount: r.part_count as number,
    partsDone: (r.parts_done as number) ?? 0,
    bytesDone: (r.bytes_done as number) ?? 0,
    checksumAlgorithm: (r.checksum_algorithm as ChecksumAlgorithm | null) ?? null,
    uploadId: (r.upload_id as string | null) ?? null,
    uploadKept: holdsUpload({ state: r.state as JobState, mode: r.mode as UploadMode, uploadId: (r.upload_id as string | null) ?? null }),
    etag: (r.etag as string | null) ?? null,
    versionId: (r.version_id as string | null) ?? null,
    error: toError(r),
    flag: isErrorCode(r.flag_code) ? { code: r.flag_code, message: (r.flag_message as string | null) ?? '' } : null,
    attempts: r.attempts as number,
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    mtimeMs: r.mtime_ms as number,
    inode: r.inode as string,
    contentType: r.content_type as string,
    createStartedAt: (r.create_started_at as number | null) ?? null,
    availableAt: r.available_at as number,
    restarts: r.restarts as number,
    growing: ((r.growing as number | undefined) ?? 0) as GrowingState,
    hashAlgorithms: parseJson<FileHashAlgorithm[]>(r.hash_algorithms, []),
    hashes: parseJson<FileHashes>(r.hashes, {}),
    verifiedBy: parseJson<HashVerification | null>(r.verified_by, null),
    batchId: (r.batch_id as number | null) ?? null,
    serverEncryption: (r.server_sse as string | null) ?? null,
    etagVerified: typeof r.etag_verified === 'number' ? r.etag_verified === 1 : null,
    integrity: (r.integrity as string | null) ?? null,
    proof: (JOB_PROOFS as readonly unknown[]).includes(r.proof) ? (r.proof as JobProof) : null,
    integrityMode: integrityModeOf(r.integrity_mode) ?? 'md5',
    contentMd5: r.content_md5 !== 0,
    checksumType: r.checksum_type === 'FULL_OBJECT' || r.checksum_type === 'COMPOSITE' ? r.checksum_type : null,
    fullObjectChecksum: (r.full_checksum as string | null) ?? null,
    mhlRoot: (r.mhl_root as string | null) ?? null,
    mhlPath: (r.mhl_path as string | null) ?? null,
    mhlGeneration: (r.mhl_generation as number | null) ?? null,
    ifExists: ifExistsOf(r.if_exists) ?? DEFAULT_IF_EXISTS,
    keySeen: (r.key_seen as string | null) ?? null,
    plannedOutcome: outcomeOf(r.outcome),
    origin: { machine: (r.machine as string | null) ?? null, folderId: r.folder_id === null || r.folder_id === undefined ? null : Number(r.folder_id), relPath: (r.folder_rel_path as string | null) ?? null },
    outcome: r.state === 'done' ? outcomeOf(r.outcome) : null,
    waitingFor: (r.waiting_for as number | null) ?? null,
    clearedAt: iso(r.cleared_at),
    node: typeof r.node_host === 'string' ? { host: r.node_host, pid: Number(r.node_pid), local: r.node_host === machineName() } : null,
  };
}


export function parseJson<T>(v: unknown, fallback: T): T {
  return typeof v === 'string' ? (JSON.parse(v) as T) : fallback;
}


export function toPart(r: Row): PartRecord {
  return {
    jobId: r.job_id as number,
    partNumber: r.part_number as number,
    offset: r.offset as number,
    length: r.length as number,
    state: r.state as Part['state'],
    etag: (r.etag as string | null) ?? null,
    md5: (r.md5_hex as string | null) ?? null,
    checksum: (r.checksum as string | null) ?? null,
    sends: r.sends as number,
    attempts: r.attempts as number,
    availableAt: r.available_at as number,
  };
}




/** SQL terms for each sort key of the jobs table (fixed strings: nothing from the caller reaches the SQL); the id follows. */
export const JOB_SORT_COLUMNS: Record<JobSortKey, readonly string[]> = {
  id: [],
  // The page's filter always holds cleared_at IS NULL, so cleared_at adds no order of its own: it lets the
  // list's (state, cleared_at) index give the rows in order instead of a sort of the whole list (migration 22).
  state: ['j.state', 'j.cleared_at'],
  size: ['j.size'],
  // SQLite's; the store uses the database's own (dialect.ts progressSql).
  progress: [progressSql('sqlite')],
  createdAt: ['j.created_at'],
};

/** SQLite takes at most 32,766 parameters: a long list of ids is asked for in slices. */
export const ID_SLICE = 10_000;

// parts_done and bytes_done are kept by triggers on parts (migration 6), so a page of jobs reads no parts.
// node_host, node_pid: a running job of a shared queue, the node whose lease holds it (issue 15).
// waiting_for: a queued job's key is being written by another job (one writer per key); index jobs_by_key.
/** The columns a job row carries beside its own (above), of the row named `j`. */
const jobExtras = (j: string) => `(SELECT name FROM destinations d WHERE d.id = ${j}.destination_id) AS destination_name,
  CASE WHEN ${j}.state = 'queued' THEN (SELECT min(o.id) FROM jobs o WHERE o.destination_id = ${j}.destination_id AND o.key = ${j}.key
    AND o.id <> ${j}.id AND o.state IN ('running', 'completing')) END AS waiting_for,
  CASE WHEN ${j}.state IN ('running', 'completing') AND ${j}.lease_owner IS NOT NULL THEN (SELECT n.host FROM nodes n WHERE n.id = ${j}.lease_owner) END AS node_host,
  CASE WHEN ${j}.state IN ('running', 'completing') AND ${j}.lease_owner IS NOT NULL THEN (SELECT n.pid FROM nodes n WHERE n.id = ${j}.lease_owner) END AS node_pid`;

export const JOB_SELECT = `SELECT j.*, ${jobExtras('j')} FROM jobs j`;

/**
 * The same row as JOB_SELECT, as an UPDATE of `jobs` left it: a write whose caller tells hosts of the
 * job returns the row it wrote, rather than reading it again (issue 12: job-row reads per frame).
 */
export const JOB_RETURNING = `RETURNING *, ${jobExtras('jobs')}`;
