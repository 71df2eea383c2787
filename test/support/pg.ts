// Empty PostgreSQL databases for tests, on the server the test tier runs with: scripts/with-pg.sh
// starts one (scripts/pg-server.sh) and puts its URL in HOIST_TEST_PG_URL, or keeps the one already set.
// A test that needs PostgreSQL and finds no URL fails, saying how to get one; it never skips.
// Synchronous, through psql (installed with the server), because testEngine and the engine's store are:
// an async client here would make every test's set-up async for two statements.
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

/** The server's URL (a superuser's, on its maintenance database); throws where the tier has none. */
export function pgTestUrl(): string {
  const url = process.env.HOIST_TEST_PG_URL;
  if (!url) {
    throw new Error(
      'HOIST_TEST_PG_URL is not set: this test needs PostgreSQL. Run it through scripts/run-tests.sh (its server tier ' +
        'starts one), or `bash scripts/with-pg.sh node --test FILE`, or set it to a server you run (bash scripts/pg-server.sh start prints one)',
    );
  }
  return url;
}

/** The URL of `base`'s server with `database` as its path. */
export function pgUrlWith(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** Runs SQL on the server's maintenance database; its output, one row a line. */
export function psql(sql: string, url = pgTestUrl()): string {
  return execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
}

/** `hoist_LABEL_SUFFIX`: letters, digits and _ only (no quoting to get wrong), within PostgreSQL's 63 bytes. */
function databaseName(label: string, suffix: string): string {
  return `hoist_${label.toLowerCase().replace(/[^a-z0-9_]+/g, '_').slice(0, 36)}_${suffix}`;
}

// FORCE ends the sessions a test left open (an engine not closed after a failure, say).
const drop = (name: string) => psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);

/** Creates a database no other test has and returns its URL; it is dropped after the test (or the file, called at its top) that asked. */
export function freshPgDatabase(label = 'test'): string {
  const base = pgTestUrl();
  const name = databaseName(label, randomBytes(6).toString('hex'));
  psql(`CREATE DATABASE ${name}`);
  after(() => drop(name));
  return pgUrlWith(base, name);
}

const forKeys = new Set<string>();
function dropForKeys(): void {
  for (const name of forKeys) {
    try {
      drop(name);
    } catch (err) {
      process.stderr.write(`test/support/pg.ts: could not drop database ${name}: ${(err as Error).message}\n`);
    }
  }
}

/**
 * The URL of the database for `key` (a test's folder, say): created empty the first time the process
 * asks, the same one after (a second engine on the folder resumes the first one's queue), dropped when
 * the process exits, as it may outlive the test that first asked.
 */
export function pgDatabaseFor(key: string, label = 'test'): string {
  const base = pgTestUrl();
  const name = databaseName(label, createHash('sha256').update(key).digest('hex').slice(0, 12));
  if (!forKeys.has(name)) {
    drop(name); // one an earlier process left (killed before its exit) is not empty
    psql(`CREATE DATABASE ${name}`);
    if (forKeys.size === 0) process.once('exit', dropForKeys);
    forKeys.add(name);
  }
  return pgUrlWith(base, name);
}

/** The database of `key` (pgDatabaseFor) emptied: dropped and created again, as a lost SQLite file is a new one. */
export function emptyPgDatabaseFor(key: string, label = 'test'): string {
  const url = pgDatabaseFor(key, label);
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  drop(name);
  psql(`CREATE DATABASE ${name}`);
  return url;
}

const execFileAsync = promisify(execFile);
const PG_SERVER = fileURLToPath(new URL('../../../scripts/pg-server.sh', import.meta.url));

/** A PostgreSQL server of one test's own, which it may stop and start (the tier's server is shared by other files). */
export interface OwnPgServer {
  /** A superuser's URL of its maintenance database. */
  url: string;
  /**
   * Stops it as an administrator would (fast shutdown: every session is ended by the server). Not
   * synchronous: the script waits for the server to exit (seconds under load), and a test's proxy,
   * in this process, must go on reading what the nodes send meanwhile.
   */
  stop(): Promise<void>;
  /** Starts it again on the same port and folder. */
  start(): Promise<void>;
}

/** Starts a throwaway cluster (scripts/pg-server.sh) in a folder of its own; stopped and removed after the file. */
export async function ownPgServer(label: string): Promise<OwnPgServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hoist-pg-${label}-`));
  const script = (...args: string[]) => execFileSync('bash', [PG_SERVER, ...args, '--dir', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 }).trim();
  const url = script('start', '--port', String(await freePort()));
  after(() => {
    script('stop');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const run = async (command: string) => void (await execFileAsync('bash', [PG_SERVER, command, '--dir', dir], { encoding: 'utf8', timeout: 120_000 }));
  return { url, stop: () => run('stop'), start: () => run('start') };
}
