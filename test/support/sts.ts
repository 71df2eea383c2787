// radosgw's STS for tests: a second gateway on the same cluster with STS turned on (the main one
// keeps it off: with STS on, radosgw 16 answers a wrong secret with AccessDenied instead of
// SignatureDoesNotMatch), a role a test user may assume, and real temporary credentials that
// expire when the test wants (AssumeRole may last 1 s there). IAM and STS are form POSTs signed
// with SigV4; curl signs them, as radosgw-up.sh does its readiness probe.
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './free-port.js';
import { s3Env, tempDir } from './s3.js';
import type { RgwUser } from './rgw-user.js';

export interface StsGateway {
  endpoint: string;
  close(): Promise<void>;
}

/** radosgw in the foreground beside the main one (same cluster, users and buckets), with STS on. */
export async function startStsGateway(): Promise<StsGateway> {
  const conf = process.env.CEPH_CONF;
  if (!conf) throw new Error('CEPH_CONF is not set: run the tests with scripts/run-tests.sh (radosgw-up.sh exports it).');
  const dir = tempDir('sts-gateway');
  const port = await freePort();
  const child = spawn('radosgw', [
    '-f', '-c', conf, '-n', 'client.rgw.sts', '--rgw-frontends', `beast endpoint=127.0.0.1:${port}`,
    '--rgw-s3-auth-use-sts=true', `--rgw-sts-key=${crypto.randomBytes(8).toString('hex')}`, '--rgw-sts-min-session-duration=1',
    '--rgw-enable-lc-threads=false', '--rgw-dynamic-resharding=false',
    `--pid-file=${path.join(dir, 'rgw.pid')}`, `--admin-socket=${path.join(dir, 'rgw.asok')}`, `--log-file=${path.join(dir, 'rgw.log')}`,
  ], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the STS gateway exited (${child.exitCode}); see ${path.join(dir, 'rgw.log')}`);
    const up = await fetch(`${endpoint}/`).then(() => true, () => false);
    if (up) break;
    if (Date.now() > deadline) throw new Error(`the STS gateway did not answer on ${endpoint}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    endpoint,
    async close() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function post(endpoint: string, service: 'iam' | 'sts', keys: { id: string; secret: string }, params: Record<string, string>): string {
  const args = ['-s', '--fail-with-body', '--aws-sigv4', `aws:amz:${s3Env().region}:${service}`, '--user', `${keys.id}:${keys.secret}`];
  for (const [k, v] of Object.entries(params)) args.push('--data-urlencode', `${k}=${v}`);
  try {
    return execFileSync('curl', [...args, `${endpoint}/`], { encoding: 'utf8' });
  } catch (err) {
    throw new Error(`${service} ${params.Action} failed: ${(err as { stdout?: string }).stdout ?? String(err)}`);
  }
}

const field = (xml: string, tag: string): string => {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  if (!m) throw new Error(`no ${tag} in ${xml.slice(0, 300)}`);
  return m[1]!;
};

/** A role the user may assume, allowed everything on S3; made by the tests' own (admin-capped) user. */
export function roleFor(sts: StsGateway, user: RgwUser): string {
  const owner = { id: s3Env().accessKeyId, secret: s3Env().secretAccessKey };
  const name = `hoist-${crypto.randomBytes(3).toString('hex')}`;
  const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: [`arn:aws:iam:::user/${user.uid}`] }, Action: ['sts:AssumeRole'] }] };
  post(sts.endpoint, 'iam', owner, { Action: 'CreateRole', Version: '2010-05-08', RoleName: name, Path: '/', AssumeRolePolicyDocument: JSON.stringify(trust) });
  const allow = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::*'] }] };
  post(sts.endpoint, 'iam', owner, { Action: 'PutRolePolicy', Version: '2010-05-08', RoleName: name, PolicyName: 's3', PolicyDocument: JSON.stringify(allow) });
  return `arn:aws:iam:::role/${name}`;
}

/** Temporary credentials from AssumeRole, as the environment of a hoist process (expiration included, as the AWS tools export it). */
export function assumeRole(sts: StsGateway, user: RgwUser, roleArn: string, seconds: number): Record<string, string> {
  const xml = post(sts.endpoint, 'sts', { id: user.env.AWS_ACCESS_KEY_ID, secret: user.env.AWS_SECRET_ACCESS_KEY }, { Action: 'AssumeRole', Version: '2011-06-15', RoleArn: roleArn, RoleSessionName: 'hoist-test', DurationSeconds: String(seconds) });
  return {
    AWS_ACCESS_KEY_ID: field(xml, 'AccessKeyId'),
    AWS_SECRET_ACCESS_KEY: field(xml, 'SecretAccessKey'),
    AWS_SESSION_TOKEN: field(xml, 'SessionToken'),
    AWS_CREDENTIAL_EXPIRATION: new Date(field(xml, 'Expiration')).toISOString(),
  };
}
