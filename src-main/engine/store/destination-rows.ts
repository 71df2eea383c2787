// The destinations table: where uploads go and how (endpoint, bucket, part size, concurrency, …).
import type { Db } from './db.js';
import type { CredentialOrigin, Destination, DestinationInput } from '../../../shared/types.js';
import { toDestination, type Row } from './rows.js';

export class DestinationRows {
  private readonly s;

  constructor(private readonly db: Db, private readonly now: () => number) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      destById: p('SELECT * FROM destinations WHERE id = ?'),
      destByName: p('SELECT * FROM destinations WHERE name = ?'),
      destList: p('SELECT * FROM destinations ORDER BY id'),
    };
  }

  getDestination(id: number): Destination | undefined {
    const r = this.s.destById.get(id) as Row | undefined;
    return r ? toDestination(r) : undefined;
  }

  getDestinationByName(name: string): Destination | undefined {
    const r = this.s.destByName.get(name) as Row | undefined;
    return r ? toDestination(r) : undefined;
  }

  listDestinations(): Destination[] {
    return (this.s.destList.all() as Row[]).map(toDestination);
  }

  /** Creates the destination, or updates the one of that name to these settings. */
  upsertDestination(d: DestinationInput): Destination {
    this.db
      .prepare(
        `INSERT INTO destinations (name, endpoint, region, bucket, prefix, path_style, profile, storage_class, sse,
           sse_kms_key_id, part_size, concurrency, single_put_threshold, max_object_size, max_parts, checksum_algorithm, if_exists, integrity, created_at)
         VALUES (@name, @endpoint, @region, @bucket, @prefix, @pathStyle, @profile, @storageClass, @sse,
           @sseKmsKeyId, @partSize, @concurrency, @singlePutThreshold, @maxObjectSize, @maxParts, @checksumAlgorithm, coalesce(@ifExists, 'skip-identical'), coalesce(@integrity, 'auto'), @now)
         ON CONFLICT(name) DO UPDATE SET endpoint = excluded.endpoint, region = excluded.region, bucket = excluded.bucket,
           prefix = excluded.prefix, path_style = excluded.path_style, profile = excluded.profile,
           storage_class = excluded.storage_class, sse = excluded.sse, sse_kms_key_id = excluded.sse_kms_key_id,
           part_size = excluded.part_size, concurrency = excluded.concurrency,
           single_put_threshold = excluded.single_put_threshold, max_object_size = excluded.max_object_size, max_parts = excluded.max_parts,
           checksum_algorithm = excluded.checksum_algorithm, if_exists = coalesce(@ifExists, destinations.if_exists), integrity = coalesce(@integrity, destinations.integrity)`,
      )
      .run({ ...d, pathStyle: d.pathStyle ? 1 : 0, ifExists: d.ifExists ?? null, integrity: d.integrity ?? null, now: this.now() });
    return this.getDestinationByName(d.name)!;
  }

  /** Changes a destination's settings in place (its name too); its jobs keep their own bucket and key. */
  updateDestination(id: number, d: DestinationInput): Destination | undefined {
    const info = this.db
      .prepare(
        `UPDATE destinations SET name = @name, endpoint = @endpoint, region = @region, bucket = @bucket, prefix = @prefix,
           path_style = @pathStyle, profile = @profile, storage_class = @storageClass, sse = @sse, sse_kms_key_id = @sseKmsKeyId,
           part_size = @partSize, concurrency = @concurrency, single_put_threshold = @singlePutThreshold,
           max_object_size = @maxObjectSize, max_parts = @maxParts, checksum_algorithm = @checksumAlgorithm, if_exists = coalesce(@ifExists, if_exists),
           integrity = coalesce(@integrity, integrity)
         WHERE id = @id`,
      )
      .run({ ...d, id, pathStyle: d.pathStyle ? 1 : 0, ifExists: d.ifExists ?? null, integrity: d.integrity ?? null });
    return info.changes === 1 ? this.getDestination(id) : undefined;
  }

  /** What the integrity probe found at this endpoint (remote/integrity-probe.ts): kept until the endpoint changes. */
  recordChecksumProbe(id: number, endpoint: string, verifies: boolean): void {
    this.db.prepare('UPDATE destinations SET checksum_probe = ?, checksum_probe_endpoint = ?, checksum_probe_at = ? WHERE id = ?').run(verifies ? 1 : 0, endpoint, this.now(), id);
  }

  /** Records that the destination's credentials are sealed by a host (or come from the chain again). */
  setCredentialOrigin(id: number, origin: CredentialOrigin): void {
    this.db.prepare('UPDATE destinations SET credentials = ? WHERE id = ?').run(origin, id);
  }

  /**
   * Removes a destination with its finished jobs' records. Refused (returns what still uses it)
   * while a watched folder sends to it, a job may still send to it or an abort is still owed
   * there: invariant 4 needs the destination.
   */
  removeDestination(id: number, owedAbortsFor: (destinationId: number) => number): { ok: true } | { ok: false; unfinishedJobIds: number[]; owedAborts: number; folders: Array<{ id: number; path: string }> } {
    return this.db.transaction(() => {
      const unfinishedJobIds = (this.db.prepare(`SELECT id FROM jobs WHERE destination_id = ? AND state NOT IN ('done', 'cancelled') ORDER BY id`).all(id) as { id: number }[]).map((r) => r.id);
      const owedAborts = owedAbortsFor(id);
      const folders = this.db
        .prepare('SELECT f.id, f.path FROM watched_folders f WHERE f.id IN (SELECT folder_id FROM folder_destinations WHERE destination_id = ?) ORDER BY f.id')
        .all(id) as Array<{ id: number; path: string }>;
      if (unfinishedJobIds.length > 0 || owedAborts > 0 || folders.length > 0) return { ok: false as const, unfinishedJobIds, owedAborts, folders };
      this.db.prepare('DELETE FROM watched_files WHERE destination_id = ?').run(id);
      this.db.prepare('DELETE FROM jobs WHERE destination_id = ?').run(id);
      this.db.prepare('DELETE FROM destinations WHERE id = ?').run(id);
      return { ok: true as const };
    })();
  }
}
