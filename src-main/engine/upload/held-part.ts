// Each byte read once (issue 12): a part's checksum must be in its headers before its body, so the
// part is read and hashed first. Its chunks are kept (pooled 1 MiB buffers) and the request body is
// sent from them, instead of reading the part a second time from the page cache. Memory is bounded:
// a thread holds at most its share of HELD_PART_BUDGET; the bytes of a part beyond what fits are read
// again at send time, as every part was before. The figures that chose this: docs/performance.md
// ("Each byte read once").
import type fs from 'node:fs';
import { CHUNK_SIZE, abortError, forEachChunk, readFully, type ChunkPool } from './file-range.js';

/**
 * All parts held at once, across the worker threads. Measured (docs/performance.md, "Each byte read
 * once"): sending a part from its held chunks instead of reading it again cost 0.60 instead of 0.96
 * CPU s/GiB on the part path (bench/read-once-bench.ts, 9 rounds alternated); holding 128 MiB took
 * Hoist's peak RSS on the 2 GiB clip from about 150 to 270 MiB, over issue 12's 250 MB, so 64 MiB:
 * parts x parts in flight up to that are read once, larger ones partly.
 */
export const HELD_PART_BUDGET = 64 * 1024 * 1024;

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
  fd: fs.promises.FileHandle,
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
