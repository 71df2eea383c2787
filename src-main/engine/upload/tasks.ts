import type { ErrorInfo } from '../../../shared/errors.js';
import type { ChecksumAlgorithm, FileHashAlgorithm, FileHashes } from '../../../shared/states.js';
import type { ConnectionSettings } from '../s3/client.js';
import type { WriteCondition } from '../s3/conditions.js';
import type { ObjectTarget } from '../s3/object-target.js';
import type { HashStates } from './file-hashes.js';
import type { BucketMemory } from '../pacing/token-bucket.js';

/** What the source looked like when the job was made; a part is refused if it no longer does. */
export interface SourceSnapshot {
  size: number;
  mtimeMs: number;
  inode: string;
  /** A file still being written (issue 3): it may only grow; its parts are verified again before Complete. */
  growing?: boolean;
}

export interface ObjectSettings {
  contentType: string;
  metadata: Record<string, string>;
  storageClass: string | null;
  sse: string | null;
  sseKmsKeyId: string | null;
}

interface TaskBase {
  taskId: number;
  path: string;
  offset: number;
  length: number;
  snapshot: SourceSnapshot;
  checksumAlgorithm: ChecksumAlgorithm | null;
  /** False on a server shown to verify the checksum: no MD5 is computed or sent (default true). */
  contentMd5?: boolean;
}

interface SendingTask extends TaskBase {
  conn: ConnectionSettings;
  bucket: string;
  key: string;
  /** The bucket's address and signing scope, as the SDK resolves them for `conn` (s3/target-resolver.ts). */
  target: ObjectTarget;
  /** Token buckets in shared memory (global limit, destination limit) taken from before each chunk. */
  bandwidth?: BucketMemory[];
}

/** Send one part of a multipart upload. */
export interface UploadPartTask extends SendingTask {
  kind: 'upload-part';
  uploadId: string;
  partNumber: number;
  /**
   * The part's checksum (base64, of `checksumAlgorithm`) as the whole-file hash pass computed it from
   * the same bytes (scheduler/pass-checksums.ts): the part is then read once, to send, not hashed
   * first. Only where no Content-MD5 goes: the server verifies the checksum against the bytes it gets.
   */
  knownChecksum?: string;
}

/** Send a whole small file as one PutObject. */
export interface PutObjectTask extends SendingTask {
  kind: 'put-object';
  object: ObjectSettings;
  /** Only if the key is still empty, or still holds the object seen (remote/if-exists.ts); none for overwrite. */
  condition?: WriteCondition | null;
  /** Whole-file hashes to take from the same read as the body's MD5, instead of a hash pass of their own (issue 12). */
  fileHashes?: FileHashAlgorithm[];
}

/** Hash a local byte range (to decide whether a part found on the server can be adopted). */
export interface HashRangeTask extends TaskBase {
  kind: 'hash-range';
}

/** Read the whole file once, in order, for its whole-file hashes (issue 8); the snapshot is checked before and after. */
export interface HashFileTask extends TaskBase {
  kind: 'hash-file';
  algorithms: FileHashAlgorithm[];
  /** Save the hashes' states every this many bytes (when they all can be), for a pass cut short to go on from. */
  checkpointEvery?: number;
  /** Go on from a saved checkpoint of the same snapshot instead of from byte 0. */
  resume?: HashCheckpoint;
  /** With `checksumAlgorithm`: each part's checksum too, parts of this size from byte 0 (reported as each ends). */
  partSize?: number;
}

/** How far a whole-file hash pass got: the bytes before `offset` are in `states`. */
export interface HashCheckpoint {
  offset: number;
  states: HashStates;
}

export type WorkerTask = UploadPartTask | PutObjectTask | HashRangeTask | HashFileTask;

export interface TaskSuccess {
  md5Hex: string;
  /** Base64 of the additional checksum, when one was asked for. */
  checksum: string | null;
  /** The ETag the server returned (absent for hash-range). */
  etag?: string;
  /** True when the server echoed the additional checksum, i.e. it verified it. */
  checksumVerified?: boolean;
  /** For put-object into a versioned bucket: the version it made. */
  versionId?: string | null;
  /** The encryption the server's answer named (s3/server-encryption.ts); its ETag was compared only where that allows. */
  encryption?: string | null;
  /** For hash-file, and put-object with `fileHashes`: the whole file's hashes. */
  fileHashes?: FileHashes;
  /** For hash-file: the byte the read began at (a resume's offset, or 0 when its saved state did not load). */
  hashedFrom?: number;
}

export type WorkerRequest = { type: 'run'; task: WorkerTask } | { type: 'abort'; taskId: number };

export type WorkerReply =
  /** Bytes on the wire (for hash-file: bytes hashed). */
  | { type: 'progress'; taskId: number; bytesSent: number }
  /** A hash-file pass saved its states (HashFileTask.checkpointEvery). */
  | { type: 'checkpoint'; taskId: number; checkpoint: HashCheckpoint }
  /** A hash-file pass with `partSize` finished one part's checksum (base64). */
  | { type: 'part-checksum'; taskId: number; offset: number; length: number; checksum: string }
  | { type: 'done'; taskId: number; result: TaskSuccess }
  /** `clockOffsetMs`: the server's clock minus ours as the request's answer showed it (s3/clock.ts). */
  | { type: 'failed'; taskId: number; error: ErrorInfo; aborted: boolean; bytesSent: number; clockOffsetMs?: number };
