// Job and part life, as in docs/architecture.md. Text states, so the database reads plainly.
export const JOB_STATES = ['queued', 'running', 'completing', 'paused', 'failed', 'done', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** States a job never leaves by itself (retry and resume are explicit commands). */
export const TERMINAL_JOB_STATES: readonly JobState[] = ['done', 'cancelled'];
/** States in which the engine may send traffic for a job. */
export const ACTIVE_JOB_STATES: readonly JobState[] = ['running', 'completing'];

export const PART_STATES = ['pending', 'sending', 'done'] as const;
export type PartState = (typeof PART_STATES)[number];

export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'sha1', 'sha256', 'crc64nvme'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/**
 * How a destination's uploads prove their bytes (issue 12; docs/integrity.md): `auto` (the default)
 * finds out once whether the server verifies flexible checksums and sends CRC32C (with a full-object
 * checksum, no MD5) where it does, Content-MD5 where it does not; `md5` always Content-MD5 and the
 * ETag check; a named checksum sends that one, with Content-MD5 beside it on a server shown not to
 * verify checksums, so no byte goes that the server cannot check.
 */
export const INTEGRITY_MODES = ['auto', 'md5', ...CHECKSUM_ALGORITHMS] as const;
export type IntegrityMode = (typeof INTEGRITY_MODES)[number];
export const DEFAULT_INTEGRITY: IntegrityMode = 'auto';

/**
 * What proved a finished job's bytes, strongest first: `full-object-checksum` (the server verified
 * every part's checksum and completed the object with the whole file's CRC, which Complete and
 * HeadObject returned equal to ours), `checksum` (the server verified every part's checksum),
 * `etag` (the server verified Content-MD5 and the object's ETag equals the MD5s computed here),
 * `content-md5` (the server verified Content-MD5 on every part; its ETag could not be compared).
 */
export const JOB_PROOFS = ['full-object-checksum', 'checksum', 'etag', 'content-md5'] as const;
export type JobProof = (typeof JOB_PROOFS)[number];

/** Whole-file hashes Hoist records per job (issue 8); the names are ASC MHL's element names. */
export const FILE_HASH_ALGORITHMS = ['xxh64', 'md5', 'sha1', 'sha256', 'xxh3', 'xxh128', 'c4'] as const;
export type FileHashAlgorithm = (typeof FILE_HASH_ALGORITHMS)[number];
/** What offload tools write (Silverstack, OffShoot, ShotPut Pro): every job gets it unless told otherwise. */
export const DEFAULT_FILE_HASHES: readonly FileHashAlgorithm[] = ['xxh64'];
/** Hash values by algorithm: xxh* and md5/sha* in lowercase hex, c4 as its 90-character C4 ID. */
export type FileHashes = Partial<Record<FileHashAlgorithm, string>>;

export const PRIORITIES = ['high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];
export const PRIORITY_RANK: Record<Priority, number> = { high: 0, normal: 1, low: 2 };

/** What becomes of a watched folder's source file once every destination has it, verified (issue 8). */
export const AFTER_DELIVERY = ['keep', 'delete', 'move'] as const;
export type AfterDelivery = (typeof AFTER_DELIVERY)[number];

/**
 * What a job does when its key already holds an object (issue 13, item 4; docs/architecture.md):
 * `skip-identical` (the default) sends nothing when the object has the file's bytes, proven by size
 * and ETag (or a full-object checksum), and replaces it otherwise; `keep-both` sends to a free
 * suffixed key (`name (1).ext`) instead; `never-overwrite` fails with `s3.object-exists`;
 * `overwrite` sends without looking.
 */
export const IF_EXISTS_POLICIES = ['skip-identical', 'keep-both', 'never-overwrite', 'overwrite'] as const;
export type IfExistsPolicy = (typeof IF_EXISTS_POLICIES)[number];
export const DEFAULT_IF_EXISTS: IfExistsPolicy = 'skip-identical';

/**
 * What a done job did at its key: `created` (nothing was there), `replaced` (other or unknowable
 * bytes were), `kept-both` (sent to a suffixed key beside them), `already-there` (the same bytes
 * were: nothing sent), `sent` (policy overwrite: sent without looking).
 */
export const JOB_OUTCOMES = ['created', 'replaced', 'kept-both', 'already-there', 'sent'] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

/** How a job's bytes go out: one PutObject, or a multipart upload. */
export type UploadMode = 'single' | 'multipart';
