// The fault proxy playing Amazon S3 in front of a bucket whose default encryption is SSE-KMS, which
// radosgw cannot do here: every answer names the encryption (x-amz-server-side-encryption: aws:kms,
// and its key) and the ETags are not MD5s (random 32 hex digits for a part or a PutObject, random
// "-N" at Complete), as S3's are under SSE-KMS. The bytes still go to radosgw and are read back from
// it. Complete is answered by the proxy: it maps the part ETags it made up back to radosgw's own and
// completes there (refusing one it never gave, as S3 does with InvalidPart). With `announce: false`
// the ETags are as wrong but no header says why: a server whose ETags simply do not match.
import crypto from 'node:crypto';
import { CompleteMultipartUploadCommand, type S3Client } from '@aws-sdk/client-s3';
import { s3ErrorXml, type ProxyAnswer, type ProxyRequestView, type ProxyResponseView, type S3Proxy } from './s3-proxy.js';

export interface KmsBucketOptions {
  /** The server's own client (not through the proxy), for the Complete the proxy sends itself. */
  client: S3Client;
  /** What the answers say was applied; 'SSE-C' sends the SSE-C algorithm header instead. Default 'aws:kms'. */
  encryption?: 'aws:kms' | 'aws:kms:dsse' | 'SSE-C';
  /** Whether the answers name the encryption at all (default true). */
  announce?: boolean;
  /** Whether part and PutObject ETags are made up (default true). */
  partEtags?: boolean;
  /** Whether GetBucketEncryption is answered with this default encryption (default true). */
  bucketDefault?: boolean;
}

export const KMS_KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

export interface KmsBucket {
  /** ETags the proxy made up, each to radosgw's own. */
  readonly madeUp: Map<string, string>;
  /** The final ETag the proxy gave each completed or put key. */
  readonly finalEtags: Map<string, string>;
}

const randomHex = () => crypto.randomBytes(16).toString('hex');
const unquote = (etag: string) => etag.replace(/^"|"$/g, '');

/** Installs the persona on the proxy (its rewrites and answers stay until clearFaults/clearRewrites). */
export function playKmsBucket(proxy: S3Proxy, o: KmsBucketOptions): KmsBucket {
  const encryption = o.encryption ?? 'aws:kms';
  const announce = o.announce ?? true;
  const madeUp = new Map<string, string>();
  const finalEtags = new Map<string, string>();
  const sseHeaders = (): Record<string, string> => {
    if (!announce) return {};
    if (encryption === 'SSE-C') return { 'x-amz-server-side-encryption-customer-algorithm': 'AES256', 'x-amz-server-side-encryption-customer-key-md5': 'ZjQrne1X/iTcskbY2m3example==' };
    return { 'x-amz-server-side-encryption': encryption, 'x-amz-server-side-encryption-aws-kms-key-id': KMS_KEY_ARN };
  };
  const keyOf = (path: string) => decodeURIComponent(path.split('/').slice(2).join('/'));

  proxy.addRewrite({
    operation: ['CreateMultipartUpload', 'UploadPart', 'PutObject', 'HeadObject', 'GetObject'],
    rewrite(res: ProxyResponseView): ProxyAnswer | undefined {
      if (res.status !== 200) return undefined;
      const headers = { ...res.headers, ...sseHeaders() };
      const real = unquote(res.headers.etag ?? '');
      if ((res.operation === 'UploadPart' || res.operation === 'PutObject') && (o.partEtags ?? true) && real) {
        const fake = randomHex();
        madeUp.set(fake, real);
        headers.etag = `"${fake}"`;
        if (res.operation === 'PutObject') finalEtags.set(keyOf(res.path), fake);
      }
      if ((res.operation === 'HeadObject' || res.operation === 'GetObject') && finalEtags.has(keyOf(res.path))) headers.etag = `"${finalEtags.get(keyOf(res.path))}"`;
      return { status: res.status, headers, body: res.body };
    },
  });

  proxy.addFault({
    operation: 'CompleteMultipartUpload',
    action: {
      kind: 'respond',
      async answer(req: ProxyRequestView): Promise<ProxyAnswer> {
        const bucket = decodeURIComponent(req.path.split('/')[1]!);
        const key = keyOf(req.path);
        const uploadId = new URLSearchParams(req.query).get('uploadId')!;
        const parts: Array<{ PartNumber: number; ETag: string }> = [];
        for (const m of req.body.toString('utf8').matchAll(/<Part>([\s\S]*?)<\/Part>/g)) {
          const number = Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(m[1]!)?.[1]);
          const given = unquote(/<ETag>([^<]*)<\/ETag>/.exec(m[1]!)?.[1]?.replace(/&quot;|&#34;/g, '"') ?? '');
          const real = (o.partEtags ?? true) ? madeUp.get(given) : given;
          if (!real) return { status: 400, headers: { 'content-type': 'application/xml' }, body: s3ErrorXml('InvalidPart', `part ${number}: ETag ${given} was never given`) };
          parts.push({ PartNumber: number, ETag: `"${real}"` });
        }
        try {
          await o.client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
        } catch (err) {
          const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
          return { status: e.$metadata?.httpStatusCode ?? 500, headers: { 'content-type': 'application/xml' }, body: s3ErrorXml(e.name ?? 'InternalError') };
        }
        const etag = `${randomHex()}-${parts.length}`;
        finalEtags.set(key, etag);
        const xml =
          '<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
          `<Location>http://proxy/${bucket}/${key}</Location><Bucket>${bucket}</Bucket><Key>${key}</Key><ETag>"${etag}"</ETag></CompleteMultipartUploadResult>`;
        return { status: 200, headers: { 'content-type': 'application/xml', ...(encryption === 'SSE-C' ? {} : sseHeaders()) }, body: xml };
      },
    },
  });

  if (o.bucketDefault ?? true) {
    proxy.addFault({
      operation: 'GetBucketEncryption',
      action: {
        kind: 'respond',
        answer: () => ({
          status: 200,
          headers: { 'content-type': 'application/xml' },
          body:
            '<?xml version="1.0" encoding="UTF-8"?><ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule>' +
            `<ApplyServerSideEncryptionByDefault><SSEAlgorithm>${encryption}</SSEAlgorithm><KMSMasterKeyID>${KMS_KEY_ARN}</KMSMasterKeyID></ApplyServerSideEncryptionByDefault>` +
            '<BucketKeyEnabled>false</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>',
        }),
      },
    });
  }
  return { madeUp, finalEtags };
}
