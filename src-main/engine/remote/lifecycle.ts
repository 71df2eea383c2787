// Hoist's AbortIncompleteMultipartUpload rule, merged into the bucket's lifecycle configuration:
// every other rule is kept as it is; only the rule with Hoist's own id is added or replaced.
import crypto from 'node:crypto';
import type { LifecycleRule, S3Client } from '@aws-sdk/client-s3';
import type { AbortIncompleteRule, AbortIncompleteSummary } from '../../../shared/records.js';
import { requireCjs } from '../cjs.js';
import { toHoistError } from '../s3/errors.js';

// Required, not imported (cjs.ts, remote/encryption-check.ts).
const { GetBucketLifecycleConfigurationCommand, PutBucketLifecycleConfigurationCommand } = requireCjs('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');

export const HOIST_LIFECYCLE_RULE_ID = 'hoist-abort-incomplete-multipart';

/** The bucket's rules; a bucket without a lifecycle configuration has none. */
export async function readLifecycleRules(client: S3Client, bucket: string): Promise<LifecycleRule[]> {
  try {
    const out = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
    return out.Rules ?? [];
  } catch (err) {
    const e = err as { name?: string; Code?: string };
    if (e.name === 'NoSuchLifecycleConfiguration' || e.Code === 'NoSuchLifecycleConfiguration') return [];
    throw toHoistError(err, 'GetBucketLifecycleConfiguration');
  }
}

export type { AbortIncompleteRule, AbortIncompleteSummary };

export function summarizeAbortIncomplete(bucket: string, rules: readonly LifecycleRule[]): AbortIncompleteSummary {
  const aborting = rules.flatMap((r): AbortIncompleteRule[] => {
    const days = r.AbortIncompleteMultipartUpload?.DaysAfterInitiation;
    if (days === undefined) return [];
    return [{ id: r.ID ?? null, days, prefix: r.Filter?.Prefix ?? r.Filter?.And?.Prefix ?? r.Prefix ?? '', enabled: r.Status === 'Enabled' }];
  });
  return {
    bucket,
    rule: aborting.find((r) => r.id === HOIST_LIFECYCLE_RULE_ID) ?? null,
    others: aborting.filter((r) => r.id !== HOIST_LIFECYCLE_RULE_ID),
    rules: rules.length,
  };
}

/** The existing rules (normalised, unchanged in meaning) followed by Hoist's rule for `days`. */
export function mergeHoistRule(existing: readonly LifecycleRule[], days: number): LifecycleRule[] {
  const others = existing.filter((r) => r.ID !== HOIST_LIFECYCLE_RULE_ID).map(withFilter);
  return [
    ...others,
    { ID: HOIST_LIFECYCLE_RULE_ID, Status: 'Enabled', Filter: { Prefix: '' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: days } },
  ];
}

/**
 * Servers answer some rules with the legacy top-level Prefix (radosgw does for an empty filter);
 * S3 refuses a configuration that mixes that form with Filter, so it is rewritten as a Filter.
 */
function withFilter(rule: LifecycleRule): LifecycleRule {
  if (rule.Filter !== undefined || rule.Prefix === undefined) return rule;
  const { Prefix, ...rest } = rule;
  return { ...rest, Filter: { Prefix } };
}

export async function installAbortIncompleteRule(client: S3Client, bucket: string, days: number): Promise<{ rules: number }> {
  const rules = mergeHoistRule(await readLifecycleRules(client, bucket), days);
  const put = new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: rules } });
  // S3 requires an integrity header here; older S3-compatible servers (radosgw, MinIO) know only Content-MD5.
  put.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers: Record<string, string>; body?: unknown };
      if (typeof request.body === 'string' || request.body instanceof Uint8Array) {
        request.headers['content-md5'] = crypto.createHash('md5').update(request.body).digest('base64');
      }
      return next(args);
    },
    { step: 'build', name: 'hoistLifecycleContentMd5' },
  );
  try {
    await client.send(put);
  } catch (err) {
    throw toHoistError(err, 'PutBucketLifecycleConfiguration');
  }
  return { rules: rules.length };
}
