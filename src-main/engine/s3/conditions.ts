// Conditional writes (PutObject and CompleteMultipartUpload): what the part workers and the main
// thread send so that a write lands only on the key as the job saw it (remote/if-exists.ts).
import { normalizeEtag } from '../upload/checksums.js';

/**
 * A conditional write: create only (If-None-Match: *) or replace only the object seen
 * (If-Match: its ETag, sent without quotes: radosgw 16 compares the raw string and never matches a
 * quoted one; Amazon S3 takes either). A server refuses it with 412 PreconditionFailed.
 */
export type WriteCondition = { ifNoneMatch: '*' } | { ifMatch: string };

/** The SDK fields of a condition (PutObject and CompleteMultipartUpload both take them). */
export function conditionFields(c: WriteCondition | null | undefined): { IfNoneMatch?: string; IfMatch?: string } {
  if (!c) return {};
  return 'ifNoneMatch' in c ? { IfNoneMatch: c.ifNoneMatch } : { IfMatch: normalizeEtag(c.ifMatch) };
}
