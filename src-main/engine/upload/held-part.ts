// Each byte read once (issue 12): a part's checksum must be in its headers before its body, so the
// part is read and hashed first. Its chunks are kept (pooled 1 MiB buffers) and the request body is
// sent from them, instead of reading the part a second time from the page cache. Memory is bounded:
// a thread holds at most its share of the budget (off by default: DEFAULT_HELD_PART_BYTES says why); the bytes of a part beyond what fits are read
// again at send time, as every part was before. The figures that chose this: docs/performance.md
// ("Each byte read once").
import type { SourceFile } from './source-file.js';
import { CHUNK_SIZE, abortError, forEachChunk, readFully, type ChunkPool } from './file-range.js';

/**
 * All parts held at once, across the worker threads, when holding is on (EngineOptions.heldPartBytes).
 * 64 MiB: holding 128 MiB took Hoist's peak RSS on the 2 GiB clip from about 155 to 270 MiB, over
 * issue 12's 250 MB; with 64 MiB it was 210-215 MiB.
 */
export const HELD_PART_BUDGET = 64 * 1024 * 1024;

/**
 * Off by default, by measurement (docs/performance.md, "Each byte read once", 2026-12-04, loaded
 * 2-core VM): the part path alone cost 0.60 CPU s/GiB held against 0.96 read again
 * (bench/read-once-bench.ts, one part at a time), but the whole engine at its defaults did not gain:
 * 4.31 and 4.47 CPU s/GiB held against 4.09 and 3.86 read again (npm run bench:profile, runs in
 * ABBA order), and 60 MiB more memory. The second read comes from the page cache into a buffer still
 * in the CPU's cache; held chunks are 32+ MiB of memory cycled through, missed in cache by the
 * checksum and by the socket write. The device reads each byte once either way (read_bytes 1.00).
 * A small file's single PutObject (up to 8 MiB) is held whatever this setting: part-worker.ts.
 */
export const DEFAULT_HELD_PART_BYTES = 0;

/** How many chunks this thread may hold at once; given back when a part's body has used them. */
export class PartMemory {
  private held = 0;

  constructor(
    private readonly pool: ChunkPool,
    private readonly capChunks: number,
  ) {}

  get heldChunks(): number {
    return this.held;
  }

  /** A chunk to keep, or null when this thread's share is taken. */
  tryHold(): Buffer | null {
    if (this.held >= this.capChunks) return null;
    this.held++;
    return this.pool.acquire();
  }

  /** The chunk's bytes are on the wire: back to the pool (and to the budget). */
  release(buf: Buffer): void {
    this.held--;
    this.pool.release(buf);
  }

  /** The chunk may still be referenced (a write that never settled): the budget back, the buffer to the collector. */
  forget(): void {
    this.held--;
  }
}

/**
 * The leading chunks of a part kept in memory, and what became of each: the body writes them in order
 * and gives each back once its write settled; `dispose` gives back what no write took (the request
 * failed first) and lets go of writes that never settled (a destroyed request), whose buffers are
 * left to the collector, as the body's own are.
 */
export class HeldPart {
  private readonly buffers: Buffer[] = [];
  /** 0 not written, 1 being written, 2 given back. */
  private readonly state: number[] = [];
  private nextIndex = 0;
  bytes = 0;

  constructor(private readonly memory: PartMemory | null) {}

  /** Keeps one more chunk (a buffer from tryHold, `n` bytes of it filled). */
  push(buf: Buffer, n: number): void {
    this.buffers.push(buf);
    this.state.push(0);
    this.bytes += n;
  }

  get count(): number {
    return this.buffers.length;
  }

  /** The next chunk to write, as a view of its bytes, or null when all have been taken. */
  next(): { index: number; view: Buffer } | null {
    const i = this.nextIndex;
    if (i >= this.buffers.length) return null;
    this.nextIndex++;
    this.state[i] = 1;
    const n = Math.min(CHUNK_SIZE, this.bytes - i * CHUNK_SIZE);
    return { index: i, view: this.buffers[i]!.subarray(0, n) };
  }

  /** The write of chunk `index` settled: its buffer goes back to the pool. */
  settled(index: number): void {
    if (this.state[index] !== 1) return;
    this.state[index] = 2;
    this.memory?.release(this.buffers[index]!);
  }

  dispose(): void {
    for (let i = 0; i < this.buffers.length; i++) {
      if (this.state[i] === 0) this.memory?.release(this.buffers[i]!);
      else if (this.state[i] === 1) this.memory?.forget();
      this.state[i] = 2;
    }
    this.nextIndex = this.buffers.length;
  }
}

/**
 * Reads the range once, in order, calling `onChunk` with each chunk (for the checksums); keeps the
 * leading chunks while `memory` allows. A chunk that does not fit ends the keeping: what is held is
 * always a prefix of the range, so the body can send it and read on from where it stops.
 */
export async function readAndHold(
  fd: SourceFile,
  offset: number,
  length: number,
  pool: ChunkPool,
  memory: PartMemory | null,
  onChunk: (chunk: Buffer) => void,
  signal?: AbortSignal,
): Promise<HeldPart> {
  const held = new HeldPart(memory);
  let at = 0;
  try {
    while (memory && at < length) {
      const buf = memory.tryHold();
      if (!buf) break;
      const n = Math.min(CHUNK_SIZE, length - at);
      held.push(buf, 0);
      if (signal?.aborted) throw abortError();
      await readFully(fd, buf, n, offset + at, offset, length);
      held.bytes += n;
      onChunk(buf.subarray(0, n));
      at += n;
    }
    if (at < length) await forEachChunk(fd, offset + at, length - at, pool, onChunk, signal);
  } catch (err) {
    held.dispose();
    throw err;
  }
  return held;
}
