// A worker thread: streams byte ranges of files to S3, several parts at once (async I/O), hashing each
// part first so that Content-MD5 (and any additional checksum) can go in the headers before the body
// (unless the whole-file pass already computed its CRC: `knownChecksum`, then the part is read once),
// then reading it again to send, or, with holding on, sending it from the chunks that pass kept, as far
// as this thread's share allows (held-part.ts: off by default, by measurement; trailer checksums would
// need a server shown to take them, and radosgw 16 refuses them). A small file's PutObject is held
// whatever that setting (SMALL_PUT_HELD_BYTES below).
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { IncomingHttpHeaders } from 'node:http';
import { HoistError } from '../../../shared/errors.js';
import { conditionFields } from '../s3/conditions.js';
import { DirectCache, type DirectS3 } from '../s3/direct-request.js';
import { explainDenied, isAbort, toErrorInfo } from '../s3/errors.js';
import { encryptionOf, etagComparable, type ServerEncryption } from '../s3/server-encryption.js';
import { PartHasher, normalizeEtag, type PartDigest } from './checksums.js';
import { CHUNK_SIZE, ChunkPool, FileRangeBody, forEachChunk } from './file-range.js';
import { PartMemory, readAndHold, type HeldPart } from './held-part.js';
import { FileHasher } from './file-hashes.js';
import { PartChecksumFeed } from './part-checksum-feed.js';
import { InlineHashers } from './inline-hashes.js';
import { LocalFolders } from './local-folders.js';
import { openSource, statPath, type SourceFile } from './source-file.js';
import { TokenBucket, takeTokens } from '../pacing/token-bucket.js';
import type { PartWorkerData, ThreadNotice } from './part-thread.js';
import { ownThreadId } from './thread-cpu.js';
import type { HashFileTask, HashRangeTask, PutObjectTask, SourceSnapshot, TaskSuccess, UploadPartTask, WorkerReply, WorkerRequest, WorkerTask } from './tasks.js';

/** The whole-file pass reads in larger steps: one sequential stream, no body to feed. */
const HASH_FILE_CHUNK = 4 * 1024 * 1024;
const PROGRESS_INTERVAL_MS = 100;

/** The two hot requests go without the SDK (s3/direct-request.ts, measured there); one client per connection's settings. */
const clients = new DirectCache();
/** This thread's share of the parts held between their checksum and their send (held-part.ts). */
const heldChunks = Math.floor(((workerData as PartWorkerData | null)?.heldPartBytes ?? 0) / CHUNK_SIZE);
/** Read buffers shared by the parts this thread runs at once, the held ones included (kept, not collected and allocated again). */
const chunks = new ChunkPool(32 + heldChunks);
const partMemory = heldChunks > 0 ? new PartMemory(chunks, heldChunks) : null;
/**
 * A small file's PutObject is held whole, holding on or off (issue 12): for 2,000 frames of 1 MiB the
 * second read of each from the page cache was 0.25-0.3 CPU ms a file, and its buffer is still in the
 * CPU's cache when the body goes (what made holding big parts lose does not apply: docs/small-files.md).
 * Bounded: files up to SMALL_PUT_HELD_BYTES, and this thread holds SMALL_PUT_HELD_CHUNKS at most at
 * once; a file beyond what is free is read again for the rest, as every part was before.
 */
const SMALL_PUT_HELD_BYTES = 8 * CHUNK_SIZE;
const SMALL_PUT_HELD_CHUNKS = 16;
const smallPutMemory = new PartMemory(chunks, SMALL_PUT_HELD_CHUNKS);

function holdingFor(task: WorkerTask): PartMemory | null {
  if (partMemory) return partMemory;
  return task.kind === 'put-object' && task.length <= SMALL_PUT_HELD_BYTES ? smallPutMemory : null;
}
/**
 * A small file on a local disk is opened, checked, read and closed by calls on this thread, not
 * through libuv's threadpool (issue 12). Each pool call is a round trip that wakes a pool thread and
 * then this one: five per file (open, fstat, read, stat of the path, close), on 2 busy cores a
 * context switch each. Measured for 2,000 x 1 MiB (bench/thread-cpu.ts, docs/small-files.md, fifth
 * round): the threadpool's wakes per file 10.2-10.8 -> 4.1-4.6 (what is left is the main thread's),
 * the part workers' 2.2-3.1 -> 0.9-1.0, the threadpool's CPU 0.66 -> 0.10 s.
 * A direct call blocks this thread while it runs, and with it every request the thread is sending:
 * for a page-cache or local-disk read of 1-8 MiB that is well under a millisecond to a few; on a
 * network share it could be as long as the network, or forever on a hung mount, so files there keep
 * the threadpool (local-folders.ts decides, from the file system's type; unknown is remote). Parts
 * of big files keep it too: a 64 MiB read is long enough to hold up the other parts' sockets.
 */
function directCalls(task: WorkerTask): boolean {
  return task.kind === 'put-object' && task.length <= SMALL_PUT_HELD_BYTES && localFolders.isLocal(task.path);
}
/** This thread's knowledge of which folders are on local disks (each thread looks a folder up once). */
const localFolders = new LocalFolders();
/** Whole-file hashers of small files, kept between files. */
const inlineHashers = new InlineHashers();
const running = new Map<number, AbortController>();
/** Bytes each running task has put on the wire, for the failure report. */
const progressOf = new Map<number, () => number>();

function post(msg: WorkerReply): void {
  parentPort!.postMessage(msg);
}

/** The open file is the snapshot's (growing: no shorter); its stat, whose `dev` says which file system it is on. */
async function checkSnapshot(fd: SourceFile, snap: SourceSnapshot): Promise<fs.BigIntStats> {
  const st = await fd.stat({ bigint: true });
  if (snap.growing && st.ino.toString() === snap.inode && Number(st.size) >= snap.size) return st;
  if (Number(st.size) !== snap.size || Number(st.mtimeMs) !== snap.mtimeMs || st.ino.toString() !== snap.inode) {
    throw new HoistError('source.changed', {
      message: 'The source file changed (size, modification time or inode) since its upload began.',
      detail: `expected size ${snap.size} mtime ${snap.mtimeMs} inode ${snap.inode}; found ${st.size} ${st.mtimeMs} ${st.ino}`,
    });
  }
  return st;
}

/**
 * The range's MD5 (unless the part goes without Content-MD5) and checksum; a whole file's hashes too,
 * from the same chunks, when `whole` is given. A part to be sent keeps what of it fits in this
 * thread's memory share (`held`), and its body is sent from there: each byte read once.
 */
async function hashRange(fd: SourceFile, task: WorkerTask, signal: AbortSignal, whole?: FileHasher): Promise<{ digest: PartDigest; held: HeldPart | null }> {
  // Hash tasks (adopting a part found on the server, a grown file's parts) always need the MD5 its ETag is compared with.
  const md5 = task.kind === 'hash-range' || task.contentMd5 !== false;
  const hasher = new PartHasher(task.checksumAlgorithm, { md5 });
  const onChunk = (chunk: Buffer) => {
    hasher.update(chunk);
    whole?.update(chunk);
  };
  if (task.kind === 'hash-range') {
    await forEachChunk(fd, task.offset, task.length, chunks, onChunk, signal);
    return { digest: hasher.digest(), held: null };
  }
  const held = await readAndHold(fd, task.offset, task.length, chunks, holdingFor(task), onChunk, signal);
  return { digest: hasher.digest(), held };
}

/**
 * The path still names the file that was read (not replaced by another since): the job completes
 * without looking again. It is also the check after the send that the open file did not change: the
 * path's inode and device are the open file's (its inode was the snapshot's at open, and cannot be
 * reused while it is open), so its size and mtime are the open file's, and an `fstat` of it would
 * say the same (one file-system call a small file less, issue 12).
 */
async function checkPath(task: PutObjectTask, opened: fs.BigIntStats, direct: boolean): Promise<void> {
  const st = await statPath(task.path, direct);
  if (!st || st.dev !== opened.dev || st.ino.toString() !== task.snapshot.inode || Number(st.size) !== task.snapshot.size || Number(st.mtimeMs) !== task.snapshot.mtimeMs) {
    throw new HoistError('source.changed', { message: 'The source file was replaced or changed while it was being uploaded.', detail: task.path });
  }
}

async function send(task: UploadPartTask | PutObjectTask, client: DirectS3, fd: SourceFile, digest: PartDigest, held: HeldPart | null, signal: AbortSignal, progress: (n: number) => void): Promise<{ etag: string; echoed: boolean; versionId: string | null; encryption: ServerEncryption }> {
  const buckets = (task.bandwidth ?? []).map((memory) => new TokenBucket(memory));
  const body =
    task.length === 0
      ? Buffer.alloc(0)
      : new FileRangeBody(fd, task.offset, task.length, chunks, {
          onBytes: progress,
          signal,
          ...(buckets.length > 0 ? { beforeWrite: (n: number) => takeTokens(buckets, n, signal) } : {}),
          ...(held ? { held } : {}),
        });
  try {
    return await sendBody(task, client, body, digest, signal);
  } finally {
    // Chunks the body never wrote (the request failed first) go back to this thread's share.
    held?.dispose();
  }
}

/** The request headers of a part or a small file, as the SDK serialised these fields (lower-case names). */
function requestHeaders(task: UploadPartTask | PutObjectTask, digest: PartDigest): Record<string, string> {
  const h: Record<string, string> = {};
  // None on a server shown to verify the checksum (scheduler/integrity-plan.ts): the checksum is the proof.
  if (digest.md5Base64) h['content-md5'] = digest.md5Base64;
  if (task.checksumAlgorithm && digest.checksum) h[`x-amz-checksum-${task.checksumAlgorithm}`] = digest.checksum.base64;
  if (task.kind === 'upload-part') return h;
  const o = task.object;
  h['content-type'] = o.contentType;
  for (const [name, value] of Object.entries(o.metadata)) h[`x-amz-meta-${name.toLowerCase()}`] = value;
  if (o.storageClass) h['x-amz-storage-class'] = o.storageClass;
  if (o.sse) h['x-amz-server-side-encryption'] = o.sse;
  if (o.sseKmsKeyId) h['x-amz-server-side-encryption-aws-kms-key-id'] = o.sseKmsKeyId;
  const { IfNoneMatch, IfMatch } = conditionFields(task.condition);
  if (IfNoneMatch) h['if-none-match'] = IfNoneMatch;
  if (IfMatch) h['if-match'] = IfMatch;
  return h;
}

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

async function sendBody(task: UploadPartTask | PutObjectTask, client: DirectS3, body: Buffer | FileRangeBody, digest: PartDigest, signal: AbortSignal): Promise<{ etag: string; echoed: boolean; versionId: string | null; encryption: ServerEncryption }> {
  const query: Record<string, string> = task.kind === 'upload-part' ? { partNumber: String(task.partNumber), uploadId: task.uploadId } : {};
  const h = await client.put({ target: task.target, key: task.key, query, headers: requestHeaders(task, digest), body, length: task.length, signal });
  const etag = header(h, 'etag');
  if (!etag) throw new HoistError('s3.invalid-request', { operation: opName(task), message: 'The server accepted the data but returned no ETag.' });
  const echoedField = task.checksumAlgorithm ? header(h, `x-amz-checksum-${task.checksumAlgorithm}`) : undefined;
  if (echoedField !== undefined && echoedField !== digest.checksum?.base64) {
    throw new HoistError('s3.bad-digest', { operation: opName(task), detail: `server checksum ${String(echoedField)} differs from ${digest.checksum?.base64}` });
  }
  // PutObject into a versioned bucket names the version it made (an UploadPart has none).
  const versionId = task.kind === 'put-object' ? (header(h, 'x-amz-version-id') ?? null) : null;
  const encryption = encryptionOf({ ServerSideEncryption: header(h, 'x-amz-server-side-encryption') as never, SSECustomerAlgorithm: header(h, 'x-amz-server-side-encryption-customer-algorithm') });
  return { etag, echoed: echoedField !== undefined, versionId, encryption };
}

/** Every whole-file hash over one in-order read; the file must be its snapshot before and after, so the hashes describe the bytes the parts sent. */
async function hashFile(fd: SourceFile, task: HashFileTask, signal: AbortSignal): Promise<TaskSuccess> {
  let resume = task.resume;
  // A saved state that does not load (a damaged row) costs the shortcut, not the job: hash from byte 0.
  const hasher = await FileHasher.create(task.algorithms, resume?.states).catch(() => {
    resume = undefined;
    return FileHasher.create(task.algorithms);
  });
  const buf = Buffer.allocUnsafe(HASH_FILE_CHUNK);
  let read = resume?.offset ?? 0;
  let lastPost = 0;
  const every = task.checkpointEvery ?? 0;
  let nextCheckpoint = every > 0 ? read + every : Infinity;
  // Each part's checksum from the same chunks, so that the part is only read to be sent (part-checksum-feed.ts).
  const parts =
    task.checksumAlgorithm && task.partSize
      ? new PartChecksumFeed(task.checksumAlgorithm, task.partSize, task.snapshot.size, read, (offset, length, checksum) => post({ type: 'part-checksum', taskId: task.taskId, offset, length, checksum }))
      : null;
  for (;;) {
    if (signal.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
    const { bytesRead } = await fd.read(buf, 0, buf.length, read);
    if (bytesRead === 0) break;
    hasher.update(buf.subarray(0, bytesRead));
    parts?.update(buf.subarray(0, bytesRead));
    read += bytesRead;
    if (read >= nextCheckpoint && read < task.snapshot.size) {
      nextCheckpoint = read + every;
      const states = hasher.save();
      if (states) post({ type: 'checkpoint', taskId: task.taskId, checkpoint: { offset: read, states } });
      else nextCheckpoint = Infinity;
    }
    if (Date.now() - lastPost >= PROGRESS_INTERVAL_MS) {
      lastPost = Date.now();
      post({ type: 'progress', taskId: task.taskId, bytesSent: read });
    }
  }
  if (read !== task.snapshot.size) {
    throw new HoistError('source.changed', { message: 'The source file changed size while it was being hashed.', detail: `read ${read} of ${task.snapshot.size} bytes` });
  }
  await checkSnapshot(fd, task.snapshot);
  return { md5Hex: '', checksum: null, fileHashes: hasher.digest(), hashedFrom: resume?.offset ?? 0 };
}

function opName(task: WorkerTask): string {
  return task.kind === 'upload-part' ? 'UploadPart' : task.kind === 'put-object' ? 'PutObject' : 'ReadSource';
}

async function run(task: WorkerTask, client: DirectS3 | null, signal: AbortSignal): Promise<TaskSuccess> {
  const direct = directCalls(task);
  let fd: SourceFile;
  try {
    fd = await openSource(task.path, direct);
  } catch (err) {
    throw toErrorInfoError(err, 'ReadSource');
  }
  let whole: FileHasher | undefined;
  try {
    const opened = await checkSnapshot(fd, task.snapshot);
    if (task.kind === 'hash-file') return await hashFile(fd, task, signal);
    // A small file's whole-file hashes: from the chunks its MD5 is computed from, not a read of their own.
    const wanted = task.kind === 'put-object' && task.fileHashes?.length ? task.fileHashes : null;
    whole = wanted ? await inlineHashers.acquire(wanted) : undefined;
    // A part whose checksum the whole-file pass computed is not read for it: read once, to send; the
    // server verifies the bytes it gets against that checksum (no Content-MD5 goes with such a part).
    const { digest, held } =
      task.kind === 'upload-part' && task.knownChecksum && task.checksumAlgorithm && task.contentMd5 === false
        ? { digest: { md5Hex: '', md5Base64: '', checksum: { algorithm: task.checksumAlgorithm, base64: task.knownChecksum } }, held: null }
        : await hashRange(fd, task, signal, whole);
    if (task.kind === 'hash-range') return { md5Hex: digest.md5Hex, checksum: digest.checksum?.base64 ?? null };
    let sent = 0;
    // The first report after PROGRESS_INTERVAL_MS, not at the first write: a small file's answer comes
    // first, and its last bytes are counted when it settles (one message per file less, issue 12).
    let lastPost = Date.now();
    const progress = (n: number) => {
      sent += n;
      const now = Date.now();
      if (now - lastPost >= PROGRESS_INTERVAL_MS) {
        lastPost = now;
        post({ type: 'progress', taskId: task.taskId, bytesSent: sent });
      }
    };
    progressOf.set(task.taskId, () => sent);
    const { etag, echoed, versionId, encryption } = await send(task, client!, fd, digest, held, signal, progress);
    // Whether the ETag can be compared is what this answer says: under SSE-KMS, DSSE-KMS or SSE-C it is
    // not an MD5, and the server's check of Content-MD5 (BadDigest) is the proof (s3/server-encryption.ts).
    if (digest.md5Hex && etagComparable(encryption) && normalizeEtag(etag) !== digest.md5Hex) {
      throw new HoistError('s3.etag-mismatch', { operation: opName(task), detail: `server ETag ${etag}, local MD5 ${digest.md5Hex}${encryption ? ` (encryption ${encryption})` : ''}` });
    }
    // Bytes hashed and sent came from the file as it was at the start; prove it still is (a small file: by its path).
    if (task.kind === 'put-object') await checkPath(task, opened, direct);
    else await checkSnapshot(fd, task.snapshot);
    return { md5Hex: digest.md5Hex, checksum: digest.checksum?.base64 ?? null, etag, checksumVerified: echoed, versionId, encryption, ...(whole ? { fileHashes: whole.digest() } : {}) };
  } finally {
    if (whole) inlineHashers.release((task as PutObjectTask).fileHashes!, whole);
    await fd.close().catch(() => undefined);
  }
}

function toErrorInfoError(err: unknown, operation: string): HoistError {
  const info = toErrorInfo(err, operation);
  return new HoistError(info.code, info);
}

// The pool reads this thread's CPU time by its id (worker-pool.ts sample()).
parentPort!.postMessage({ type: 'thread', tid: ownThreadId() } satisfies ThreadNotice);

parentPort!.on('message', (msg: WorkerRequest) => {
  if (msg.type === 'abort') {
    running.get(msg.taskId)?.abort();
    return;
  }
  const { task } = msg;
  const controller = new AbortController();
  running.set(task.taskId, controller);
  const client = task.kind === 'hash-range' || task.kind === 'hash-file' ? null : clients.get(task.conn);
  run(task, client, controller.signal).then(
    (result) => post({ type: 'done', taskId: task.taskId, result }),
    (err) => {
      const aborted = controller.signal.aborted || isAbort(err);
      const bytesSent = progressOf.get(task.taskId)?.() ?? 0;
      try {
        // With one attempt per request the SDK cannot retry a skewed signature itself; the scheduler can.
        const clockOffsetMs = client?.clockOffsetMs;
        const info = toErrorInfo(err, opName(task));
        const error = task.kind === 'hash-range' || task.kind === 'hash-file' ? info : explainDenied(info, task.conn.credentials);
        post({ type: 'failed', taskId: task.taskId, error, aborted, bytesSent, ...(clockOffsetMs !== undefined ? { clockOffsetMs } : {}) });
      } catch (reportErr) {
        // A throw here would end the thread and every other part running on it: this task alone fails.
        const error = new HoistError('internal.unexpected', { operation: opName(task), detail: `reporting a failure: ${String(reportErr)}` }).info;
        post({ type: 'failed', taskId: task.taskId, error, aborted, bytesSent });
      }
    },
  ).finally(() => {
    running.delete(task.taskId);
    progressOf.delete(task.taskId);
  });
});

export type { HashFileTask, HashRangeTask, PutObjectTask, UploadPartTask };
