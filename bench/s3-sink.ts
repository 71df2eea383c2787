// A minimal S3-compatible sink for benchmarks only: it hashes and discards what clients send, and
// verifies what they claim as Amazon S3 does (sink-verify.ts): Content-MD5, flexible checksums in
// headers or aws-chunked trailers, multipart checksums (COMPOSITE, FULL_OBJECT). Path-style
// addressing, no signature checks, state in memory (sizes, ETags and checksums, never bytes). Run as a program it listens on an
// ephemeral loopback port and reports the port over IPC (or on stdout without IPC).
import { createHash } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { createRawServer, type SinkRequest, type SinkResponse } from './sink-http.js';
import { escapeXml, listObjects } from './sink-list.js';
import {
  S3Failure,
  checksumXml,
  consume,
  completeChecksum,
  listedChecksums,
  receiveVerified,
  uploadChecksumOf,
  type ListedPart,
  type ObjectChecksum,
  type StoredPart,
  type UploadChecksum,
} from './sink-verify.js';

interface MultipartUpload {
  objectPath: string;
  checksum: UploadChecksum | null;
  parts: Map<number, StoredPart>;
}

interface StoredObject {
  size: number;
  etag: string;
  checksum: ObjectChecksum | null;
  modified: Date;
}

export interface SinkServer {
  url: string;
  close(): Promise<void>;
}

const XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n';

function unescapeXml(text: string): string {
  // Go's encoding/xml (rclone) writes quotes as &#34;.
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, name: string) =>
    name.startsWith('#') ? String.fromCodePoint(name[1] === 'x' ? parseInt(name.slice(2), 16) : Number(name.slice(1))) : ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[name]!,
  );
}

const quoted = (hex: string) => `"${hex}"`;
const unquoted = (etag: string) => etag.trim().replace(/^"|"$/g, '').toLowerCase();

async function readSmallBody(req: SinkRequest): Promise<string> {
  const chunks: Buffer[] = [];
  await consume(req, (chunk) => chunks.push(Buffer.from(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/** The checksum headers S3 answers with: on UploadPart and PutObject, and on HeadObject with checksum mode. */
function echoHeaders(echo: { algorithm: string; base64: string } | null, type?: string): OutgoingHttpHeaders {
  if (!echo) return {};
  return { [`x-amz-checksum-${echo.algorithm}`]: echo.base64, ...(type ? { 'x-amz-checksum-type': type } : {}) };
}

/** The multipart ETag: MD5 of the concatenated binary part MD5s, then "-N". */
function multipartEtag(parts: StoredPart[]): string {
  const md5 = createHash('md5');
  for (const p of parts) md5.update(p.md5);
  return quoted(`${md5.digest('hex')}-${parts.length}`);
}

function completedParts(xml: string): ListedPart[] {
  const out: ListedPart[] = [];
  for (const [, body] of xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)) {
    const partNumber = Number(/<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(body!)?.[1]);
    const etag = unescapeXml(/<ETag>([\s\S]*?)<\/ETag>/.exec(body!)?.[1] ?? '');
    out.push({ partNumber, etag, checksums: listedChecksums(body!) });
  }
  return out;
}

export function createSinkHandler(): (req: SinkRequest, res: SinkResponse) => void {
  const objects = new Map<string, StoredObject>();
  const uploads = new Map<string, MultipartUpload>();
  let nextUploadId = 1;

  async function handle(req: SinkRequest, res: SinkResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sink');
    const [bucket = '', ...keyParts] = url.pathname.slice(1).split('/');
    const key = decodeURIComponent(keyParts.join('/'));
    const objectPath = `${decodeURIComponent(bucket)}/${key}`;
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    const xml = (body: string, headers: OutgoingHttpHeaders = {}) => {
      res.writeHead(200, { 'content-type': 'application/xml', ...headers });
      res.end(XML_HEADER + body);
    };
    const empty = (status: number, headers: OutgoingHttpHeaders = {}) => {
      res.writeHead(status, headers);
      res.end();
    };

    if (!bucket) throw new S3Failure(501, 'NotImplemented', 'ListBuckets is not part of the sink.');
    if (!key) {
      await readSmallBody(req);
      if (method === 'PUT' || method === 'HEAD') return empty(200); // CreateBucket, HeadBucket
      if (method === 'DELETE') return empty(204); // DeleteBucket
      if (method === 'GET' && !q.has('uploads') && !q.has('location')) return xml(listObjects(objects, decodeURIComponent(bucket), q));
      throw new S3Failure(501, 'NotImplemented', `${method} on a bucket is not part of the sink.`);
    }

    const uploadId = q.get('uploadId');
    const findUpload = () => {
      const upload = uploadId ? uploads.get(uploadId) : undefined;
      if (!upload || upload.objectPath !== objectPath) throw new S3Failure(404, 'NoSuchUpload', 'The specified upload does not exist.');
      return upload;
    };

    if (method === 'POST' && q.has('uploads')) {
      await readSmallBody(req);
      const checksum = uploadChecksumOf(req.headers);
      const id = `sink-${process.pid}-${nextUploadId++}`;
      uploads.set(id, { objectPath, checksum, parts: new Map() });
      const headers = checksum ? { 'x-amz-checksum-algorithm': checksum.algorithm.toUpperCase(), 'x-amz-checksum-type': checksum.type } : {};
      return xml(`<InitiateMultipartUploadResult><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(key)}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`, headers);
    }
    if (method === 'PUT' && uploadId) {
      if (req.headers['x-amz-copy-source']) throw new S3Failure(501, 'NotImplemented', 'UploadPartCopy is not part of the sink.');
      const upload = findUpload();
      const partNumber = Number(q.get('partNumber'));
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) throw new S3Failure(400, 'InvalidArgument', 'Part number must be an integer from 1 to 10000.');
      const { part, echo } = await receiveVerified(req, upload.checksum);
      upload.parts.set(partNumber, part);
      return empty(200, { etag: quoted(part.md5.toString('hex')), ...echoHeaders(echo) });
    }
    if (method === 'POST' && uploadId) {
      const upload = findUpload();
      const listed = completedParts(await readSmallBody(req));
      if (listed.length === 0) throw new S3Failure(400, 'MalformedXML', 'The request lists no parts.');
      const parts: StoredPart[] = [];
      let previous = 0;
      for (const { partNumber, etag } of listed) {
        if (partNumber <= previous) throw new S3Failure(400, 'InvalidPartOrder', 'The list of parts was not in ascending order.');
        previous = partNumber;
        const part = upload.parts.get(partNumber);
        if (!part || unquoted(etag) !== part.md5.toString('hex')) throw new S3Failure(400, 'InvalidPart', `Part ${partNumber} was not uploaded or its ETag differs.`);
        parts.push(part);
      }
      const checksum = completeChecksum(upload.checksum, listed, parts, req.headers);
      const etag = multipartEtag(parts);
      objects.set(objectPath, { size: parts.reduce((n, p) => n + p.size, 0), etag, checksum, modified: new Date() });
      uploads.delete(uploadId);
      return xml(`<CompleteMultipartUploadResult><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(key)}</Key><ETag>${escapeXml(etag)}</ETag>${checksumXml(checksum)}</CompleteMultipartUploadResult>`);
    }
    if (method === 'DELETE' && uploadId) {
      findUpload();
      uploads.delete(uploadId);
      return empty(204);
    }
    if (method === 'PUT') {
      if (req.headers['x-amz-copy-source']) throw new S3Failure(501, 'NotImplemented', 'CopyObject is not part of the sink.');
      const { part, echo } = await receiveVerified(req, null);
      const etag = quoted(part.md5.toString('hex'));
      const checksum = echo ? { algorithm: echo.algorithm, value: echo.base64, type: 'FULL_OBJECT' as const } : null;
      objects.set(objectPath, { size: part.size, etag, checksum, modified: new Date() });
      return empty(200, { etag, ...echoHeaders(echo, checksum?.type) });
    }
    if (method === 'HEAD') {
      const object = objects.get(objectPath);
      if (!object) return empty(404);
      const withChecksum = String(req.headers['x-amz-checksum-mode'] ?? '').toUpperCase() === 'ENABLED' && object.checksum;
      return empty(200, {
        'content-length': object.size,
        etag: object.etag,
        'content-type': 'application/octet-stream',
        'last-modified': object.modified.toUTCString(),
        ...(withChecksum ? echoHeaders({ algorithm: object.checksum!.algorithm, base64: object.checksum!.value }, object.checksum!.type) : {}),
      });
    }
    if (method === 'DELETE') {
      objects.delete(objectPath);
      return empty(204);
    }
    throw new S3Failure(501, 'NotImplemented', `${method} ${url.pathname}${url.search} is not part of the sink.`);
  }

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      const failure = err instanceof S3Failure ? err : new S3Failure(500, 'InternalError', (err as Error).message);
      if (res.headersSent) return void res.destroy();
      // Drain what is left of the body so the connection stays usable.
      req.resume();
      const body = req.method === 'HEAD' ? undefined : `${XML_HEADER}<Error><Code>${failure.code}</Code><Message>${escapeXml(failure.message)}</Message></Error>`;
      res.writeHead(failure.status, { 'content-type': 'application/xml' });
      res.end(body);
    });
  };
}

export async function startSink(port = 0): Promise<SinkServer> {
  const { server, close } = createRawServer(createSinkHandler());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${bound}`, close };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sink = await startSink();
  if (process.send) {
    process.send({ url: sink.url });
    // Ctrl-C goes to the whole process group; the parent decides when the sink stops.
    process.on('SIGINT', () => undefined);
    // The parent's exit (or an explicit disconnect) ends the sink.
    process.on('disconnect', () => void sink.close().then(() => process.exit(0)));
  } else {
    process.stdout.write(`S3_ENDPOINT=${sink.url}\n`);
  }
}
