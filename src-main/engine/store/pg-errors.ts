// What the PostgreSQL store says when something goes wrong: a database it cannot reach (typed
// `store.unreachable`, never with a password in it) and PostgreSQL's error codes as the SQLite codes
// the rest of Hoist already checks.

/** `postgres://user@host:port/db`: what the URL names, without the password or the query's options. */
export function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    return `${u.protocol}//${user}${u.host}${u.pathname}`;
  } catch {
    return 'the configured PostgreSQL URL';
  }
}

/** Node's socket codes and PostgreSQL's connection-class ones, with the words a person reads. */
const NETWORK: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  '57P01': 'the server is shutting down',
  '57P02': 'the server crashed',
  '57P03': 'the server is starting up or shutting down',
  '08000': 'connection lost',
  '08001': 'connection refused',
  '08003': 'connection lost',
  '08006': 'connection lost',
};

/** The loss messages node-postgres gives without a code. */
const LOST = /Connection terminated|timeout expired|Client has encountered a connection error|Connection closed/i;

/** A `store.unreachable` error for a connection failure, else null. */
export function unreachable(err: unknown, url: string): Error | null {
  const e = err as { code?: string; message?: string };
  const why = (e.code && NETWORK[e.code]) || (e.message && LOST.test(e.message) ? e.message.replace(/\.$/, '').toLowerCase() : undefined);
  if (!why) return null;
  return Object.assign(new Error(`Cannot reach the job database at ${describeTarget(url)}: ${why}`), { code: 'store.unreachable', cause: e.code });
}

/** PostgreSQL SQLSTATEs the store and the engine react to, as better-sqlite3's codes (s3/errors.ts maps SQLITE_FULL). */
const AS_SQLITE: Record<string, string> = {
  '23505': 'SQLITE_CONSTRAINT_UNIQUE',
  '23503': 'SQLITE_CONSTRAINT_FOREIGNKEY',
  '23514': 'SQLITE_CONSTRAINT_CHECK',
  '23502': 'SQLITE_CONSTRAINT_NOTNULL',
  '53100': 'SQLITE_FULL',
  '40P01': 'SQLITE_BUSY',
  '55P03': 'SQLITE_BUSY',
};

export function pgErrorCode(sqlstate: string | undefined): string | undefined {
  return sqlstate === undefined ? undefined : (AS_SQLITE[sqlstate] ?? `PG_${sqlstate}`);
}
