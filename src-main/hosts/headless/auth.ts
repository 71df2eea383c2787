// Who may talk to the headless host: requests that reach it as http://127.0.0.1:PORT (not through
// another host name, which is what DNS rebinding looks like) and carry the token, first in the URL
// `hoist serve` prints, then in an HttpOnly SameSite=Strict cookie; bridge upgrades must also come
// from the host's own Origin.
import crypto from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HoistError } from '../../../shared/errors.js';

const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{32,256}$/;

export function newToken(): string {
  return crypto.randomBytes(TOKEN_BYTES).toString('base64url');
}

export function checkToken(token: string): string {
  if (!TOKEN_PATTERN.test(token)) throw new HoistError('config.invalid', { message: 'The token must be 32 to 256 characters of A-Z, a-z, 0-9, "-" and "_".' });
  return token;
}

/** Compares in constant time (both sides hashed first, so their lengths leak nothing either). */
function sameSecret(presented: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(presented).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return null;
}

export class HostGuard {
  readonly origin: string;
  private readonly hostHeader: string;
  /** Cookies do not separate ports: the port in the name keeps two hosts on one machine apart. */
  readonly cookieName: string;

  constructor(
    private readonly token: string,
    readonly port: number,
  ) {
    this.hostHeader = `127.0.0.1:${port}`;
    this.origin = `http://${this.hostHeader}`;
    this.cookieName = `hoist_token_${port}`;
  }

  isOurHost(req: IncomingMessage): boolean {
    return req.headers.host === this.hostHeader;
  }

  isOurOrigin(req: IncomingMessage): boolean {
    return req.headers.origin === this.origin;
  }

  /** How the request proved it holds the token, or null when it did not. */
  authenticate(req: IncomingMessage, url: URL): 'query' | 'cookie' | null {
    const fromQuery = url.searchParams.get('token');
    if (fromQuery !== null && sameSecret(fromQuery, this.token)) return 'query';
    const fromCookie = cookieValue(req.headers.cookie, this.cookieName);
    if (fromCookie !== null && sameSecret(fromCookie, this.token)) return 'cookie';
    return null;
  }

  sessionCookie(): string {
    return `${this.cookieName}=${this.token}; HttpOnly; SameSite=Strict; Path=/`;
  }
}
