// Each part's checksum from the whole-file hash pass (issue 12): that pass reads every byte of the
// file in order anyway, so it cuts its chunks at the part boundaries and reports each part's checksum
// as the part ends. A part whose checksum is known is then read once, to send (scheduler/pass-checksums.ts).
// CRC32C on aws-crt costs 0.05-0.06 CPU s/GiB in memory; the read it spares, 0.13-0.15 plus what
// the second copy through the CPU's cache costs (docs/performance.md, "Each byte read once").
import type { ChecksumAlgorithm } from '../../../shared/states.js';
import { createChecksummer, type Checksummer } from './checksums.js';

export class PartChecksumFeed {
  #hasher: Checksummer | null = null;
  /** The first byte of the part being hashed (a part begun before the pass's first byte is skipped). */
  #partStart: number;
  /** The file offset of the next byte fed. */
  #at: number;

  constructor(
    private readonly algorithm: ChecksumAlgorithm,
    private readonly partSize: number,
    private readonly size: number,
    from: number,
    private readonly emit: (offset: number, length: number, checksum: string) => void,
  ) {
    this.#partStart = Math.ceil(from / partSize) * partSize;
    this.#at = from;
  }

  /** The next bytes of the file, in order. */
  update(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length && this.#at < this.size) {
      if (this.#at < this.#partStart) {
        const skip = Math.min(chunk.length - pos, this.#partStart - this.#at);
        pos += skip;
        this.#at += skip;
        continue;
      }
      const end = Math.min(this.#partStart + this.partSize, this.size);
      const take = Math.min(chunk.length - pos, end - this.#at);
      (this.#hasher ??= createChecksummer(this.algorithm)).update(chunk.subarray(pos, pos + take));
      pos += take;
      this.#at += take;
      if (this.#at === end) {
        this.emit(this.#partStart, end - this.#partStart, this.#hasher.digest().toString('base64'));
        this.#hasher = null;
        this.#partStart = end;
      }
    }
  }
}
