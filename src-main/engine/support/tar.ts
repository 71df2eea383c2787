// A gzipped tar (POSIX ustar) of a few files, in memory, for `hoist diagnostics` and the app's
// "Export diagnostics". Written here with node:zlib rather than taken from a library: no zip or tar
// writer is a dependency of Hoist (node_modules has tar-stream only as prebuild-install's, which
// better-sqlite3 uses at install time, so a packaged app need not carry it), and a diagnostics file
// is a handful of regular files: a 512-byte header each, the data padded to 512, two zero blocks.
import zlib from 'node:zlib';

export interface TarEntry {
  /** A relative path with `/` separators, under 100 bytes. */
  name: string;
  data: Buffer;
  mtime?: Date;
}

const BLOCK = 512;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(e: TarEntry): Buffer {
  const h = Buffer.alloc(BLOCK);
  const name = Buffer.from(e.name, 'utf8');
  if (name.length >= 100) throw new Error(`tar entry name too long: ${e.name}`);
  name.copy(h, 0);
  h.write(octal(0o600, 8), 100, 'ascii'); // mode
  h.write(octal(0, 8), 108, 'ascii'); // uid
  h.write(octal(0, 8), 116, 'ascii'); // gid
  h.write(octal(e.data.length, 12), 124, 'ascii'); // size
  h.write(octal(Math.floor((e.mtime ?? new Date()).getTime() / 1000), 12), 136, 'ascii');
  h.write('        ', 148, 'ascii'); // checksum, counted as spaces
  h.write('0', 156, 'ascii'); // a regular file
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

/** The entries as a .tar.gz. */
export function tarGz(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e), e.data);
    const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return zlib.gzipSync(Buffer.concat(parts));
}
