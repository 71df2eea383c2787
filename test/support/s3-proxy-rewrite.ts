// The fault proxy playing a server radosgw is not: it rewrites the body of chosen answers (ListParts
// with part checksums as Amazon S3 lists them, listings that leave out their next-page markers, a
// Complete that names its composite checksum). Used by s3-proxy.ts; tests add rules through it.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ProxiedRequest, S3Operation } from './s3-proxy.js';

export interface ResponseRewrite {
  /** Which answers: these operations (all when left out), and of them those `match` accepts. */
  operation?: S3Operation | S3Operation[];
  match?: (rec: ProxiedRequest) => boolean;
  /** The new body (text) for the server's answer; the status and the other headers stay. */
  rewrite: (body: string, rec: ProxiedRequest) => string;
  /** How many answers it rewrites; default Infinity. */
  times?: number;
}

interface ActiveRewrite {
  rule: ResponseRewrite;
  remaining: number;
}

/** The rules a proxy holds, and the one (if any) that takes a given answer. */
export class Rewrites {
  private rules: ActiveRewrite[] = [];

  add(rule: ResponseRewrite): void {
    this.rules.push({ rule, remaining: rule.times ?? Infinity });
  }

  clear(): void {
    this.rules = [];
  }

  /** The rule for this request's answer, counted as used. */
  take(rec: ProxiedRequest): ResponseRewrite | undefined {
    for (const r of this.rules) {
      if (r.remaining <= 0) continue;
      const ops = r.rule.operation === undefined ? null : ([] as S3Operation[]).concat(r.rule.operation);
      if (ops && !ops.includes(rec.operation)) continue;
      if (r.rule.match && !r.rule.match(rec)) continue;
      r.remaining--;
      return r.rule;
    }
    return undefined;
  }
}

/** Reads the server's whole answer, rewrites it and sends it with its new length. */
export function sendRewritten(upRes: IncomingMessage, res: ServerResponse, rec: ProxiedRequest, rule: ResponseRewrite, rawHeaders: string[]): void {
  const chunks: Buffer[] = [];
  upRes.on('data', (c: Buffer) => chunks.push(c));
  upRes.on('end', () => {
    const body = Buffer.from(rule.rewrite(Buffer.concat(chunks).toString('utf8'), rec), 'utf8');
    const out: OutgoingHttpHeaders = {};
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!.toLowerCase();
      if (name !== 'content-length' && name !== 'transfer-encoding') out[name] = rawHeaders[i + 1]!;
    }
    out['content-length'] = body.length;
    res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, out);
    res.end(body);
  });
}

/** Removes every element `<name>…</name>` (and `<name/>`) from an XML answer. */
export function dropXmlElement(xml: string, name: string): string {
  return xml.replace(new RegExp(`<${name}>[^<]*</${name}>|<${name}\\s*/>`, 'g'), '');
}

/** Puts what `inner` gives for each `<parent>…</parent>` element just before its closing tag. */
export function insertIntoEach(xml: string, parent: string, inner: (element: string) => string): string {
  return xml.replace(new RegExp(`<${parent}>([\\s\\S]*?)</${parent}>`, 'g'), (whole, body: string) => `<${parent}>${body}${inner(whole)}</${parent}>`);
}

/** The text of the first `<name>` inside an XML fragment, or undefined. */
export function xmlText(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}
