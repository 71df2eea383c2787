// ListObjects (v1 and v2) for the bench sink: sync tools such as rclone list the destination before
// they copy. Keys under a prefix, a delimiter's common prefixes, pages of max-keys.

export interface ListedObject {
  size: number;
  etag: string;
  modified: Date;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** The ListBucketResult body for GET /bucket?…, over `objects` keyed "bucket/key". */
export function listObjects(objects: ReadonlyMap<string, ListedObject>, bucket: string, q: URLSearchParams): string {
  const v2 = q.get('list-type') === '2';
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const maxKeys = Math.min(1000, Number(q.get('max-keys') ?? 1000) || 1000);
  const after = (v2 ? (q.get('continuation-token') ?? q.get('start-after')) : q.get('marker')) ?? '';
  const encode = q.get('encoding-type') === 'url' ? (s: string) => encodeURIComponent(s).replace(/%2F/g, '/') : (s: string) => s;
  const keys = [...objects.keys()]
    .filter((p) => p.startsWith(`${bucket}/`))
    .map((p) => p.slice(bucket.length + 1))
    .filter((k) => k.startsWith(prefix) && k > after)
    .sort();
  const contents: string[] = [];
  const prefixes = new Set<string>();
  let last = '';
  let truncated = false;
  for (const key of keys) {
    if (contents.length + prefixes.size >= maxKeys) {
      truncated = true;
      break;
    }
    const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    if (cut >= 0) {
      const common = key.slice(0, cut + delimiter.length);
      if (prefixes.has(common)) continue;
      prefixes.add(common);
    } else {
      const o = objects.get(`${bucket}/${key}`)!;
      contents.push(`<Contents><Key>${escapeXml(encode(key))}</Key><LastModified>${o.modified.toISOString()}</LastModified><ETag>${escapeXml(o.etag)}</ETag><Size>${o.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`);
    }
    last = key;
  }
  const next = truncated ? (v2 ? `<NextContinuationToken>${escapeXml(last)}</NextContinuationToken>` : `<NextMarker>${escapeXml(encode(last))}</NextMarker>`) : '';
  return (
    `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${escapeXml(bucket)}</Name><Prefix>${escapeXml(encode(prefix))}</Prefix>` +
    `${v2 ? `<KeyCount>${contents.length + prefixes.size}</KeyCount>` : `<Marker>${escapeXml(after)}</Marker>`}<MaxKeys>${maxKeys}</MaxKeys>` +
    `${delimiter ? `<Delimiter>${escapeXml(delimiter)}</Delimiter>` : ''}${q.get('encoding-type') === 'url' ? '<EncodingType>url</EncodingType>' : ''}<IsTruncated>${truncated}</IsTruncated>${next}` +
    contents.join('') +
    [...prefixes].map((p) => `<CommonPrefixes><Prefix>${escapeXml(encode(p))}</Prefix></CommonPrefixes>`).join('') +
    '</ListBucketResult>'
  );
}
