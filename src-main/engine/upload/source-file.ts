// A source file open in a part worker: through libuv's threadpool (fs.promises, each call a request
// that wakes a pool thread and then this thread again), or by direct system calls on this thread
// (issue 12: a small file's open, fstat, read, stat of its path and close were five pool round trips,
// on 2 busy cores five context switches or more; which files go which way: part-worker.ts).
import fs from 'node:fs';

/** What the worker does with an open source: fs.promises.FileHandle has this shape already. */
export interface SourceFile {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  stat(opts: { bigint: true }): Promise<fs.BigIntStats>;
  close(): Promise<void>;
}

/**
 * The calls made on this thread and their results handed back as settled promises, so the code
 * that reads a part is one for both kinds. A call that fails rejects, as the FileHandle's would.
 */
class DirectSourceFile implements SourceFile {
  private closed = false;

  constructor(private readonly fd: number) {}

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    return settle(() => ({ bytesRead: fs.readSync(this.fd, buffer, offset, length, position) }));
  }

  stat(opts: { bigint: true }): Promise<fs.BigIntStats> {
    return settle(() => fs.fstatSync(this.fd, opts));
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return settle(() => fs.closeSync(this.fd));
  }
}

/** A direct call's result as the promise the threadpool's call would give: its value, or its error as a rejection. */
function settle<T>(call: () => T): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

/** Opens `path` for reading, by a direct call (`direct`) or through the threadpool. */
export async function openSource(path: string, direct: boolean): Promise<SourceFile> {
  return direct ? new DirectSourceFile(fs.openSync(path, 'r')) : fs.promises.open(path, 'r');
}

/** The path's stat, the same way; null when it cannot be had (gone, unreadable). */
export async function statPath(path: string, direct: boolean): Promise<fs.BigIntStats | null> {
  if (direct) {
    try {
      return fs.statSync(path, { bigint: true });
    } catch {
      return null;
    }
  }
  return fs.promises.stat(path, { bigint: true }).catch(() => null);
}
