// Rules a watched folder's settings follow, in one place for the engine (which enforces them) and
// the UI's folder form (which explains them before anything is sent, in the engine's own words).
import type { FileHashAlgorithm } from './states.js';

/**
 * The hash formats the ASC MHL v2.0 schema has elements for, in the order Hoist writes them.
 * (The reference tool also reads sha256, which the published schema has no element for: Hoist keeps
 * SHA-256 with the job and leaves it out of manifests, so every manifest validates.)
 */
export const MHL_HASH_FORMATS: readonly FileHashAlgorithm[] = ['xxh64', 'xxh128', 'xxh3', 'md5', 'sha1', 'c4'];

/** With ASC MHL on, at least one hash must be one a manifest can record; null when that holds. */
export function mhlHashProblem(hashes: readonly FileHashAlgorithm[]): string | null {
  if (hashes.some((h) => MHL_HASH_FORMATS.includes(h))) return null;
  return `An ASC MHL manifest records ${MHL_HASH_FORMATS.join(', ')}: add one of them to the hashes (now ${hashes.join(', ') || 'none'}).`;
}

/** A webhook must be an http(s) URL: the URL as it will be used, or why it cannot be. */
export function parseWebhookUrl(text: string): { url: string; problem: null } | { url: null; problem: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { url: null, problem: `The webhook "${text}" is not a URL (for example https://hooks.example.com/hoist).` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { url: null, problem: `The webhook must be an http:// or https:// URL, not ${url.protocol}.` };
  return { url: url.toString(), problem: null };
}
