import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRequire } from 'node:module';
import { createS3Client, type ConnectionSettings } from '../../src-main/engine/s3/client.js';
import { objectPath } from '../../src-main/engine/s3/object-target.js';
import { resolveTarget } from '../../src-main/engine/s3/target-resolver.js';

const { PutObjectCommand } = createRequire(import.meta.url)('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');

function conn(endpoint: string | null, pathStyle: boolean, region = 'eu-west-1'): ConnectionSettings {
  return { endpoint, region, pathStyle, credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' }, caBundle: null, idleTimeoutMs: 60_000, maxAttempts: 1, maxSockets: 4, clockOffsetMs: 0 };
}

/** The URL and signing scope the SDK itself puts on a PutObject of this key (stopped before the network). */
async function sdkRequest(c: ConnectionSettings, bucket: string, key: string): Promise<{ url: string; scope: string }> {
  const client = createS3Client(c);
  const cmd = new PutObjectCommand({ Bucket: bucket, Key: key, Body: '' });
  let seen: { url: string; scope: string } | null = null;
  cmd.middlewareStack.add(
    (() => async (args: { request: { protocol: string; hostname: string; port?: number; path: string; headers: Record<string, string> } }) => {
      const r = args.request;
      seen = { url: `${r.protocol}//${r.hostname}${r.port ? `:${r.port}` : ''}${r.path}`, scope: /Credential=[^/]+\/\d{8}\/([^/]+\/[^/]+)\//.exec(r.headers.authorization!)![1]! };
      throw new Error('stop');
    }) as never,
    { step: 'finalizeRequest', priority: 'low' },
  );
  await client.send(cmd).catch(() => undefined);
  client.destroy();
  return seen!;
}

// The part workers address objects without the SDK (s3/direct-request.ts); where they send must be
// exactly where the SDK would: virtual-hosted or path style, partition host names, key escaping.
const SETTINGS: Array<[string, ConnectionSettings, string]> = [
  ['an endpoint, path style', conn('http://127.0.0.1:8411', true), 'media'],
  ['an endpoint with a path of its own, path style', conn('https://s3.example.com/gateway', true), 'media'],
  ['a named endpoint, virtual-hosted', conn('https://s3.example.com', false), 'media'],
  ['a named endpoint, a bucket with dots over https', conn('https://s3.example.com', false), 'my.media'],
  ['an IP endpoint, virtual-hosted asked', conn('http://10.0.0.5:7480', false), 'media'],
  ['Amazon S3, virtual-hosted', conn(null, false), 'media'],
  ['Amazon S3 in China', conn(null, false, 'cn-north-1'), 'media'],
  ['Amazon S3, path style, us-east-1', conn(null, true, 'us-east-1'), 'media'],
];
const KEYS = ['clip.mov', 'Reel 1/A001 C002 (take 3)!.mov', "it's *here*~+=&@$,;:.dpx", 'a//b/', 'ünï/çødé/日本.exr', '%41 already%20escaped', '/leading'];

for (const [name, c, bucket] of SETTINGS) {
  test(`the part workers' address for ${name} is the SDK's, for every key`, async () => {
    const client = createS3Client(c);
    const target = await resolveTarget(client, bucket);
    client.destroy();
    for (const key of KEYS) {
      const sdk = await sdkRequest(c, bucket, key);
      assert.equal(`${target.origin}${objectPath(target, key)}`, sdk.url, key);
      assert.equal(`${target.signingRegion}/${target.signingName}`, sdk.scope, key);
    }
  });
}
