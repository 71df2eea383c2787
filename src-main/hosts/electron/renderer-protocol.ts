// The renderer is served from a private scheme, hoist://app/, not file://: a file:// page may read
// other local files, and response headers (the CSP) cannot be set on file:// loads. Here every
// answer carries the CSP, and paths are confined to the built renderer (hosts/static-files.ts).
import fs from 'node:fs';
import { protocol, type Session } from 'electron';
import { rendererCsp, securityHeaders } from '../security-headers.js';
import { INDEX_FILE, contentTypeOf, resolveStaticFile } from '../static-files.js';

const SCHEME = 'hoist';
const HOST = 'app';
export const RENDERER_ORIGIN = `${SCHEME}://${HOST}`;
export const RENDERER_ENTRY = `${RENDERER_ORIGIN}/${INDEX_FILE}`;

/** Must run before the app is ready: a standard, secure scheme gets an origin of its own. */
export function registerRendererScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
}

export function isRendererUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${SCHEME}:` && u.host === HOST;
  } catch {
    return false;
  }
}

export function serveRenderer(session: Session, rendererDir: string): void {
  // The window talks to the engine over IPC only: no network at all from the page.
  const headers = securityHeaders(rendererCsp(["'self'"]));
  const answer = (status: number, text: string) => new Response(text, { status, headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8' } });
  session.protocol.handle(SCHEME, async (request) => {
    const url = new URL(request.url);
    if (url.host !== HOST) return answer(404, 'Not found.');
    if (request.method !== 'GET') return answer(405, 'Only GET.');
    const found = await resolveStaticFile(rendererDir, url.pathname);
    if (found.kind === 'forbidden') return answer(403, 'Forbidden.');
    if (found.kind === 'missing') return answer(404, 'Not found.');
    const body = await fs.promises.readFile(found.path);
    return new Response(body, { status: 200, headers: { ...headers, 'Content-Type': contentTypeOf(found.path), 'Cache-Control': 'no-store' } });
  });
}
