// Where a bucket's objects are addressed and how requests to them are signed, as the AWS SDK's own
// endpoint rules decide for a connection's settings (virtual-hosted or path style, the AWS partition's
// host names, an endpoint's own path). The main thread asks the SDK once per connection and bucket
// (s3/target-resolver.ts); the part workers take the answer with each task and send their two hot
// requests without the SDK (s3/direct-request.ts). This module loads nothing, so a worker can use it.

/** A bucket's address: `origin` + `basePath` + `/` + the encoded key. */
export interface ObjectTarget {
  /** "https://bucket.s3.eu-west-1.amazonaws.com" or "http://127.0.0.1:8411" */
  origin: string;
  /** "" (virtual-hosted) or "/bucket" (path style), after any path of the endpoint itself. */
  basePath: string;
  signingRegion: string;
  signingName: string;
}

/** The SDK's escaping of a label: encodeURIComponent, and also !'()* (@smithy/core's extendedEncodeURIComponent). */
export function extendedEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The request path of an object key: each `/`-separated segment escaped, as the SDK's `/{Key+}` label is. */
export function objectPath(target: ObjectTarget, key: string): string {
  return `${target.basePath}/${key.split('/').map(extendedEncode).join('/')}`;
}
