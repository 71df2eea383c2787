// The fault proxy's own answers (test/support/s3-proxy.ts): a request read whole for a `respond`
// rule, the server's answer read whole and passed through rewrite rules, and an answer sent with its
// length. With them the proxy plays a behaviour of Amazon S3 the local server lacks (kms-bucket.ts).
import type { IncomingMessage, ServerResponse, OutgoingHttpHeaders, IncomingHttpHeaders } from 'node:http';
import type { S3Operation } from './s3-proxy.js';

// Hop-by-hop headers describe one connection; the proxy manages each side's connection itself.
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection']);

export function endToEndRawHeaders(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (!HOP_BY_HOP.has(name.toLowerCase())) out.push(name, raw[i + 1]!);
  }
  return out;
}

/** A request as a `respond` rule sees it: the whole body read. */
export interface ProxyRequestView {
  operation: S3Operation;
  method: string;
  path: string;
  query: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** An answer the proxy sends instead of (or in place of) the server's. */
export interface ProxyAnswer {
  status: number;
  /** Header names as they are to be sent; content-length is set from the body. */
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** The server's answer as a rewrite rule sees it: header names in lower case, the whole body read. */
export interface ProxyResponseView {
  operation: S3Operation;
  method: string;
  path: string;
  query: string;
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface RewriteRule {
  operation?: S3Operation | S3Operation[];
  /** The answer the client gets instead; undefined leaves the server's as it was. */
  rewrite(res: ProxyResponseView): ProxyAnswer | undefined;
}

const DEFAULT_MESSAGES: Record<string, string> = {
  SlowDown: 'Please reduce your request rate.',
  InternalError: 'We encountered an internal error. Please try again.',
  AccessDenied: 'Access Denied',
  ServiceUnavailable: 'Service is unable to handle request.',
};

function xmlEscape(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function s3ErrorXml(code: string, message?: string): string {
  const msg = message ?? DEFAULT_MESSAGES[code] ?? code;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(msg)}</Message><RequestId>proxy</RequestId></Error>`
  );
}

/** The whole request body; `onBytes` counts it as it comes. */
export async function readRequest(req: IncomingMessage, onBytes: (n: number) => void): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    onBytes(chunk.length);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The server's whole answer, passed through each rewrite rule in turn. */
export async function readRewritten(upRes: IncomingMessage, req: Pick<ProxyResponseView, 'operation' | 'method' | 'path' | 'query'>, rules: RewriteRule[]): Promise<ProxyAnswer> {
  const chunks: Buffer[] = [];
  for await (const chunk of upRes as AsyncIterable<Buffer>) chunks.push(chunk);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(upRes.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && name !== 'transfer-encoding') headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  let view: ProxyResponseView = { operation: req.operation, method: req.method, path: req.path, query: req.query, status: upRes.statusCode ?? 502, headers, body: Buffer.concat(chunks) };
  for (const rule of rules) {
    const answer = rule.rewrite(view);
    if (answer) view = { ...view, status: answer.status, headers: answer.headers ?? view.headers, body: Buffer.from(answer.body ?? view.body) };
  }
  return { status: view.status, headers: view.headers, body: view.body };
}

/** Sends an answer of the proxy's own, its content-length from its body (a HEAD keeps the one given); returns its status. */
export function sendAnswer(req: IncomingMessage, res: ServerResponse, answer: ProxyAnswer): number {
  if (res.headersSent || res.destroyed) return answer.status;
  const body = Buffer.from(answer.body ?? '');
  const headers: OutgoingHttpHeaders = { ...answer.headers };
  if (req.method !== 'HEAD') {
    for (const name of Object.keys(headers)) if (name.toLowerCase() === 'content-length') delete headers[name];
    headers['content-length'] = body.length;
  }
  res.writeHead(answer.status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
  return answer.status;
}
