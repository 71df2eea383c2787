// Destinations as the engine changes them: names are unique, buckets plausible, and one in use
// (by a watched folder, an unfinished job or an owed abort) is not removed under its users.
import { HoistError } from '../../shared/errors.js';
import type { Destination, DestinationInput } from '../../shared/types.js';
import type { JobStore } from './store/job-store.js';

export type DestinationStore = Pick<JobStore, 'upsertDestination' | 'updateDestination' | 'getDestination' | 'getDestinationByName' | 'removeDestination'>;

export class Destinations {
  constructor(
    private readonly store: DestinationStore,
    /** Destinations changed: the recovery file follows. */
    private readonly changed: () => void,
  ) {}

  /** Creates or updates the destination of that name. */
  upsert(d: DestinationInput): Destination {
    checkBucketName(d.bucket);
    const saved = this.store.upsertDestination(d);
    this.changed();
    return saved;
  }

  /** Creates a destination (no id; its name must be new) or changes the one with that id. */
  save(d: DestinationInput & { id?: number }): Destination {
    const { id, ...input } = d;
    const sameName = this.store.getDestinationByName(input.name);
    if (sameName && sameName.id !== id) throw new HoistError('config.invalid', { message: `A destination named "${input.name}" already exists.` });
    if (id === undefined) return this.upsert(input);
    checkBucketName(input.bucket);
    const saved = this.store.updateDestination(id, input);
    if (!saved) throw new HoistError('config.invalid', { message: `There is no destination ${id}.` });
    this.changed();
    return saved;
  }

  /** Removes a destination and its finished jobs; refused (`config.in-use`, naming them) while a folder or an unfinished job uses it. */
  remove(id: number): void {
    const dest = this.store.getDestination(id);
    if (!dest) throw new HoistError('config.invalid', { message: `There is no destination ${id}.` });
    const removed = this.store.removeDestination(id);
    if (!removed.ok) {
      const uses: string[] = [];
      if (removed.folders.length > 0) uses.push(`watched folder(s) ${removed.folders.map((f) => `${f.id} (${f.path})`).join(', ')} send to it: remove them first`);
      if (removed.unfinishedJobIds.length > 0) uses.push(`job(s) ${listIds(removed.unfinishedJobIds)} are not finished: let them finish or cancel them first`);
      if (removed.owedAborts > 0) uses.push(`${removed.owedAborts} upload abort(s) are still owed there: run the queue first`);
      throw new HoistError('config.in-use', { message: `Destination "${dest.name}" cannot be removed yet: ${uses.join('; ')}.` });
    }
    this.changed();
  }
}

/** "3, 4, 9" or "3, 4, 9, … (12 in all)" */
function listIds(ids: readonly number[], shown = 10): string {
  return ids.length <= shown ? ids.join(', ') : `${ids.slice(0, shown).join(', ')}, … (${ids.length} in all)`;
}

function checkBucketName(bucket: string): void {
  if (!bucket || bucket.length < 3) throw new HoistError('config.invalid', { message: `"${bucket}" is not a valid bucket name (3 to 63 characters).` });
}
