// The fault proxy playing Amazon S3's flexible checksums, because radosgw 16 ignores them (it neither
// verifies, echoes nor stores x-amz-checksum-*: Hoist's integrity probe finds it "does not verify").
// As S3 does, the proxy verifies the x-amz-checksum-<alg> header of every UploadPart and PutObject
// body it forwards and answers BadDigest when it does not match, echoes the checksum, verifies a
// FULL_OBJECT checksum at Complete against the parts' bytes in order (computed here with aws-crt and
// node:zlib over the bytes, not from the part CRCs) and returns it, and HeadObject names it. The bytes
// go on to radosgw through the server's own client (never through the proxy), which also checks any
// Content-MD5 they came with; `flipByte` damages a part in flight before that.
import { CompleteMultipartUploadCommand, PutObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { checksumOf } from './checksum-of.js';
import { s3ErrorXml, type ProxyAnswer, type ProxyRequestView, type S3Proxy } from './s3-proxy.js';
import { xmlText } from './s3-xml.js';

export { checksumOf } from './checksum-of.js';

const ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
type Algorithm = (typeof ALGORITHMS)[number];

function sentChecksum(headers: ProxyRequestView['headers']): { algorithm: Algorithm; value: string } | null {
  for (const algorithm of ALGORITHMS) {
    const v = headers[`x-amz-checksum-${algorithm}`];
    if (typeof v === 'string') return { algorithm, value: v };
  }
  return null;
}

const xml = { 'content-type': 'application/xml' };
const refuse = (code: string, message: string): ProxyAnswer => ({ status: 400, headers: xml, body: s3ErrorXml(code, message) });

/** The server's error as the proxy's answer. */
function fromSdkError(err: unknown): ProxyAnswer {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  return { status: e.$metadata?.httpStatusCode ?? 500, headers: xml, body: s3ErrorXml(e.name ?? 'InternalError', e.message) };
}

export interface ChecksumS3 {
  /** Requests refused with BadDigest (a wrong checksum of the bytes, or at Complete). */
  readonly badDigests: ProxyRequestView[];
  /** The full-object checksum each completed or put key keeps, as S3 would. */
  readonly objects: Map<string, { algorithm: Algorithm; value: string; type: 'FULL_OBJECT' | 'COMPOSITE' }>;
  /** Verifies and forwards one UploadPart or PutObject with these bytes (used by flipByte too). */
  forward(req: ProxyRequestView, body: Buffer): Promise<ProxyAnswer>;
  /** Completes one upload as S3 would and gives its answer (a test may hold the answer back). */
  complete(req: ProxyRequestView): Promise<ProxyAnswer>;
}

function pathParts(path: string): { bucket: string; key: string } {
  const [, bucket, ...rest] = path.split('/');
  return { bucket: decodeURIComponent(bucket!), key: decodeURIComponent(rest.join('/')) };
}

/** Forwards an UploadPart or PutObject to radosgw through the server's client, Content-MD5 and the few headers Hoist sends kept. */
async function sendOn(client: S3Client, req: ProxyRequestView, body: Buffer): Promise<string> {
  const { bucket, key } = pathParts(req.path);
  const q = new URLSearchParams(req.query);
  const md5 = typeof req.headers['content-md5'] === 'string' ? { ContentMD5: req.headers['content-md5'] } : {};
  if (q.has('uploadId')) {
    const out = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: q.get('uploadId')!, PartNumber: Number(q.get('partNumber')), Body: body, ContentLength: body.length, ...md5 }));
    return out.ETag ?? '';
  }
  const metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(req.headers)) if (name.startsWith('x-amz-meta-') && typeof v === 'string') metadata[name.slice(11)] = v;
  const h = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined);
  const out = await client.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length, ContentType: h('content-type'), Metadata: metadata, ...md5, ...(h('if-none-match') ? { IfNoneMatch: h('if-none-match') } : {}), ...(h('if-match') ? { IfMatch: h('if-match') } : {}) }),
  );
  return out.ETag ?? '';
}

export function playChecksumS3(proxy: S3Proxy, o: { client: S3Client }): ChecksumS3 {
  const badDigests: ProxyRequestView[] = [];
  const objects: ChecksumS3['objects'] = new Map();
  /** The bytes of each part accepted, by upload id and part number. */
  const partBytes = new Map<string, Map<number, Buffer>>();

  async function forward(req: ProxyRequestView, body: Buffer): Promise<ProxyAnswer> {
    const sent = sentChecksum(req.headers);
    if (sent && checksumOf(sent.algorithm, body) !== sent.value) {
      badDigests.push(req);
      return refuse('BadDigest', `The ${sent.algorithm.toUpperCase()} you specified did not match the calculated checksum.`);
    }
    let etag: string;
    try {
      etag = await sendOn(o.client, req, body);
    } catch (err) {
      return fromSdkError(err);
    }
    const q = new URLSearchParams(req.query);
    if (q.has('uploadId')) {
      const parts = partBytes.get(q.get('uploadId')!) ?? new Map<number, Buffer>();
      parts.set(Number(q.get('partNumber')), body);
      partBytes.set(q.get('uploadId')!, parts);
    } else if (sent) {
      objects.set(pathParts(req.path).key, { ...sent, type: 'FULL_OBJECT' });
    }
    return { status: 200, headers: { etag: etag, ...(sent ? { [`x-amz-checksum-${sent.algorithm}`]: sent.value } : {}) } };
  }

  async function complete(req: ProxyRequestView): Promise<ProxyAnswer> {
    const { bucket, key } = pathParts(req.path);
    const uploadId = new URLSearchParams(req.query).get('uploadId')!;
    const listed = [...req.body.toString('utf8').matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
      PartNumber: Number(xmlText(m[1]!, 'PartNumber')),
      ETag: (xmlText(m[1]!, 'ETag') ?? '').replace(/&quot;|&#34;/g, '"'),
    }));
    const whole = sentChecksum(req.headers);
    const type = req.headers['x-amz-checksum-type'] === 'FULL_OBJECT' ? 'FULL_OBJECT' : 'COMPOSITE';
    let value: string | null = null;
    if (whole && type === 'FULL_OBJECT') {
      const bytes = partBytes.get(uploadId);
      value = checksumOf(whole.algorithm, Buffer.concat(listed.map((p) => bytes?.get(p.PartNumber) ?? Buffer.alloc(0))));
      if (value !== whole.value) {
        badDigests.push(req);
        return refuse('BadDigest', `The full-object ${whole.algorithm.toUpperCase()} you specified did not match the calculated checksum.`);
      }
    }
    let etag: string;
    try {
      etag = (await o.client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: listed } }))).ETag ?? '';
    } catch (err) {
      return fromSdkError(err);
    }
    partBytes.delete(uploadId);
    const element = whole && value ? `<Checksum${whole.algorithm.toUpperCase()}>${value}</Checksum${whole.algorithm.toUpperCase()}><ChecksumType>FULL_OBJECT</ChecksumType>` : '';
    if (whole && value) objects.set(key, { algorithm: whole.algorithm, value, type: 'FULL_OBJECT' });
    return {
      status: 200,
      headers: xml,
      body: `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>http://proxy/${bucket}/${key}</Location><Bucket>${bucket}</Bucket><Key>${key}</Key><ETag>${etag}</ETag>${element}</CompleteMultipartUploadResult>`,
    };
  }

  const isBody = (r: { method: string; query: string }) => r.method === 'PUT' && !/(^|&)uploads(=|&|$)/.test(r.query);
  proxy.addFault({ operation: ['UploadPart', 'PutObject', 'IntegrityProbe'], when: (r) => isBody(r), action: { kind: 'respond', answer: (req) => forward(req, req.body) } });
  proxy.addFault({ operation: 'CompleteMultipartUpload', action: { kind: 'respond', answer: complete } });
  proxy.addRewrite({
    operation: 'HeadObject',
    rewrite(res) {
      const kept = objects.get(pathParts(res.path).key);
      if (res.status !== 200 || !kept) return undefined;
      return { status: 200, headers: { ...res.headers, [`x-amz-checksum-${kept.algorithm}`]: kept.value, 'x-amz-checksum-type': kept.type }, body: res.body };
    },
  });
  return { badDigests, objects, forward, complete };
}

/**
 * Damages the next `times` UploadParts in flight: one byte of the body flipped, the headers (and
 * their checksum or Content-MD5) as the client sent them. With `s3`, the S3 played here judges the
 * bytes; without, they go to radosgw, which checks their Content-MD5.
 */
export function flipByte(proxy: S3Proxy, o: { client: S3Client; s3?: ChecksumS3; times?: number }): { flipped: ProxyRequestView[] } {
  const flipped: ProxyRequestView[] = [];
  proxy.addFault({
    operation: 'UploadPart',
    first: true,
    times: o.times ?? 1,
    action: {
      kind: 'respond',
      async answer(req) {
        const body = Buffer.from(req.body);
        body[body.length >> 1]! ^= 0x01;
        flipped.push(req);
        if (o.s3) return o.s3.forward(req, body);
        try {
          return { status: 200, headers: { etag: await sendOn(o.client, req, body) } };
        } catch (err) {
          return fromSdkError(err);
        }
      },
    },
  });
  return { flipped };
}
