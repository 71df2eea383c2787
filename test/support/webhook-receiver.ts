// A webhook receiver for tests: records every POST it reads, and can be stopped, restarted on the
// same port, or told to read a request and then drop the connection without answering.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedHook {
  id: string;
  kind: string;
  attempt: number;
  body: Record<string, unknown> & { id: string; type: string; text: string };
  /** The body as it arrived, byte for byte (what the signature covers). */
  raw: string;
  /** X-Hoist-Timestamp and X-Hoist-Signature, when sent. */
  timestamp: string | undefined;
  signature: string | undefined;
}

/**
 * What a receiver does with the secret `hoist folders webhook-secret` shows (docs/webhooks.md),
 * written here from the documentation, not from Hoist's code: HMAC-SHA256 over
 * `<timestamp>.<raw body>`, compared in constant time with the hex after `sha256=`.
 */
export function verifySignature(secret: string, hook: Pick<ReceivedHook, 'raw' | 'timestamp' | 'signature'>): boolean {
  if (!hook.timestamp || !hook.signature?.startsWith('sha256=')) return false;
  const expected = crypto.createHmac('sha256', secret).update(`${hook.timestamp}.${hook.raw}`).digest();
  const given = Buffer.from(hook.signature.slice('sha256='.length), 'hex');
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

export class WebhookReceiver {
  readonly received: ReceivedHook[] = [];
  /** How many of the next requests are read and then dropped without an answer (a lost answer). */
  dropAnswers = 0;
  /** What it answers (a receiver that is down answers 503). */
  status = 204;
  private server: http.Server | null = null;
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/hoist`;
  }

  /** Unique event ids, in the order first received. */
  get ids(): string[] {
    return [...new Set(this.received.map((r) => r.id))];
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined);
        this.received.push({
          id: String(req.headers['x-hoist-event-id']),
          kind: String(req.headers['x-hoist-event']),
          attempt: Number(req.headers['x-hoist-delivery-attempt']),
          body: JSON.parse(raw),
          raw,
          timestamp: header('x-hoist-timestamp'),
          signature: header('x-hoist-signature'),
        });
        if (this.dropAnswers > 0) {
          this.dropAnswers--;
          req.socket.destroy();
          return;
        }
        res.writeHead(this.status).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
