// Connections to each destination: settings signed with the server's clock as its answers showed
// it (s3/clock.ts), the control-plane clients, and the credentials each destination's requests were
// last signed with (to tell an expired token from a denial).
import type { S3Client } from '@aws-sdk/client-s3';
import type { Destination } from '../../../shared/types.js';
import { ClientCache, type ConnectionSettings, type StaticCredentials } from '../s3/client.js';
import { CLOCK_SKEW_NOTICE_MS, ServerClocks, describeSkew, observedClockOffset } from '../s3/clock.js';
import { connectionFor, type CredentialSource } from '../s3/connection.js';
import type { ObjectTarget } from '../s3/object-target.js';
import { TargetCache } from '../s3/target-resolver.js';
import type { UploadStore } from '../store/upload-store.js';
import type { ActiveJob } from './active-job.js';

export class Connections {
  private readonly clients = new ClientCache();
  private readonly targets = new TargetCache();
  /** The credentials each destination's requests were last signed with. */
  readonly signedWith = new Map<number, StaticCredentials>();
  /** Each endpoint's clock as its answers showed it; every request is signed with it. */
  readonly clocks = new ServerClocks();

  constructor(
    private readonly credentials: CredentialSource,
    private readonly store: Pick<UploadStore, 'addEvent'>,
    private readonly opts: { caBundle?: string | null; idleTimeoutMs?: number },
  ) {}

  async conn(dest: Destination, maxAttempts = 3): Promise<ConnectionSettings> {
    const conn = await connectionFor(dest, this.credentials, {
      maxAttempts,
      clockOffsetMs: this.clocks.offsetFor(dest),
      ...(this.opts.caBundle !== undefined ? { caBundle: this.opts.caBundle } : {}),
      ...(this.opts.idleTimeoutMs ? { idleTimeoutMs: this.opts.idleTimeoutMs } : {}),
    });
    this.signedWith.set(dest.id, conn.credentials);
    return conn;
  }

  async client(dest: Destination): Promise<S3Client> {
    return this.clients.get(await this.conn(dest));
  }

  /** Where the part workers send a bucket's objects, and signed for what, as the SDK decides it for these settings. */
  target(conn: ConnectionSettings, bucket: string): Promise<ObjectTarget> {
    return this.targets.get(conn, bucket, async () => this.clients.get(conn));
  }

  clear(): void {
    this.clients.clear();
  }

  /** A control-plane client's answers may have shown the server's clock to be elsewhere. */
  observeClock(a: ActiveJob, client: S3Client): void {
    this.learnClock(a, observedClockOffset(client));
  }

  /** True when the server's clock is now known to differ from the one a refused request was signed with. */
  clockCorrected(a: ActiveJob, observed: number | undefined, signedWith: number): boolean {
    this.learnClock(a, observed);
    return Math.abs(this.clocks.offsetFor(a.dest) - signedWith) >= CLOCK_SKEW_NOTICE_MS;
  }

  /** Takes an offset an answer showed; one that moves the destination's clock is told in the job's history. */
  private learnClock(a: ActiveJob, observed: number | undefined): void {
    const learned = this.clocks.learn(a.dest, observed);
    if (learned === null) return;
    this.store.addEvent(
      a.job.id,
      'clock-corrected',
      `This computer's clock is ${describeSkew(learned)} the server's, which refuses requests signed far from its own time. Hoist signs with the server's time from now on; set the system clock right (NTP) when you can.`,
      { code: 'auth.clock-skew' },
    );
  }
}
