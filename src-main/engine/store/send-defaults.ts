// The settings "Send files now" last used per destination (issue 14): the send sheet starts from
// them. One row per destination, gone with it (ON DELETE CASCADE).
import { FILE_HASH_ALGORITHMS, IF_EXISTS_POLICIES, PRIORITIES, type FileHashAlgorithm, type IfExistsPolicy, type Priority } from '../../../shared/states.js';
import type { SendDefaults } from '../../../shared/local-files.js';
import type { Db } from './db.js';

type Row = Record<string, unknown>;

function toDefaults(r: Row): SendDefaults {
  const priority = r.priority as Priority;
  const hashes = String(r.hashes).split(',').filter((h): h is FileHashAlgorithm => (FILE_HASH_ALGORITHMS as readonly string[]).includes(h));
  return {
    destinationId: r.destination_id as number,
    prefix: r.prefix as string,
    priority: PRIORITIES.includes(priority) ? priority : 'normal',
    hashes,
    mhl: r.mhl === 1,
    ifExists: IF_EXISTS_POLICIES.includes(r.if_exists as IfExistsPolicy) ? (r.if_exists as IfExistsPolicy) : null,
    usedAt: r.used_at as number,
  };
}

export class SendDefaultsStore {
  private readonly s;

  constructor(db: Db, private readonly now: () => number = Date.now) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      list: p('SELECT * FROM send_defaults ORDER BY used_at DESC, destination_id'),
      upsert: p(`INSERT INTO send_defaults (destination_id, prefix, priority, hashes, mhl, if_exists, used_at) VALUES (@destinationId, @prefix, @priority, @hashes, @mhl, @ifExists, @usedAt)
                 ON CONFLICT(destination_id) DO UPDATE SET prefix = excluded.prefix, priority = excluded.priority, hashes = excluded.hashes,
                   mhl = excluded.mhl, if_exists = excluded.if_exists, used_at = excluded.used_at`),
    };
  }

  /** Latest first. */
  list(): SendDefaults[] {
    return (this.s.list.all() as Row[]).map(toDefaults);
  }

  remember(d: Omit<SendDefaults, 'usedAt'>): SendDefaults {
    const hashes = FILE_HASH_ALGORITHMS.filter((a) => d.hashes.includes(a));
    const row = { destinationId: d.destinationId, prefix: d.prefix, priority: d.priority, hashes: hashes.join(','), mhl: d.mhl ? 1 : 0, ifExists: d.ifExists, usedAt: this.now() };
    this.s.upsert.run(row);
    return { ...d, hashes, usedAt: row.usedAt };
  }
}
