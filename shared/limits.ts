// S3's multipart limits (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html).
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * GiB;
export const MAX_PARTS = 10_000;
/** The largest single PutObject S3 accepts. */
export const MAX_SINGLE_PUT_SIZE = 5 * GiB;
/** Amazon S3 since December 2025: 10,000 parts of 5 GiB (about 48.8 TiB). */
export const AMAZON_S3_MAX_OBJECT_SIZE = MAX_PARTS * MAX_PART_SIZE;
/** What many S3-compatible servers (and Amazon before December 2025) accept. */
export const COMPATIBLE_MAX_OBJECT_SIZE = 5 * TiB;
export const MAX_KEY_BYTES = 1024;

export const DEFAULT_PART_SIZE = 64 * MiB;
export const DEFAULT_CONCURRENCY = 4;
export const MAX_CONCURRENCY = 64;
/** Files below this go as one PutObject with Content-MD5. */
export const DEFAULT_SINGLE_PUT_THRESHOLD = 100 * MiB;
/** ListParts and ListMultipartUploads return at most this many entries a page. */
export const MAX_LIST_PAGE = 1000;
