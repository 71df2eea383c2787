// What the bench sink checks on every body and every Complete, as Amazon S3 does: Content-MD5, one
// flexible checksum (in a header, or in an aws-chunked trailer), the declared lengths, and on
// CompleteMultipartUpload the parts' checksums and the whole object's (COMPOSITE or FULL_OBJECT).
// A mismatch is BadDigest, so no client is rewarded for skipping integrity.
import type { IncomingHttpHeaders } from 'node:http';
import { AwsChunkedDecoder, AwsChunkedError } from './aws-chunked.js';
import type { SinkRequest } from './sink-http.js';
import {
  CRC_ALGORITHMS,
  XML_NAME,
  compositeChecksum,
  createDigest,
  fullObjectCrc,
  isSinkAlgorithm,
  type ChecksumType,
  type SinkAlgorithm,
} from './sink-checksums.js';

export class S3Failure extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export interface StoredPart {
  size: number;
  md5: Buffer;
  /** Raw checksums of the bytes received, by algorithm (the one sent or the upload's). */
  checksums: Partial<Record<SinkAlgorithm, Buffer>>;
}

/** An object's checksum as HeadObject returns it with x-amz-checksum-mode: ENABLED. */
export interface ObjectChecksum {
  algorithm: SinkAlgorithm;
  /** base64, with "-N" for a composite one. */
  value: string;
  type: ChecksumType;
}

export interface UploadChecksum {
  algorithm: SinkAlgorithm;
  type: ChecksumType;
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
};

/** The algorithm and type CreateMultipartUpload asked for (S3's rules for which pairs are allowed). */
export function uploadChecksumOf(headers: IncomingHttpHeaders): UploadChecksum | null {
  const name = header(headers, 'x-amz-checksum-algorithm')?.toLowerCase();
  const type = header(headers, 'x-amz-checksum-type')?.toUpperCase();
  if (!name) {
    if (type) throw new S3Failure(400, 'InvalidRequest', 'x-amz-checksum-type needs x-amz-checksum-algorithm.');
    return null;
  }
  if (!isSinkAlgorithm(name)) throw new S3Failure(400, 'InvalidRequest', `Checksum algorithm ${name} is not supported.`);
  if (type && type !== 'COMPOSITE' && type !== 'FULL_OBJECT') throw new S3Failure(400, 'InvalidRequest', `Checksum type ${type} is not supported.`);
  const resolved: ChecksumType = (type as ChecksumType | undefined) ?? (name === 'crc64nvme' ? 'FULL_OBJECT' : 'COMPOSITE');
  if (resolved === 'FULL_OBJECT' && !CRC_ALGORITHMS.includes(name)) throw new S3Failure(400, 'InvalidRequest', `The FULL_OBJECT checksum type is not supported with ${name.toUpperCase()}.`);
  if (resolved === 'COMPOSITE' && name === 'crc64nvme') throw new S3Failure(400, 'InvalidRequest', 'The COMPOSITE checksum type is not supported with CRC64NVME.');
  return { algorithm: name, type: resolved };
}

/** The x-amz-checksum-ALG headers a request carries (never more than one, as S3 insists). */
function checksumHeader(headers: IncomingHttpHeaders): { algorithm: SinkAlgorithm; value: string } | null {
  const found: Array<{ algorithm: SinkAlgorithm; value: string }> = [];
  for (const [name, value] of Object.entries(headers)) {
    const m = /^x-amz-checksum-([a-z0-9]+)$/.exec(name);
    if (!m || !isSinkAlgorithm(m[1]!)) continue;
    found.push({ algorithm: m[1], value: String(value) });
  }
  if (found.length > 1) throw new S3Failure(400, 'InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  return found[0] ?? null;
}

function trailerAlgorithm(headers: IncomingHttpHeaders): SinkAlgorithm | null {
  const trailer = header(headers, 'x-amz-trailer');
  if (!trailer) return null;
  const names = trailer.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t.startsWith('x-amz-checksum-'));
  if (names.length > 1) throw new S3Failure(400, 'InvalidRequest', 'Expecting a single x-amz-checksum- trailer.');
  const name = names[0]?.slice('x-amz-checksum-'.length);
  if (name === undefined) return null;
  if (!isSinkAlgorithm(name)) throw new S3Failure(400, 'InvalidRequest', `Checksum algorithm ${name} is not supported.`);
  return name;
}

export interface Received {
  part: StoredPart;
  /** The checksum to echo in the response, when one was sent or the upload declared one. */
  echo: { algorithm: SinkAlgorithm; base64: string } | null;
}

/**
 * Feeds each chunk of the body to `onChunk` as it arrives (valid only during the call: sink-http.ts
 * reads into one reused buffer), resolving at its end. A throwing `onChunk` rejects and leaves the rest of
 * the body unread (the caller answers the error and drains it); a connection closed before the end
 * rejects, so a cut body is never taken for a whole one.
 */
export function consume(req: SinkRequest, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const stop = (err: unknown) => {
      req.off('data', onData);
      req.off('end', resolve);
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      try {
        onChunk(chunk);
      } catch (err) {
        stop(err);
      }
    };
    req.on('data', onData);
    req.once('end', resolve);
    req.once('error', stop);
    req.once('close', () => req.complete || stop(new S3Failure(400, 'IncompleteBody', 'The connection closed before the body ended.')));
  });
}

/**
 * Streams a PutObject or UploadPart body through MD5 and the flexible checksum it names (header,
 * trailer, or the upload's declared algorithm), decoding aws-chunked, and refuses it as S3 would.
 * `declared` is the multipart upload's checksum, if any.
 */
export async function receiveVerified(req: SinkRequest, declared: UploadChecksum | null): Promise<Received> {
  const headers = req.headers;
  const sent = checksumHeader(headers);
  const trailed = trailerAlgorithm(headers);
  const algorithm = sent?.algorithm ?? trailed ?? declared?.algorithm ?? null;
  if (declared && algorithm !== declared.algorithm) {
    throw new S3Failure(400, 'InvalidRequest', `Checksum Type mismatch occurred, expected checksum Type: ${declared.algorithm}, actual checksum Type: ${algorithm}`);
  }
  const chunked = /aws-chunked/i.test(header(headers, 'content-encoding') ?? '') || (header(headers, 'x-amz-content-sha256') ?? '').startsWith('STREAMING-');
  if (trailed && !chunked) throw new S3Failure(400, 'InvalidRequest', 'x-amz-trailer needs an aws-chunked body.');

  const md5 = createDigest('md5');
  const digest = algorithm ? createDigest(algorithm) : null;
  let size = 0;
  const onData = (data: Buffer) => {
    md5.update(data);
    digest?.update(data);
    size += data.length;
  };
  const decoder = chunked ? new AwsChunkedDecoder(onData) : null;
  try {
    await consume(req, decoder ? (chunk) => decoder.push(chunk) : onData);
    decoder?.end();
  } catch (err) {
    if (err instanceof AwsChunkedError) throw new S3Failure(400, 'IncompleteBody', `aws-chunked: ${err.message}`);
    throw err;
  }

  const declaredLength = decoder ? header(headers, 'x-amz-decoded-content-length') : header(headers, 'content-length');
  if (decoder && declaredLength === undefined) throw new S3Failure(411, 'MissingContentLength', 'aws-chunked needs x-amz-decoded-content-length.');
  if (declaredLength !== undefined && Number(declaredLength) !== size) throw new S3Failure(400, 'IncompleteBody', `Received ${size} of ${declaredLength} bytes.`);

  const md5Raw = md5.digest();
  const contentMd5 = header(headers, 'content-md5');
  if (contentMd5 !== undefined && contentMd5 !== md5Raw.toString('base64')) {
    throw new S3Failure(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  const part: StoredPart = { size, md5: md5Raw, checksums: {} };
  if (!algorithm || !digest) return { part, echo: null };
  const raw = digest.digest();
  part.checksums[algorithm] = raw;
  const expected = sent?.value ?? (trailed ? decoder!.trailers.get(`x-amz-checksum-${trailed}`) : undefined);
  if (trailed && expected === undefined) throw new S3Failure(400, 'MalformedTrailerError', `The request declared the trailer x-amz-checksum-${trailed} but did not send it.`);
  if (expected !== undefined && expected !== raw.toString('base64')) {
    throw new S3Failure(400, 'BadDigest', `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`);
  }
  return { part, echo: { algorithm, base64: raw.toString('base64') } };
}

export interface ListedPart {
  partNumber: number;
  etag: string;
  /** The <ChecksumXXX> elements Complete listed for this part, by algorithm. */
  checksums: Partial<Record<SinkAlgorithm, string>>;
}

/**
 * The object checksum of a finished multipart upload: checks each listed part checksum against the
 * bytes received, and a whole-object checksum sent on Complete (FULL_OBJECT: the CRC of all the
 * bytes, combined from the parts' CRCs; COMPOSITE: the checksum of the part checksums, "-N").
 */
export function completeChecksum(
  declared: UploadChecksum | null,
  listed: readonly ListedPart[],
  parts: readonly StoredPart[],
  headers: IncomingHttpHeaders,
): ObjectChecksum | null {
  listed.forEach((l, i) => {
    for (const [algorithm, value] of Object.entries(l.checksums) as Array<[SinkAlgorithm, string]>) {
      const raw = parts[i]!.checksums[algorithm];
      if (!raw || raw.toString('base64') !== value) throw new S3Failure(400, 'InvalidPart', `Part ${l.partNumber}: its ${algorithm.toUpperCase()} is not the one the part was uploaded with.`);
    }
    if (declared?.type === 'COMPOSITE' && l.checksums[declared.algorithm] === undefined) {
      throw new S3Failure(400, 'InvalidRequest', `The upload was created using a ${declared.algorithm} checksum. The complete request must include the checksum for each part. It was missing for part ${l.partNumber} in the request.`);
    }
  });
  const sent = checksumHeader(headers);
  const sentType = header(headers, 'x-amz-checksum-type')?.toUpperCase();
  if (declared && sentType && sentType !== declared.type) throw new S3Failure(400, 'InvalidRequest', `The upload was created with checksum type ${declared.type}, not ${sentType}.`);
  if (declared && sent && sent.algorithm !== declared.algorithm) throw new S3Failure(400, 'InvalidRequest', `The upload was created using a ${declared.algorithm} checksum, not ${sent.algorithm}.`);
  const target = declared ?? (sent ? { algorithm: sent.algorithm, type: (sentType as ChecksumType | undefined) ?? 'FULL_OBJECT' } : null);
  if (!target) return null;
  const raws = parts.map((p) => p.checksums[target.algorithm]);
  if (raws.some((r) => !r)) throw new S3Failure(400, 'InvalidRequest', `Not every part was uploaded with a ${target.algorithm} checksum.`);
  let value: string;
  if (target.type === 'FULL_OBJECT') {
    if (!CRC_ALGORITHMS.includes(target.algorithm)) throw new S3Failure(400, 'InvalidRequest', `The FULL_OBJECT checksum type is not supported with ${target.algorithm.toUpperCase()}.`);
    value = fullObjectCrc(target.algorithm, parts.map((p, i) => ({ raw: raws[i]!, size: p.size }))).toString('base64');
  } else {
    value = compositeChecksum(target.algorithm, raws as Buffer[]);
  }
  if (sent && sent.value !== value && sent.value !== value.replace(/-\d+$/, '')) {
    throw new S3Failure(400, 'BadDigest', `The ${target.algorithm.toUpperCase()} you specified for the whole object did not match the calculated checksum.`);
  }
  return { algorithm: target.algorithm, value, type: target.type };
}

/** <ChecksumXXX>…</ChecksumXXX><ChecksumType>…</ChecksumType> for CompleteMultipartUploadResult. */
export function checksumXml(c: ObjectChecksum | null): string {
  return c ? `<${XML_NAME[c.algorithm]}>${c.value}</${XML_NAME[c.algorithm]}><ChecksumType>${c.type}</ChecksumType>` : '';
}

/** The <ChecksumXXX> elements of one <Part> in CompleteMultipartUpload's body. */
export function listedChecksums(partXml: string): Partial<Record<SinkAlgorithm, string>> {
  const out: Partial<Record<SinkAlgorithm, string>> = {};
  for (const [algorithm, name] of Object.entries(XML_NAME) as Array<[SinkAlgorithm, string]>) {
    const m = new RegExp(`<${name}>\\s*([^<]*?)\\s*</${name}>`).exec(partXml);
    if (m) out[algorithm] = m[1]!;
  }
  return out;
}
