// A second radosgw user and the bucket policies that limit it: how tests take permissions away.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { PutBucketPolicyCommand, type S3Client } from '@aws-sdk/client-s3';

export interface RgwUser {
  uid: string;
  /** Its keys, as the environment of a hoist process. */
  env: { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string };
  remove(): void;
}

export function createRgwUser(label: string): RgwUser {
  const uid = `${label}-${crypto.randomBytes(3).toString('hex')}`;
  const env = { AWS_ACCESS_KEY_ID: `AK${crypto.randomBytes(8).toString('hex').toUpperCase()}`, AWS_SECRET_ACCESS_KEY: crypto.randomBytes(20).toString('hex') };
  execFileSync('radosgw-admin', ['user', 'create', `--uid=${uid}`, `--display-name=${uid}`, `--access-key=${env.AWS_ACCESS_KEY_ID}`, `--secret-key=${env.AWS_SECRET_ACCESS_KEY}`], { stdio: 'ignore' });
  return {
    uid,
    env,
    remove() {
      try {
        execFileSync('radosgw-admin', ['user', 'rm', `--uid=${uid}`], { stdio: 'ignore' });
      } catch {
        // the server is torn down after the run anyway
      }
    },
  };
}

/** A policy statement for one user (or the bucket owner) on the bucket's objects (`/*`) or the bucket itself. */
export function statement(effect: 'Allow' | 'Deny', uid: string, actions: string[], bucket: string, on: 'objects' | 'bucket' | 'both' = 'objects'): object {
  const resources = { objects: [`arn:aws:s3:::${bucket}/*`], bucket: [`arn:aws:s3:::${bucket}`], both: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] }[on];
  return { Effect: effect, Principal: { AWS: [`arn:aws:iam:::user/${uid}`] }, Action: actions, Resource: resources };
}

/** The bucket owner (the tests' own user) keeps every right, so checks and clean-up still work. */
export function ownerStatement(bucket: string): object {
  return statement('Allow', process.env.S3_USER ?? 'tester', ['s3:*'], bucket, 'both');
}

export async function setBucketPolicy(client: S3Client, bucket: string, ...statements: object[]): Promise<void> {
  await client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }) }));
}
