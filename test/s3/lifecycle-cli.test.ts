// `hoist uploads lifecycle`: the rule that aborts incomplete multipart uploads, shown and set from
// the command line (the app's Uploads screen had it alone), against radosgw's own lifecycle store.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { GetBucketLifecycleConfigurationCommand, PutBucketLifecycleConfigurationCommand } from '@aws-sdk/client-s3';
import { HOIST_LIFECYCLE_RULE_ID } from '../../src-main/engine/remote/lifecycle.js';
import { hoist } from '../support/hoist-cli.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, endpoint, dir } = await s3Fixture('lifecycle-cli');
const cli = ['--db', path.join(dir, 'hoist.db'), '--endpoint', endpoint, '--path-style'];

interface Summary {
  bucket: string;
  rule: { id: string; days: number; prefix: string; enabled: boolean } | null;
  others: Array<{ id: string; days: number; prefix: string; enabled: boolean }>;
  rules: number;
}

async function lifecycle(...args: string[]): Promise<Summary> {
  const r = await hoist([...cli, 'uploads', 'lifecycle', '--bucket', bucket, ...args, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Summary;
}

test('hoist uploads lifecycle shows no rule, sets Hoist’s beside the bucket’s own, shows it, and --days again changes only its days', async () => {
  assert.deepEqual(await lifecycle(), { bucket, rule: null, others: [], rules: 0 }, 'a bucket without a lifecycle configuration');

  const theirs = { ID: 'their-abort', Status: 'Enabled' as const, Filter: { Prefix: 'tmp/' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } };
  await client.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: [theirs] } }));
  const set = await lifecycle('--days', '5');
  assert.deepEqual(set.rule, { id: HOIST_LIFECYCLE_RULE_ID, days: 5, prefix: '', enabled: true });
  assert.deepEqual(set.others, [{ id: 'their-abort', days: 2, prefix: 'tmp/', enabled: true }]);
  assert.equal(set.rules, 2);

  // What the server itself now holds.
  const rules = (await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
  assert.equal(rules.find((r) => r.ID === HOIST_LIFECYCLE_RULE_ID)?.AbortIncompleteMultipartUpload?.DaysAfterInitiation, 5);
  assert.equal(rules.find((r) => r.ID === 'their-abort')?.AbortIncompleteMultipartUpload?.DaysAfterInitiation, 2, 'the bucket’s own rule is kept');

  const text = await hoist([...cli, 'uploads', 'lifecycle', '--bucket', bucket]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`Hoist's rule ${HOIST_LIFECYCLE_RULE_ID}: incomplete uploads anywhere in the bucket are aborted 5 days after they begin`));
  assert.match(text.stdout, /another rule, their-abort: incomplete uploads under tmp\/ are aborted 2 days/);

  const again = await lifecycle('--days', '1');
  assert.equal(again.rule?.days, 1);
  assert.equal(again.rules, 2, 'setting it again replaces Hoist’s rule, adds none');
  const after = (await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
  assert.equal(after.find((r) => r.ID === HOIST_LIFECYCLE_RULE_ID)?.AbortIncompleteMultipartUpload?.DaysAfterInitiation, 1);
});

test('hoist uploads lifecycle refuses a number of days it cannot set (usage error, nothing sent)', async () => {
  for (const days of ['0', '3651', '2.5', 'week']) {
    const r = await hoist([...cli, 'uploads', 'lifecycle', '--bucket', bucket, '--days', days]);
    assert.equal(r.code, 2, `--days ${days}: ${r.stderr}`);
    assert.match(r.stderr, /expected a whole number from 1 to 3650/);
  }
});
