// Counts what a database is written with, for the bench and the tests (issue 12): transactions
// committed (an explicit one, or a write statement run outside one, which SQLite commits on its
// own) and write statements run. better-sqlite3 offers no commit hook, so the counting wraps
// `Statement.prototype.run`, which its own transactions use for BEGIN and COMMIT too; once per
// process, before the engine opens its database. Only databases handed to `countWrites` are counted.
import Database from 'better-sqlite3';

export interface WriteCount {
  /** Commits: BEGINs plus write statements run outside a transaction. */
  transactions: number;
  /** Write statements run (INSERT, UPDATE, DELETE), inside a transaction or not. */
  statements: number;
  /** Write statements by their SQL's first words, for listing where the writes go. */
  bySql: Map<string, number>;
  /** Statements that read (SQLite only), by their SQL's first words: the main thread's other SQLite cost per file. */
  readsBySql: Map<string, number>;
}

const counts = new WeakMap<object, WriteCount>();
let installed = false;

type Stmt = Database.Statement & { database: Database.Database; reader: boolean; source: string };

/** Installs the wrappers (once per process). Call before opening the database to be counted. */
export function installWriteCounting(): void {
  if (installed) return;
  installed = true;
  const probe = new Database(':memory:');
  const statementProto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as { run: (...a: unknown[]) => unknown };
  probe.close();
  const run = statementProto.run;
  const countWrite = (c: WriteCount, s: Stmt) => {
    if (!s.database.inTransaction) c.transactions++;
    c.statements++;
    const what = s.source.trim().replace(/\s+/g, ' ').split(' ').slice(0, 5).join(' ');
    c.bySql.set(what, (c.bySql.get(what) ?? 0) + 1);
  };
  statementProto.run = function (this: Stmt, ...args: unknown[]) {
    const c = counts.get(this.database);
    // better-sqlite3's transactions run these through prepared statements too: BEGIN is one.
    const control = /^\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/i.exec(this.source)?.[1]?.toUpperCase();
    if (c && control === 'BEGIN') c.transactions++;
    else if (c && !control && !this.reader) countWrite(c, this);
    return run.apply(this, args);
  };
  // Reads: counted by statement, not in the commits (better-sqlite3 runs a reader with get/all/iterate).
  // A write with RETURNING is a reader to better-sqlite3: it is counted as the write it is.
  const readerProto = statementProto as unknown as Record<'get' | 'all' | 'iterate', (...a: unknown[]) => unknown>;
  for (const method of ['get', 'all', 'iterate'] as const) {
    const read = readerProto[method];
    readerProto[method] = function (this: Stmt, ...args: unknown[]) {
      const c = counts.get(this.database);
      if (c && this.reader && /^\s*(INSERT|UPDATE|DELETE)\b/i.test(this.source)) countWrite(c, this);
      else if (c && this.reader) {
        const flat = this.source.trim().replace(/\s+/g, ' ');
        // A job row (rows.ts JOB_SELECT) is told apart by what follows it: one by id, or a list.
        const row = /^SELECT j\.\*, .* FROM jobs j ?(.*)$/.exec(flat);
        const what = row ? `SELECT j.* … FROM jobs j ${row[1]!.slice(0, 24)}` : flat.split(' ').slice(0, 9).join(' ');
        c.readsBySql.set(what, (c.readsBySql.get(what) ?? 0) + 1);
      }
      return read.apply(this, args);
    };
  }
}

/**
 * Starts counting the writes to `db` (installWriteCounting must have run before it was opened). A
 * SQLite store's Db is better-sqlite3's own object (store/sqlite-db.ts), so its statements are counted
 * by the wrapper above; a PostgreSQL store's (store/pg-db.ts) sends every statement through its
 * `query` and ends a transaction with `exec('COMMIT')`, which are wrapped on that object alone.
 */
export function countWrites(db: object): WriteCount {
  if (!installed) throw new Error('installWriteCounting() must run before the database is opened');
  const c: WriteCount = { transactions: 0, statements: 0, bySql: new Map(), readsBySql: new Map() };
  counts.set(db, c);
  if ((db as { dialect?: string }).dialect === 'pg') countPgWrites(db as PgLike, c);
  return c;
}

interface PgLike {
  inTransaction: boolean;
  query(text: string, params: unknown[]): unknown;
  exec(source: string): unknown;
}

function countPgWrites(db: PgLike, c: WriteCount): void {
  const query = db.query.bind(db);
  const exec = db.exec.bind(db);
  db.query = (text, params) => {
    if (/^\s*(INSERT|UPDATE|DELETE)\b/i.test(text)) {
      if (!db.inTransaction) c.transactions++;
      c.statements++;
      const what = text.trim().replace(/\s+/g, ' ').split(' ').slice(0, 5).join(' ');
      c.bySql.set(what, (c.bySql.get(what) ?? 0) + 1);
    }
    return query(text, params);
  };
  db.exec = (source) => {
    // A transaction that wrote nothing sends no COMMIT (pg-db.ts holds BEGIN back until a statement runs).
    if (/^\s*COMMIT\b/i.test(source)) c.transactions++;
    return exec(source);
  };
}
