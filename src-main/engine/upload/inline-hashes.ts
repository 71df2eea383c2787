// Whole-file hashes taken from the same read as a small file's body (issue 12): a file that goes
// in one PutObject needs no hash pass of its own. A thread keeps its hashers between files, so that
// thousands of frames instantiate hash-wasm's WebAssembly once, not once each.
import type { FileHashAlgorithm } from '../../../shared/states.js';
import { FileHasher } from './file-hashes.js';

export class InlineHashers {
  private readonly idle = new Map<string, FileHasher[]>();

  /** A hasher for these algorithms, at the empty input; give it back with `release`. */
  async acquire(algorithms: readonly FileHashAlgorithm[]): Promise<FileHasher> {
    const reused = this.idle.get(algorithms.join(','))?.pop();
    if (!reused) return FileHasher.create(algorithms);
    reused.reset();
    return reused;
  }

  release(algorithms: readonly FileHashAlgorithm[], hasher: FileHasher): void {
    const key = algorithms.join(',');
    const list = this.idle.get(key) ?? [];
    list.push(hasher);
    this.idle.set(key, list);
  }
}
