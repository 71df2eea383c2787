// The job database as the store sees it: the subset of better-sqlite3's API the store uses, which
// SQLite (sqlite-db.ts, the default: a file) and PostgreSQL (pg-db.ts: a postgres:// URL) both give.
// SQL that differs between them asks `dialect` (dialect.ts; store/ only).

export interface RunResult {
  changes: number;
}

export interface Statement {
  run(...params: unknown[]): RunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  iterate(...params: unknown[]): IterableIterator<unknown>;
  /** Rows as their first column's value. */
  pluck(on?: boolean): Statement;
}

export type Dialect = 'sqlite' | 'pg';

export interface Db {
  readonly dialect: Dialect;
  /** The SQLite file, or the PostgreSQL URL. */
  readonly name: string;
  readonly open: boolean;
  readonly inTransaction: boolean;
  prepare(source: string): Statement;
  /** `fn` in one transaction (a savepoint when nested); `.immediate` takes the write lock first on SQLite. */
  transaction<F extends (...args: never[]) => unknown>(fn: F): F & { immediate: F; deferred: F; exclusive: F };
  exec(source: string): this;
  /** SQLite only (dialect 'sqlite'). */
  pragma(source: string, options?: { simple?: boolean }): unknown;
  close(): this;
}

export interface OpenedDb {
  db: Db;
  /** Set when a damaged file was moved aside and a fresh database created in its place (SQLite only). */
  movedAside?: string;
}

/** Where better-sqlite3's addon lives when it is not node_modules' own (Electron needs one built for its ABI). */
export interface DatabaseOptions {
  nativeBinding?: string;
}
