import { requireCjs } from '../cjs.js';
import { HoistError } from '../../../shared/errors.js';
import type { Destination } from '../../../shared/types.js';
import type { SecretStore } from '../secrets.js';
import { DEFAULT_IDLE_TIMEOUT_MS, type ConnectionSettings, type StaticCredentials } from './client.js';
import { toHoistError } from './errors.js';

// Through require, not import (cjs.ts).
const { fromNodeProviderChain } = requireCjs('@aws-sdk/credential-providers') as typeof import('@aws-sdk/credential-providers');
const { loadSharedConfigFiles } = requireCjs('@smithy/shared-ini-file-loader') as typeof import('@smithy/shared-ini-file-loader');

/** What the AWS tools read from the environment and ~/.aws for one profile. */
export interface AwsSettings {
  profile: string | null;
  region: string;
  endpoint: string | null;
  caBundle: string | null;
  pathStyle: boolean;
}

type Section = Record<string, string | undefined>;

/** Reads region, endpoint, CA bundle and addressing style the way the AWS CLI does. */
export async function resolveAwsSettings(
  opts: { profile?: string | null; region?: string | null; endpoint?: string | null; pathStyle?: boolean } = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<AwsSettings> {
  const profileName = opts.profile ?? env.AWS_PROFILE ?? null;
  let section: Section = {};
  const s3Section: Section = {};
  try {
    const files = await loadSharedConfigFiles();
    const name = profileName ?? 'default';
    section = { ...(files.credentialsFile?.[name] ?? {}), ...(files.configFile?.[name] ?? {}) } as Section;
    // `s3 =` sub-sections arrive flattened as "s3.key" by the smithy loader.
    for (const [k, v] of Object.entries(section)) if (k.startsWith('s3.')) s3Section[k.slice(3)] = v;
    const services = section.services ? (files.configFile?.[`services ${section.services}`] as Section | undefined) : undefined;
    if (services?.['s3.endpoint_url']) s3Section.endpoint_url = services['s3.endpoint_url'];
  } catch {
    // No ~/.aws files is normal.
  }
  const endpoint = opts.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL ?? s3Section.endpoint_url ?? section.endpoint_url ?? null;
  if (endpoint !== null) validateEndpoint(endpoint);
  return {
    profile: profileName,
    region: opts.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? section.region ?? 'us-east-1',
    endpoint,
    caBundle: env.AWS_CA_BUNDLE || section.ca_bundle || null,
    pathStyle: opts.pathStyle ?? s3Section.addressing_style === 'path',
  };
}

/** Whether ~/.aws/config or ~/.aws/credentials (or the files AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE name) define this profile. */
export async function profileExists(name: string): Promise<boolean> {
  try {
    const files = await loadSharedConfigFiles();
    return Boolean(files.configFile?.[name] ?? files.credentialsFile?.[name]);
  } catch {
    return false;
  }
}

export function validateEndpoint(endpoint: string): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new HoistError('config.invalid', { message: `The endpoint "${endpoint}" is not a URL (example: https://s3.example.com).` });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HoistError('config.invalid', { message: `The endpoint "${endpoint}" must start with http:// or https://.` });
  }
}

const REFRESH_MARGIN_MS = 5 * 60_000;

/** Resolves credentials through the standard chain (env, profile, SSO, IMDS, …) and keeps them fresh. */
export class CredentialSource {
  private readonly providers = new Map<string, () => Promise<StaticCredentials>>();
  private readonly cached = new Map<string, StaticCredentials>();

  /** `secrets`: credentials a host saved per destination, consulted before the standard chain. */
  constructor(private readonly secrets?: SecretStore) {}

  /**
   * The destination's saved credentials when the host keeps some, else its profile's chain. A
   * destination whose credentials a host sealed is never sent with other credentials instead:
   * without that host's keychain it is refused (`auth.credentials-sealed`).
   */
  async forDestination(dest: Pick<Destination, 'id' | 'profile' | 'credentials'>): Promise<StaticCredentials> {
    const saved = await this.secrets?.get(dest.id);
    if (saved) return { accessKeyId: saved.accessKeyId, secretAccessKey: saved.secretAccessKey, ...(saved.sessionToken ? { sessionToken: saved.sessionToken } : {}) };
    if (dest.credentials === 'saved') {
      if (!this.secrets) throw new HoistError('auth.credentials-sealed');
      throw new HoistError('auth.no-credentials', { message: "This destination's saved credentials are missing from the keychain store. Save them again in the destination's settings." });
    }
    return this.get(dest.profile);
  }

  async get(profile: string | null): Promise<StaticCredentials> {
    const key = profile ?? '';
    const hit = this.cached.get(key);
    if (hit && (hit.expiration === undefined || hit.expiration - Date.now() > REFRESH_MARGIN_MS)) return hit;
    let provider = this.providers.get(key);
    if (!provider) {
      const chain = fromNodeProviderChain(profile ? { profile } : {});
      provider = async () => {
        const c = await chain({ forceRefresh: true } as never);
        return {
          accessKeyId: c.accessKeyId,
          secretAccessKey: c.secretAccessKey,
          ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
          ...(c.expiration ? { expiration: c.expiration.getTime() } : {}),
        };
      };
      this.providers.set(key, provider);
    }
    try {
      const creds = await provider();
      this.cached.set(key, creds);
      return creds;
    } catch (err) {
      const e = err as { name?: string; message?: string };
      if (e.name === 'CredentialsProviderError') throw new HoistError('auth.no-credentials', { detail: e.message });
      throw toHoistError(err, 'ResolveCredentials');
    }
  }
}

export interface ConnectionOptions {
  idleTimeoutMs?: number;
  maxAttempts?: number;
  maxSockets?: number;
  caBundle?: string | null;
  clockOffsetMs?: number;
}

/** The plain-data connection for one destination, with fresh credentials. */
export async function connectionFor(dest: Destination, creds: CredentialSource, opts: ConnectionOptions = {}): Promise<ConnectionSettings> {
  return {
    endpoint: dest.endpoint,
    region: dest.region,
    pathStyle: dest.pathStyle,
    credentials: await creds.forDestination(dest),
    caBundle: opts.caBundle ?? process.env.AWS_CA_BUNDLE ?? null,
    idleTimeoutMs: opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    maxAttempts: opts.maxAttempts ?? 3,
    maxSockets: opts.maxSockets ?? 64,
    clockOffsetMs: opts.clockOffsetMs ?? 0,
  };
}
