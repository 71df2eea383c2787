// The main thread's answer to "where do this bucket's objects go, signed for which region and
// service" (object-target.ts), taken from the AWS SDK itself: a PutObject is built and signed by the
// connection's client as it would be sent, and stopped before the network. So virtual-hosted or path
// style, partition host names and an endpoint's own path are whatever the SDK's endpoint rules say
// for these settings, not a copy of them that could drift. Once per connection and bucket.
import type { S3Client } from '@aws-sdk/client-s3';
import { requireCjs } from '../cjs.js';
import type { ConnectionSettings } from './client.js';
import type { ObjectTarget } from './object-target.js';

const { PutObjectCommand } = requireCjs('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');

const PROBE_KEY = 'k';

class Captured extends Error {
  constructor(readonly request: { protocol: string; hostname: string; port?: number; path: string; headers: Record<string, string> }) {
    super('captured');
  }
}

export async function resolveTarget(client: S3Client, bucket: string): Promise<ObjectTarget> {
  const cmd = new PutObjectCommand({ Bucket: bucket, Key: PROBE_KEY, Body: '' });
  cmd.middlewareStack.add(
    (() => async (args: { request: unknown }) => {
      throw new Captured(args.request as Captured['request']);
    }) as never,
    { step: 'finalizeRequest', priority: 'low', name: 'hoistCaptureTarget' },
  );
  try {
    await client.send(cmd);
  } catch (err) {
    if (!(err instanceof Captured)) throw err;
    const r = err.request;
    const auth = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(r.headers.authorization ?? r.headers.Authorization ?? '');
    if (!auth || !r.path.endsWith(`/${PROBE_KEY}`)) throw new Error(`the SDK built an unexpected request (${r.path}, ${auth ? 'SigV4' : 'no SigV4 credential scope'})`);
    const port = r.port ? `:${r.port}` : '';
    return { origin: `${r.protocol}//${r.hostname}${port}`, basePath: r.path.slice(0, -PROBE_KEY.length - 1), signingRegion: auth[1]!, signingName: auth[2]! };
  }
  throw new Error('the SDK sent the probe request instead of handing it over');
}

/** Targets by the settings that decide them; the SDK is asked once for each. */
export class TargetCache {
  private readonly targets = new Map<string, Promise<ObjectTarget>>();

  get(conn: ConnectionSettings, bucket: string, client: () => Promise<S3Client>): Promise<ObjectTarget> {
    const key = JSON.stringify([conn.endpoint, conn.region, conn.pathStyle, bucket]);
    let t = this.targets.get(key);
    if (!t) {
      t = client().then((c) => resolveTarget(c, bucket));
      // A refusal (a bucket name the rules reject) is asked again next time, not kept.
      t.catch(() => this.targets.delete(key));
      this.targets.set(key, t);
    }
    return t;
  }
}
