// Test-only reverse proxy between an S3 client and a real S3 server: counts operations, injects faults,
// and (to play a behaviour of Amazon S3 that the local server lacks) answers requests itself or rewrites answers.
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { endToEndRawHeaders, readRequest, readRewritten, s3ErrorXml, sendAnswer, type ProxyAnswer, type ProxyRequestView, type RewriteRule } from './proxy-answers.js';
import { forwardHeld } from './proxy-held.js';
import { TokenBucket } from './proxy-throttle.js';
import { S3_OPERATIONS, classifyS3Request, splitUrl, type S3Operation } from './s3-operations.js';

export { s3ErrorXml } from './proxy-answers.js';
export type { ProxyAnswer, ProxyRequestView, ProxyResponseView, RewriteRule } from './proxy-answers.js';
export { S3_OPERATIONS, classifyS3Request, type S3Operation } from './s3-operations.js';

export type FaultAction =
  | { kind: 'status'; status: number; code: string; message?: string }
  | { kind: 'reset'; afterBytes?: number }
  | { kind: 'stall'; ms: number }
  /** The proxy answers by itself (playing a server behaviour); nothing reaches the server unless `answer` sends it. */
  | { kind: 'respond'; answer(req: ProxyRequestView): ProxyAnswer | Promise<ProxyAnswer> }
  /** The whole body taken from the client, then sent upstream `ms` later even if the client left (proxy-held.ts). */
  | { kind: 'delay'; ms: number };

export interface FaultRule {
  operation?: S3Operation | S3Operation[];
  /** 0..1, default 1 */
  probability?: number;
  /** max times the rule fires, default Infinity */
  times?: number;
  /** Checked before the rules added earlier (rules are otherwise tried in the order they were added). */
  first?: boolean;
  /** Only requests this holds for (their path, query, conditional headers). */
  when?: (r: ProxiedRequest) => boolean;
  action: FaultAction;
}

export interface ProxiedRequest {
  operation: S3Operation;
  method: string;
  path: string;
  query: string;
  /** status sent to the client; undefined if the exchange was reset/aborted before a response */
  status?: number;
  /** request body bytes accepted from the client (forwarded upstream, or drained for a status fault) */
  requestBytes: number;
  /** description of the fault applied, e.g. 'status 503 SlowDown', 'reset after 0 bytes', 'stall 200ms' */
  faulted?: string;
  /** Date.now() when the request arrived at the proxy */
  at: number;
  /** The request's headers as the client sent them. */
  headers: IncomingHttpHeaders;
  /** The body of a CompleteMultipartUpload (the part list it sent), as text. */
  requestBody?: string;
  /** Its place in one order of arrivals and answers: when it arrived, and when its status was known (even with the client gone). */
  seq: number;
  answeredSeq?: number;
  /** The client left before its body was whole (a `delay` then sends nothing upstream). */
  incomplete?: boolean;
}

export interface S3Proxy {
  url: string;
  port: number;
  counts(): Record<S3Operation, number>;
  requests(): ProxiedRequest[];
  uploadPartNumbers(): number[];
  readonly bytesPerSecond?: number;
  /** Throttles request bodies: shared by all requests, or with `perRequest` each request gets the rate (a link per connection). */
  setBandwidth(bytesPerSecond: number | null, opts?: { perRequest?: boolean }): void;
  /** Request-body bytes passed upstream so far, over all requests (since the last reset). */
  bytesForwarded(): number;
  /** TCP connections clients opened to the proxy since it started (or since reset): keep-alive shows as few. */
  connectionsAccepted(): number;
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  /** Rewrites the server's answers to the rule's operations (every rule that matches, in order). */
  addRewrite(rule: RewriteRule): void;
  clearRewrites(): void;
  reset(): void;
  close(): Promise<void>;
}

// RST rather than FIN so the client sees ECONNRESET/EPIPE, like a dropped connection.
function hardReset(socket: Socket | null | undefined): void {
  if (!socket || socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

interface ActiveRule {
  ops: S3Operation[] | null;
  probability: number;
  remaining: number;
  when?: (r: ProxiedRequest) => boolean;
  action: FaultAction;
}

function describeAction(action: FaultAction): string {
  switch (action.kind) {
    case 'status':
      return `status ${action.status} ${action.code}`;
    case 'reset':
      return `reset after ${action.afterBytes ?? 0} bytes`;
    case 'stall':
      return `stall ${action.ms}ms`;
    case 'respond':
      return 'answered by the proxy';
    case 'delay':
      return `delay ${action.ms}ms`;
  }
}

function validate(rule: FaultRule): void {
  const p = rule.probability ?? 1;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`probability must be in [0,1], got ${p}`);
  const t = rule.times ?? Infinity;
  if (!(t >= 0)) throw new RangeError(`times must be >= 0, got ${t}`);
  const a = rule.action;
  if (a.kind === 'status' && !(Number.isInteger(a.status) && a.status >= 200 && a.status <= 599)) {
    throw new RangeError(`bad status ${a.status}`);
  }
  if (a.kind === 'reset' && !((a.afterBytes ?? 0) >= 0)) throw new RangeError(`bad afterBytes ${a.afterBytes}`);
  if ((a.kind === 'stall' || a.kind === 'delay') && !(a.ms >= 0)) throw new RangeError(`bad ${a.kind} ms ${a.ms}`);
}

function emptyCounts(): Record<S3Operation, number> {
  return Object.fromEntries(S3_OPERATIONS.map((op) => [op, 0])) as Record<S3Operation, number>;
}

export function startS3Proxy(target: string, opts: { port?: number; host?: string } = {}): Promise<S3Proxy> {
  const upstream = new URL(target);
  if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:') {
    return Promise.reject(new Error(`unsupported target protocol ${upstream.protocol}`));
  }
  const isTls = upstream.protocol === 'https:';
  const upstreamHost = upstream.hostname.replace(/^\[(.*)\]$/, '$1');
  const upstreamPort = Number(upstream.port || (isTls ? 443 : 80));
  const agent = isTls ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const requestFn = isTls ? https.request : http.request;

  const bucket = new TokenBucket();
  /** Set when each request is throttled on its own (setBandwidth with perRequest). */
  let perRequestRate: number | null = null;
  let forwarded = 0;
  let faults: ActiveRule[] = [];
  let rewrites: Array<{ ops: S3Operation[] | null; rule: RewriteRule }> = [];
  let counts = emptyCounts();
  let log: ProxiedRequest[] = [];
  let parts: number[] = [];
  let generation = 0;
  let seq = 0;
  const stallTimers = new Set<NodeJS.Timeout>();

  /** Its status is known: recorded, with its place in the order of events. */
  function answered(rec: ProxiedRequest, status: number, gen = -1): number {
    rec.status = status;
    rec.answeredSeq = ++seq;
    if (rec.operation === 'UploadPart' && status === 200 && gen === generation) parts.push(Number(new URLSearchParams(rec.query).get('partNumber')));
    return status;
  }

  function pickFault(op: S3Operation, rec: ProxiedRequest): FaultAction | undefined {
    for (const f of faults) {
      if (f.remaining <= 0) continue;
      if (f.ops && !f.ops.includes(op)) continue;
      if (f.when && !f.when(rec)) continue;
      if (Math.random() >= f.probability) continue;
      f.remaining--;
      return f.action;
    }
    return undefined;
  }

  function answerWithError(req: IncomingMessage, res: ServerResponse, rec: ProxiedRequest, action: Extract<FaultAction, { kind: 'status' }>, expectContinue: boolean): void {
    const send = (close: boolean) => {
      if (res.headersSent || res.destroyed) return;
      const body = s3ErrorXml(action.code, action.message);
      const headers: http.OutgoingHttpHeaders = {
        'content-type': 'application/xml',
        'content-length': Buffer.byteLength(body),
        'x-amz-request-id': 'proxy',
      };
      // The body was never sent/read, so the connection can't be reused.
      if (close) headers.connection = 'close';
      answered(rec, action.status);
      res.writeHead(action.status, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (expectContinue) {
      // Final status without 100 Continue: the client skips the body (RFC 9110 §10.1.1).
      send(true);
      return;
    }
    // Drain the body first so the client sees the response instead of EPIPE.
    req.on('data', (chunk: Buffer) => {
      rec.requestBytes += chunk.length;
    });
    req.on('end', () => send(false));
    req.resume();
  }

  /** The client's request to the server, with these headers (the client's Host among them, which SigV4 signed). */
  const upstreamRequest = (req: IncomingMessage, headers: string[]) => requestFn({ host: upstreamHost, port: upstreamPort, method: req.method, path: req.url, headers, agent, setHost: false });

  function forward(req: IncomingMessage, res: ServerResponse, rec: ProxiedRequest, gen: number, expectContinue: boolean, resetAfter?: number): void {
    const upReq = upstreamRequest(req, endToEndRawHeaders(req.rawHeaders));
    let tripped = false;

    const trip = () => {
      if (tripped) return;
      tripped = true;
      hardReset(upReq.socket);
      upReq.destroy();
      hardReset(req.socket);
    };

    // Upstream failure: the client's connection can't carry a sensible answer any more.
    upReq.on('error', () => {
      if (!tripped) req.socket.destroy();
    });
    // Client went away (or reset fired): stop the upstream exchange.
    res.on('close', () => {
      if (!res.writableFinished) upReq.destroy();
    });
    if (expectContinue) upReq.on('continue', () => res.writeContinue());

    upReq.on('response', (upRes) => {
      upRes.on('error', () => req.socket.destroy());
      if (tripped) {
        upRes.destroy();
        return;
      }
      const status = answered(rec, upRes.statusCode ?? 502, gen);
      const rules = rewrites.filter((r) => !r.ops || r.ops.includes(rec.operation));
      if (rules.length > 0) {
        void readRewritten(upRes, rec, rules.map((r) => r.rule)).then(
          (answer) => answered(rec, sendAnswer(req, res, answer)),
          () => req.socket.destroy(),
        );
        return;
      }
      const headers = endToEndRawHeaders(upRes.rawHeaders);
      // Early answer before the whole body arrived: the client connection can't be reused.
      if (!req.complete) headers.push('Connection', 'close');
      res.writeHead(status, upRes.statusMessage, headers);
      upRes.pipe(res);
      upRes.on('close', () => {
        if (!upRes.complete) req.socket.destroy();
      });
    });

    void pumpBody(req, upReq, rec, resetAfter, trip).catch(() => {
      // Client aborted mid-body or upstream died; tear down the upstream side.
      upReq.destroy();
    });
  }

  /** A `respond` rule: the whole request read, then the rule's answer (a 500 InternalError if it throws). */
  function answerItself(req: IncomingMessage, res: ServerResponse, rec: ProxiedRequest, action: Extract<FaultAction, { kind: 'respond' }>, expectContinue: boolean): void {
    if (expectContinue) res.writeContinue();
    void readRequest(req, (n) => (rec.requestBytes += n))
      .then(async (body) => action.answer({ operation: rec.operation, method: rec.method, path: rec.path, query: rec.query, headers: req.headers, body }))
      .catch((err: unknown): ProxyAnswer => ({ status: 500, headers: { 'content-type': 'application/xml' }, body: s3ErrorXml('InternalError', String(err)) }))
      .then((answer) => answered(rec, sendAnswer(req, res, answer)));
  }

  // Stream the request body upstream chunk by chunk, with throttling, counting and the reset trip-wire.
  async function pumpBody(req: IncomingMessage, upReq: http.ClientRequest, rec: ProxiedRequest, resetAfter: number | undefined, trip: () => void): Promise<void> {
    const throttle = perRequestRate === null ? bucket : new TokenBucket();
    if (perRequestRate !== null && throttle !== bucket) throttle.set(perRequestRate);
    if (resetAfter !== undefined) upReq.flushHeaders();
    for await (const chunk of req as AsyncIterable<Buffer>) {
      if (rec.operation === 'CompleteMultipartUpload') rec.requestBody = (rec.requestBody ?? '') + chunk.toString('utf8');
      let buf = chunk;
      let tripNow = false;
      if (resetAfter !== undefined && rec.requestBytes + buf.length >= resetAfter) {
        buf = buf.subarray(0, resetAfter - rec.requestBytes);
        tripNow = true;
      }
      while (buf.length > 0) {
        const n = Math.min(buf.length, throttle.sliceSize());
        await throttle.take(n);
        if (upReq.destroyed) throw new Error('upstream gone');
        const slice = buf.subarray(0, n);
        buf = buf.subarray(n);
        if (tripNow && buf.length === 0) await writeFlushed(upReq, slice);
        else if (!upReq.write(slice)) await drainOrClose(upReq);
        rec.requestBytes += n;
        forwarded += n;
      }
      if (tripNow) {
        trip();
        return;
      }
    }
    // Body shorter than afterBytes: reset once all of it has passed, before any response.
    if (resetAfter !== undefined) {
      trip();
      return;
    }
    upReq.end();
  }

  function writeFlushed(upReq: http.ClientRequest, data: Buffer): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        upReq.off('close', done);
        resolve();
      };
      upReq.once('close', done);
      upReq.write(data, () => done());
    });
  }

  function drainOrClose(upReq: http.ClientRequest): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        upReq.off('drain', done);
        upReq.off('close', done);
        resolve();
      };
      upReq.once('drain', done);
      upReq.once('close', done);
    });
  }

  function handle(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void {
    // Never let a stray stream error crash the test process.
    req.on('error', () => {});
    res.on('error', () => {});

    const method = req.method ?? 'GET';
    const operation = classifyS3Request(method, req.url ?? '/', req.headers);
    const { path, query } = splitUrl(req.url ?? '/');
    counts[operation]++;
    const rec: ProxiedRequest = { operation, method, path, query, requestBytes: 0, at: Date.now(), seq: ++seq, headers: { ...req.headers } };
    log.push(rec);
    const gen = generation;

    const action = pickFault(operation, rec);
    if (action) rec.faulted = describeAction(action);

    if (!action) return forward(req, res, rec, gen, expectContinue);
    switch (action.kind) {
      case 'status':
        return answerWithError(req, res, rec, action, expectContinue);
      case 'respond':
        return answerItself(req, res, rec, action, expectContinue);
      case 'delay':
        return forwardHeld({ req, res, rec, expectContinue, timers: stallTimers, answered: (status) => answered(rec, status, gen), forwarded: (n) => (forwarded += n) }, action.ms, (headers) => upstreamRequest(req, headers));
      case 'reset': {
        const after = action.afterBytes ?? 0;
        if (after <= 0) return hardReset(req.socket);
        return forward(req, res, rec, gen, expectContinue, after);
      }
      case 'stall': {
        const timer = setTimeout(() => {
          stallTimers.delete(timer);
          if (!res.destroyed) forward(req, res, rec, gen, expectContinue);
        }, action.ms);
        stallTimers.add(timer);
        res.on('close', () => {
          clearTimeout(timer);
          stallTimers.delete(timer);
        });
        return;
      }
    }
  }

  const server = http.createServer({ keepAlive: true });
  server.on('request', (req, res) => handle(req, res, false));
  // Handle Expect: 100-continue ourselves so 100 is relayed from upstream (or withheld for a fault).
  server.on('checkContinue', (req, res) => handle(req, res, true));
  server.on('clientError', (_err, socket) => socket.destroy());
  let accepted = 0;
  server.on('connection', () => void accepted++);

  const proxy: S3Proxy = {
    url: '',
    port: 0,
    counts: () => ({ ...counts }),
    requests: () => log.map((r) => ({ ...r })),
    uploadPartNumbers: () => [...parts],
    get bytesPerSecond() {
      return perRequestRate ?? bucket.rate ?? undefined;
    },
    setBandwidth: (bps, opts = {}) => {
      perRequestRate = opts.perRequest && bps !== null ? bps : null;
      bucket.set(opts.perRequest ? null : bps);
    },
    bytesForwarded: () => forwarded,
    connectionsAccepted: () => accepted,
    addFault(rule) {
      validate(rule);
      const ops = rule.operation === undefined ? null : Array.isArray(rule.operation) ? [...rule.operation] : [rule.operation];
      const active: ActiveRule = { ops, probability: rule.probability ?? 1, remaining: rule.times ?? Infinity, ...(rule.when ? { when: rule.when } : {}), action: rule.action };
      if (rule.first) faults.unshift(active);
      else faults.push(active);
    },
    clearFaults() {
      faults = [];
    },
    addRewrite(rule) {
      const ops = rule.operation === undefined ? null : Array.isArray(rule.operation) ? [...rule.operation] : [rule.operation];
      rewrites.push({ ops, rule });
    },
    clearRewrites() {
      rewrites = [];
    },
    reset() {
      generation++;
      forwarded = 0;
      accepted = 0;
      counts = emptyCounts();
      log = [];
      parts = [];
    },
    close() {
      bucket.closed = true;
      for (const t of stallTimers) clearTimeout(t);
      stallTimers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      });
    },
  };

  const host = opts.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      proxy.port = port;
      proxy.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      resolve(proxy);
    });
  });
}
