// A socket stand-in for request bodies: keeps a copy of each written view and acknowledges it only
// later, as a congested socket would, noting any chunk whose bytes changed before it was acknowledged.
import { Writable } from 'node:stream';

export class SlowSink extends Writable {
  readonly copies: Buffer[] = [];
  /** Chunks whose bytes had changed by the time the socket got round to them. */
  readonly overwritten: number[] = [];

  constructor(private readonly delayMs = 5) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const i = this.copies.push(Buffer.from(chunk)) - 1;
    setTimeout(() => {
      if (!chunk.equals(this.copies[i]!)) this.overwritten.push(i);
      cb();
    }, this.delayMs);
  }
}
