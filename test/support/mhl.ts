// Checks on ASC MHL output made with other programs than Hoist's own code: xmllint against the ASC's
// schema, Debian's xxhsum and coreutils for hashes, BigInt base58 for C4 IDs.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { tempDir } from './s3.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/ascmhl');

/**
 * The schemas a document must pass, as xmllint reads them: a manifest must be valid under the ASC's
 * repository schema and under the one released with ascmhl 1.2 (test/fixtures/ascmhl/README.md),
 * which wants a file's hash elements in a fixed order.
 */
const SCHEMAS = {
  'ASCMHL.xsd': ['ASCMHL.xsd', '1.2/ASCMHL.xsd'],
  'ASCMHLDirectory.xsd': ['ASCMHLDirectory.xsd'],
} as const;

/** xmllint's verdict against every fixture schema of that kind: '' when valid, each complaint (naming its schema) otherwise. */
export function schemaErrors(xmlOrFile: string, schema: keyof typeof SCHEMAS): string {
  let file = xmlOrFile;
  if (xmlOrFile.trimStart().startsWith('<')) {
    file = path.join(tempDir('xsd'), 'doc.xml');
    fs.writeFileSync(file, xmlOrFile);
  }
  return SCHEMAS[schema].map((xsd) => schemaErrorsOf(file, xsd)).filter(Boolean).join('\n');
}

function schemaErrorsOf(file: string, xsd: string): string {
  try {
    execFileSync('xmllint', ['--noout', '--schema', path.join(FIXTURES, xsd), file], { stdio: 'pipe' });
    return '';
  } catch (err) {
    return `${xsd}: ${String((err as { stderr?: Buffer }).stderr ?? err)}`;
  }
}

/** A digest from a command-line tool: the first field of `HASH  file`, or the value of BSD style `NAME (file) = HASH`. */
export function toolHash(tool: string, args: string[]): string {
  const out = execFileSync(tool, args, { encoding: 'utf8' }).trim();
  const bsd = /= ([0-9a-f]+)$/.exec(out);
  return bsd ? bsd[1]! : out.split(/\s+/)[0]!;
}

/** A C4 ID written out independently: SHA-512 from coreutils, base58 by BigInt arithmetic, padded to 90 characters. */
export function c4ByHand(file: string): string {
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  let n = BigInt('0x' + toolHash('sha512sum', [file]));
  let digits = '';
  while (n > 0n) {
    digits = alphabet[Number(n % 58n)]! + digits;
    n /= 58n;
  }
  return 'c4' + digits.padStart(88, '1');
}

export async function downloadObject(client: S3Client, bucket: string, key: string, file: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const body = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  await fs.promises.writeFile(file, body.Body as NodeJS.ReadableStream);
}

/** Downloads every object under the prefix into `dir`, keeping the key's path below the prefix; returns the relative paths. */
export async function downloadPrefix(client: S3Client, bucket: string, prefix: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const rel = o.Key!.slice(prefix.length);
      await downloadObject(client, bucket, o.Key!, path.join(dir, ...rel.split('/')));
      out.push(rel);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out.sort();
}
