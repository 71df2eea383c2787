// The two schemas stay in step: SQLite's migrations (migrations.ts) and PostgreSQL's (pg-migrations.ts)
// are written twice, so a fresh database of each, opened through openDatabase as Hoist opens it, must
// have the same tables, columns (type kind, NOT NULL), primary, unique and foreign keys, named indexes,
// triggers and seeded rows (how many each table holds), but for the differences listed below with
// their reasons. A migration appended to one and not the other fails here with the difference spelled
// out. Not compared: CHECK constraints, defaults, index predicates and expressions.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openDatabase } from '../../src-main/engine/store/db.js';
import { schemaShape, type SchemaShape } from '../../src-main/engine/store/schema-shape.js';
import { freshPgDatabase } from '../support/pg.js';

/** What only one side has, on purpose: `side: item` as the diff below writes it. */
const KNOWN: Record<string, string> = {
  // Job search: SQLite's trigram FTS5 index and the triggers that fill it; PostgreSQL scans with strpos (docs/architecture.md).
  'sqlite: table job_search': 'FTS5',
  'sqlite: table job_search_config': 'FTS5 shadow table',
  'sqlite: table job_search_content': 'FTS5 shadow table',
  'sqlite: table job_search_data': 'FTS5 shadow table',
  'sqlite: table job_search_docsize': 'FTS5 shadow table',
  'sqlite: table job_search_idx': 'FTS5 shadow table',
  'sqlite: trigger job_search_delete on jobs': 'FTS5',
  'sqlite: trigger job_search_insert on jobs': 'FTS5',
  'sqlite: trigger job_search_update on jobs': 'FTS5',
  // SQLite records its version in PRAGMA user_version.
  'pg: table schema_version': 'PostgreSQL migrations',
  // dataVersion(): SQLite has PRAGMA data_version; PostgreSQL a sequence these statement triggers bump.
  'pg: trigger bandwidth_limits_data_version on bandwidth_limits': 'data_version',
  'pg: trigger concurrency_bounds_data_version on concurrency_bounds': 'data_version',
  'pg: trigger destinations_data_version on destinations': 'data_version',
  'pg: trigger jobs_data_version on jobs': 'data_version',
  'pg: trigger parts_data_version on parts': 'data_version',
  // SQLite's INTEGER affinity keeps the fractional mtime it is given; PostgreSQL needs the REAL type for it (pg-schema.ts).
  'sqlite: column hash_checkpoints.mtime_ms integer not null': 'fractional mtime',
  'pg: column hash_checkpoints.mtime_ms real not null': 'fractional mtime',
};

/** A known difference, or part of a table only one side has on purpose (its columns and keys). */
function known(d: string): boolean {
  const m = /^(\w+): (?:column|primary key|unique|foreign key|rows in a fresh database) (\w+)[.(]/.exec(d);
  return d in KNOWN || (m !== null && `${m[1]}: table ${m[2]}` in KNOWN);
}

/** Every item of a shape, as one line each: what the two sides are compared on. */
function shapeLines(shape: SchemaShape): Set<string> {
  const lines = new Set<string>();
  for (const [name, t] of Object.entries(shape.tables)) {
    lines.add(`table ${name}`);
    for (const c of t.columns) lines.add(`column ${name}.${c}`);
    lines.add(`primary key ${name}(${t.primaryKey})`);
    lines.add(`rows in a fresh database ${name}(${t.rows})`);
    for (const u of t.unique) lines.add(`unique ${name}(${u})`);
    for (const fk of t.foreignKeys) lines.add(`foreign key ${name}.${fk}`);
  }
  for (const ix of shape.indexes) lines.add(`index ${ix}`);
  for (const tr of shape.triggers) lines.add(`trigger ${tr}`);
  return lines;
}

/** `side: item` for what one side has and the other lacks. */
function schemaDiff(sqlite: SchemaShape, pg: SchemaShape): string[] {
  const a = shapeLines(sqlite);
  const b = shapeLines(pg);
  return [...[...a].filter((x) => !b.has(x)).map((x) => `sqlite: ${x}`), ...[...b].filter((x) => !a.has(x)).map((x) => `pg: ${x}`)].sort();
}

test('a fresh SQLite database and a fresh PostgreSQL database have the same schema (but for the known differences)', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hoist-schema-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sqlite = openDatabase(path.join(dir, 'hoist.db')).db;
  const pg = openDatabase(freshPgDatabase('schema_parity')).db;
  try {
    const sqliteShape = schemaShape(sqlite);
    const pgShape = schemaShape(pg);
    // The shapes were read at all: a catalog query that found nothing would make both empty and equal.
    assert.ok(shapeLines(sqliteShape).has('column jobs.state text not null'), 'SQLite shape lists jobs.state');
    assert.ok(shapeLines(pgShape).has('column jobs.state text not null'), 'PostgreSQL shape lists jobs.state');
    const all = schemaDiff(sqliteShape, pgShape);
    const diff = all.filter((d) => !known(d));
    assert.deepEqual(diff, [], `the schemas differ (what only that side has):\n  ${diff.join('\n  ')}`);
    // Every known difference is still one: a stale entry would hide the next real one of that name.
    const stale = Object.keys(KNOWN).filter((k) => !all.includes(k));
    assert.deepEqual(stale, [], 'known differences that are no longer there');
  } finally {
    sqlite.close();
    pg.close();
  }
});
