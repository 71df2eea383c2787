// The --if-exists policies as the dialogs name them (shared/states.ts IF_EXISTS_POLICIES).
import type { IfExistsPolicy } from '../../shared/states.js';

export const IF_EXISTS_LABELS: Record<IfExistsPolicy, string> = {
  'skip-identical': 'Skip if identical, else replace',
  'keep-both': 'Keep both (name (1).ext)',
  'never-overwrite': 'Never overwrite (fail)',
  overwrite: 'Always send (overwrite)',
};

export const IF_EXISTS_HINT = 'When a file’s key already holds an object. Identical means the same size and ETag (or checksum), checked without downloading.';
