// The fault proxy playing Amazon S3's flexible checksums, because radosgw 16 ignores them (it neither
// verifies, echoes nor stores x-amz-checksum-*: Hoist's integrity probe finds it "does not verify").
// As S3 does, the proxy verifies the x-amz-checksum-<alg> header of every UploadPart and PutObject
// body it forwards and answers BadDigest when it does not match, echoes the checksum, verifies a
// FULL_OBJECT checksum at Complete against the parts' bytes in order (computed here with aws-crt and
// node:zlib over the bytes, not from the part CRCs) and returns it, and HeadObject names it. It keeps
// S3's rules for a multipart upload's checksum (CreateMultipartUpload x-amz-checksum-algorithm and
// -type: SHA1/SHA256 COMPOSITE only, CRC64NVME FULL_OBJECT only, CRC32/CRC32C either, COMPOSITE by
// default but for CRC64NVME; refused with InvalidRequest), refuses a part without the upload's
// checksum, and for COMPOSITE checks each part's checksum listed at Complete and returns the
// checksum of the parts' checksums ("…-N"), which HeadObject names too. The bytes
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
  /** Requests refused otherwise (InvalidRequest at create or for a part, InvalidPart at Complete), with the code. */
  readonly refused: Array<{ path: string; code: string }>;
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

type ChecksumType = 'FULL_OBJECT' | 'COMPOSITE';

/** What a CreateMultipartUpload asked for, or why S3 refuses it (its rules for algorithm and type). */
function uploadChecksum(headers: ProxyRequestView['headers']): { algorithm: Algorithm; type: ChecksumType } | null | { refusal: string } {
  const named = headers['x-amz-checksum-algorithm'];
  const typeHeader = headers['x-amz-checksum-type'];
  const algorithm = typeof named === 'string' ? (named.toLowerCase() as Algorithm) : null;
  if (algorithm === null) return typeof typeHeader === 'string' ? { refusal: 'x-amz-checksum-type needs x-amz-checksum-algorithm' } : null;
  if (!ALGORITHMS.includes(algorithm)) return { refusal: `unknown checksum algorithm ${String(named)}` };
  const type = typeof typeHeader === 'string' ? (typeHeader.toUpperCase() as ChecksumType) : algorithm === 'crc64nvme' ? 'FULL_OBJECT' : 'COMPOSITE';
  if (type === 'FULL_OBJECT' && (algorithm === 'sha1' || algorithm === 'sha256')) return { refusal: `The FULL_OBJECT checksum type cannot be used with the ${algorithm.toUpperCase()} checksum algorithm.` };
  if (type === 'COMPOSITE' && algorithm === 'crc64nvme') return { refusal: 'The COMPOSITE checksum type cannot be used with the CRC64NVME checksum algorithm.' };
  if (type !== 'FULL_OBJECT' && type !== 'COMPOSITE') return { refusal: `unknown checksum type ${String(typeHeader)}` };
  return { algorithm, type };
}

/** S3's composite checksum: the algorithm over the parts' checksums (raw bytes, in part order), then "-N". */
export function compositeOf(algorithm: Algorithm, partChecksums: string[]): string {
  return `${checksumOf(algorithm, Buffer.concat(partChecksums.map((c) => Buffer.from(c, 'base64'))))}-${partChecksums.length}`;
}

export function playChecksumS3(proxy: S3Proxy, o: { client: S3Client }): ChecksumS3 {
  const badDigests: ProxyRequestView[] = [];
  const refused: ChecksumS3['refused'] = [];
  const objects: ChecksumS3['objects'] = new Map();
  /** The bytes and checksum of each part accepted, by upload id and part number. */
  const partBytes = new Map<string, Map<number, { body: Buffer; checksum: string | null }>>();
  /** Each upload's checksum (by upload id), and the created ones waiting for their id (by key). */
  const uploads = new Map<string, { algorithm: Algorithm; type: ChecksumType }>();
  const creating = new Map<string, { algorithm: Algorithm; type: ChecksumType } | null>();
  const refuseAs = (path: string, code: string, message: string): ProxyAnswer => {
    refused.push({ path, code });
    return refuse(code, message);
  };

  async function forward(req: ProxyRequestView, body: Buffer): Promise<ProxyAnswer> {
    const sent = sentChecksum(req.headers);
    const uploadId = new URLSearchParams(req.query).get('uploadId');
    const upload = uploadId ? uploads.get(uploadId) : undefined;
    if (upload && sent?.algorithm !== upload.algorithm) {
      return refuseAs(req.path, 'InvalidRequest', `This upload was created with ${upload.algorithm.toUpperCase()}: each part must carry x-amz-checksum-${upload.algorithm}.`);
    }
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
      const parts = partBytes.get(q.get('uploadId')!) ?? new Map<number, { body: Buffer; checksum: string | null }>();
      parts.set(Number(q.get('partNumber')), { body, checksum: sent?.value ?? null });
      partBytes.set(q.get('uploadId')!, parts);
    } else if (sent) {
      objects.set(pathParts(req.path).key, { ...sent, type: 'FULL_OBJECT' });
    }
    return { status: 200, headers: { etag: etag, ...(sent ? { [`x-amz-checksum-${sent.algorithm}`]: sent.value } : {}) } };
  }

  async function complete(req: ProxyRequestView): Promise<ProxyAnswer> {
    const { bucket, key } = pathParts(req.path);
    const uploadId = new URLSearchParams(req.query).get('uploadId')!;
    const upload = uploads.get(uploadId);
    const field = upload ? `Checksum${upload.algorithm.toUpperCase()}` : null;
    const listed = [...req.body.toString('utf8').matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
      PartNumber: Number(xmlText(m[1]!, 'PartNumber')),
      ETag: (xmlText(m[1]!, 'ETag') ?? '').replace(/&quot;|&#34;/g, '"'),
      checksum: field ? (xmlText(m[1]!, field) ?? null) : null,
    }));
    const bytes = partBytes.get(uploadId);
    const whole = sentChecksum(req.headers);
    const type = req.headers['x-amz-checksum-type'] === 'FULL_OBJECT' ? 'FULL_OBJECT' : 'COMPOSITE';
    if (upload && req.headers['x-amz-checksum-type'] !== undefined && type !== upload.type) {
      return refuseAs(req.path, 'InvalidRequest', `The upload was created with checksum type ${upload.type}, not ${type}.`);
    }
    if (upload?.type === 'COMPOSITE') {
      // Each part must be named with the checksum it was sent with.
      const wrong = listed.find((p) => p.checksum === null || p.checksum !== bytes?.get(p.PartNumber)?.checksum);
      if (wrong) return refuseAs(req.path, 'InvalidPart', `Part ${wrong.PartNumber} is listed without its ${upload.algorithm.toUpperCase()} checksum, or with another.`);
    }
    let value: string | null = null;
    if (whole && type === 'FULL_OBJECT') {
      value = checksumOf(whole.algorithm, Buffer.concat(listed.map((p) => bytes?.get(p.PartNumber)?.body ?? Buffer.alloc(0))));
      if (value !== whole.value) {
        badDigests.push(req);
        return refuse('BadDigest', `The full-object ${whole.algorithm.toUpperCase()} you specified did not match the calculated checksum.`);
      }
    }
    const composite = upload?.type === 'COMPOSITE' ? compositeOf(upload.algorithm, listed.map((p) => p.checksum!)) : null;
    let etag: string;
    try {
      etag = (await o.client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: listed.map((p) => ({ PartNumber: p.PartNumber, ETag: p.ETag })) } }))).ETag ?? '';
    } catch (err) {
      return fromSdkError(err);
    }
    partBytes.delete(uploadId);
    uploads.delete(uploadId);
    const kept = whole && value ? { algorithm: whole.algorithm, value, type: 'FULL_OBJECT' as const } : upload && composite ? { algorithm: upload.algorithm, value: composite, type: 'COMPOSITE' as const } : null;
    const element = kept ? `<Checksum${kept.algorithm.toUpperCase()}>${kept.value}</Checksum${kept.algorithm.toUpperCase()}><ChecksumType>${kept.type}</ChecksumType>` : '';
    if (kept) objects.set(key, kept);
    return {
      status: 200,
      headers: xml,
      body: `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>http://proxy/${bucket}/${key}</Location><Bucket>${bucket}</Bucket><Key>${key}</Key><ETag>${etag}</ETag>${element}</CompleteMultipartUploadResult>`,
    };
  }

  const isBody = (r: { method: string; query: string }) => r.method === 'PUT' && !/(^|&)uploads(=|&|$)/.test(r.query);
  const isCreate = (r: { method: string; query: string }) => r.method === 'POST' && /(^|&)uploads(=|&|$)/.test(r.query);
  // CreateMultipartUpload: a combination S3 refuses is refused here; an allowed one goes on to radosgw,
  // noted by key until its answer names the upload id.
  proxy.addFault({
    operation: ['CreateMultipartUpload', 'IntegrityProbe'],
    when: (r) => {
      if (!isCreate(r)) return false;
      const asked = uploadChecksum(r.headers);
      if (asked && 'refusal' in asked) return true;
      creating.set(pathParts(r.path).key, asked);
      return false;
    },
    action: { kind: 'respond', answer: (req) => refuseAs(req.path, 'InvalidRequest', (uploadChecksum(req.headers) as { refusal: string }).refusal) },
  });
  proxy.addRewrite({
    operation: ['CreateMultipartUpload', 'IntegrityProbe'],
    rewrite(res) {
      const uploadId = res.status === 200 && isCreate(res) ? xmlText(res.body.toString('utf8'), 'UploadId') : null;
      const key = pathParts(res.path).key;
      const asked = creating.get(key);
      if (uploadId && asked) uploads.set(uploadId, asked);
      creating.delete(key);
      return undefined;
    },
  });
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
  return { badDigests, refused, objects, forward, complete };
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
