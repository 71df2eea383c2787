// The fault proxy's `delay` action (test/support/s3-proxy.ts): the whole request body is taken from
// the client, then sent upstream `ms` later whether or not the client is still there. Bytes on the
// wire that the server, having them, acts on after the client gave up: a part that lands after its
// upload was aborted. The answer goes to the client if it is still there.
import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { endToEndRawHeaders } from './proxy-answers.js';

export interface HeldExchange {
  req: IncomingMessage;
  res: ServerResponse;
  /** The proxy's record of the request (ProxiedRequest). */
  rec: { requestBytes: number; incomplete?: boolean };
  expectContinue: boolean;
  /** Timers the proxy clears when it closes. */
  timers: Set<NodeJS.Timeout>;
  /** The server's status is known. */
  answered(status: number): void;
  /** Body bytes that went upstream. */
  forwarded(n: number): void;
}

export function forwardHeld(x: HeldExchange, ms: number, upstream: (rawHeaders: string[]) => http.ClientRequest): void {
  const { req, res, rec } = x;
  if (x.expectContinue) res.writeContinue();
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    rec.requestBytes += chunk.length;
  });
  // Cut off before its body was whole: nothing goes upstream.
  req.on('close', () => {
    if (!req.complete) rec.incomplete = true;
  });
  req.on('end', () => {
    const timer = setTimeout(() => {
      x.timers.delete(timer);
      // The body is all here: no 100-continue upstream (Expect is never signed).
      const upReq = upstream(withoutExpect(endToEndRawHeaders(req.rawHeaders)));
      upReq.on('error', () => res.destroy());
      upReq.on('response', (upRes) => {
        x.answered(upRes.statusCode ?? 502);
        if (res.destroyed || res.headersSent) {
          upRes.resume();
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, endToEndRawHeaders(upRes.rawHeaders));
        upRes.pipe(res);
      });
      upReq.end(Buffer.concat(chunks));
      x.forwarded(rec.requestBytes);
    }, ms);
    x.timers.add(timer);
  });
  req.resume();
}

function withoutExpect(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() !== 'expect') out.push(raw[i]!, raw[i + 1]!);
  return out;
}
