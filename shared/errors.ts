// The closed set of error codes Hoist reports. Each says whether retrying can help and what a
// person should do; the S3 operation that failed travels beside the code, not inside it.

export interface ErrorSpec {
  readonly retryable: boolean;
  /** A sentence a person understands; `{op}` is replaced by the S3 operation, when known. */
  readonly message: string;
}

export const ERROR_CODES = {
  'auth.no-credentials': { retryable: false, message: 'No AWS credentials were found. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or add them to ~/.aws/credentials.' },
  'auth.invalid-credentials': { retryable: false, message: 'The server does not accept these credentials: the access key is unknown or the secret key is wrong.' },
  'auth.expired-token': { retryable: false, message: 'The session token has expired. Refresh your credentials (for example `aws sso login`) and retry.' },
  'auth.credentials-sealed': { retryable: false, message: "This destination's credentials are sealed by the Hoist desktop app with the system keychain, and only the app can open them. Work this destination from the app, or give it an AWS profile (hoist destinations add NAME --profile P …)." },
  'auth.clock-skew': { retryable: false, message: "This computer's clock differs too much from the server's. Correct the system time and retry." },
  's3.access-denied': { retryable: false, message: 'Permission denied for {op}. Ask for that permission on the bucket, or use other credentials.' },
  's3.no-such-bucket': { retryable: false, message: 'The bucket does not exist (or is not visible to these credentials). Check the bucket name and the endpoint.' },
  's3.wrong-region': { retryable: false, message: 'The bucket is in another region than the one configured. Set the region of the bucket and retry.' },
  's3.no-such-upload': { retryable: true, message: 'The multipart upload no longer exists on the server (aborted elsewhere or by a lifecycle rule); it is started afresh.' },
  's3.upload-still-there': { retryable: true, message: 'The multipart upload is still there after {op}: a part that was on the wire may have landed after the abort. Hoist aborts it again until the server shows it gone.' },
  's3.slow-down': { retryable: true, message: 'The server asked Hoist to slow down (503 SlowDown); fewer parts are sent at once for a while.' },
  's3.server-error': { retryable: true, message: 'The server had an internal error during {op}; Hoist will retry.' },
  's3.bad-digest': { retryable: true, message: 'The server received bytes that do not match their checksum during {op} (damaged in transit, or the file changed); the part is sent again.' },
  's3.kms-denied': { retryable: false, message: 'The server refused {op} under SSE-KMS: completing an upload encrypted with a KMS key needs kms:Decrypt on that key (and sending its parts kms:GenerateDataKey). Ask for them on the key, or use other credentials.' },
  's3.etag-mismatch': { retryable: false, message: 'The ETag the server returned does not match the MD5 computed from the file. The object was not accepted as verified.' },
  's3.object-exists': { retryable: false, message: 'The bucket already holds an object at this key and the policy is never-overwrite (--if-exists): nothing was sent. Choose another key or policy.' },
  's3.precondition-failed': { retryable: true, message: 'Another client wrote or removed the object at this key while Hoist was sending ({op} refused with 412 PreconditionFailed, or the key changed before it); Hoist decides again by the job\'s --if-exists policy.' },
  's3.checksum-mismatch': { retryable: false, message: "The checksum the server gave the completed object does not match the one computed from the file's parts. The object was not accepted as verified." },
  's3.listing-stuck': { retryable: false, message: "The server's {op} listing said more results follow, but its next page brought nothing new; it was stopped rather than asked for the same page forever." },
  's3.invalid-request': { retryable: false, message: 'The server refused {op} as invalid.' },
  's3.not-implemented': { retryable: false, message: 'The server does not implement {op}.' },
  'net.unreachable': { retryable: true, message: 'The S3 endpoint cannot be reached (connection refused, or no such host). Check the endpoint URL and the network.' },
  'net.timeout': { retryable: true, message: 'The connection to the S3 endpoint stalled or timed out during {op}; Hoist will retry.' },
  'net.reset': { retryable: true, message: 'The connection was reset during {op}; Hoist will retry.' },
  'net.tls': { retryable: false, message: "The endpoint's TLS certificate cannot be verified. Check the endpoint, or point AWS_CA_BUNDLE (or the profile's ca_bundle) at your CA certificates." },
  'source.missing': { retryable: false, message: 'The source file is gone (deleted or moved) before its upload finished. Nothing was completed in the bucket.' },
  'source.changed': { retryable: false, message: 'The source file kept changing while it was uploaded, so no object was completed with mixed content.' },
  'source.hash-mismatch': { retryable: false, message: "The file's hash differs from the one its ASC MHL history recorded at offload, so it was not completed in the bucket (nothing was left there)." },
  'source.unreadable': { retryable: false, message: 'The source file cannot be read (permissions, or an I/O error). Restore access to the file and retry: the parts already sent are kept.' },
  'source.outside-roots': { retryable: false, message: 'That path is outside the folders this Hoist may read. Choose files under one of its roots, or start it with another root (hoist serve --root DIR).' },
  'limits.too-large': { retryable: false, message: 'The file is larger than the largest object this destination accepts.' },
  'upload.plan-mismatch': { retryable: false, message: 'The parts recorded for this upload do not cover the file exactly (a part missing, a gap or the end cut short), so it was not completed: the object would not be the file. Its upload was aborted and its parts planned afresh; `hoist retry` sends it again.' },
  'limits.key-too-long': { retryable: false, message: 'The object key is longer than the 1,024 bytes S3 allows.' },
  'config.invalid': { retryable: false, message: 'A setting is invalid.' },
  'config.in-use': { retryable: false, message: 'It is still in use, so it cannot be removed yet.' },
  'cleanup.failed': { retryable: true, message: 'The source file could not be deleted or moved after its verified delivery. It is untouched where it was; Hoist tries again later.' },
  'cleanup.object-missing': { retryable: false, message: 'The source file was kept: its object is no longer in the bucket (deleted, or a delete marker on top) since it was verified. Upload it again (`hoist retry` the job), or delete the file by hand if that was meant.' },
  'cleanup.object-changed': { retryable: false, message: 'The source file was kept: its object was overwritten (another size, ETag or version) since it was verified. Upload it again (`hoist retry` the job) to put these bytes back, or delete the file by hand if the new object is meant.' },
  'db.full': { retryable: true, message: 'The disk that holds the Hoist database is full. Free some space; nothing was lost.' },
  'db.corrupt': { retryable: false, message: 'The Hoist database is damaged. It was moved aside and a new one rebuilt from what can be known.' },
  'internal.unexpected': { retryable: false, message: 'An unexpected error occurred.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}

export function isRetryable(code: ErrorCode): boolean {
  return ERROR_CODES[code].retryable;
}

/** What crosses every boundary (worker, database, IPC, --json): plain data, no stack. */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  /** The S3 operation that failed, e.g. "UploadPart". */
  operation?: string;
  /** What the server or the OS said, for the curious and for bug reports. */
  detail?: string;
  httpStatus?: number;
}

export function describeError(code: ErrorCode, operation?: string): string {
  return ERROR_CODES[code].message.replace('{op}', operation ?? 'the request');
}

/** An Error carrying an ErrorInfo, thrown inside the engine and turned into data at its edges. */
export class HoistError extends Error {
  readonly info: ErrorInfo;
  constructor(code: ErrorCode, opts: { operation?: string; detail?: string; httpStatus?: number; message?: string } = {}) {
    const message = opts.message ?? describeError(code, opts.operation);
    super(message);
    this.name = 'HoistError';
    this.info = { code, message, operation: opts.operation, detail: opts.detail, httpStatus: opts.httpStatus };
  }
  get code(): ErrorCode {
    return this.info.code;
  }
}
