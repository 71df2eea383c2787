// Parts' checksums from the whole-file hash pass (issue 12): that pass reads the file in order anyway,
// at several GB/s, far ahead of the parts, so it computes each part's CRC as well
// (upload/part-checksum-feed.ts), and a part whose CRC is known goes with it, read once, to send, not
// read and hashed first. The server verifies each part's bytes against that CRC, so the bytes sent are
// the bytes the whole-file hashes were computed from. Only where no Content-MD5 goes (a server shown to
// verify the checksum: integrity-plan.ts); in MD5 mode every part is hashed as before.
// Measured, 2 GiB clip at defaults: docs/performance.md, "Each byte read once".
import { AUTO_CHECKSUM, probeEndpoint } from '../../../shared/integrity.js';
import type { ChecksumAlgorithm } from '../../../shared/states.js';
import type { Destination } from '../../../shared/types.js';
import type { JobRecord } from '../store/rows.js';
import type { SourceSnapshot } from '../upload/tasks.js';

/** The CRCs: light enough (under 0.1 CPU s/GiB) to ride on the pass without slowing it (upload/checksums.ts). */
const CHEAP: ReadonlySet<ChecksumAlgorithm> = new Set(['crc32', 'crc32c']);

/**
 * The checksum the job's parts will carry alone, as far as it can be told when its hash pass starts
 * (before its plan is decided, integrity-plan.ts): the decided one, else `auto`'s or the named mode's,
 * unless the destination's server was shown not to verify checksums. A guess that turns out wrong
 * costs the pass its CRC (0.05 CPU s/GiB); the parts are then hashed as before.
 */
export function passChecksumAlgorithm(job: JobRecord, dest: Destination): ChecksumAlgorithm | null {
  if (job.mode !== 'multipart') return null;
  let algorithm: ChecksumAlgorithm | null;
  if (job.uploadId) algorithm = job.contentMd5 ? null : job.checksumAlgorithm;
  else {
    const mode = job.integrityMode ?? 'md5';
    algorithm = mode === 'md5' ? null : mode === 'auto' ? AUTO_CHECKSUM : mode;
    const probe = dest.checksumProbe;
    if (probe && probe.endpoint === probeEndpoint(dest) && !probe.verifies) algorithm = null;
  }
  return algorithm && CHEAP.has(algorithm) ? algorithm : null;
}

/** The parts' checksums one hash pass reported, by offset; a part asked for before the pass reached it waits for it. */
export class PassChecksums {
  readonly #known = new Map<number, { length: number; checksum: string }>();
  readonly #waiting = new Map<number, Array<() => void>>();
  #reached: number;
  #ended = false;

  constructor(
    readonly algorithm: ChecksumAlgorithm,
    private readonly snapshot: SourceSnapshot,
    /** The pass's first byte (a resumed pass starts at its checkpoint: the parts before it are hashed by themselves). */
    private readonly from: number,
  ) {
    this.#reached = from;
  }

  add(offset: number, length: number, checksum: string): void {
    this.#known.set(offset, { length, checksum });
    this.#reached = Math.max(this.#reached, offset + length);
    // The part at this offset, and any the pass went past (a part of another size): they wait no more.
    for (const at of [...this.#waiting.keys()]) if (at < this.#reached) this.#wake(at);
  }

  /** The pass is over (done, failed or stopped): nothing more will come, and no part waits for it. */
  end(): void {
    this.#ended = true;
    for (const offset of [...this.#waiting.keys()]) this.#wake(offset);
  }

  /**
   * The part's checksum, waiting for the pass to reach it if it will; null when it will not come
   * (another algorithm or snapshot, a part before the pass's start, the pass over without it).
   */
  async forPart(offset: number, length: number, algorithm: ChecksumAlgorithm | null, snapshot: SourceSnapshot): Promise<string | null> {
    if (algorithm !== this.algorithm || !sameSnapshot(snapshot, this.snapshot)) return null;
    if (!this.#known.has(offset) && !this.#ended && offset >= this.from && offset >= this.#reached) {
      await new Promise<void>((resolve) => {
        const list = this.#waiting.get(offset) ?? [];
        list.push(resolve);
        this.#waiting.set(offset, list);
      });
    }
    const k = this.#known.get(offset);
    return k && k.length === length ? k.checksum : null;
  }

  #wake(offset: number): void {
    const list = this.#waiting.get(offset);
    this.#waiting.delete(offset);
    for (const resolve of list ?? []) resolve();
  }
}

function sameSnapshot(a: SourceSnapshot, b: SourceSnapshot): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.inode === b.inode && !a.growing && !b.growing;
}
