// The bench sink's HTTP/1.1 server: just enough of HTTP for S3 clients (keep-alive, Content-Length and
// chunked request bodies, Expect: 100-continue), written on node:net because node:http costs the sink
// more CPU than MD5's share allows. Measured with bench/sink-cost.ts (docs/performance.md, "The bench
// sink's own cost"): node:http's parser copies every body chunk into a new 64 KiB buffer (memmove, a
// fresh allocation, its page faults and later its GC) and passes it through a Readable stream; here the
// kernel reads into one reused buffer (net.Socket's `onread`) and the body goes straight to the
// request's 'data' listeners, so a byte costs the kernel's copy and the hashing, little else.
//
// A 'data' chunk is valid only during the event (the buffer is read into again): listeners must use or
// copy it at once. Body bytes that arrive while a request has no 'data' listener are kept (copied) and
// handed over when one is added; after resume() they are dropped, as with node:http.
import { EventEmitter } from 'node:events';
import { STATUS_CODES, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import net from 'node:net';
import { AwsChunkedDecoder } from './aws-chunked.js';

/** The part of node:http's IncomingMessage the sink uses, so its handler runs on either server. */
export interface SinkRequest {
  method?: string | undefined;
  url?: string | undefined;
  headers: IncomingHttpHeaders;
  /** True once the whole body has arrived. */
  complete: boolean;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'end' | 'close', listener: () => void): unknown;
  once(event: 'error', listener: (err: Error) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'end', listener: () => void): unknown;
  resume(): unknown;
}

/** The part of node:http's ServerResponse the sink uses. */
export interface SinkResponse {
  readonly headersSent: boolean;
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  end(body?: string): unknown;
  destroy(): unknown;
}

/** Bytes the kernel may return per read. 256 KiB: fewer reads than node:http's 64 KiB, still within L2 while MD5 runs over it. */
const READ_BUFFER_BYTES = 256 * 1024;
/** A request line and headers longer than this are refused (node:http's default limit is 16 KiB). */
const MAX_HEAD_BYTES = 64 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');

class RawRequest extends EventEmitter implements SinkRequest {
  complete = false;
  /** Copies of body chunks that came before any 'data' listener; null once one listens or resume() was called. */
  private held: Buffer[] | null = [];
  private endHeld = false;

  constructor(
    readonly method: string,
    readonly url: string,
    readonly headers: IncomingHttpHeaders,
  ) {
    super();
    this.on('newListener', (event: string) => {
      if (event !== 'data' || !this.held) return;
      const held = this.held;
      this.held = null;
      if (held.length === 0 && !this.endHeld) return;
      // After the listener is in place ('newListener' runs before it is added).
      queueMicrotask(() => {
        for (const chunk of held) this.emit('data', chunk);
        if (this.endHeld) this.emit('end');
      });
    });
  }

  /** Body bytes from the connection. */
  body(chunk: Buffer): void {
    if (this.held) this.held.push(Buffer.from(chunk));
    else this.emit('data', chunk);
  }

  finish(): void {
    this.complete = true;
    if (this.held) this.endHeld = true;
    else this.emit('end');
  }

  resume(): this {
    const ended = this.endHeld;
    this.held = null;
    this.endHeld = false;
    if (ended) queueMicrotask(() => this.emit('end'));
    return this;
  }
}

class RawResponse implements SinkResponse {
  headersSent = false;
  private head = '';

  constructor(
    private readonly socket: net.Socket,
    private readonly isHead: boolean,
    private readonly onDone: () => void,
  ) {}

  writeHead(status: number, headers: OutgoingHttpHeaders = {}): this {
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
    for (const [name, value] of Object.entries(headers)) if (value !== undefined) head += `${name}: ${Array.isArray(value) ? value.join(', ') : value}\r\n`;
    this.head = head;
    this.headersSent = true;
    return this;
  }

  end(body?: string): this {
    if (!this.headersSent) this.writeHead(200);
    const payload = body === undefined ? '' : body;
    let head = this.head;
    if (!/^content-length:/im.test(head)) head += `content-length: ${this.isHead ? 0 : Buffer.byteLength(payload)}\r\n`;
    this.socket.write(`${head}\r\n${this.isHead ? '' : payload}`);
    this.onDone();
    return this;
  }

  destroy(): this {
    this.socket.destroy();
    return this;
  }
}

type Handler = (req: SinkRequest, res: SinkResponse) => void;

/** One connection: parses requests one after another and feeds each body to its request. */
class Connection {
  private head: Buffer | null = null;
  private request: RawRequest | null = null;
  /** Body bytes still to come (Content-Length), or null for a chunked body. */
  private remaining = 0;
  private chunked: AwsChunkedDecoder | null = null;
  private closeAfter = false;

  readonly socket: net.Socket;

  /**
   * Wraps an accepted connection's handle in a socket that reads into `readBuffer`: `onread` (a
   * caller's buffer, no allocation per read) is an option of new net.Socket only, so the accepted
   * Socket object is left unused.
   */
  constructor(
    accepted: net.Socket,
    readBuffer: Buffer,
    private readonly handler: Handler,
  ) {
    this.socket = new net.Socket({
      handle: (accepted as unknown as { _handle: unknown })._handle,
      onread: { buffer: readBuffer, callback: (n: number, buf: Uint8Array) => void this.onRead(Buffer.from(buf.buffer, buf.byteOffset, n)) },
    } as net.SocketConstructorOpts);
  }

  onRead(bytes: Buffer): void {
    let buf = bytes;
    try {
      while (buf.length > 0) {
        if (this.request) buf = this.body(buf);
        else {
          const rest = this.parseHead(buf);
          if (rest === null) return;
          buf = rest;
        }
      }
    } catch {
      this.fail();
    }
  }

  onClose(): void {
    const req = this.request;
    this.request = null;
    if (req && !req.complete) req.emit('close');
  }

  private body(buf: Buffer): Buffer {
    const req = this.request!;
    if (this.chunked) {
      const rest = this.chunked.pushFraming(buf);
      if (rest === null) return Buffer.alloc(0);
      this.ended();
      return rest;
    }
    const n = Math.min(this.remaining, buf.length);
    if (n > 0) req.body(buf.subarray(0, n));
    this.remaining -= n;
    if (this.remaining === 0) this.ended();
    return buf.subarray(n);
  }

  private ended(): void {
    const req = this.request!;
    this.request = null;
    this.chunked = null;
    req.finish();
  }

  /** Reads a request's line and headers; returns the bytes after them, or null while they are incomplete. */
  private parseHead(bytes: Buffer): Buffer | null {
    const buf = this.head ? Buffer.concat([this.head, bytes]) : bytes;
    const end = buf.indexOf(HEAD_END);
    if (end < 0) {
      if (buf.length > MAX_HEAD_BYTES) throw new Error('request head too large');
      this.head = Buffer.from(buf);
      return null;
    }
    this.head = null;
    const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
    const [method, url, version] = lines[0]!.split(' ');
    if (!method || !url || !version?.startsWith('HTTP/1.')) throw new Error(`bad request line "${lines[0]!.slice(0, 80)}"`);
    const headers: IncomingHttpHeaders = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon < 1) throw new Error(`bad header line "${line.slice(0, 80)}"`);
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const had = headers[name];
      headers[name] = had === undefined ? value : `${String(had)}, ${value}`;
    }
    const te = String(headers['transfer-encoding'] ?? '').toLowerCase();
    const connection = String(headers.connection ?? '').toLowerCase();
    this.closeAfter = connection.includes('close') || (version === 'HTTP/1.0' && !connection.includes('keep-alive'));
    const req = new RawRequest(method, url, headers);
    if (te.includes('chunked')) {
      // HTTP's chunked framing has aws-chunked's grammar (size line, data, CRLF, ..., 0, trailers, empty line).
      this.chunked = new AwsChunkedDecoder((data) => req.body(data));
      this.request = req;
    } else {
      this.remaining = Number(headers['content-length'] ?? 0);
      if (!Number.isSafeInteger(this.remaining) || this.remaining < 0) throw new Error('bad content-length');
      this.request = this.remaining > 0 ? req : null;
    }
    if (String(headers.expect ?? '').toLowerCase() === '100-continue') this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    const closeAfter = this.closeAfter;
    const res = new RawResponse(this.socket, method === 'HEAD', () => {
      if (closeAfter) this.socket.end();
    });
    this.handler(req, res);
    if (!this.request) req.finish();
    return buf.subarray(end + HEAD_END.length);
  }

  /** A request HTTP cannot frame: the connection is closed (a request in progress sees its body cut). */
  private fail(): void {
    this.onClose();
    this.socket.destroy();
  }
}

export interface RawServer {
  server: net.Server;
  /** Closes the listener and every open connection. */
  close(): Promise<void>;
}

/** An HTTP/1.1 server for `handler` on node:net, reading into one reused buffer. */
export function createRawServer(handler: Handler): RawServer {
  const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ pauseOnConnect: true }, (accepted) => {
    const connection = new Connection(accepted, readBuffer, handler);
    const socket = connection.socket;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      connection.onClose();
    });
    socket.resume();
  });
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
