// Work Hoist owes until it succeeds (issue 11): one table for every kind (remote aborts, clean-ups
// after delivery, webhook events, ASC MHL generation writes), each item with its attempts, next
// attempt and last error. The runner (owed/runner.ts) claims due items, hands them to their kind's
// handler and records the outcome here. Claims carry an owner and an expiry so a second
// implementation (PostgreSQL, `FOR UPDATE SKIP LOCKED`) can let several runners share the table.
import { isDeepStrictEqual } from 'node:util';
import type { Db } from './db.js';

export type OwedState = 'owed' | 'done' | 'given-up';

export interface OwedItem<P = unknown> {
  id: number;
  kind: string;
  /** What it is about, one owed item per kind and subject (an upload id, a file, an event id, a batch id). */
  subject: string;
  /** What it belongs to: 'destination:3', 'folder:2', a webhook URL. */
  scope: string | null;
  payload: P;
  state: OwedState;
  attempts: number;
  availableAt: number;
  lastError: string | null;
  createdAt: number;
  /** When it was done or given up. */
  settledAt: number | null;
}

export interface OweOptions {
  scope?: string | null;
  availableAt?: number;
  /**
   * The same subject owed already: `keep` leaves it as it is (an abort owed twice is one abort);
   * `replace` takes the new payload and `availableAt`, and starts its attempts over when the payload
   * differs (a clean-up of a newer version of the file).
   */
  onConflict?: 'keep' | 'replace';
}

export interface ClaimOptions {
  /** Only these scopes (null: every scope). */
  scopes?: readonly string[] | null;
  /** One item per scope at a time, oldest first (a webhook URL hears its events in order). */
  inOrder?: boolean;
  /** Back-off or not (a command that settles everything now). */
  all?: boolean;
}

export interface OwedFilter {
  kind: string;
  subject?: string;
  scope?: string;
  states?: readonly OwedState[];
  /** Only items due by then. */
  dueBy?: number;
  scopes?: readonly string[];
}

type Row = Record<string, unknown>;

function toItem<P>(r: Row): OwedItem<P> {
  return {
    id: r.id as number,
    kind: r.kind as string,
    subject: r.subject as string,
    scope: (r.scope as string | null) ?? null,
    payload: JSON.parse(r.payload as string) as P,
    state: r.state as OwedState,
    attempts: r.attempts as number,
    availableAt: r.available_at as number,
    lastError: (r.last_error as string | null) ?? null,
    createdAt: r.created_at as number,
    settledAt: (r.settled_at as number | null) ?? null,
  };
}

/** Builds the WHERE clause of a filter; only fixed SQL text, every value bound. */
function where(f: OwedFilter, t = ''): { sql: string; args: unknown[] } {
  const parts: string[] = [];
  const args: unknown[] = [];
  /** `column op` with its values; `t` names the table when the query has several. */
  const add = (column: string, op: string, ...values: unknown[]) => {
    parts.push(`${t}${column} ${op}`);
    args.push(...values);
  };
  const list = (values: readonly unknown[]) => `IN (${values.map(() => '?').join(',') || 'NULL'})`;
  add('kind', '= ?', f.kind);
  if (f.subject !== undefined) add('subject', '= ?', f.subject);
  if (f.scope !== undefined) add('scope', '= ?', f.scope);
  if (f.states?.length) add('state', list(f.states), ...f.states);
  if (f.dueBy !== undefined) add('available_at', '<= ?', f.dueBy);
  if (f.scopes) add('scope', list(f.scopes), ...f.scopes);
  return { sql: parts.join(' AND '), args };
}

export class OwedWorkStore {
  private readonly s;

  constructor(readonly db: Db, private readonly now: () => number = Date.now) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      insert: p(`INSERT INTO owed_work (kind, subject, scope, payload, available_at, created_at) VALUES (@kind, @subject, @scope, @payload, @availableAt, @now)
                 ON CONFLICT(kind, subject) WHERE state = 'owed' DO NOTHING`),
      replace: p(`INSERT INTO owed_work (kind, subject, scope, payload, available_at, created_at) VALUES (@kind, @subject, @scope, @payload, @availableAt, @now)
                  ON CONFLICT(kind, subject) WHERE state = 'owed' DO UPDATE SET scope = excluded.scope, payload = excluded.payload, available_at = excluded.available_at,
                    attempts = CASE WHEN @samePayload THEN owed_work.attempts ELSE 0 END`),
      owedOf: p(`SELECT * FROM owed_work WHERE kind = ? AND subject = ? AND state = 'owed'`),
      byId: p('SELECT * FROM owed_work WHERE id = ?'),
      settle: p(`UPDATE owed_work SET state = 'done', settled_at = ?, locked_by = NULL, locked_until = NULL WHERE id = ? AND state = 'owed'`),
      settleCounting: p(`UPDATE owed_work SET state = 'done', settled_at = ?, attempts = attempts + 1, last_error = NULL, locked_by = NULL, locked_until = NULL
                         WHERE id = ? AND state = 'owed'`),
      retry: p(`UPDATE owed_work SET attempts = attempts + 1, last_error = ?, available_at = ?, locked_by = NULL, locked_until = NULL WHERE id = ? AND state = 'owed'`),
      giveUp: p(`UPDATE owed_work SET state = 'given-up', attempts = attempts + 1, last_error = ?, settled_at = ?, locked_by = NULL, locked_until = NULL
                 WHERE id = ? AND state = 'owed'`),
      snooze: p(`UPDATE owed_work SET available_at = ?, locked_by = NULL, locked_until = NULL WHERE id = ? AND state = 'owed'`),
      forget: p(`DELETE FROM owed_work WHERE kind = ? AND subject = ? AND state = 'owed'`),
      drop: p(`DELETE FROM owed_work WHERE id = ? AND state = 'owed'`),
      lock: p('UPDATE owed_work SET locked_by = ?, locked_until = ? WHERE id = ?'),
      unlockAll: p(`UPDATE owed_work SET locked_by = NULL, locked_until = NULL WHERE locked_by IS NOT NULL`),
      // In slices: one statement over years of delivered events would hold the write lock long.
      prune: p(`DELETE FROM owed_work WHERE id IN (SELECT id FROM owed_work WHERE state = 'done' AND settled_at < ? LIMIT ?)`),
    };
  }

  /** Records work owed (unless the same subject is owed already, see `onConflict`); returns the owed item. */
  owe<P>(kind: string, subject: string, payload: P, opts: OweOptions = {}): OwedItem<P> {
    const args = { kind, subject, scope: opts.scope ?? null, payload: JSON.stringify(payload), availableAt: opts.availableAt ?? 0, now: this.now() };
    if (opts.onConflict !== 'replace') {
      this.s.insert.run(args);
      return this.owed<P>(kind, subject)!;
    }
    return this.db.transaction(() => {
      // Compared as values: the same numbers may be spelled differently (SQLite's json_object writes 5.0).
      const before = this.owed<P>(kind, subject);
      this.s.replace.run({ ...args, samePayload: before !== undefined && isDeepStrictEqual(before.payload, payload) ? 1 : 0 });
      return this.owed<P>(kind, subject)!;
    })();
  }

  /** The item owed for this subject, if any. */
  owed<P>(kind: string, subject: string): OwedItem<P> | undefined {
    const r = this.s.owedOf.get(kind, subject) as Row | undefined;
    return r ? toItem<P>(r) : undefined;
  }

  get<P>(id: number): OwedItem<P> | undefined {
    const r = this.s.byId.get(id) as Row | undefined;
    return r ? toItem<P>(r) : undefined;
  }

  /** Items owed and due now (or `now`), oldest first; nothing is claimed. */
  due<P>(kinds: readonly string[], limit: number, now = this.now()): OwedItem<P>[] {
    const out: OwedItem<P>[] = [];
    for (const kind of kinds) out.push(...this.list<P>({ kind, states: ['owed'], dueBy: now }));
    return out.sort((a, b) => a.availableAt - b.availableAt || a.id - b.id).slice(0, limit);
  }

  /**
   * Takes up to `limit` due items of a kind for `owner` until `now + leaseMs`, in one transaction:
   * items another claim holds are skipped. (PostgreSQL: UPDATE … WHERE id IN (SELECT … FOR UPDATE
   * SKIP LOCKED) RETURNING *.)
   */
  claim<P>(kind: string, limit: number, owner: string, leaseMs: number, opts: ClaimOptions = {}): OwedItem<P>[] {
    const now = this.now();
    const f = where({ kind, states: ['owed'], ...(opts.all ? {} : { dueBy: now }), ...(opts.scopes ? { scopes: opts.scopes } : {}) }, 'o.');
    const free = '(o.locked_until IS NULL OR o.locked_until <= ?)';
    const inOrder = opts.inOrder
      ? `AND NOT EXISTS (SELECT 1 FROM owed_work older WHERE older.kind = o.kind AND older.scope IS NOT DISTINCT FROM o.scope AND older.state = 'owed' AND older.id < o.id)`
      : '';
    const sql = `SELECT * FROM owed_work o WHERE ${f.sql} AND ${free} ${inOrder}
                 ORDER BY o.available_at, o.id LIMIT ?`;
    const select = this.db.prepare(sql);
    // Most looks find nothing due: those take no write lock.
    if (select.get(...f.args, now, 1) === undefined) return [];
    return this.db.transaction(() => {
      const rows = select.all(...f.args, now, limit) as Row[];
      for (const r of rows) this.s.lock.run(owner, now + leaseMs, r.id);
      return rows.map((r) => toItem<P>(r));
    }).immediate();
  }

  /** Done: kept as a record (`hoist webhooks` lists delivered events), no longer owed. */
  settle(id: number, opts: { countAttempt?: boolean } = {}): boolean {
    return (opts.countAttempt ? this.s.settleCounting : this.s.settle).run(this.now(), id).changes === 1;
  }

  /** A failed attempt: tried again at `nextAt`. */
  retry(id: number, error: string, nextAt: number): void {
    this.s.retry.run(error, nextAt, id);
  }

  /** A failed attempt after which it is not tried again. */
  giveUp(id: number, error: string): void {
    this.s.giveUp.run(error, this.now(), id);
  }

  /** Not ready yet (a batch whose jobs have not settled): looked at again at `nextAt`, no attempt counted. */
  snooze(id: number, nextAt: number): void {
    this.s.snooze.run(nextAt, id);
  }

  /** No longer owed at all (the file changed, the folder keeps its files now): removed. */
  forget(kind: string, subject: string): boolean {
    return this.s.forget.run(kind, subject).changes > 0;
  }

  drop(id: number): boolean {
    return this.s.drop.run(id).changes === 1;
  }

  /**
   * Asked for by a person (the app's Retry, `hoist webhooks retry`): the given subjects of a kind, or
   * with null every one given up, are owed again and due now; ones still owed are due now. Returns
   * how many changed.
   */
  retryNow(kind: string, subjects: readonly string[] | null): number {
    const now = this.now();
    return this.db.transaction(() => {
      const only = subjects === null ? '' : `AND subject IN (${subjects.map(() => '?').join(',') || 'NULL'})`;
      const args = subjects ?? [];
      const revived = this.db
        .prepare(`UPDATE owed_work SET state = 'owed', settled_at = NULL, available_at = ?, locked_by = NULL, locked_until = NULL WHERE kind = ? AND state = 'given-up' ${only}`)
        .run(now, kind, ...args).changes;
      if (subjects === null) return revived;
      return revived + this.db.prepare(`UPDATE owed_work SET available_at = ? WHERE kind = ? AND state = 'owed' AND available_at > ? ${only}`).run(now, kind, now, ...args).changes;
    })();
  }

  /** Frees every claim: at start, for the one runner a SQLite database has (it holds runner_lease). */
  releaseClaims(): void {
    this.s.unlockAll.run();
  }

  /**
   * Removes items done before `settledBefore` (delivered webhook events, sent aborts, clean-ups and
   * ASC MHL writes: records only); returns how many. Given-up items are kept: a person may still
   * retry them. Deleted `slice` rows per statement, each its own transaction.
   */
  pruneSettled(settledBefore: number, slice = 5_000): number {
    let removed = 0;
    for (;;) {
      const n = this.s.prune.run(settledBefore, slice).changes;
      removed += n;
      if (n < slice) return removed;
    }
  }

  /** Items of a kind, oldest first. */
  list<P>(f: OwedFilter): OwedItem<P>[] {
    const w = where(f);
    return (this.db.prepare(`SELECT * FROM owed_work WHERE ${w.sql} ORDER BY id`).all(...w.args) as Row[]).map((r) => toItem<P>(r));
  }

  count(f: OwedFilter): number {
    const w = where(f);
    return (this.db.prepare(`SELECT count(*) AS n FROM owed_work WHERE ${w.sql}`).get(...w.args) as { n: number }).n;
  }

  /** How many items of each kind are in each state. */
  counts(): Array<{ kind: string; state: OwedState; n: number }> {
    return this.db.prepare('SELECT kind, state, count(*) AS n FROM owed_work GROUP BY kind, state ORDER BY kind, state').all() as Array<{ kind: string; state: OwedState; n: number }>;
  }
}
