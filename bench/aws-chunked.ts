// Decodes an `aws-chunked` request body as S3 does, streaming: chunks of `hex-size[;chunk-signature=…]\r\n
// data\r\n`, a zero-size chunk, then trailer lines (`x-amz-checksum-crc32:…`, `x-amz-trailer-signature:…`)
// and an empty line. Covers STREAMING-UNSIGNED-PAYLOAD-TRAILER (botocore and the JS SDK over TLS),
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] (signed chunks; the sink checks no signatures).

export class AwsChunkedError extends Error {}

type State = 'size' | 'data' | 'data-end' | 'trailer' | 'done';

const CRLF = Buffer.from('\r\n');
const EMPTY = Buffer.alloc(0);
/** A size or trailer line longer than this is not aws-chunked (a signature line is about 100 bytes). */
const MAX_LINE = 4096;

export class AwsChunkedDecoder {
  readonly trailers = new Map<string, string>();
  private state: State = 'size';
  private remaining = 0;
  private pending: Buffer = EMPTY;

  constructor(private readonly onData: (data: Buffer) => void) {}

  /** Feeds the next bytes of the encoded body. */
  push(chunk: Buffer): void {
    if (this.feed(chunk)?.length) throw new AwsChunkedError('bytes after the end of the aws-chunked body');
  }

  /**
   * For HTTP's chunked transfer coding (the same grammar): feeds bytes, and once the body has ended
   * returns the bytes after it (the next request's), else null.
   */
  pushFraming(chunk: Buffer): Buffer | null {
    return this.feed(chunk);
  }

  private feed(chunk: Buffer): Buffer | null {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = EMPTY;
    while (buf.length > 0) {
      if (this.state === 'data') {
        const n = Math.min(this.remaining, buf.length);
        this.onData(buf.subarray(0, n));
        this.remaining -= n;
        buf = buf.subarray(n);
        if (this.remaining === 0) this.state = 'data-end';
        continue;
      }
      if (this.state === 'done') return buf;
      const eol = buf.indexOf(CRLF);
      if (eol < 0) {
        if (buf.length > MAX_LINE) throw new AwsChunkedError('an aws-chunked line is too long');
        this.pending = Buffer.from(buf);
        return null;
      }
      const line = buf.subarray(0, eol).toString('latin1');
      buf = buf.subarray(eol + 2);
      this.line(line);
    }
    return this.state === 'done' ? buf : null;
  }

  private line(line: string): void {
    if (this.state === 'data-end') {
      if (line !== '') throw new AwsChunkedError('a chunk is longer than its declared size');
      this.state = 'size';
    } else if (this.state === 'size') {
      const hex = line.split(';')[0]!.trim();
      if (!/^[0-9a-fA-F]+$/.test(hex)) throw new AwsChunkedError(`bad chunk size line "${line.slice(0, 80)}"`);
      this.remaining = parseInt(hex, 16);
      this.state = this.remaining === 0 ? 'trailer' : 'data';
    } else if (this.state === 'trailer') {
      if (line === '') {
        this.state = 'done';
        return;
      }
      const colon = line.indexOf(':');
      if (colon < 1) throw new AwsChunkedError(`bad trailer line "${line.slice(0, 80)}"`);
      this.trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
  }

  /** Throws unless the body ended where aws-chunked says it ends. */
  end(): void {
    // Some encoders end the trailer section without the final empty line.
    if (this.state === 'trailer' && this.pending.length === 0) this.state = 'done';
    if (this.state !== 'done') throw new AwsChunkedError('the aws-chunked body ended early');
  }
}

/** Encodes `data` as aws-chunked with an unsigned trailer, as botocore does (for tests and probes). */
export function encodeAwsChunked(data: Buffer, chunkSize: number, trailers: Record<string, string>, signed = false): Buffer {
  const sig = signed ? `;chunk-signature=${'0'.repeat(64)}` : '';
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += chunkSize) {
    const piece = data.subarray(at, at + chunkSize);
    out.push(Buffer.from(`${piece.length.toString(16)}${sig}\r\n`), piece, CRLF);
  }
  out.push(Buffer.from(`0${sig}\r\n`));
  for (const [name, value] of Object.entries(trailers)) out.push(Buffer.from(`${name}:${value}\r\n`));
  if (signed && Object.keys(trailers).length) out.push(Buffer.from(`x-amz-trailer-signature:${'0'.repeat(64)}\r\n`));
  out.push(CRLF);
  return Buffer.concat(out);
}
