// Counts what a database is written with, for the bench and the tests (issue 12): transactions
// committed (an explicit one, or a write statement run outside one, which SQLite commits on its
// own) and write statements run. better-sqlite3 offers no commit hook, so the counting wraps its
// JavaScript entry points: `Database.prototype.transaction` and `Statement.prototype.run`, once per
// process and before the engine opens its database (stores build some transactions in their
// constructors). Only databases handed to `countWrites` are counted.
import Database from 'better-sqlite3';

export interface WriteCount {
  /** Commits: outermost transactions plus write statements run outside any. */
  transactions: number;
  /** Write statements run (INSERT, UPDATE, DELETE), inside a transaction or not. */
  statements: number;
  /** Write statements by their SQL's first words, for listing where the writes go. */
  bySql: Map<string, number>;
}

const counts = new WeakMap<Database.Database, WriteCount>();
let installed = false;

type Stmt = Database.Statement & { database: Database.Database; reader: boolean; source: string };

/** Installs the wrappers (once per process). Call before opening the database to be counted. */
export function installWriteCounting(): void {
  if (installed) return;
  installed = true;
  const proto = Database.prototype as unknown as { transaction: (fn: (...a: unknown[]) => unknown) => unknown };
  const original = proto.transaction;
  proto.transaction = function (this: Database.Database, fn: (...a: unknown[]) => unknown) {
    const made = original.call(this, fn) as ((...a: unknown[]) => unknown) & Record<'deferred' | 'immediate' | 'exclusive', (...a: unknown[]) => unknown>;
    const wrap = (run: (...a: unknown[]) => unknown) => (...args: unknown[]) => {
      const c = counts.get(this);
      if (c && !this.inTransaction) c.transactions++;
      return run(...args);
    };
    const counted = wrap(made) as typeof made;
    for (const mode of ['deferred', 'immediate', 'exclusive'] as const) counted[mode] = wrap(made[mode]);
    return counted;
  };
  const probe = new Database(':memory:');
  const statementProto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as { run: (...a: unknown[]) => unknown };
  probe.close();
  const run = statementProto.run;
  statementProto.run = function (this: Stmt, ...args: unknown[]) {
    const c = counts.get(this.database);
    if (c && !this.reader) {
      if (!this.database.inTransaction) c.transactions++;
      c.statements++;
      const what = this.source.trim().replace(/\s+/g, ' ').split(' ').slice(0, 5).join(' ');
      c.bySql.set(what, (c.bySql.get(what) ?? 0) + 1);
    }
    return run.apply(this, args);
  };
}

/** Starts counting the writes to `db` (installWriteCounting must have run before it was opened). */
export function countWrites(db: Database.Database): WriteCount {
  if (!installed) throw new Error('installWriteCounting() must run before the database is opened');
  const c: WriteCount = { transactions: 0, statements: 0, bySql: new Map() };
  counts.set(db, c);
  return c;
}
