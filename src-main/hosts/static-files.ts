// Maps a URL path to a file of the built renderer, and refuses anything outside it: encoded
// traversal, NUL bytes, backslashes, hidden files, and symbolic links that lead elsewhere.
import fs from 'node:fs';
import path from 'node:path';
import mime from 'mime-types';

export type StaticLookup = { kind: 'file'; path: string; size: number } | { kind: 'forbidden' } | { kind: 'missing' };

export const INDEX_FILE = 'index.html';

export async function resolveStaticFile(root: string, urlPath: string): Promise<StaticLookup> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return { kind: 'forbidden' };
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return { kind: 'forbidden' };
  const segments = decoded.split('/').filter((s) => s !== '');
  if (segments.some((s) => s.startsWith('.'))) return { kind: 'forbidden' };
  const relative = segments.length === 0 ? INDEX_FILE : segments.join('/');
  let realRoot: string;
  try {
    realRoot = await fs.promises.realpath(root);
  } catch {
    return { kind: 'missing' };
  }
  const wanted = path.resolve(realRoot, relative);
  if (!wanted.startsWith(realRoot + path.sep)) return { kind: 'forbidden' };
  try {
    const real = await fs.promises.realpath(wanted);
    if (!real.startsWith(realRoot + path.sep)) return { kind: 'forbidden' };
    const st = await fs.promises.stat(real);
    return st.isFile() ? { kind: 'file', path: real, size: st.size } : { kind: 'missing' };
  } catch {
    return { kind: 'missing' };
  }
}

/** The Content-Type for a file of the renderer, charset included for text. */
export function contentTypeOf(file: string): string {
  return mime.contentType(path.extname(file)) || 'application/octet-stream';
}
