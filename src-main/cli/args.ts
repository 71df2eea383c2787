// Flag values shared by the `hoist` subcommands, turned into commander's usage errors.
import { InvalidArgumentError } from 'commander';
import type { FileHashAlgorithm } from '../../shared/states.js';
import { parseHashList } from '../engine/upload/file-hashes.js';
import { parseSize } from '../engine/upload/part-plan.js';

/** `64MiB`, `5GiB`, … */
export function sizeArg(v: string): number {
  try {
    return parseSize(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** `--hash xxh64,md5` or `--hash none`. */
export function hashListArg(v: string): FileHashAlgorithm[] {
  try {
    return parseHashList(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}
