// The parts table: each part's state (pending, sending, done), its ETag, MD5 and checksum, and
// how often it was tried. A job's parts_done and bytes_done follow from it by triggers (migration 6).
import type { Db } from './db.js';
import { toPart, type PartRecord, type PlannedPart, type Row } from './rows.js';

export class PartRows {
  private readonly s;

  constructor(db: Db, private readonly now: () => number) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      parts: p('SELECT * FROM parts WHERE job_id = ? ORDER BY part_number'),
      nextParts: p(`SELECT * FROM parts WHERE job_id = ? AND state = 'pending' AND available_at <= ?
                    ORDER BY part_number LIMIT ?`),
      countPending: p(`SELECT count(*) AS n FROM parts WHERE job_id = ? AND state != 'done'`),
      attempts: p('SELECT attempts FROM parts WHERE job_id = ? AND part_number = ?'),
      setPartSending: p(`UPDATE parts SET state = 'sending', attempts = attempts + 1, sends = sends + 1, updated_at = ?
                         WHERE job_id = ? AND part_number = ? AND state = 'pending'`),
      setPartDone: p(`UPDATE parts SET state = 'done', etag = ?, md5_hex = ?, checksum = ?, available_at = 0, updated_at = ?
                      WHERE job_id = ? AND part_number = ?`),
      setPartPending: p(`UPDATE parts SET state = 'pending', available_at = ?, updated_at = ?
                         WHERE job_id = ? AND part_number = ? AND state = 'sending'`),
      setPartUnsent: p(`UPDATE parts SET sends = sends - 1 WHERE job_id = ? AND part_number = ? AND sends > 0`),
      resetParts: p(`UPDATE parts SET state = 'pending', etag = NULL, md5_hex = NULL, checksum = NULL, attempts = 0, available_at = 0, updated_at = ? WHERE job_id = ?`),
      resendPart: p(`UPDATE parts SET state = 'pending', etag = NULL, md5_hex = NULL, checksum = NULL, attempts = 0, available_at = 0, updated_at = ?
                     WHERE job_id = ? AND part_number = ? AND state = 'done'`),
      setPartChecksum: p(`UPDATE parts SET checksum = ?, updated_at = ? WHERE job_id = ? AND part_number = ? AND state = 'done'`),
      deleteParts: p('DELETE FROM parts WHERE job_id = ?'),
      insertPart: p(`INSERT INTO parts (job_id, part_number, "offset", length, state, updated_at) VALUES (?, ?, ?, ?, 'pending', ?)`),
      unsentToPending: p(`UPDATE parts SET state = 'pending', updated_at = ? WHERE state = 'sending'`),
      unsentOfJobToPending: p(`UPDATE parts SET state = 'pending', updated_at = ? WHERE state = 'sending' AND job_id = ?`),
    };
  }

  parts(jobId: number): PartRecord[] {
    return (this.s.parts.all(jobId) as Row[]).map(toPart);
  }

  nextPendingParts(jobId: number, limit: number): PartRecord[] {
    return (this.s.nextParts.all(jobId, this.now(), limit) as Row[]).map(toPart);
  }

  unfinishedPartCount(jobId: number): number {
    return (this.s.countPending.get(jobId) as { n: number }).n;
  }

  /** How often a part was tried (undefined: no such part): one row's counter, not the job's parts. */
  partAttempts(jobId: number, partNumber: number): number | undefined {
    return (this.s.attempts.get(jobId, partNumber) as { attempts: number } | undefined)?.attempts;
  }

  markPartSending(jobId: number, partNumber: number): boolean {
    return this.s.setPartSending.run(this.now(), jobId, partNumber).changes === 1;
  }

  markPartDone(jobId: number, partNumber: number, etag: string, md5Hex: string, checksum: string | null): void {
    this.s.setPartDone.run(etag, md5Hex, checksum, this.now(), jobId, partNumber);
  }

  /** A done part's additional checksum, as the server lists it. */
  setPartChecksum(jobId: number, partNumber: number, checksum: string): void {
    this.s.setPartChecksum.run(checksum, this.now(), jobId, partNumber);
  }

  /** Puts a part back to wait; `sent` false means no byte of it reached the wire (a pause before sending). */
  markPartPending(jobId: number, partNumber: number, availableAt = 0, sent = true): void {
    this.s.setPartPending.run(availableAt, this.now(), jobId, partNumber);
    if (!sent) this.s.setPartUnsent.run(jobId, partNumber);
  }

  resetParts(jobId: number): void {
    this.s.resetParts.run(this.now(), jobId);
  }

  /** A sent part whose bytes changed since (a rewritten header): it goes again under the same number. */
  resendPart(jobId: number, partNumber: number): void {
    this.s.resendPart.run(this.now(), jobId, partNumber);
  }

  /** Adds planned parts to a job (inside the caller's transaction). */
  insert(jobId: number, parts: readonly PlannedPart[], now: number): void {
    for (const part of parts) this.s.insertPart.run(jobId, part.partNumber, part.offset, part.length, now);
  }

  deleteAll(jobId: number): void {
    this.s.deleteParts.run(jobId);
  }

  /** After a crash: parts that were on the wire wait again (reconcile adopts what the server kept). */
  /** Parts marked as on the wire go back to pending: all of them, or one job's. */
  unsentToPending(now: number, jobId?: number): void {
    if (jobId === undefined) this.s.unsentToPending.run(now);
    else this.s.unsentOfJobToPending.run(now, jobId);
  }
}
