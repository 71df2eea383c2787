import http from 'node:http';
import https from 'node:https';
import type { S3Client as S3ClientType } from '@aws-sdk/client-s3';
import { requireCjs } from '../cjs.js';
import { readCaBundle } from './ca-bundle.js';
import { SettingsCache } from './settings-cache.js';

// Through require: this module runs in every part worker thread (cjs.ts).
const { S3Client } = requireCjs('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
const { NodeHttpHandler } = requireCjs('@smithy/node-http-handler') as typeof import('@smithy/node-http-handler');
type S3Client = S3ClientType;

/** Static credentials, resolved in the main thread and handed to workers. */
export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Epoch ms; refreshed in the main thread before it passes. */
  expiration?: number;
}

/** Everything a thread needs to build a client: plain data, so it crosses postMessage. */
export interface ConnectionSettings {
  endpoint: string | null;
  region: string;
  pathStyle: boolean;
  credentials: StaticCredentials;
  /** PEM bundle path (AWS_CA_BUNDLE or the profile's ca_bundle); replaces the default roots, as the AWS CLI does. */
  caBundle: string | null;
  /** A request that sends or receives nothing for this long is dropped (a stall). */
  idleTimeoutMs: number;
  /** SDK attempts per request; the part workers use 1 because the scheduler retries. */
  maxAttempts: number;
  maxSockets: number;
  /** The server's clock minus ours (s3/clock.ts): requests are signed with the server's time. */
  clockOffsetMs: number;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/**
 * The SDK's default logger is the console, which prints "An error was encountered in a
 * non-retryable streaming request." for every failed part; Hoist reports each failure itself. No
 * `info`: the SDK's logger middleware calls `logger.info?.(…)` after every request with the input and
 * output copied through their sensitive-field filters, arguments it does not evaluate when `info` is
 * absent (its filter alone was 0.06 ms a request in the small-file profile, docs/small-files.md).
 */
const QUIET_LOGGER = { trace() {}, debug() {}, warn() {}, error() {} } as unknown as { trace(): void; debug(): void; info(): void; warn(): void; error(): void };

export function createS3Client(c: ConnectionSettings): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: c.maxSockets };
  return new S3Client({
    region: c.region,
    ...(c.endpoint ? { endpoint: c.endpoint } : {}),
    forcePathStyle: c.pathStyle,
    credentials: {
      accessKeyId: c.credentials.accessKeyId,
      secretAccessKey: c.credentials.secretAccessKey,
      ...(c.credentials.sessionToken ? { sessionToken: c.credentials.sessionToken } : {}),
    },
    maxAttempts: c.maxAttempts,
    systemClockOffset: c.clockOffsetMs,
    logger: QUIET_LOGGER,
    // Hoist computes and sends its own checksums; the SDK's aws-chunked trailers break several S3-compatible servers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({
      httpAgent: new http.Agent(agentOptions),
      httpsAgent: new https.Agent({ ...agentOptions, ...(c.caBundle ? { ca: readCaBundle(c.caBundle) } : {}) }),
      connectionTimeout: 10_000,
      // An idle timeout: requestTimeout is a whole-request timer that only logs a warning in @smithy/node-http-handler 4.
      socketTimeout: c.idleTimeoutMs,
    }),
  });
}

/** A small cache so threads reuse one client (and its sockets) per connection. */
export class ClientCache extends SettingsCache<ConnectionSettings, S3Client> {
  constructor() {
    super(createS3Client);
  }
}
