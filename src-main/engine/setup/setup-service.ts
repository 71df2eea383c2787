// A first run that works (issue 14): what the "Add a destination" screen asks of the host. What
// it may offer (setupInfo), "Test connection" on settings not yet saved (draft-test.ts), and "Use a
// local test server": the checkout's radosgw started under the app-data folder (local-server.ts),
// its bucket created, the destination added with the server's keys (local-credentials.ts). The
// server is the host's: stopped when the host stops, started again with the host while its
// destination exists.
import path from 'node:path';
import { HoistError } from '../../../shared/errors.js';
import { LOCAL_TEST_BUCKET, LOCAL_TEST_DESTINATION, type SetupInfo } from '../../../shared/setup.js';
import { destinationWithDefaults } from '../../../shared/destination-defaults.js';
import type { ConnectionCheck, Credentials, Destination, DestinationInput } from '../../../shared/types.js';
import type { Engine } from '../engine.js';
import { logger } from '../log.js';
import { createS3Client } from '../s3/client.js';
import { requireCjs } from '../cjs.js';
import { listProfiles } from '../s3/profiles.js';
import { toHoistError } from '../s3/errors.js';
import { testDraft } from './draft-test.js';
import { LocalServerRecord, LocalServerSecrets } from './local-credentials.js';
import { LocalTestServer, localServerScript, type LocalServerAccess } from './local-server.js';

// Required, not imported (cjs.ts, and remote/encryption-check.ts).
const { CreateBucketCommand } = requireCjs('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');

const log = logger('setup');

/** What the host tells the setup service: whether it keeps keys, and the local test server when it may offer one. */
export interface SetupOptions {
  /** Whether typed keys can be sealed now (the desktop app's keychain); absent: whether the host has a secret store. */
  canSeal?: () => boolean;
  /** The local test server and the wrapped secret store its destination's keys come from; absent: not offered. */
  localServer?: { server: LocalTestServer; record: LocalServerRecord; secrets: LocalServerSecrets };
}

export type SetupEngine = Pick<Engine, 'saveDestination'> & { readonly store: Pick<Engine['store'], 'getDestination' | 'listDestinations'> };

export const NOT_OFFERED = 'This Hoist does not offer a local test server: only a checkout of Hoist where `npm run setup` installed radosgw (scripts/s3-server.sh) does, never the installed app.';

/** The local server's data folder and record, beside the job database. */
export function localServerPaths(dbPath: string): { dataDir: string; record: string } {
  const dataDir = path.join(path.dirname(dbPath), 'local-s3');
  return { dataDir, record: path.join(dataDir, 'hoist-destination.json') };
}

/**
 * What a host wires in at start: its secret store wrapped so the local server's destination gets
 * the server's keys (give `credentials` to the engine's CredentialSource), and the setup options
 * for the API. `packaged`: the Electron app's app.isPackaged (the headless host: false).
 */
export function firstRunWiring(o: { dbPath: string; packaged: boolean; secrets?: SecretStoreLike & { canSeal?(): boolean }; root?: string; pathEnv?: string }): { secrets: LocalServerSecrets; setup: SetupOptions } {
  const paths = localServerPaths(o.dbPath);
  const record = new LocalServerRecord(paths.record);
  const secrets = new LocalServerSecrets(record, o.secrets);
  const script = localServerScript({ packaged: o.packaged, ...(o.root ? { root: o.root } : {}), ...(o.pathEnv !== undefined ? { pathEnv: o.pathEnv } : {}) });
  const inner = o.secrets;
  return {
    secrets,
    setup: {
      ...(inner?.canSeal ? { canSeal: () => inner.canSeal!() } : {}),
      ...(script ? { localServer: { server: new LocalTestServer(script, paths.dataDir), record, secrets } } : {}),
    },
  };
}

type SecretStoreLike = ConstructorParameters<typeof LocalServerSecrets>[1];

export class SetupService {
  private starting: Promise<LocalServerAccess> | null = null;

  constructor(
    private readonly engine: SetupEngine,
    private readonly opts: SetupOptions,
    private readonly keychain: boolean,
  ) {
    const local = opts.localServer;
    if (!local) return;
    local.secrets.attach((id) => engine.store.getDestination(id) ?? undefined);
    // Its destination is still there: the server comes up with the host, as it went down with it.
    const entry = local.record.read();
    const dest = entry ? engine.store.getDestination(entry.destinationId) : undefined;
    if (entry && dest?.endpoint === entry.endpoint) {
      this.start().catch((err: unknown) => log.warn(`the local test server did not start: ${(err as Error)?.message ?? String(err)}`));
    }
  }

  async info(): Promise<SetupInfo> {
    return { localTestServer: this.opts.localServer !== undefined, keychain: this.keychain && (this.opts.canSeal?.() ?? true), profiles: await listProfiles() };
  }

  testDraft(input: DestinationInput, credentials?: Credentials): Promise<ConnectionCheck[]> {
    return testDraft(input, credentials);
  }

  /** Starts the server (or finds it running), makes sure of its bucket, and adds (or returns) its destination. */
  async useLocalTestServer(): Promise<Destination> {
    const local = this.opts.localServer;
    if (!local) throw new HoistError('config.invalid', { message: NOT_OFFERED });
    const access = await this.start();
    await this.createBucket(access);
    const entry = local.record.read();
    const existing = entry ? this.engine.store.getDestination(entry.destinationId) : undefined;
    if (existing && existing.endpoint === access.endpoint) return existing;
    const taken = new Set(this.engine.store.listDestinations().map((d) => d.name));
    let name = LOCAL_TEST_DESTINATION;
    for (let n = 2; taken.has(name); n++) name = `${LOCAL_TEST_DESTINATION} ${n}`;
    const dest = this.engine.saveDestination(destinationWithDefaults({ name, endpoint: access.endpoint, region: access.region, bucket: LOCAL_TEST_BUCKET, pathStyle: true }));
    local.record.write({ destinationId: dest.id, endpoint: access.endpoint, accessKeyId: access.accessKeyId, secretAccessKey: access.secretAccessKey });
    return dest;
  }

  /** Stops the server if this host started it (the host is stopping). */
  dispose(): void {
    this.opts.localServer?.server.down();
  }

  private start(): Promise<LocalServerAccess> {
    const local = this.opts.localServer!;
    this.starting ??= local.server.up().catch((err: unknown) => {
      this.starting = null;
      throw err;
    });
    return this.starting;
  }

  private async createBucket(access: LocalServerAccess): Promise<void> {
    const s3 = createS3Client({
      endpoint: access.endpoint,
      region: access.region,
      pathStyle: true,
      credentials: { accessKeyId: access.accessKeyId, secretAccessKey: access.secretAccessKey },
      caBundle: null,
      idleTimeoutMs: 30_000,
      maxAttempts: 3,
      maxSockets: 2,
      clockOffsetMs: 0,
    });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: LOCAL_TEST_BUCKET }));
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw toHoistError(err, 'CreateBucket');
    } finally {
      s3.destroy();
    }
  }
}
