// How the whole-file hash algorithms (issue 8) are named on screen: as offload tools and ASC MHL
// viewers name them, with a line on what each is for.
import { FILE_HASH_ALGORITHMS, type FileHashAlgorithm, type FileHashes } from '../../shared/states.js';

export const HASH_LABELS: Record<FileHashAlgorithm, string> = {
  xxh64: 'xxHash64',
  md5: 'MD5',
  sha1: 'SHA-1',
  sha256: 'SHA-256',
  xxh3: 'XXH3',
  xxh128: 'XXH128',
  c4: 'C4 ID',
};

export const HASH_USES: Record<FileHashAlgorithm, string> = {
  xxh64: 'What offload tools record (Silverstack, ShotPut Pro, OffShoot)',
  md5: 'What most archives and delivery specs ask for',
  sha1: 'Older ASC MHL and archive manifests',
  sha256: 'Security reviews; kept with the job, not in ASC MHL',
  xxh3: 'Fast 64-bit xxHash',
  xxh128: 'Fast 128-bit xxHash',
  c4: 'SMPTE ST 2114 content ID',
};

/** The file's hash values in the usual order of the list. */
export function hashEntries(hashes: FileHashes): Array<[FileHashAlgorithm, string]> {
  return FILE_HASH_ALGORITHMS.flatMap((a) => (hashes[a] === undefined ? [] : [[a, hashes[a]!] as [FileHashAlgorithm, string]]));
}
