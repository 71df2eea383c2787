// Amazon S3's behaviours that radosgw 16 lacks, played by the fault proxy (s3-proxy.ts) rewriting
// radosgw's answers. radosgw 16 ignores flexible checksums, so what these tests check of them is
// what the proxy saw go by and what it answered as S3 would; the object's bytes stay radosgw's.
import crypto from 'node:crypto';
import type { ProxiedRequest, ProxyResponseView, S3Operation, S3Proxy } from './s3-proxy.js';
import { dropXmlElement, insertIntoEach, xmlText } from './s3-xml.js';

/** Flexible-checksum algorithms by S3's names (the XML element is `Checksum<NAME>`, the header `x-amz-checksum-<name>`). */
export type S3ChecksumName = 'CRC32' | 'CRC32C' | 'SHA1' | 'SHA256';

/** Rewrites the body of the server's answers to `operation` that `match` takes (the status and the other headers stay). */
export function rewriteBody(proxy: S3Proxy, operation: S3Operation | S3Operation[], rewrite: (body: string, res: ProxyResponseView) => string, match: (res: ProxyResponseView) => boolean = () => true): void {
  proxy.addRewrite({
    operation,
    rewrite: (res) => (match(res) ? { status: res.status, body: rewrite(res.body.toString('utf8'), res) } : undefined),
  });
}

export function uploadIdOf(rec: Pick<ProxiedRequest, 'query'>): string {
  return new URLSearchParams(rec.query).get('uploadId') ?? '';
}

export function partNumberOf(rec: ProxiedRequest): number {
  return Number(new URLSearchParams(rec.query).get('partNumber'));
}

/** The checksum header each part of an upload arrived with (the last accepted UploadPart of each number). */
export function partChecksumsSeen(proxy: S3Proxy, uploadId: string, name: S3ChecksumName): Map<number, string | undefined> {
  const seen = new Map<number, string | undefined>();
  for (const r of proxy.requests()) {
    if (r.operation !== 'UploadPart' || r.status !== 200 || uploadIdOf(r) !== uploadId) continue;
    const value = r.headers[`x-amz-checksum-${name.toLowerCase()}`];
    seen.set(partNumberOf(r), typeof value === 'string' ? value : undefined);
  }
  return seen;
}

/** `Checksum<NAME>` of each `<Part>` a CompleteMultipartUpload body lists, by part number. */
export function completeChecksums(body: string, name: S3ChecksumName): Map<number, string | undefined> {
  const out = new Map<number, string | undefined>();
  for (const m of body.matchAll(/<Part>([\s\S]*?)<\/Part>/g)) out.set(Number(xmlText(m[1]!, 'PartNumber')), xmlText(m[1]!, `Checksum${name}`));
  return out;
}

/** S3's composite checksum, computed here without Hoist's code: the algorithm over the raw part checksums, base64, "-N". */
export function compositeOf(name: 'SHA1' | 'SHA256', partChecksumsBase64: string[]): string {
  const raw = Buffer.concat(partChecksumsBase64.map((b) => Buffer.from(b, 'base64')));
  return `${crypto.createHash(name.toLowerCase()).update(raw).digest('base64')}-${partChecksumsBase64.length}`;
}

/**
 * Complete answers as S3 does for an upload created with a checksum algorithm: it names the
 * object's composite checksum, made from the checksums the parts arrived with (as the proxy saw
 * them). `tamper` changes it first (a server whose parts are not the ones sent).
 */
export function answerCompositeAtComplete(proxy: S3Proxy, name: 'SHA1' | 'SHA256', tamper: (composite: string) => string = (c) => c): void {
  rewriteBody(
    proxy,
    'CompleteMultipartUpload',
    (body, res) => {
      const seen = partChecksumsSeen(proxy, uploadIdOf(res), name);
      const ordered = [...seen.entries()].sort((x, y) => x[0] - y[0]).map(([, v]) => v ?? '');
      const element = `<Checksum${name}>${tamper(compositeOf(name, ordered))}</Checksum${name}><ChecksumType>COMPOSITE</ChecksumType>`;
      return body.replace('</CompleteMultipartUploadResult>', `${element}</CompleteMultipartUploadResult>`);
    },
    (res) => res.status === 200,
  );
}

/** ListParts lists each part's checksum, as S3 does for an upload created with one: `checksumOf(partNumber)`. */
export function listPartChecksums(proxy: S3Proxy, name: S3ChecksumName, checksumOf: (partNumber: number) => string): void {
  rewriteBody(proxy, 'ListParts', (body) =>
    insertIntoEach(body, 'Part', (part) => `<Checksum${name}>${checksumOf(Number(xmlText(part, 'PartNumber')))}</Checksum${name}>`).replace(
      '</ListPartsResult>',
      `<ChecksumAlgorithm>${name}</ChecksumAlgorithm></ListPartsResult>`,
    ),
  );
}

/** A server that says a listing goes on (IsTruncated) but leaves out where the next page starts. */
export function dropNextMarkers(proxy: S3Proxy): void {
  rewriteBody(
    proxy,
    ['ListParts', 'ListMultipartUploads', 'Other'],
    (body) => ['NextPartNumberMarker', 'NextKeyMarker', 'NextUploadIdMarker', 'NextContinuationToken', 'NextMarker'].reduce(dropXmlElement, body),
    (res) => res.method === 'GET',
  );
}

export { dropXmlElement };
