// Helpers for tests against the real local S3 server (scripts/s3-server.sh); nothing here fakes S3.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface S3Env {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** The server started by scripts/with-s3.sh; tests fail loudly rather than skip without it. */
export function s3Env(): S3Env {
  const endpoint = process.env.S3_ENDPOINT;
  if (!endpoint) throw new Error('S3_ENDPOINT is not set: run the tests with `npm test` (scripts/run-tests.sh starts the local S3 server).');
  return {
    endpoint,
    region: process.env.S3_REGION ?? 'us-east-1',
    accessKeyId: process.env.S3_ACCESS_KEY_ID ?? process.env.AWS_ACCESS_KEY_ID ?? 'testkey',
    secretAccessKey: process.env.S3_SECRET_ACCESS_KEY ?? process.env.AWS_SECRET_ACCESS_KEY ?? 'testsecret',
  };
}

export function s3Client(endpoint = s3Env().endpoint, credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): S3Client {
  const env = s3Env();
  return new S3Client({
    endpoint,
    region: env.region,
    forcePathStyle: true,
    credentials: credentials ?? { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** A fresh bucket with a unique, server-valid name. */
export async function createBucket(client: S3Client, label: string): Promise<string> {
  const name = `${label}-${crypto.randomBytes(4).toString('hex')}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63);
  await client.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

/** Every in-progress multipart upload in the bucket (all pages). */
export async function listUploads(client: S3Client, bucket: string): Promise<Array<{ key: string; uploadId: string }>> {
  const out: Array<{ key: string; uploadId: string }> = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
    for (const u of page.Uploads ?? []) out.push({ key: u.Key!, uploadId: u.UploadId! });
    if (!page.IsTruncated) return out;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}

/** Empties and deletes a bucket (the server's memory is finite). */
export async function removeBucket(client: S3Client, bucket: string): Promise<void> {
  for (const u of await listUploads(client, bucket)) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.key, UploadId: u.uploadId })).catch(() => undefined);
  }
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    if (!page.Contents?.length) break;
    for (const o of page.Contents) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key! }));
  }
  // A versioned bucket keeps every version and delete marker until each is deleted by its id.
  for (;;) {
    const page = await client.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    const versions = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])];
    if (versions.length === 0) break;
    for (const v of versions) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: v.Key!, VersionId: v.VersionId! }));
  }
  await client.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
}

export async function sha256OfObject(client: S3Client, bucket: string, key: string): Promise<string> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = crypto.createHash('sha256');
  await pipeline(out.Body as NodeJS.ReadableStream, hash);
  return hash.digest('hex');
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

/** Writes `size` random bytes, streamed, so large files never sit in memory. */
export async function writeRandomFile(file: string, size: number): Promise<string> {
  const chunk = 4 * 1024 * 1024;
  const fh = await fs.promises.open(file, 'w');
  try {
    for (let written = 0; written < size; ) {
      const n = Math.min(chunk, size - written);
      await fh.write(crypto.randomBytes(n));
      written += n;
    }
  } finally {
    await fh.close();
  }
  return file;
}

export function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `hoist-${label}-`));
}

export const MiB = 1024 * 1024;
