// ASC MHL v2.0 documents (issue 8): a generation's manifest (`hashlist`, urn:ASC:MHL:v2.0) and the
// chain file that lists every generation by its C4 ID (`ascmhldirectory`, urn:ASC:MHL:DIRECTORY:v2.0),
// built and read with fast-xml-parser. Written after the ASC's schema and reference implementation
// (github.com/ascmitc/mhl); test/fixtures/ascmhl/ holds the schema the tests validate against.
import { HoistError } from '../../../shared/errors.js';
import { MHL_HASH_FORMATS, mhlHashProblem } from '../../../shared/folder-rules.js';
import type { FileHashAlgorithm, FileHashes } from '../../../shared/states.js';
import { requireCjs } from '../cjs.js';

// Through require, not import (cjs.ts): the AWS SDK requires the same package, so one copy is loaded, not its ES build beside it.
const { XMLBuilder, XMLParser } = requireCjs('fast-xml-parser') as typeof import('fast-xml-parser');

export const ASCMHL_FOLDER = 'ascmhl';
export const CHAIN_FILE = 'ascmhl_chain.xml';
const MANIFEST_NS = 'urn:ASC:MHL:v2.0';
const CHAIN_NS = 'urn:ASC:MHL:DIRECTORY:v2.0';

export { MHL_HASH_FORMATS };

/**
 * The order a file's hash elements are written in: the schema released with ascmhl 1.2 fixes it
 * (a sequence), the repository's allows any (a choice), so this order is valid for both and for
 * every ASC MHL tool reading either (test/fixtures/ascmhl/).
 */
export const MANIFEST_HASH_ORDER: readonly FileHashAlgorithm[] = ['c4', 'md5', 'sha1', 'xxh128', 'xxh3', 'xxh64'];

/** With ASC MHL on, at least one hash must be one a manifest can record. */
export function requireMhlHash(hashes: readonly FileHashAlgorithm[]): void {
  const problem = mhlHashProblem(hashes);
  if (problem) throw new HoistError('config.invalid', { message: problem });
}

export type HashAction = 'original' | 'verified' | 'failed';

export interface ManifestEntry {
  /** Relative to the root, `/`-separated. */
  path: string;
  size: number;
  lastModified: Date;
  hashes: FileHashes;
  action: HashAction;
  hashDate: Date;
}

export interface NewManifest {
  createdAt: Date;
  hostname: string;
  tool: { name: string; version: string };
  process: 'transfer' | 'in-place';
  ignorePatterns: readonly string[];
  entries: readonly ManifestEntry[];
}

export interface ListedFile {
  path: string;
  size: number | null;
  hashes: FileHashes;
  actions: Partial<Record<FileHashAlgorithm, string>>;
}

export interface ChainEntry {
  sequence: number;
  /** The manifest's file name inside `ascmhl/`. */
  path: string;
  c4: string;
}

/** xs:dateTime in UTC, to the second, as the reference writes it. */
export function xmlDate(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `0001_A002R2EC_2024-05-01_101500Z.mhl`: generation, root folder name, UTC time of creation. */
export function manifestFileName(generation: number, rootName: string, at: Date): string {
  const t = at.toISOString();
  const stamp = `${t.slice(0, 10)}_${t.slice(11, 13)}${t.slice(14, 16)}${t.slice(17, 19)}Z`;
  return `${String(generation).padStart(4, '0')}_${rootName}_${stamp}.mhl`;
}

/** The generation number a manifest's file name starts with, or null for a file that is not one. */
export function generationOf(fileName: string): number | null {
  const m = /^(\d{4,})_.+\.mhl$/.exec(fileName);
  return m ? Number(m[1]) : null;
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, indentBy: '  ', suppressEmptyNode: true });

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

export function buildManifest(m: NewManifest): string {
  const hash = m.entries.map((e) => {
    const el: Record<string, unknown> = {
      path: { '#text': e.path, '@_size': String(e.size), '@_lastmodificationdate': xmlDate(e.lastModified) },
    };
    for (const format of MANIFEST_HASH_ORDER) {
      const value = e.hashes[format];
      if (value) el[format] = { '#text': value, '@_action': e.action, '@_hashdate': xmlDate(e.hashDate) };
    }
    return el;
  });
  const doc = {
    hashlist: {
      '@_version': '2.0',
      '@_xmlns': MANIFEST_NS,
      creatorinfo: {
        creationdate: xmlDate(m.createdAt),
        hostname: m.hostname,
        tool: { '#text': m.tool.name, '@_version': m.tool.version },
      },
      processinfo: {
        process: m.process,
        ...(m.ignorePatterns.length ? { ignore: { pattern: [...m.ignorePatterns] } } : {}),
      },
      ...(hash.length ? { hashes: { hash } } : {}),
    },
  };
  return DECLARATION + builder.build(doc);
}

export function buildChain(entries: readonly ChainEntry[]): string {
  const doc = {
    ascmhldirectory: {
      '@_xmlns': CHAIN_NS,
      hashlist: [...entries].sort((a, b) => a.sequence - b.sequence).map((e) => ({ '@_sequencenr': String(e.sequence), path: e.path, c4: e.c4 })),
    },
  };
  return DECLARATION + builder.build(doc);
}

// Values stay strings: a hex hash of digits only must not become a number.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => ['hash', 'directoryhash', 'hashlist', 'pattern', 'hashlistreference'].includes(name),
});

type Node = Record<string, unknown>;

function text(v: unknown): string | null {
  if (typeof v === 'string') return v.trim();
  if (v && typeof v === 'object' && '#text' in v) return String((v as Node)['#text']).trim();
  return null;
}

export class ManifestFormatError extends Error {}

/** The files a manifest lists (directory hashes are left out) with their hash values and actions. */
export function parseManifest(xml: string | Buffer): ListedFile[] {
  const doc = parser.parse(xml) as Node;
  const list = (doc.hashlist as Node[] | undefined)?.[0];
  if (!list) throw new ManifestFormatError('not an ASC MHL manifest (no <hashlist> element)');
  const hashes = (list.hashes as Node | undefined)?.hash as Node[] | undefined;
  const out: ListedFile[] = [];
  for (const h of hashes ?? []) {
    const pathNode = h.path as Node | string | undefined;
    const path = text(pathNode);
    if (!path) continue;
    const size = typeof pathNode === 'object' && pathNode['@_size'] !== undefined ? Number(pathNode['@_size']) : null;
    const entry: ListedFile = { path, size, hashes: {}, actions: {} };
    for (const format of [...MHL_HASH_FORMATS, 'sha256' as const]) {
      const v = h[format];
      const value = text(Array.isArray(v) ? v[0] : v);
      if (!value) continue;
      entry.hashes[format] = format === 'c4' ? value : value.toLowerCase();
      const action = typeof v === 'object' && v && !Array.isArray(v) ? (v as Node)['@_action'] : undefined;
      if (typeof action === 'string') entry.actions[format] = action;
    }
    out.push(entry);
  }
  return out;
}

export function parseChain(xml: string | Buffer): ChainEntry[] {
  const doc = parser.parse(xml) as Node;
  const dir = doc.ascmhldirectory as Node | undefined;
  if (!dir) throw new ManifestFormatError('not an ASC MHL chain file (no <ascmhldirectory> element)');
  const out: ChainEntry[] = [];
  for (const h of (dir.hashlist as Node[] | undefined) ?? []) {
    const path = text(h.path);
    const c4 = text(h.c4);
    // The example in the ASC's repository spells the attribute "sequencer"; its tools write "sequencenr".
    const seq = Number(h['@_sequencenr'] ?? h['@_sequencer'] ?? generationOf(path ?? ''));
    if (path && c4 && Number.isInteger(seq)) out.push({ sequence: seq, path, c4 });
  }
  return out;
}
