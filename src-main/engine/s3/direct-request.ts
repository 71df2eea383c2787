// The part workers' two hot requests (UploadPart, PutObject) without the AWS SDK: node:http(s) and a
// SigV4 signature from @smithy/signature-v4 (the SDK's own signer). Measured (bench/put-overhead.ts,
// docs/performance.md "The part workers' requests"): the SDK's PutObject cost 2.4-2.6 ms CPU per
// request in one thread against 1.05-1.2 here, the unsigned floor being 1.08 (signing is lost in the
// noise); caching the SDK's middleware saved only 0.25 ms of it. A worker thread that loads
// client-s3 and node-http-handler starts in 157 ms CPU against 93 with the signer alone (56 empty).
// Everything the SDK did for these two requests is kept here, one line each: the abort signal
// destroys the request; a socket silent for idleTimeoutMs fails it as TimeoutError (as
// node-http-handler's socketTimeout); a connection not made in 10 s likewise; keep-alive agents, the
// CA bundle; the server's clock learned from each answer's Date header and signed with; session
// tokens (the signer adds x-amz-security-token); Expect: 100-continue from 2 MiB (the SDK's S3
// default threshold; FileRangeBody waits for it); S3's XML error body read into the same shape the
// SDK throws (name, Code, message, $metadata.httpStatusCode), so s3/errors.ts maps both alike.
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { requireCjs } from '../cjs.js';
import { readCaBundle } from './ca-bundle.js';
import type { ConnectionSettings } from './client.js';
import { clockOffsetFromAnswer } from './clock.js';
import { extendedEncode, objectPath, type ObjectTarget } from './object-target.js';
import { SettingsCache } from './settings-cache.js';

const { SignatureV4 } = requireCjs('@smithy/signature-v4') as typeof import('@smithy/signature-v4');
const { XMLParser } = requireCjs('fast-xml-parser') as typeof import('fast-xml-parser');

const CONNECTION_TIMEOUT_MS = 10_000;
/** The SDK's S3 default for `expectContinueHeader`: bodies from this size ask the server first. */
const EXPECT_CONTINUE_FROM = 2 * 1024 * 1024;
const EMPTY_SHA256 = createHash('sha256').digest('hex');
/** An error body longer than this is not S3's XML; only its start is kept. */
const MAX_ERROR_BODY = 64 * 1024;

/** The hash the signer is given: node:crypto's SHA-256 and HMAC, the shape @smithy/hash-node has (not installed here). */
class Sha256 {
  private readonly h;
  constructor(secret?: string | Uint8Array | ArrayBuffer) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', secret instanceof ArrayBuffer ? new Uint8Array(secret) : secret);
  }
  update(data: string | Uint8Array): void {
    this.h.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.h.digest());
  }
}

export interface DirectRequest {
  target: ObjectTarget;
  key: string;
  query: Record<string, string>;
  /** Lower-case names; content-length is set from `length`. */
  headers: Record<string, string>;
  body: Readable | Buffer;
  length: number;
  signal: AbortSignal;
}

/** An S3 error answer, shaped as the SDK throws it (s3/errors.ts reads name, Code, message, $metadata). */
export class S3ErrorResponse extends Error {
  readonly Code: string | undefined;
  readonly $metadata: { httpStatusCode: number };

  constructor(status: number, code: string | undefined, message: string | undefined) {
    // Without a body the SDK names a 404 NotFound and anything else Unknown (its rest-XML error loader).
    super(message || (code ? code : `HTTP ${status}`));
    this.name = code ?? (status === 404 ? 'NotFound' : 'Unknown');
    this.Code = code;
    this.$metadata = { httpStatusCode: status };
  }
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error && reason.name === 'AbortError' ? reason : Object.assign(new Error('The request was aborted'), { name: 'AbortError' });
}

const parser = new XMLParser({ parseTagValue: false });

export function parseS3Error(status: number, body: string): S3ErrorResponse {
  let code: string | undefined;
  let message: string | undefined;
  try {
    const doc = parser.parse(body) as { Error?: { Code?: unknown; Message?: unknown } };
    if (typeof doc.Error?.Code === 'string') code = doc.Error.Code;
    if (typeof doc.Error?.Message === 'string') message = doc.Error.Message;
  } catch {
    // Not XML (a proxy's HTML page): the status decides.
  }
  return new S3ErrorResponse(status, code, message);
}

/** One connection's agents, signer and view of the server's clock, kept by the worker per ConnectionSettings. */
export class DirectS3 {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly signers = new Map<string, InstanceType<typeof SignatureV4>>();
  /** The server's clock minus ours, updated from every answer's Date header as the SDK does. */
  clockOffsetMs: number;

  constructor(private readonly conn: ConnectionSettings) {
    const agentOptions = { keepAlive: true, maxSockets: conn.maxSockets };
    const ca = conn.caBundle ? readCaBundle(conn.caBundle) : undefined;
    this.httpAgent = new http.Agent(agentOptions);
    this.httpsAgent = new https.Agent({ ...agentOptions, ...(ca ? { ca } : {}) });
    this.clockOffsetMs = conn.clockOffsetMs;
  }

  private signer(t: ObjectTarget): InstanceType<typeof SignatureV4> {
    const key = `${t.signingRegion}/${t.signingName}`;
    let s = this.signers.get(key);
    if (!s) {
      const { accessKeyId, secretAccessKey, sessionToken } = this.conn.credentials;
      s = new SignatureV4({
        credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
        region: t.signingRegion,
        service: t.signingName,
        sha256: Sha256 as never,
        // S3 signs the path as sent (the SDK's S3 signer does the same).
        uriEscapePath: false,
        applyChecksum: false,
      });
      this.signers.set(key, s);
    }
    return s;
  }

  /** Sends a PUT; resolves with the answer's headers on 200, rejects with what failed otherwise. */
  async put(r: DirectRequest): Promise<http.IncomingHttpHeaders> {
    if (r.signal.aborted) throw abortError(r.signal);
    const url = new URL(r.target.origin);
    const path = objectPath(r.target, r.key);
    const headers: Record<string, string> = {
      ...r.headers,
      host: url.host,
      'content-length': String(r.length),
      'x-amz-content-sha256': r.length === 0 ? EMPTY_SHA256 : 'UNSIGNED-PAYLOAD',
    };
    if (r.length >= EXPECT_CONTINUE_FROM) headers.expect = '100-continue';
    const signed = (await this.signer(r.target).sign(
      { method: 'PUT', protocol: url.protocol, hostname: url.hostname, path, query: r.query, headers } as never,
      { signingDate: new Date(Date.now() + this.clockOffsetMs) },
    )) as unknown as { headers: Record<string, string> };
    // An abort while signing: a listener added now would never hear it.
    if (r.signal.aborted) throw abortError(r.signal);
    // Escaped as the SDK's query builder does (not URLSearchParams' form encoding, '+' for a space).
    const qs = Object.entries(r.query).map(([k, v]) => `${extendedEncode(k)}=${extendedEncode(v)}`).join('&');
    const isHttps = url.protocol === 'https:';
    const sentAt = Date.now();
    return new Promise((resolve, reject) => {
      const req = (isHttps ? https : http).request({
        method: 'PUT',
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || undefined,
        path: qs ? `${path}?${qs}` : path,
        headers: signed.headers,
        agent: isHttps ? this.httpsAgent : this.httpAgent,
      });
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        r.signal.removeEventListener('abort', onAbort);
        req.destroy();
        reject(err);
      };
      const onAbort = () => fail(abortError(r.signal));
      r.signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', fail);
      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(() => fail(Object.assign(new Error(`Socket timed out without establishing a connection within ${CONNECTION_TIMEOUT_MS} ms`), { name: 'TimeoutError' })), CONNECTION_TIMEOUT_MS);
        socket.once(isHttps ? 'secureConnect' : 'connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      req.setTimeout(this.conn.idleTimeoutMs, () => fail(Object.assign(new Error(`Connection timed out after ${this.conn.idleTimeoutMs} ms`), { name: 'TimeoutError' })));
      req.on('response', (res) => {
        const offset = clockOffsetFromAnswer(res.headers.date, res.headers.age, sentAt, Date.now());
        if (offset !== undefined) this.clockOffsetMs = offset;
        const status = res.statusCode ?? 0;
        if (status === 200) {
          res.resume();
          res.once('end', () => {
            if (settled) return;
            settled = true;
            r.signal.removeEventListener('abort', onAbort);
            resolve(res.headers);
          });
          res.once('error', fail);
          return;
        }
        const parts: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < MAX_ERROR_BODY) parts.push(c);
          size += c.length;
        });
        res.once('end', () => fail(parseS3Error(status, Buffer.concat(parts).toString('utf8'))));
        res.once('error', fail);
      });
      if (Buffer.isBuffer(r.body)) req.end(r.body);
      else r.body.pipe(req);
    });
  }

  destroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** One DirectS3 per connection's settings in a thread, so its sockets are reused. */
export class DirectCache extends SettingsCache<ConnectionSettings, DirectS3> {
  constructor() {
    super((c) => new DirectS3(c));
  }
}
