// The headless host: the built renderer and the WebSocket bridge on 127.0.0.1 only, behind a
// random token (the protocol and the authentication are described in shared/bridge.ts).
import fs from 'node:fs';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { WebSocketServer } from 'ws';
import { BRIDGE_MAX_PAYLOAD, BRIDGE_PATH } from '../../../shared/bridge.js';
import type { HoistApi } from '../../../shared/contract.js';
import { rendererCsp, securityHeaders } from '../security-headers.js';
import { INDEX_FILE, contentTypeOf, resolveStaticFile } from '../static-files.js';
import { HostGuard, checkToken, newToken } from './auth.js';
import { serveBridge } from './bridge.js';
import { sendDownload, type HostDownloads } from './support-downloads.js';

export const HEADLESS_HOST_ADDRESS = '127.0.0.1';
const CLOSE_GRACE_MS = 1000;

export interface HeadlessHostOptions {
  api: HoistApi;
  /** The built renderer (index.html and its assets). */
  staticDir: string;
  /** 0 or absent: a free port chosen by the system. */
  port?: number;
  /** A fixed token (tests); by default 32 random bytes, new at every start. */
  token?: string;
  /** Files offered for download at these paths, behind the token (support-downloads.ts). */
  downloads?: HostDownloads;
}

export interface HeadlessHost {
  /** The address to open, token included. */
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

function sendText(res: http.ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Refuses an upgrade before any WebSocket exists: a plain HTTP answer, then the socket is closed. */
function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${reason.length}\r\n\r\n${reason}`);
  socket.destroy();
}

export async function startHeadlessHost(opts: HeadlessHostOptions): Promise<HeadlessHost> {
  const token = opts.token === undefined ? newToken() : checkToken(opts.token);
  let guard: HostGuard | null = null;
  let headers: Record<string, string> = {};
  const wss = new WebSocketServer({ noServer: true, maxPayload: BRIDGE_MAX_PAYLOAD, perMessageDeflate: false });
  wss.on('connection', (ws) => serveBridge(ws, opts.api));

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, g: HostGuard): Promise<void> => {
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    if (!g.isOurHost(req)) return sendText(res, 403, `This server answers only at ${g.origin}.`);
    const url = new URL(req.url ?? '/', g.origin);
    const how = g.authenticate(req, url);
    if (how === null) return sendText(res, 401, 'Open the address `hoist serve` printed: it carries the access token.');
    if (url.pathname === BRIDGE_PATH) return sendText(res, 426, 'The bridge speaks WebSocket.', { Upgrade: 'websocket' });
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'Only GET and HEAD.', { Allow: 'GET, HEAD' });
    if (how === 'query') {
      // The token moves into an HttpOnly cookie and out of the address bar and the history.
      url.searchParams.delete('token');
      res.writeHead(303, { Location: url.pathname + url.search, 'Set-Cookie': g.sessionCookie(), 'Cache-Control': 'no-store', 'Content-Length': 0 });
      return void res.end();
    }
    const download = opts.downloads !== undefined && Object.hasOwn(opts.downloads, url.pathname) ? opts.downloads[url.pathname]! : null;
    if (download) return sendDownload(res, req.method === 'HEAD', await download());
    const found = await resolveStaticFile(opts.staticDir, url.pathname);
    if (found.kind === 'forbidden') return sendText(res, 403, 'Forbidden.');
    if (found.kind === 'missing') {
      const isIndex = url.pathname === '/' || url.pathname === `/${INDEX_FILE}`;
      return sendText(res, isIndex ? 503 : 404, isIndex ? `The renderer is not built (no ${INDEX_FILE} in ${opts.staticDir}): run \`npm run build\`.` : 'Not found.');
    }
    const isHtml = found.path.endsWith('.html');
    res.writeHead(200, {
      'Content-Type': contentTypeOf(found.path),
      'Content-Length': found.size,
      // The page is never cached (it is the entry that needs the token); assets revalidate.
      'Cache-Control': isHtml ? 'no-store' : 'no-cache',
    });
    if (req.method === 'HEAD') return void res.end();
    await pipeline(fs.createReadStream(found.path), res);
  };

  const server = http.createServer((req, res) => {
    if (!guard) return sendText(res, 503, 'Starting.');
    handle(req, res, guard).catch(() => {
      if (!res.headersSent) sendText(res, 500, 'The file could not be read.');
      else res.destroy();
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const g = guard;
    if (!g) return refuseUpgrade(socket, 503, 'Service Unavailable');
    const url = new URL(req.url ?? '/', g.origin);
    if (url.pathname !== BRIDGE_PATH) return refuseUpgrade(socket, 404, 'Not Found');
    if (!g.isOurHost(req) || !g.isOurOrigin(req)) return refuseUpgrade(socket, 403, 'Forbidden');
    if (g.authenticate(req, url) === null) return refuseUpgrade(socket, 401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: opts.port ?? 0, host: HEADLESS_HOST_ADDRESS, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the host has no TCP address');
  const port = address.port;
  guard = new HostGuard(token, port);
  headers = securityHeaders(rendererCsp(["'self'", `ws://${HEADLESS_HOST_ADDRESS}:${port}`]));

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const clients = [...wss.clients];
      const goodbyes = clients.map((ws) => new Promise((resolve) => ws.once('close', resolve)));
      for (const ws of clients) ws.close(1001, 'Hoist is stopping');
      // A tab gets a moment to answer the close; one that does not is cut off.
      await Promise.race([Promise.all(goodbyes), new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref())]);
      for (const ws of clients) ws.terminate();
      wss.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    })();
    return closing;
  };

  return { url: `${guard.origin}/?token=${token}`, port, token, close };
}
