import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERROR_CODES, HoistError, isRetryable } from '../../shared/errors.js';
import { toHoistError } from '../../src-main/engine/s3/errors.js';
import { backoffDelay, DEFAULT_RETRY } from '../../src-main/engine/backoff.js';

const sdkError = (name: string, status: number) => Object.assign(new Error(`${name} said`), { name, $metadata: { httpStatusCode: status } });

test('S3 and network failures map to the closed set of codes, with the operation named', () => {
  const cases: Array<[unknown, string]> = [
    [sdkError('InvalidAccessKeyId', 403), 'auth.invalid-credentials'],
    [sdkError('SignatureDoesNotMatch', 403), 'auth.invalid-credentials'],
    [sdkError('ExpiredToken', 400), 'auth.expired-token'],
    [sdkError('RequestTimeTooSkewed', 403), 'auth.clock-skew'],
    [sdkError('AccessDenied', 403), 's3.access-denied'],
    [sdkError('NoSuchBucket', 404), 's3.no-such-bucket'],
    [sdkError('NoSuchUpload', 404), 's3.no-such-upload'],
    [sdkError('SlowDown', 503), 's3.slow-down'],
    [sdkError('InternalError', 500), 's3.server-error'],
    [sdkError('Unknown', 502), 's3.server-error'],
    [sdkError('BadDigest', 400), 's3.bad-digest'],
    [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'net.unreachable'],
    [Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }), 'net.unreachable'],
    [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'net.reset'],
    [Object.assign(new Error('self-signed'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }), 'net.tls'],
    [Object.assign(new Error('wrapped'), { name: 'TimeoutError', cause: { code: 'ETIMEDOUT' } }), 'net.timeout'],
    [new Error('who knows'), 'internal.unexpected'],
  ];
  for (const [err, code] of cases) {
    const e = toHoistError(err, 'UploadPart');
    assert.equal(e.code, code, `${(err as Error).name}: ${(err as Error).message}`);
    assert.equal(e.info.operation, 'UploadPart');
    assert.ok(e.message.length > 10);
  }
  assert.match(toHoistError(sdkError('AccessDenied', 403), 'ListParts').message, /ListParts/);
});

test('every code says whether a retry can help', () => {
  for (const [code, spec] of Object.entries(ERROR_CODES)) assert.equal(typeof spec.retryable, 'boolean', code);
  assert.equal(isRetryable('s3.slow-down'), true);
  assert.equal(isRetryable('net.reset'), true);
  assert.equal(isRetryable('auth.invalid-credentials'), false);
  assert.equal(isRetryable('s3.access-denied'), false);
  assert.equal(new HoistError('source.changed').code, 'source.changed');
});

test('back-off grows exponentially, with jitter, within its ceiling', () => {
  const lo = () => 0;
  const hi = () => 0.999999;
  assert.equal(backoffDelay(1, DEFAULT_RETRY, lo), DEFAULT_RETRY.baseDelayMs / 2);
  assert.equal(backoffDelay(3, DEFAULT_RETRY, lo), (DEFAULT_RETRY.baseDelayMs * 4) / 2);
  assert.ok(backoffDelay(3, DEFAULT_RETRY, hi) > backoffDelay(3, DEFAULT_RETRY, lo));
  assert.ok(backoffDelay(50, DEFAULT_RETRY, hi) <= DEFAULT_RETRY.maxDelayMs);
});

test("an aborted signal's reason (a DOMException, whose code is a number) maps like any other error, without throwing", () => {
  const controller = new AbortController();
  controller.abort();
  const reason = controller.signal.reason as DOMException;
  assert.equal(typeof reason.code, 'number');
  assert.equal(toHoistError(reason, 'UploadPart').code, 'internal.unexpected');
  assert.equal(toHoistError(Object.assign(new Error('wrapped'), { cause: reason }), 'UploadPart').code, 'internal.unexpected');
});
