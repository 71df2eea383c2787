// radosgw's STS (enabled by scripts/radosgw/radosgw-up.sh): a role a test user may assume, and real
// temporary credentials that expire when the test wants (AssumeRole may last 1 s there).
// IAM and STS are form POSTs signed with SigV4; curl signs them (as radosgw-up.sh does its probe).
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { s3Env } from './s3.js';
import type { RgwUser } from './rgw-user.js';

function post(service: 'iam' | 'sts', keys: { id: string; secret: string }, params: Record<string, string>): string {
  const args = ['-s', '--fail-with-body', '--aws-sigv4', `aws:amz:${s3Env().region}:${service}`, '--user', `${keys.id}:${keys.secret}`];
  for (const [k, v] of Object.entries(params)) args.push('--data-urlencode', `${k}=${v}`);
  try {
    return execFileSync('curl', [...args, `${s3Env().endpoint}/`], { encoding: 'utf8' });
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
export function roleFor(user: RgwUser): string {
  const owner = { id: s3Env().accessKeyId, secret: s3Env().secretAccessKey };
  const name = `hoist-${crypto.randomBytes(3).toString('hex')}`;
  const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: [`arn:aws:iam:::user/${user.uid}`] }, Action: ['sts:AssumeRole'] }] };
  post('iam', owner, { Action: 'CreateRole', Version: '2010-05-08', RoleName: name, Path: '/', AssumeRolePolicyDocument: JSON.stringify(trust) });
  const allow = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::*'] }] };
  post('iam', owner, { Action: 'PutRolePolicy', Version: '2010-05-08', RoleName: name, PolicyName: 's3', PolicyDocument: JSON.stringify(allow) });
  return `arn:aws:iam:::role/${name}`;
}

/** Temporary credentials from AssumeRole, as the environment of a hoist process (expiration included, as the AWS tools export it). */
export function assumeRole(user: RgwUser, roleArn: string, seconds: number): Record<string, string> {
  const xml = post('sts', { id: user.env.AWS_ACCESS_KEY_ID, secret: user.env.AWS_SECRET_ACCESS_KEY }, { Action: 'AssumeRole', Version: '2011-06-15', RoleArn: roleArn, RoleSessionName: 'hoist-test', DurationSeconds: String(seconds) });
  return {
    AWS_ACCESS_KEY_ID: field(xml, 'AccessKeyId'),
    AWS_SECRET_ACCESS_KEY: field(xml, 'SecretAccessKey'),
    AWS_SESSION_TOKEN: field(xml, 'SessionToken'),
    AWS_CREDENTIAL_EXPIRATION: new Date(field(xml, 'Expiration')).toISOString(),
  };
}
