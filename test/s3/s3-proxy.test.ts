// Tests for the fault-injecting S3 proxy, against the real local S3 server (radosgw) of the test run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { s3Env } from '../support/s3.js';
import { classifyS3Request, startS3Proxy, S3_OPERATIONS, type S3Operation, type S3Proxy } from '../support/s3-proxy.js';

const S3_TARGET = s3Env().endpoint;
const MiB = 1024 * 1024;

function makeClient(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: s3Env().accessKeyId, secretAccessKey: s3Env().secretAccessKey },
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

interface Fixture {
  proxy: S3Proxy;
  /** client going through the proxy */
  s3: S3Client;
  /** client talking to the server directly, for setup/inspection that must not be counted */
  direct: S3Client;
  bucket: string;
}

// Fresh bucket + proxy per test; everything is torn down even when the test fails.
async function withFixture(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const direct = makeClient(S3_TARGET);
  const bucket = `proxy-test-${randomBytes(6).toString('hex')}`;
  await direct.send(new CreateBucketCommand({ Bucket: bucket }));
  const proxy = await startS3Proxy(S3_TARGET);
  const s3 = makeClient(proxy.url);
  try {
    await fn({ proxy, s3, direct, bucket });
  } finally {
    s3.destroy();
    await proxy.close();
    await emptyAndDeleteBucket(direct, bucket);
    direct.destroy();
  }
}

async function emptyAndDeleteBucket(s3: S3Client, bucket: string): Promise<void> {
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  for (const u of uploads.Uploads ?? []) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key!, UploadId: u.UploadId! }));
  }
  const objects = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  for (const o of objects.Contents ?? []) {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key! }));
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}

async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

async function rejectsWith(p: Promise<unknown>): Promise<Error & { code?: string; $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  assert.fail('expected the request to fail');
}

// A dropped connection surfaces in Node as one of these (the SDK even renames it TimeoutError).
function assertNetworkError(err: Error & { code?: string }): void {
  const ok = ['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ECONNREFUSED'].includes(err.code ?? '') || /socket hang up/i.test(err.message);
  assert.ok(ok, `expected a network error, got ${err.name} ${err.code} ${err.message}`);
  assert.equal((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, undefined);
}

async function waitFor<T>(what: string, probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 1000; i++) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function expectedCounts(partial: Partial<Record<S3Operation, number>>): Record<S3Operation, number> {
  return Object.fromEntries(S3_OPERATIONS.map((op) => [op, partial[op] ?? 0])) as Record<S3Operation, number>;
}

test('classifyS3Request maps method + query + copy-source to operations', () => {
  const copy = { 'x-amz-copy-source': '/b/src' };
  const cases: Array<[string, string, Record<string, string>, S3Operation]> = [
    ['POST', '/b/k?uploads', {}, 'CreateMultipartUpload'],
    ['POST', '/b/k?uploads=&x-id=CreateMultipartUpload', {}, 'CreateMultipartUpload'],
    ['PUT', '/b/k?partNumber=3&uploadId=abc&x-id=UploadPart', {}, 'UploadPart'],
    ['PUT', '/b/k?partNumber=3&uploadId=abc', copy, 'UploadPartCopy'],
    ['POST', '/b/k?uploadId=abc', {}, 'CompleteMultipartUpload'],
    ['DELETE', '/b/k?uploadId=abc', {}, 'AbortMultipartUpload'],
    ['GET', '/b/k?uploadId=abc&max-parts=10', {}, 'ListParts'],
    ['GET', '/b?uploads', {}, 'ListMultipartUploads'],
    ['GET', '/b/?uploads&prefix=x', {}, 'ListMultipartUploads'],
    ['PUT', '/b/dir/k%20x?x-id=PutObject', {}, 'PutObject'],
    ['PUT', '/b/k', copy, 'Other'], // CopyObject
    ['GET', '/b/k?x-id=GetObject', {}, 'GetObject'],
    ['GET', '/b/k?partNumber=2&response-content-type=text%2Fplain', {}, 'GetObject'],
    ['GET', '/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ff', {}, 'GetObject'], // presigned
    ['HEAD', '/b/k', {}, 'HeadObject'],
    ['head', 'http://127.0.0.1:1/b/k', {}, 'HeadObject'], // absolute-form, lowercase method
    ['GET', '/b/k?tagging', {}, 'Other'],
    ['PUT', '/b/k?acl', {}, 'Other'],
    ['DELETE', '/b/k', {}, 'Other'],
    ['PUT', '/b', {}, 'Other'], // CreateBucket
    ['GET', '/b/?list-type=2', {}, 'Other'], // ListObjectsV2
    ['GET', '/', {}, 'Other'], // ListBuckets
  ];
  for (const [method, url, headers, want] of cases) {
    assert.equal(classifyS3Request(method, url, headers), want, `${method} ${url}`);
  }
});

test('multipart upload through the proxy is counted per operation (signed Host passes through)', async () => {
  await withFixture(async ({ proxy, s3, direct, bucket }) => {
    const partA = randomBytes(5 * MiB);
    const partB = randomBytes(5 * MiB);
    const key = 'big/object.bin';

    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    const e1 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: partA }));
    const e2 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 2, Body: partB }));
    const listed = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId }));
    assert.deepEqual(listed.Parts?.map((p) => [p.PartNumber, p.Size]), [[1, 5 * MiB], [2, 5 * MiB]]);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    assert.deepEqual(uploads.Uploads?.map((u) => u.UploadId), [UploadId]);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1.ETag }, { PartNumber: 2, ETag: e2.ETag }] },
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    assert.equal(head.ContentLength, 10 * MiB);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = Buffer.from(await got.Body!.transformToByteArray());
    assert.ok(body.equals(Buffer.concat([partA, partB])), 'downloaded bytes differ');

    // Second upload: server-side part copy, then abort.
    const second = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'copy.bin' }));
    await s3.send(
      new UploadPartCopyCommand({
        Bucket: bucket,
        Key: 'copy.bin',
        UploadId: second.UploadId,
        PartNumber: 1,
        CopySource: `${bucket}/${key}`,
        CopySourceRange: `bytes=0-${5 * MiB - 1}`,
      }),
    );
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'copy.bin', UploadId: second.UploadId }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'small.txt', Body: 'hello' }));

    assert.deepEqual(
      proxy.counts(),
      expectedCounts({
        CreateMultipartUpload: 2,
        UploadPart: 2,
        UploadPartCopy: 1,
        CompleteMultipartUpload: 1,
        AbortMultipartUpload: 1,
        ListParts: 1,
        ListMultipartUploads: 1,
        PutObject: 1,
        GetObject: 1,
        HeadObject: 1,
      }),
    );
    assert.deepEqual(proxy.uploadPartNumbers(), [1, 2]);
    const reqs = proxy.requests();
    assert.equal(reqs.length, 12);
    for (const r of reqs) {
      assert.ok(r.status !== undefined && r.status >= 200 && r.status < 300, `${r.operation} answered ${r.status}`);
      assert.equal(r.faulted, undefined);
    }
    const partReqs = reqs.filter((r) => r.operation === 'UploadPart');
    assert.deepEqual(partReqs.map((r) => r.requestBytes), [5 * MiB, 5 * MiB]);
    assert.match(partReqs[0]!.query, /(^|&)partNumber=1(&|$)/);
    assert.equal(partReqs[0]!.path, `/${bucket}/big/object.bin`);
    assert.equal(reqs.find((r) => r.operation === 'PutObject')!.requestBytes, 5);

    // The bytes really reached the server.
    const viaDirect = await direct.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    assert.equal(viaDirect.ContentLength, 10 * MiB);

    proxy.reset();
    assert.deepEqual(proxy.counts(), expectedCounts({}));
    assert.deepEqual(proxy.requests(), []);
    assert.deepEqual(proxy.uploadPartNumbers(), []);
  });
});

test('status faults are answered with S3 XML errors that the SDK maps by code', async () => {
  await withFixture(async ({ proxy, s3, direct, bucket }) => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'm' }));
    proxy.addFault({ operation: 'UploadPart', times: 1, action: { kind: 'status', status: 503, code: 'SlowDown' } });

    // 5 MiB part: the SDK sends Expect: 100-continue, so the proxy answers without reading the body.
    const err = await rejectsWith(
      s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'm', UploadId, PartNumber: 1, Body: randomBytes(5 * MiB) })),
    );
    assert.equal(err.name, 'SlowDown');
    assert.equal(err.$metadata?.httpStatusCode, 503);
    assert.equal(err.message, 'Please reduce your request rate.');

    // times: 1 is used up, so the retry goes through.
    await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'm', UploadId, PartNumber: 1, Body: randomBytes(5 * MiB) }));
    assert.deepEqual(proxy.uploadPartNumbers(), [1]);
    const parts = proxy.requests().filter((r) => r.operation === 'UploadPart');
    assert.deepEqual(parts.map((r) => [r.status, r.faulted, r.requestBytes]), [
      [503, 'status 503 SlowDown', 0],
      [200, undefined, 5 * MiB],
    ]);

    // Small body (no Expect): the proxy drains it first, then answers; the connection stays usable.
    proxy.addFault({ operation: 'PutObject', times: 1, action: { kind: 'status', status: 500, code: 'InternalError', message: 'boom <&>' } });
    const err500 = await rejectsWith(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'small', Body: randomBytes(1000) })));
    assert.equal(err500.name, 'InternalError');
    assert.equal(err500.$metadata?.httpStatusCode, 500);
    assert.equal(err500.message, 'boom <&>');
    assert.equal(await objectExists(direct, bucket, 'small'), false, 'faulted PutObject must not reach the server');
    const put = proxy.requests().filter((r) => r.operation === 'PutObject');
    assert.equal(put[0]!.requestBytes, 1000);

    proxy.addFault({ operation: ['GetObject', 'HeadObject'], times: 1, action: { kind: 'status', status: 403, code: 'AccessDenied' } });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'small', Body: 'x' }));
    const err403 = await rejectsWith(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'small' })));
    assert.equal(err403.name, 'AccessDenied');
    assert.equal(err403.$metadata?.httpStatusCode, 403);
  });
});

test('reset faults drop the connection and the proxy keeps serving', async () => {
  await withFixture(async ({ proxy, s3, direct, bucket }) => {
    proxy.addFault({ operation: 'PutObject', times: 1, action: { kind: 'reset' } });
    const err = await rejectsWith(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a', Body: randomBytes(1000) })));
    console.log(`# reset(0) surfaced as ${err.name} code=${err.code}: ${err.message}`);
    assertNetworkError(err);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a', Body: 'second try' }));
    assert.equal(await objectExists(direct, bucket, 'a'), true);
    const puts = proxy.requests().filter((r) => r.operation === 'PutObject');
    assert.deepEqual(puts.map((r) => [r.status, r.faulted, r.requestBytes]), [
      [undefined, 'reset after 0 bytes', 0],
      [200, undefined, 10],
    ]);

    // Mid-body reset of a 5 MiB part: exactly 1 MiB is forwarded, then both sockets die.
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'm' }));
    proxy.addFault({ operation: 'UploadPart', times: 1, action: { kind: 'reset', afterBytes: MiB } });
    const errPart = await rejectsWith(
      s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'm', UploadId, PartNumber: 1, Body: randomBytes(5 * MiB) })),
    );
    assertNetworkError(errPart);
    const partial = proxy.requests().filter((r) => r.operation === 'UploadPart');
    assert.deepEqual(partial.map((r) => [r.status, r.requestBytes]), [[undefined, MiB]]);
    const listed = await direct.send(new ListPartsCommand({ Bucket: bucket, Key: 'm', UploadId }));
    assert.deepEqual(listed.Parts ?? [], [], 'a truncated part must not be stored');

    // Bodyless request with afterBytes > 0: reset fires once the (empty) body has passed.
    proxy.addFault({ operation: 'HeadObject', times: 1, action: { kind: 'reset', afterBytes: 100 } });
    assertNetworkError(await rejectsWith(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'a' }))));

    await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'm', UploadId, PartNumber: 1, Body: randomBytes(5 * MiB) }));
    assert.deepEqual(proxy.uploadPartNumbers(), [1]);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'a' }))).ContentLength, 10);
  });
});

test('stall holds a request without forwarding it, then forwards it normally', async () => {
  await withFixture(async ({ proxy, s3, direct, bucket }) => {
    proxy.addFault({ operation: 'PutObject', times: 1, action: { kind: 'stall', ms: 2000 } });
    const started = performance.now();
    const put = s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'late', Body: 'eventually' }));
    await waitFor('stalled request to arrive', () => proxy.requests().find((r) => r.operation === 'PutObject'));
    // While stalled nothing has reached the server (checked with a direct client).
    assert.equal(await objectExists(direct, bucket, 'late'), false);
    assert.equal(proxy.requests()[0]!.status, undefined);
    await put;
    console.log(`# stalled PutObject took ${(performance.now() - started).toFixed(0)} ms (stall 2000 ms)`);
    assert.equal(await objectExists(direct, bucket, 'late'), true);
    const [rec] = proxy.requests();
    assert.deepEqual([rec!.status, rec!.faulted, rec!.requestBytes], [200, 'stall 2000ms', 10]);
  });
});

test('times and probability limit how often a fault fires', async () => {
  await withFixture(async ({ proxy, s3, bucket }) => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'abc' }));
    proxy.addFault({ operation: 'GetObject', probability: 0, action: { kind: 'status', status: 503, code: 'SlowDown' } });
    proxy.addFault({ operation: 'HeadObject', times: 2, action: { kind: 'status', status: 500, code: 'InternalError' } });

    const outcomes: Array<number | undefined> = [];
    for (let i = 0; i < 3; i++) {
      try {
        await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }));
        outcomes.push(200);
      } catch (err) {
        outcomes.push((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode);
      }
    }
    assert.deepEqual(outcomes, [500, 500, 200]);
    for (let i = 0; i < 3; i++) await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }));

    // Faults on other operations don't fire; counts include faulted requests.
    proxy.addFault({ operation: 'ListParts', action: { kind: 'status', status: 503, code: 'SlowDown' } });
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }));
    proxy.clearFaults();
    proxy.addFault({ action: { kind: 'status', status: 503, code: 'SlowDown' }, times: 1 }); // any operation
    assert.equal((await rejectsWith(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' })))).name, 'SlowDown');
    await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }));

    assert.deepEqual(proxy.counts(), expectedCounts({ PutObject: 1, HeadObject: 4, GetObject: 5 }));
    assert.equal(proxy.requests().filter((r) => r.faulted !== undefined).length, 3);
    assert.throws(() => proxy.addFault({ probability: 2, action: { kind: 'stall', ms: 1 } }), RangeError);
  });
});

test('bandwidth throttle still delivers every byte', async () => {
  await withFixture(async ({ proxy, s3, direct, bucket }) => {
    assert.equal(proxy.bytesPerSecond, undefined);
    proxy.setBandwidth(1 * MiB);
    assert.equal(proxy.bytesPerSecond, MiB);
    const body = randomBytes(MiB + 12345);
    const started = performance.now();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'slow', Body: body }));
    console.log(`# ${body.length} bytes at 1 MiB/s took ${(performance.now() - started).toFixed(0)} ms`);
    assert.equal(proxy.requests().find((r) => r.operation === 'PutObject')!.requestBytes, body.length);
    const got = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: 'slow' }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body));

    proxy.setBandwidth(null);
    assert.equal(proxy.bytesPerSecond, undefined);
    assert.throws(() => proxy.setBandwidth(0), RangeError);
  });
});

test('client abort mid-body tears down the request; proxy keeps serving', async () => {
  await withFixture(async ({ proxy, s3, direct, bucket }) => {
    // Streamed body that only ever yields 100 KiB of a declared 1 MiB, so the abort is always mid-body.
    const source = new PassThrough();
    source.write(randomBytes(100 * 1024));
    const ac = new AbortController();
    const put = s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'aborted', Body: source, ContentLength: MiB }),
      { abortSignal: ac.signal },
    );
    await waitFor('100 KiB forwarded', () => (proxy.requests()[0]?.requestBytes === 100 * 1024 ? true : undefined));
    ac.abort();
    const err = await rejectsWith(put);
    assert.equal(err.name, 'AbortError');
    source.destroy();

    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'after', Body: 'ok' }));
    assert.equal(await objectExists(direct, bucket, 'after'), true);
    assert.equal(await objectExists(direct, bucket, 'aborted'), false);
    assert.deepEqual(proxy.requests().map((r) => [r.operation, r.status, r.requestBytes]), [
      ['PutObject', undefined, 100 * 1024],
      ['PutObject', 200, 2],
    ]);
  });
});

// A local stub upstream makes the upstream side observable: exact headers, aborts, mid-response failures.
test('stub upstream: headers pass verbatim, client aborts and upstream deaths propagate', async () => {
  const upstreamAborted: Array<Promise<boolean>> = [];
  let upstreamBytes = 0;
  let seenRaw: string[] = [];
  const stub = http.createServer((req, res) => {
    seenRaw = req.rawHeaders;
    upstreamAborted.push(new Promise((resolve) => req.on('close', () => resolve(!req.complete))));
    req.on('data', (c: Buffer) => (upstreamBytes += c.length));
    if (req.url === '/die') {
      res.writeHead(200, { 'content-length': 100 });
      res.write('partial');
      setImmediate(() => req.socket.destroy());
      return;
    }
    req.on('end', () => {
      res.writeHead(200, ['X-Amz-Request-Id', 'stub', 'x-amz-meta-Dup', '1', 'x-amz-meta-Dup', '2', 'Content-Length', '2']);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
  const proxy = await startS3Proxy(`http://127.0.0.1:${(stub.address() as AddressInfo).port}`);
  const agent = new http.Agent({ keepAlive: false });
  const send = (path: string, headers: string[], body?: Buffer) =>
    new Promise<{ raw: string[]; body: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'PUT', path, headers, agent, setHost: false });
      req.on('error', reject);
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ raw: res.rawHeaders, body: text }));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('response aborted')));
      });
      req.end(body);
    });
  try {
    const sent = ['Host', 'S3.Example.COM:1234', 'X-Amz-Meta-Dup', 'a', 'x-amz-meta-dup', 'b', 'Authorization', 'AWS4-HMAC-SHA256 x', 'Content-Length', '3', 'Connection', 'close'];
    const res = await send('/b/k?x-id=PutObject', sent, Buffer.from('abc'));
    // Order, case, duplicates and Host survive; only hop-by-hop Connection is replaced.
    assert.deepEqual(pairs(seenRaw).filter(([n]) => !/^(connection|keep-alive)$/i.test(n)), pairs(sent).filter(([n]) => n !== 'Connection'));
    assert.equal(res.body, 'ok');
    assert.deepEqual(pairs(res.raw).filter(([n]) => /^x-amz/i.test(n)), [['X-Amz-Request-Id', 'stub'], ['x-amz-meta-Dup', '1'], ['x-amz-meta-Dup', '2']]);

    // Client sends 1000 of 100000 declared bytes, then drops: the upstream request must be torn down.
    const partial = http.request({ host: '127.0.0.1', port: proxy.port, method: 'PUT', path: '/b/partial', headers: { 'content-length': 100000 }, agent });
    partial.on('error', () => {});
    partial.write(Buffer.alloc(1000));
    await waitFor('1000 bytes upstream', () => (upstreamBytes >= 1000 ? true : undefined));
    partial.destroy();
    assert.equal(await upstreamAborted[1], true, 'upstream request should be aborted');

    // Upstream dies mid-response: the client sees an incomplete response, the proxy carries on.
    await assert.rejects(send('/die', ['Host', 'x', 'Content-Length', '0']));
    assert.equal((await send('/b/k2', ['Host', 'x', 'Content-Length', '0'])).body, 'ok');
    assert.deepEqual(proxy.requests().map((r) => r.status), [200, undefined, 200, 200]);
  } finally {
    agent.destroy();
    await proxy.close();
    await new Promise<void>((r) => stub.close(() => r()));
  }
});

function pairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

test('unreachable upstream: client gets a network error, proxy survives', async () => {
  // Grab a free port and release it so nothing listens there.
  const probe = http.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const deadPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));

  const proxy = await startS3Proxy(`http://127.0.0.1:${deadPort}`);
  const s3 = makeClient(proxy.url);
  try {
    for (let i = 0; i < 2; i++) {
      assertNetworkError(await rejectsWith(s3.send(new HeadObjectCommand({ Bucket: 'nope', Key: 'k' }))));
    }
    assert.equal(proxy.counts().HeadObject, 2);
    assert.deepEqual(proxy.requests().map((r) => r.status), [undefined, undefined]);
  } finally {
    s3.destroy();
    await proxy.close();
  }
});
