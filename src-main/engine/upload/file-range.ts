// Reading a byte range of a file in fixed, reused chunks: for hashing a part and for streaming it as a
// request body. Reused buffers matter: a fresh 1 MiB buffer per read costs page faults and garbage
// collection, which measured as much CPU as the MD5 itself (docs/performance.md).
import type { SourceFile } from './source-file.js';
import { Readable, type Writable } from 'node:stream';
import { HoistError } from '../../../shared/errors.js';

/** The read and write unit: large enough that per-chunk overheads vanish, small enough that 16 parts in flight hold 32 MiB. */
export const CHUNK_SIZE = 1024 * 1024;

/** Buffers of CHUNK_SIZE reused across the parts a thread runs; idle ones beyond `keep` are dropped. */
export class ChunkPool {
  private readonly idle: Buffer[] = [];

  constructor(private readonly keep = 32) {}

  acquire(): Buffer {
    // allocUnsafeSlow: a buffer of its own, not a slice of Node's shared pool, so it can be recycled.
    return this.idle.pop() ?? Buffer.allocUnsafeSlow(CHUNK_SIZE);
  }

  release(buf: Buffer): void {
    if (this.idle.length < this.keep) this.idle.push(buf);
  }

  get idleCount(): number {
    return this.idle.length;
  }
}

/** Errors that came from the request's own writes (as opposed to reading the file, or an abort). */
const writeFailures = new WeakSet<Error>();

export type BeforeWrite = (bytes: number, signal: AbortSignal | undefined) => Promise<void> | void;

function shortRead(offset: number, length: number, got: number): HoistError {
  return new HoistError('source.changed', {
    message: 'The source file became shorter while it was being uploaded.',
    detail: `read ${got} of ${length} bytes at ${offset}`,
  });
}

/** Fills `buf[0..length)` from `position`; a file that ends first is a changed source. */
export async function readFully(fd: SourceFile, buf: Buffer, length: number, position: number, rangeStart: number, rangeLength: number): Promise<void> {
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await fd.read(buf, filled, length - filled, position + filled);
    if (bytesRead === 0) throw shortRead(rangeStart, rangeLength, position - rangeStart + filled);
    filled += bytesRead;
  }
}

/** Longest wait for "100 Continue" before sending anyway (RFC 9110: not indefinitely). */
const CONTINUE_WAIT_MS = 1000;

/** True when the body should go out: no Expect header, "100 Continue" came, or the wait ran out; false on an early answer. */
function continueExpected(dest: Writable): Promise<boolean> {
  const req = dest as Writable & { getHeader?(name: string): unknown };
  if (String(req.getHeader?.('expect') ?? '').toLowerCase() !== '100-continue') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (go: boolean) => {
      clearTimeout(timer);
      req.off('continue', onContinue).off('response', onAnswer).off('error', onAnswer).off('close', onAnswer);
      resolve(go);
    };
    const onContinue = () => done(true);
    const onAnswer = () => done(false);
    const timer = setTimeout(() => done(true), CONTINUE_WAIT_MS);
    req.on('continue', onContinue).on('response', onAnswer).on('error', onAnswer).on('close', onAnswer);
  });
}

export function abortError(): Error {
  return Object.assign(new Error('aborted'), { name: 'AbortError' });
}

/** Calls `onChunk` with each chunk of the range in order (the view is only valid during the call). */
export async function forEachChunk(
  fd: SourceFile,
  offset: number,
  length: number,
  pool: ChunkPool,
  onChunk: (chunk: Buffer) => void,
  signal?: AbortSignal,
): Promise<void> {
  const buf = pool.acquire();
  try {
    for (let at = 0; at < length; at += CHUNK_SIZE) {
      if (signal?.aborted) throw abortError();
      const n = Math.min(CHUNK_SIZE, length - at);
      await readFully(fd, buf, n, offset + at, offset, length);
      onChunk(buf.subarray(0, n));
    }
  } finally {
    pool.release(buf);
  }
}

export interface FileRangeBodyOptions {
  /** Bytes handed to the socket, reported as each write completes (bytes on the wire, not bytes read). */
  onBytes: (n: number) => void;
  /** Awaited before each chunk is written: the bandwidth limit's grant. */
  beforeWrite?: BeforeWrite;
  signal?: AbortSignal;
  /** The part's leading chunks, already read (upload/held-part.ts): sent from memory, the rest read from the file. */
  held?: HeldChunks;
}

/** Chunks read before the body starts, in order; each given back once its write settled. */
export interface HeldChunks {
  readonly bytes: number;
  next(): { index: number; view: Buffer } | null;
  settled(index: number): void;
  dispose(): void;
}

/**
 * A request body streaming one byte range of an open file. The HTTP handler pipes a Readable body into
 * the request; `pipe` is where this body writes its chunks itself, two reused buffers in turn, each
 * reused only once the socket has taken it (the write callback). `_read` is a plain fallback for any
 * other consumer, with a fresh buffer per chunk.
 */
export class FileRangeBody extends Readable {
  private position: number;
  private readonly end: number;
  private piped = false;

  constructor(
    private readonly fd: SourceFile,
    private readonly offset: number,
    private readonly length: number,
    private readonly pool: ChunkPool,
    private readonly opts: FileRangeBodyOptions,
  ) {
    super({ highWaterMark: CHUNK_SIZE });
    this.position = offset;
    this.end = offset + length;
  }

  /** Gives back held chunks no write took (called once the request is over, whatever became of it). */
  dispose(): void {
    this.opts.held?.dispose();
  }

  override pipe<T extends NodeJS.WritableStream>(dest: T, options?: { end?: boolean }): T {
    if (this.piped || this.position !== this.offset) return super.pipe(dest, options);
    this.piped = true;
    this.writeInto(dest as unknown as Writable).then(
      () => this.destroy(),
      // The request carries the failure to whoever sent it; this body has no listener of its own.
      (err: Error) => {
        // A failed write means the connection broke, often because the server answered early (503
        // SlowDown, 403): the request reports that answer or the break itself, so it is left alone.
        if (!writeFailures.has(err)) (dest as unknown as Writable).destroy(err);
        this.destroy();
      },
    );
    return dest;
  }

  private async writeInto(dest: Writable): Promise<void> {
    // The HTTP handler skips the 100-continue handshake with an agent of our own, so the body waits
    // here: an early answer (503 SlowDown, 403) then arrives as itself, not as a broken pipe mid-body.
    if (!(await continueExpected(dest))) return;
    if (this.opts.held && !(await this.writeHeld(dest, this.opts.held))) return;
    // All of it was held (a small file, upload/part-worker.ts): no read buffers to take.
    if (this.position >= this.end) {
      dest.end();
      return;
    }
    const buffers = [this.pool.acquire(), this.pool.acquire()];
    // The write of each buffer still under way; the buffer goes back to the pool when it settles.
    const writing: Array<Promise<void> | null> = [null, null];
    let turn = 0;
    try {
      while (this.position < this.end) {
        if (this.opts.signal?.aborted) throw abortError();
        if (dest.destroyed) return;
        await writing[turn];
        writing[turn] = null;
        const buf = buffers[turn]!;
        const n = Math.min(CHUNK_SIZE, this.end - this.position);
        await readFully(this.fd, buf, n, this.position, this.offset, this.length);
        this.position += n;
        await this.opts.beforeWrite?.(n, this.opts.signal);
        if (dest.destroyed) return;
        writing[turn] = this.write(dest, buf.subarray(0, n));
        turn ^= 1;
      }
      await Promise.all(writing);
      dest.end();
    } finally {
      // A buffer whose write never settled (the request was destroyed) is left to the collector.
      for (let i = 0; i < 2; i++) {
        const pending = writing[i];
        if (!pending) this.pool.release(buffers[i]!);
        else pending.then(() => this.pool.release(buffers[i]!), () => undefined);
      }
    }
  }

  /** One chunk to the request; settles as the socket has taken it (then `settled` runs, whatever the outcome). */
  private write(dest: Writable, view: Buffer, settled?: () => void): Promise<void> {
    const written = new Promise<void>((resolve, reject) => {
      dest.write(view, (err) => {
        settled?.();
        if (err) {
          writeFailures.add(err);
          return reject(err);
        }
        this.opts.onBytes(view.length);
        resolve();
      });
    });
    // Awaited later; a failure meanwhile must not count as an unhandled rejection.
    written.catch(() => undefined);
    return written;
  }

  /** Writes the held chunks, two writes under way at most, as the file loop does; false when the request went away. */
  private async writeHeld(dest: Writable, held: HeldChunks): Promise<boolean> {
    const writing: Array<Promise<void>> = [];
    for (let chunk = held.next(); chunk; chunk = held.next()) {
      if (this.opts.signal?.aborted) throw abortError();
      if (writing.length >= 2) await writing.shift();
      const { index, view } = chunk;
      const n = view.length;
      await this.opts.beforeWrite?.(n, this.opts.signal);
      if (dest.destroyed) return false;
      writing.push(this.write(dest, view, () => held.settled(index)));
      this.position += n;
    }
    await Promise.all(writing);
    return true;
  }

  override _read(): void {
    if (this.piped) return;
    if (this.opts.held && this.position === this.offset && this.opts.held.bytes > 0) {
      // Another consumer: the held bytes go as they are (this consumer keeps them; the pool does not get them back).
      const views: Buffer[] = [];
      for (let c = this.opts.held.next(); c; c = this.opts.held.next()) views.push(Buffer.from(c.view));
      this.opts.held.dispose();
      this.position += this.opts.held.bytes;
      this.push(Buffer.concat(views));
      return;
    }
    const n = Math.min(CHUNK_SIZE, this.end - this.position);
    if (n <= 0) {
      this.push(null);
      return;
    }
    const buf = Buffer.allocUnsafe(n);
    const at = this.position;
    this.position += n;
    readFully(this.fd, buf, n, at, this.offset, this.length)
      .then(() => this.opts.beforeWrite?.(n, this.opts.signal))
      .then(() => {
        this.opts.onBytes(n);
        this.push(buf);
      })
      .catch((err: Error) => this.destroy(err));
  }
}
