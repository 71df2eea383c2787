// What S3 operation a request is, read from its method, path-style URL, query and headers, as the
// test proxy (s3-proxy.ts) counts and faults requests by it. Split from s3-proxy.ts to keep it readable.
import type { IncomingHttpHeaders } from 'node:http';

export type S3Operation =
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'ListMultipartUploads'
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'GetBucketEncryption'
  /** Any request about Hoist's integrity probe's throwaway upload (`.hoist-integrity-probe/`): counted and faulted apart, so a test's own counts stay its files'. */
  | 'IntegrityProbe'
  | 'Other';

export const S3_OPERATIONS: readonly S3Operation[] = [
  'CreateMultipartUpload',
  'UploadPart',
  'UploadPartCopy',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
  'ListParts',
  'ListMultipartUploads',
  'PutObject',
  'GetObject',
  'HeadObject',
  'GetBucketEncryption',
  'IntegrityProbe',
  'Other',
];

// Query keys that still leave a request a plain object GET/PUT/HEAD (anything else is a sub-resource).
const PLAIN_OBJECT_QUERY = new Set(['x-id', 'versionId', 'partNumber']);

export function splitUrl(url: string): { path: string; query: string } {
  // Absolute-form targets (forward-proxy style) are reduced to origin-form.
  const abs = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(url);
  const rest = abs ? url.slice(abs[0].length) || '/' : url;
  const q = rest.indexOf('?');
  return q < 0 ? { path: rest, query: '' } : { path: rest.slice(0, q), query: rest.slice(q + 1) };
}

/** Classify a path-style S3 request (`/bucket/key?...`) from method, query and x-amz-copy-source. */
export function classifyS3Request(method: string, url: string, headers: IncomingHttpHeaders): S3Operation {
  const m = method.toUpperCase();
  const { path, query } = splitUrl(url);
  const params = new URLSearchParams(query);
  const isObject = /^\/[^/]+\/./.test(path);
  const copySource = headers['x-amz-copy-source'] !== undefined;
  if (path.includes('/.hoist-integrity-probe/')) return 'IntegrityProbe';

  if (params.has('uploadId')) {
    if (!isObject) return 'Other';
    if (m === 'PUT' && params.has('partNumber')) return copySource ? 'UploadPartCopy' : 'UploadPart';
    if (m === 'POST') return 'CompleteMultipartUpload';
    if (m === 'DELETE') return 'AbortMultipartUpload';
    if (m === 'GET') return 'ListParts';
    return 'Other';
  }
  if (m === 'GET' && !isObject && params.has('encryption')) return 'GetBucketEncryption';
  if (params.has('uploads')) {
    if (m === 'POST' && isObject) return 'CreateMultipartUpload';
    if (m === 'GET' && !isObject) return 'ListMultipartUploads';
    return 'Other';
  }
  if (!isObject) return 'Other';
  for (const key of params.keys()) {
    const lower = key.toLowerCase();
    // response-* overrides and presigned-URL X-Amz-* params don't change the operation.
    if (!PLAIN_OBJECT_QUERY.has(key) && !lower.startsWith('response-') && !lower.startsWith('x-amz-')) return 'Other';
  }
  if (m === 'GET') return 'GetObject';
  if (m === 'HEAD') return 'HeadObject';
  if (m === 'PUT' && !copySource && !params.has('partNumber')) return 'PutObject';
  return 'Other'; // CopyObject, DeleteObject, POST forms, ...
}
