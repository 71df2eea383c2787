import { HoistError, isErrorCode, type ErrorCode, type ErrorInfo } from '../../../shared/errors.js';

interface SdkLikeError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

const BY_S3_CODE: Record<string, ErrorCode> = {
  InvalidAccessKeyId: 'auth.invalid-credentials',
  SignatureDoesNotMatch: 'auth.invalid-credentials',
  InvalidToken: 'auth.invalid-credentials',
  ExpiredToken: 'auth.expired-token',
  TokenRefreshRequired: 'auth.expired-token',
  RequestTimeTooSkewed: 'auth.clock-skew',
  RequestExpired: 'auth.clock-skew',
  AccessDenied: 's3.access-denied',
  AllAccessDisabled: 's3.access-denied',
  NoSuchBucket: 's3.no-such-bucket',
  PermanentRedirect: 's3.wrong-region',
  AuthorizationHeaderMalformed: 's3.wrong-region',
  IncorrectEndpoint: 's3.wrong-region',
  NoSuchUpload: 's3.no-such-upload',
  SlowDown: 's3.slow-down',
  ServiceUnavailable: 's3.slow-down',
  Throttling: 's3.slow-down',
  InternalError: 's3.server-error',
  BadDigest: 's3.bad-digest',
  InvalidDigest: 's3.bad-digest',
  XAmzContentSHA256Mismatch: 's3.bad-digest',
  RequestTimeout: 'net.timeout',
  TimeoutError: 'net.timeout',
  RequestTimeoutException: 'net.timeout',
  NotImplemented: 's3.not-implemented',
  // A conditional write (If-None-Match, If-Match) refused, or raced by another writer (409).
  PreconditionFailed: 's3.precondition-failed',
  ConditionalRequestConflict: 's3.precondition-failed',
  CredentialsProviderError: 'auth.no-credentials',
  InvalidPart: 's3.invalid-request',
  InvalidPartOrder: 's3.invalid-request',
  EntityTooSmall: 's3.invalid-request',
  EntityTooLarge: 's3.invalid-request',
  InvalidArgument: 's3.invalid-request',
  InvalidRequest: 's3.invalid-request',
  InvalidBucketName: 's3.invalid-request',
  KeyTooLongError: 'limits.key-too-long',
};

const BY_NET_CODE: Record<string, ErrorCode> = {
  ECONNREFUSED: 'net.unreachable',
  ENOTFOUND: 'net.unreachable',
  EAI_AGAIN: 'net.unreachable',
  EHOSTUNREACH: 'net.unreachable',
  ENETUNREACH: 'net.unreachable',
  EADDRNOTAVAIL: 'net.unreachable',
  ETIMEDOUT: 'net.timeout',
  ESOCKETTIMEDOUT: 'net.timeout',
  ECONNABORTED: 'net.reset',
  ECONNRESET: 'net.reset',
  EPIPE: 'net.reset',
  ERR_STREAM_PREMATURE_CLOSE: 'net.reset',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'net.tls',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'net.tls',
  SELF_SIGNED_CERT_IN_CHAIN: 'net.tls',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'net.tls',
  CERT_HAS_EXPIRED: 'net.tls',
  ERR_TLS_CERT_ALTNAME_INVALID: 'net.tls',
  EPROTO: 'net.tls',
  ENOENT: 'source.missing',
  EACCES: 'source.unreadable',
  EPERM: 'source.unreadable',
  EISDIR: 'source.unreadable',
  EIO: 'source.unreadable',
  // better-sqlite3's codes: the job database's own disk.
  SQLITE_FULL: 'db.full',
};

function statusOf(e: SdkLikeError): number | undefined {
  return e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
}

function codeFor(e: SdkLikeError): ErrorCode | undefined {
  // Network codes first: the SDK can wrap them under a generic name.
  for (let cur: unknown = e, depth = 0; cur && depth < 4; cur = (cur as SdkLikeError).cause, depth++) {
    // A DOMException (an aborted signal's reason) has a numeric code.
    const raw: unknown = (cur as SdkLikeError).code;
    const c = typeof raw === 'string' ? raw : undefined;
    if (c && BY_NET_CODE[c]) return BY_NET_CODE[c];
    if (c?.startsWith('ERR_SSL') || c?.startsWith('ERR_TLS')) return 'net.tls';
  }
  const named = (e.Code && BY_S3_CODE[e.Code]) || (e.name && BY_S3_CODE[e.name]);
  if (named) return named;
  if (e.message && /socket hang up/i.test(e.message)) return 'net.reset';
  const status = statusOf(e);
  if (status === 403) return 's3.access-denied';
  if (status === 404 && e.name === 'NotFound') return 's3.no-such-bucket';
  if (status === 301 || status === 307) return 's3.wrong-region';
  if (status === 412) return 's3.precondition-failed';
  // Refused as malformed with a body the SDK could not read (radosgw does this for some keys).
  if (status === 400) return 's3.invalid-request';
  if (status === 503) return 's3.slow-down';
  if (status !== undefined && status >= 500) return 's3.server-error';
  return undefined;
}

/** Turns whatever an SDK call, the network or the file system threw into Hoist's closed set. */
export function toHoistError(err: unknown, operation?: string): HoistError {
  if (err instanceof HoistError) {
    if (operation && !err.info.operation) return new HoistError(err.code, { ...err.info, operation });
    return err;
  }
  const e = (err ?? {}) as SdkLikeError;
  const code = codeFor(e) ?? 'internal.unexpected';
  const status = statusOf(e);
  const said = [e.Code ?? e.name, e.message].filter(Boolean).join(': ');
  return new HoistError(code, { operation, detail: said || String(err), ...(status ? { httpStatus: status } : {}) });
}

export function toErrorInfo(err: unknown, operation?: string): ErrorInfo {
  return toHoistError(err, operation).info;
}

/**
 * Some servers (radosgw) answer a request signed with an expired session token with a plain 403
 * AccessDenied, not ExpiredToken. When the credentials carried a session token whose expiration
 * has passed, that is what the refusal means.
 */
export function explainDenied(info: ErrorInfo, creds: { sessionToken?: string; expiration?: number }, now = Date.now()): ErrorInfo {
  if (info.code !== 's3.access-denied' || !creds.sessionToken) return info;
  if (creds.expiration === undefined) {
    // Nothing says when the token ends (AWS_SESSION_TOKEN without AWS_CREDENTIAL_EXPIRATION): only a hint.
    const hint = 'these credentials carry a session token; if it is old, refresh them';
    return { ...info, detail: info.detail ? `${info.detail}; ${hint}` : hint };
  }
  if (now < creds.expiration) return info;
  const expired = `the session token expired at ${new Date(creds.expiration).toISOString()}`;
  return new HoistError('auth.expired-token', { ...(info.operation ? { operation: info.operation } : {}), detail: info.detail ? `${info.detail}; ${expired}` : expired, ...(info.httpStatus ? { httpStatus: info.httpStatus } : {}) }).info;
}

/** Rebuilds a HoistError from ErrorInfo that crossed a thread or process boundary. */
export function fromErrorInfo(info: ErrorInfo): HoistError {
  const code = isErrorCode(info.code) ? info.code : 'internal.unexpected';
  return new HoistError(code, { ...info });
}

/** True when the abort came from us (pause, cancel, shutdown) rather than from a failure. */
export function isAbort(err: unknown): boolean {
  const e = err as { name?: string; code?: string };
  return e?.name === 'AbortError' || e?.code === 'ABORT_ERR';
}
