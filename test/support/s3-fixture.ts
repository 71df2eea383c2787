// The one fixture of the tests against the local S3 server: a fresh bucket, a temporary folder and,
// when asked, the fault proxy in front of the server and a second radosgw user. A test file awaits it
// at its top (`const { client, bucket, proxy } = await s3Fixture('resume', { proxy: true });`); it
// registers the after() hook that undoes all it made, so no file writes its own set-up or tear-down.
import fs from 'node:fs';
import { after } from 'node:test';
import { DeleteBucketPolicyCommand, type S3Client } from '@aws-sdk/client-s3';
import { createRgwUser, type RgwUser } from './rgw-user.js';
import { startS3Proxy, type S3Proxy } from './s3-proxy.js';
import { createBucket, removeBucket, s3Client, s3Env, tempDir } from './s3.js';

export interface S3FixtureOptions {
  /** Start the fault proxy (s3-proxy.ts) in front of the server. */
  proxy?: boolean;
  /** Create a second radosgw user with this label (rgw-user.ts); bucket policies limit it. */
  user?: string;
}

export interface S3Fixture {
  /** A client of the server itself (never through the proxy), as the bucket's owner. */
  client: S3Client;
  /** The server's own endpoint (the proxy's is `proxy.url`). */
  endpoint: string;
  bucket: string;
  /** A temporary folder, removed at the end. */
  dir: string;
  /** One more fresh bucket, removed at the end. */
  newBucket(label: string): Promise<string>;
  /** Clean-up of the test file's own (stop an engine, unmount a disk), run before the fixture's, last added first. */
  onClose(fn: () => unknown): void;
  /** Undoes everything; the after() hook calls it, and it runs once however often it is called. */
  close(): Promise<void>;
}

/** The proxy and the user are there, typed as such, only when asked for. */
export type S3FixtureOf<O extends S3FixtureOptions> = S3Fixture &
  (O extends { proxy: true } ? { proxy: S3Proxy } : unknown) &
  (O extends { user: string } ? { user: RgwUser } : unknown);

export async function s3Fixture<const O extends S3FixtureOptions = object>(label: string, opts?: O): Promise<S3FixtureOf<O>> {
  const client = s3Client();
  const buckets: string[] = [];
  const closers: Array<() => unknown> = [];
  let proxy: S3Proxy | undefined;
  let user: RgwUser | undefined;
  const dir = tempDir(label);
  let closed: Promise<void> | undefined;

  const close = (): Promise<void> =>
    (closed ??= (async () => {
      for (const fn of closers.reverse()) await fn();
      await proxy?.close();
      for (const bucket of buckets) {
        // A policy a test left may deny the owner what emptying the bucket takes.
        await client.send(new DeleteBucketPolicyCommand({ Bucket: bucket })).catch(() => undefined);
        await removeBucket(client, bucket);
      }
      user?.remove();
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    })());
  // Registered before anything is made, so a set-up that fails half-way is undone too.
  after(close);

  const newBucket = async (name: string): Promise<string> => {
    const bucket = await createBucket(client, name);
    buckets.push(bucket);
    return bucket;
  };
  const bucket = await newBucket(label);
  if (opts?.proxy) proxy = await startS3Proxy(s3Env().endpoint);
  if (opts?.user) user = createRgwUser(opts.user);
  const fixture: S3Fixture & { proxy?: S3Proxy; user?: RgwUser } = {
    client,
    endpoint: s3Env().endpoint,
    bucket,
    dir,
    newBucket,
    onClose: (fn) => void closers.push(fn),
    close,
  };
  if (proxy) fixture.proxy = proxy;
  if (user) fixture.user = user;
  return fixture as S3FixtureOf<O>;
}
