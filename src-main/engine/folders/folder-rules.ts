// The rules a new watched folder must pass before it is recorded: it exists and is a folder, its
// destinations exist, its settings are valid, and no file could be uploaded twice to one destination
// or deleted or moved under another folder's feet. Pure checks; FolderWatcher records what passes.
import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { HoistError } from '../../../shared/errors.js';
import { DEFAULT_FILE_HASHES, IF_EXISTS_POLICIES, PRIORITIES, type IfExistsPolicy, type Priority } from '../../../shared/states.js';
import type { WatchedFolderInput } from '../../../shared/types.js';
import { requireMhlHash } from '../mhl/manifest.js';
import { checkWebhookUrl } from '../notify/webhook-payloads.js';
import type { FolderRecord, NewFolder } from '../store/folder-store.js';

export const DEFAULT_STABLE_MS = 3000;

export interface FolderRulesContext {
  /** The folders already watched. */
  existing: readonly FolderRecord[];
  destinationExists(id: number): boolean;
  /** For folders added without their own stable interval. */
  defaultStableMs?: number;
}

/** The folder as it is to be recorded, or a `config.invalid` error saying what is wrong. */
export async function checkNewFolder(input: WatchedFolderInput, ctx: FolderRulesContext): Promise<NewFolder> {
  const dir = path.resolve(input.path);
  const st = await fs.promises.stat(dir).catch((err: NodeJS.ErrnoException) => {
    throw new HoistError('config.invalid', { message: `Cannot watch ${dir}: ${err.code === 'ENOENT' ? 'it does not exist' : err.message}.` });
  });
  if (!st.isDirectory()) throw new HoistError('config.invalid', { message: `Cannot watch ${dir}: it is not a folder.` });
  const destinationIds = checkDestinations(input, ctx);
  const after = input.after ?? 'keep';
  const moveTo = await checkMoveTo(dir, after, input.moveTo ?? null);
  const priority = checkPriority(input.priority ?? 'normal');
  const stableMs = input.stableMs ?? ctx.defaultStableMs ?? DEFAULT_STABLE_MS;
  if (!Number.isInteger(stableMs) || stableMs < 0) throw new HoistError('config.invalid', { message: `The stable interval must be a whole number of milliseconds, not ${stableMs}.` });
  for (const glob of [...(input.include ?? []), ...(input.exclude ?? [])]) {
    try {
      picomatch(glob);
    } catch (err) {
      throw new HoistError('config.invalid', { message: `"${glob}" is not a valid pattern: ${(err as Error).message}` });
    }
  }
  const hashAlgorithms = [...(input.hashAlgorithms ?? DEFAULT_FILE_HASHES)];
  if (input.mhl) requireMhlHash(hashAlgorithms);
  checkOverlaps(ctx.existing, dir, destinationIds, after, moveTo);
  return {
    path: dir,
    destinationIds,
    after,
    moveTo,
    priority,
    prefix: (input.prefix ?? '').replace(/^\/+/, ''),
    include: input.include ?? [],
    exclude: input.exclude ?? [],
    singlePutThreshold: input.singlePutThreshold ?? null,
    ifExists: input.ifExists ? checkIfExists(input.ifExists) : null,
    growing: input.growing ?? false,
    stableMs,
    enabled: input.enabled ?? true,
    hashAlgorithms: hashAlgorithms,
    mhl: input.mhl ?? false,
    webhookUrl: input.webhookUrl ? checkWebhookUrl(input.webhookUrl) : null,
  };
}

export function checkIfExists(policy: IfExistsPolicy): IfExistsPolicy {
  if (!IF_EXISTS_POLICIES.includes(policy)) throw new HoistError('config.invalid', { message: `--if-exists must be one of ${IF_EXISTS_POLICIES.join(', ')}, not "${policy}".` });
  return policy;
}

export function checkPriority(priority: Priority): Priority {
  if (!PRIORITIES.includes(priority)) throw new HoistError('config.invalid', { message: `The priority must be high, normal or low, not "${priority}".` });
  return priority;
}

/** The folder's destinations in order: `destinationIds` whole, or `destinationId` alone. */
function checkDestinations(input: WatchedFolderInput, ctx: FolderRulesContext): number[] {
  const ids = input.destinationIds ?? [input.destinationId];
  if (ids.length === 0) throw new HoistError('config.invalid', { message: 'A watched folder needs at least one destination.' });
  if (ids[0] !== input.destinationId) throw new HoistError('config.invalid', { message: `destinationId (${input.destinationId}) must be the first of destinationIds (${ids.join(', ')}).` });
  if (new Set(ids).size !== ids.length) throw new HoistError('config.invalid', { message: `A destination is named twice (${ids.join(', ')}): each file would be uploaded to it twice.` });
  for (const id of ids) if (!ctx.destinationExists(id)) throw new HoistError('config.invalid', { message: `There is no destination ${id}.` });
  return ids;
}

/** `move` needs an absolute folder outside the watched one; the others take none. */
async function checkMoveTo(dir: string, after: string, moveTo: string | null): Promise<string | null> {
  if (after !== 'keep' && after !== 'delete' && after !== 'move') throw new HoistError('config.invalid', { message: `After delivery a file is kept, deleted or moved, not "${after}".` });
  if (after !== 'move') {
    if (moveTo !== null) throw new HoistError('config.invalid', { message: 'A folder to move files to is given only with after: move (--after move:DIR).' });
    return null;
  }
  if (!moveTo) throw new HoistError('config.invalid', { message: 'Say where delivered files go: --after move:DIR.' });
  const target = path.resolve(moveTo);
  if (target === dir || isInside(target, dir) || isInside(dir, target)) {
    throw new HoistError('config.invalid', { message: `Files cannot be moved to ${target}: it overlaps the watched folder ${dir}. Choose a folder outside it.` });
  }
  const st = await fs.promises.stat(target).catch(() => null);
  // It must exist: a folder made in place of an unmounted volume would take the files somewhere unexpected.
  if (!st) throw new HoistError('config.invalid', { message: `Files cannot be moved to ${target}: it does not exist. Create it (or mount its volume) first.` });
  if (!st.isDirectory()) throw new HoistError('config.invalid', { message: `Files cannot be moved to ${target}: it is not a folder.` });
  return target;
}

/**
 * Refuses a folder whose files another folder would also upload to one destination, a folder
 * that overlaps another while either cleans up (one would delete what the other still sends), and
 * a move folder inside a watched folder (moved files would be uploaded again).
 */
function checkOverlaps(existing: readonly FolderRecord[], dir: string, destinationIds: number[], after: string, moveTo: string | null): void {
  const overlaps = (a: string, b: string) => a === b || isInside(a, b) || isInside(b, a);
  for (const other of existing) {
    const shared = other.destinationIds.some((id) => destinationIds.includes(id));
    if (shared && other.path === dir) throw new HoistError('config.invalid', { message: `${dir} is already watched for this destination (folder ${other.id}).` });
    if (shared && overlaps(dir, other.path)) {
      throw new HoistError('config.invalid', { message: `${dir} overlaps watched folder ${other.id} (${other.path}) for the same destination: its files would be uploaded twice.` });
    }
    if ((after !== 'keep' || other.after !== 'keep') && overlaps(dir, other.path)) {
      throw new HoistError('config.invalid', { message: `${dir} overlaps watched folder ${other.id} (${other.path}), and one of them deletes or moves files after delivery: it would take files the other has not delivered yet.` });
    }
    if (moveTo && overlaps(moveTo, other.path)) {
      throw new HoistError('config.invalid', { message: `Files cannot be moved to ${moveTo}: it overlaps watched folder ${other.id} (${other.path}), which would upload them again.` });
    }
    if (other.moveTo && overlaps(other.moveTo, dir)) {
      throw new HoistError('config.invalid', { message: `${dir} overlaps ${other.moveTo}, where watched folder ${other.id} moves its delivered files: they would be uploaded again.` });
    }
  }
}

export function noSuchFolder(id: number): HoistError {
  return new HoistError('config.invalid', { message: `There is no watched folder ${id}.` });
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}
