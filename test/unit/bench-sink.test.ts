// The bench sink must verify what clients claim as Amazon S3 does, or a client that skips integrity
// would look faster for it. Raw HTTP requests, so nothing here depends on what an SDK happens to send;
// expected checksums come from aws-crt, node:zlib and node:crypto directly, never from the sink.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { crc32 as zlibCrc32 } from 'node:zlib';
import crt from 'aws-crt';
import { startSink, type SinkServer } from '../../bench/s3-sink.js';
import { encodeAwsChunked } from '../../bench/aws-chunked.js';
import { crcCombine, SINK_ALGORITHMS, type SinkAlgorithm } from '../../bench/sink-checksums.js';

let sink: SinkServer;
before(async () => (sink = await startSink()));
after(() => sink.close());

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function send(method: string, path: string, headers: Record<string, string | number> = {}, body?: Buffer | string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${sink.url}${path}`, { method, headers: { ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const be32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** The reference value of each checksum, base64 as S3 writes it, computed without the sink's code. */
function reference(algorithm: SinkAlgorithm, data: Buffer): string {
  switch (algorithm) {
    case 'crc32':
      return be32(zlibCrc32(data)).toString('base64');
    case 'crc32c':
      return be32(crt.checksums.crc32c(data)).toString('base64');
    case 'crc64nvme': {
      const d = crt.checksums.crc64nvme(data);
      return Buffer.from(d.buffer, d.byteOffset, 8).toString('base64');
    }
    default:
      return createHash(algorithm).update(data).digest('base64');
  }
}

const errorCode = (r: Reply) => /<Code>([^<]*)<\/Code>/.exec(r.body)?.[1];

test('a PutObject whose x-amz-checksum-* is wrong is refused with BadDigest; a right one is accepted and echoed', async () => {
  const data = randomBytes(100_000);
  for (const algorithm of SINK_ALGORITHMS) {
    const wrong = reference(algorithm, Buffer.concat([data, Buffer.from('x')]));
    const refused = await send('PUT', `/b/wrong-${algorithm}`, { [`x-amz-checksum-${algorithm}`]: wrong }, data);
    assert.equal(refused.status, 400, algorithm);
    assert.equal(errorCode(refused), 'BadDigest', algorithm);
    const right = reference(algorithm, data);
    const ok = await send('PUT', `/b/right-${algorithm}`, { [`x-amz-checksum-${algorithm}`]: right }, data);
    assert.equal(ok.status, 200, `${algorithm}: ${ok.body}`);
    assert.equal(ok.headers[`x-amz-checksum-${algorithm}`], right, algorithm);
    const head = await send('HEAD', `/b/right-${algorithm}`, { 'x-amz-checksum-mode': 'ENABLED' });
    assert.equal(head.headers[`x-amz-checksum-${algorithm}`], right);
    assert.equal(head.headers['x-amz-checksum-type'], 'FULL_OBJECT');
  }
});

test('a wrong Content-MD5 is refused with BadDigest', async () => {
  const data = randomBytes(5000);
  const bad = await send('PUT', '/b/md5', { 'content-md5': createHash('md5').update('other').digest('base64') }, data);
  assert.equal(errorCode(bad), 'BadDigest');
  const good = await send('PUT', '/b/md5', { 'content-md5': createHash('md5').update(data).digest('base64') }, data);
  assert.equal(good.status, 200);
  assert.equal(good.headers.etag, `"${createHash('md5').update(data).digest('hex')}"`);
});

test('aws-chunked bodies: the trailer checksum is decoded and verified, unsigned and with chunk signatures', async () => {
  const data = randomBytes(300_000);
  for (const [algorithm, signed] of [['crc32', false], ['crc32c', false], ['crc64nvme', true], ['sha256', true]] as Array<[SinkAlgorithm, boolean]>) {
    const trailerName = `x-amz-checksum-${algorithm}`;
    const headers = {
      'content-encoding': 'aws-chunked',
      'x-amz-content-sha256': signed ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' : 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'x-amz-trailer': trailerName,
      'x-amz-decoded-content-length': data.length,
    };
    const right = encodeAwsChunked(data, 65_536, { [trailerName]: reference(algorithm, data) }, signed);
    const ok = await send('PUT', `/b/chunked-${algorithm}`, headers, right);
    assert.equal(ok.status, 200, `${algorithm}: ${ok.body}`);
    assert.equal(ok.headers[trailerName], reference(algorithm, data));
    const head = await send('HEAD', `/b/chunked-${algorithm}`);
    assert.equal(head.headers['content-length'], String(data.length), 'the decoded length, not the encoded one');
    assert.equal(head.headers.etag, `"${createHash('md5').update(data).digest('hex')}"`, 'the MD5 of the decoded bytes');

    const wrong = encodeAwsChunked(data, 65_536, { [trailerName]: reference(algorithm, data.subarray(1)) }, signed);
    const refused = await send('PUT', `/b/chunked-${algorithm}`, headers, wrong);
    assert.equal(errorCode(refused), 'BadDigest', algorithm);
    const missing = await send('PUT', `/b/chunked-${algorithm}`, headers, encodeAwsChunked(data, 65_536, {}, signed));
    assert.equal(refused.status, 400);
    assert.notEqual(missing.status, 200, 'a declared trailer that never came');
  }
});

async function createUpload(key: string, headers: Record<string, string>): Promise<string> {
  const r = await send('POST', `/b/${key}?uploads`, headers, '');
  assert.equal(r.status, 200, r.body);
  return /<UploadId>([^<]+)<\/UploadId>/.exec(r.body)![1]!;
}

async function uploadParts(key: string, id: string, parts: Buffer[], algorithm: SinkAlgorithm): Promise<string> {
  const listed: string[] = [];
  for (const [i, part] of parts.entries()) {
    const value = reference(algorithm, part);
    const r = await send('PUT', `/b/${key}?partNumber=${i + 1}&uploadId=${id}`, { [`x-amz-checksum-${algorithm}`]: value }, part);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers[`x-amz-checksum-${algorithm}`], value);
    const tag = `Checksum${algorithm.toUpperCase()}`;
    listed.push(`<Part><PartNumber>${i + 1}</PartNumber><ETag>${r.headers.etag}</ETag><${tag}>${value}</${tag}></Part>`);
  }
  return `<CompleteMultipartUpload>${listed.join('')}</CompleteMultipartUpload>`;
}

test('FULL_OBJECT multipart: Complete checks the whole-object CRC and returns it, and so does HeadObject', async () => {
  const parts = [randomBytes(700_001), randomBytes(65_536), randomBytes(12_345)];
  const whole = Buffer.concat(parts);
  for (const algorithm of ['crc32', 'crc32c', 'crc64nvme'] as const) {
    const key = `full-${algorithm}`;
    const create = { 'x-amz-checksum-algorithm': algorithm.toUpperCase(), 'x-amz-checksum-type': 'FULL_OBJECT' };
    const bad = await createUpload(key, create);
    const badBody = await uploadParts(key, bad, parts, algorithm);
    const refused = await send('POST', `/b/${key}?uploadId=${bad}`, { [`x-amz-checksum-${algorithm}`]: reference(algorithm, whole.subarray(1)), 'x-amz-checksum-type': 'FULL_OBJECT' }, badBody);
    assert.equal(errorCode(refused), 'BadDigest', `${algorithm}: ${refused.body}`);

    const id = await createUpload(key, create);
    const body = await uploadParts(key, id, parts, algorithm);
    const expected = reference(algorithm, whole);
    const done = await send('POST', `/b/${key}?uploadId=${id}`, { [`x-amz-checksum-${algorithm}`]: expected, 'x-amz-checksum-type': 'FULL_OBJECT' }, body);
    assert.equal(done.status, 200, done.body);
    assert.match(done.body, new RegExp(`<Checksum${algorithm.toUpperCase()}>${expected.replace(/[+/]/g, '\\$&')}</Checksum${algorithm.toUpperCase()}><ChecksumType>FULL_OBJECT</ChecksumType>`));
    const head = await send('HEAD', `/b/${key}`, { 'x-amz-checksum-mode': 'ENABLED' });
    assert.equal(head.headers[`x-amz-checksum-${algorithm}`], expected);
    assert.equal(head.headers['x-amz-checksum-type'], 'FULL_OBJECT');
    const plainHead = await send('HEAD', `/b/${key}`);
    assert.equal(plainHead.headers[`x-amz-checksum-${algorithm}`], undefined, 'only with x-amz-checksum-mode: ENABLED');
  }
});

test('COMPOSITE multipart: a part checksum listed wrong on Complete is refused; the object gets the checksum of checksums', async () => {
  const parts = [randomBytes(200_000), randomBytes(3)];
  const id = await createUpload('composite', { 'x-amz-checksum-algorithm': 'SHA256' });
  const body = await uploadParts('composite', id, parts, 'sha256');
  const tampered = body.replace(reference('sha256', parts[1]!), reference('sha256', parts[0]!));
  const refused = await send('POST', `/b/composite?uploadId=${id}`, {}, tampered);
  assert.equal(errorCode(refused), 'InvalidPart');
  const done = await send('POST', `/b/composite?uploadId=${id}`, {}, body);
  const composite = createHash('sha256').update(Buffer.concat(parts.map((p) => createHash('sha256').update(p).digest()))).digest('base64');
  assert.ok(done.body.includes(`<ChecksumSHA256>${composite}-2</ChecksumSHA256><ChecksumType>COMPOSITE</ChecksumType>`), done.body);
  const refusedPart = await send('PUT', `/b/composite2?partNumber=1&uploadId=${await createUpload('composite2', { 'x-amz-checksum-algorithm': 'SHA256' })}`, { 'x-amz-checksum-sha256': reference('sha256', parts[1]!) }, parts[0]!);
  assert.equal(errorCode(refusedPart), 'BadDigest', 'a part whose checksum is wrong');
});

test('crcCombine gives the CRC of the concatenation for CRC32, CRC32C and CRC64NVME', () => {
  for (const algorithm of ['crc32', 'crc32c', 'crc64nvme'] as const) {
    for (const [a, b] of [[1000, 1], [1, 1000], [123_457, 65_536], [0, 10]]) {
      const x = randomBytes(a!);
      const y = randomBytes(b!);
      const raw = (d: Buffer) => Buffer.from(reference(algorithm, d), 'base64');
      assert.equal(crcCombine(algorithm, raw(x), raw(y), y.length).toString('base64'), reference(algorithm, Buffer.concat([x, y])), `${algorithm} ${a}+${b}`);
    }
  }
});

test('a byte flipped late in a large body is refused: Content-MD5, a checksum header and an aws-chunked trailer each see it', async () => {
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const chunkedHeaders = { 'content-encoding': 'aws-chunked', 'x-amz-trailer': 'x-amz-checksum-crc32', 'x-amz-decoded-content-length': data.length };
  const put = (key: string, body: Buffer) => ({
    md5: () => send('PUT', `/b/${key}-md5`, { 'content-md5': createHash('md5').update(data).digest('base64') }, body),
    crc: () => send('PUT', `/b/${key}-crc`, { 'x-amz-checksum-crc32c': reference('crc32c', data) }, body),
    chunked: () => send('PUT', `/b/${key}-chunked`, chunkedHeaders, encodeAwsChunked(body, 65_536, { 'x-amz-checksum-crc32': reference('crc32', data) })),
  });
  // The intact body is accepted each way (so a verdict that ignores some bytes cannot pass both halves).
  for (const [how, sendIt] of Object.entries(put('intact', data))) assert.equal((await sendIt()).status, 200, how);
  for (const at of [data.length - 1, 1_500_000]) {
    const damaged = Buffer.from(data);
    damaged[at] = damaged[at]! ^ 0x01;
    for (const [how, sendIt] of Object.entries(put('flip', damaged))) assert.equal(errorCode(await sendIt()), 'BadDigest', `${how}, byte ${at}`);
  }
  for (const how of ['md5', 'crc', 'chunked']) assert.equal((await send('HEAD', `/b/flip-${how}`)).status, 404, `flip-${how} was stored`);
});

test('a body shorter or longer than declared is refused and stores nothing', async () => {
  const data = randomBytes(200_000);
  const chunkedHeaders = (decoded: number) => ({ 'content-encoding': 'aws-chunked', 'x-amz-trailer': 'x-amz-checksum-crc32', 'x-amz-decoded-content-length': decoded });
  const body = encodeAwsChunked(data, 65_536, { 'x-amz-checksum-crc32': reference('crc32', data) });
  const short = await send('PUT', '/b/short-chunked', chunkedHeaders(data.length + 1), body);
  assert.equal(errorCode(short), 'IncompleteBody', short.body);
  const long = await send('PUT', '/b/short-chunked', chunkedHeaders(data.length - 1), body);
  assert.equal(errorCode(long), 'IncompleteBody', long.body);
  // A chunk that runs past its declared size: the size line says 0x10000, 0x10001 bytes follow.
  const overrun = Buffer.concat([Buffer.from('10000\r\n'), data.subarray(0, 65_537), Buffer.from('\r\n0\r\n\r\n')]);
  const bad = await send('PUT', '/b/short-chunked', { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': 65_536 }, overrun);
  assert.equal(errorCode(bad), 'IncompleteBody', bad.body);
  assert.equal((await send('HEAD', '/b/short-chunked')).status, 404);

  // A plain body cut short: the client closes its side after half the declared bytes.
  await new Promise<void>((resolve) => {
    const socket = net.connect(Number(new URL(sink.url).port), '127.0.0.1', () => {
      socket.write(`PUT /b/cut HTTP/1.1\r\nHost: sink\r\nContent-Length: ${data.length}\r\n\r\n`);
      socket.end(data.subarray(0, data.length / 2));
    });
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
    socket.on('data', () => undefined);
  });
  assert.equal((await send('HEAD', '/b/cut')).status, 404, 'a cut body was stored');
});

test('a body in chunked transfer coding, after Expect: 100-continue, meets the same checks (the JS SDK streams so, botocore asks so)', async () => {
  const data = randomBytes(700_000);
  const stream = (key: string, headers: Record<string, string | number>, body: Buffer) =>
    new Promise<Reply>((resolve, reject) => {
      const req = http.request(`${sink.url}/b/${key}`, { method: 'PUT', headers: { expect: '100-continue', ...headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      // No content-length: Node sends Transfer-Encoding: chunked, one HTTP chunk per write.
      req.on('continue', () => {
        for (let at = 0; at < body.length; at += 100_000) req.write(body.subarray(at, at + 100_000));
        req.end();
      });
    });
  const md5 = createHash('md5').update(data).digest('base64');
  const ok = await stream('te', { 'content-md5': md5 }, data);
  assert.equal(ok.status, 200, ok.body);
  assert.equal((await send('HEAD', '/b/te')).headers['content-length'], String(data.length));
  const damaged = Buffer.from(data);
  damaged[650_000] = damaged[650_000]! ^ 0x80;
  assert.equal(errorCode(await stream('te-bad', { 'content-md5': md5 }, damaged)), 'BadDigest');
  const awsChunked = encodeAwsChunked(data, 65_536, { 'x-amz-checksum-crc32': reference('crc32', data) });
  const chunkedHeaders = { 'content-encoding': 'aws-chunked', 'x-amz-trailer': 'x-amz-checksum-crc32', 'x-amz-decoded-content-length': data.length };
  const both = await stream('te-aws-chunked', chunkedHeaders, awsChunked);
  assert.equal(both.status, 200, both.body);
  assert.equal(both.headers['x-amz-checksum-crc32'], reference('crc32', data));
  assert.equal((await send('HEAD', '/b/te-aws-chunked')).headers.etag, `"${createHash('md5').update(data).digest('hex')}"`);
});
