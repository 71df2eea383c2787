// The shape of the job database's schema as the catalog tells it, the same on SQLite and PostgreSQL:
// tables, their columns (type kind, NOT NULL), keys (primary, unique, foreign), named indexes and
// triggers. SQLite's migrations (migrations.ts) and PostgreSQL's (pg-migrations.ts) are written twice;
// a test opens a fresh database of each and compares their shapes, so one that forgets a column, an
// index or a key fails there, not on a user's server (test/s3/schema-parity.test.ts).
import type { Db } from './db-types.js';

/** A column's type as both dialects store it: INTEGER/BIGINT, REAL/DOUBLE PRECISION, TEXT, BLOB/bytea. */
export type TypeKind = 'integer' | 'real' | 'text' | 'blob' | 'other';

export interface TableShape {
  /** `name type` and ` not null` when it is (a primary key's columns count as NOT NULL on both). */
  columns: string[];
  primaryKey: string;
  /** Unique constraints and unique indexes as `col,col` (`(expression)` for an expression), ` partial` when partial; sorted. */
  unique: string[];
  /** `col,col -> table(col) on delete ACTION`, sorted. */
  foreignKeys: string[];
  /** How many rows it holds: in a fresh database, the rows a migration seeds (a cursor, a default). */
  rows: number;
}

export interface SchemaShape {
  tables: Record<string, TableShape>;
  /** Indexes created by name (not those a key makes): `name on table` and ` unique` / ` partial`. */
  indexes: string[];
  /** `name on table`. */
  triggers: string[];
}

function sqliteKind(declared: string): TypeKind {
  const t = declared.toUpperCase();
  if (t.includes('INT')) return 'integer';
  if (/CHAR|CLOB|TEXT/.test(t)) return 'text';
  if (t === '' || t.includes('BLOB')) return 'blob';
  if (/REAL|FLOA|DOUB/.test(t)) return 'real';
  return 'other';
}

function pgKind(type: string): TypeKind {
  if (['bigint', 'integer', 'smallint'].includes(type)) return 'integer';
  if (['double precision', 'real'].includes(type)) return 'real';
  if (['text', 'character varying', 'character'].includes(type)) return 'text';
  if (type === 'bytea') return 'blob';
  return 'other';
}

const column = (name: string, kind: TypeKind, notNull: boolean) => `${name} ${kind}${notNull ? ' not null' : ''}`;
const action = (a: string) => a.toLowerCase().replace(/_/g, ' ');

/** Table names come from the catalog, never from a caller. */
const rowCount = (db: Db, table: string) => db.prepare(`SELECT count(*) FROM "${table}"`).pluck().get() as number;

/** A foreign key naming no columns refers to the parent's primary key. */
function primaryKeyOf(db: Db, table: string): string[] {
  return db.prepare('SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk').pluck().all(table) as string[];
}

function sqliteShape(db: Db): SchemaShape {
  const tables: Record<string, TableShape> = {};
  const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").pluck().all() as string[];
  for (const table of names) {
    const cols = db.prepare('SELECT name, type, "notnull" AS nn, pk FROM pragma_table_info(?) ORDER BY cid').all(table) as { name: string; type: string; nn: number; pk: number }[];
    const pk = cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
    const unique: string[] = [];
    const indexes = db.prepare('SELECT name, "unique" AS u, origin, partial FROM pragma_index_list(?)').all(table) as { name: string; u: number; origin: string; partial: number }[];
    for (const ix of indexes) {
      if (!ix.u || ix.origin === 'pk') continue;
      const keyCols = db.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno').pluck().all(ix.name) as (string | null)[];
      unique.push(keyCols.map((c) => c ?? '(expression)').join(',') + (ix.partial ? ' partial' : ''));
    }
    const fks = db.prepare('SELECT id, "from" AS f, "table" AS t, "to" AS c, on_delete AS d FROM pragma_foreign_key_list(?) ORDER BY id, seq').all(table) as { id: number; f: string; t: string; c: string | null; d: string }[];
    const byId = new Map<number, typeof fks>();
    for (const fk of fks) byId.set(fk.id, [...(byId.get(fk.id) ?? []), fk]);
    tables[table] = {
      columns: cols.map((c) => column(c.name, sqliteKind(c.type), c.nn === 1 || c.pk > 0)),
      primaryKey: pk.join(','),
      unique: unique.sort(),
      rows: rowCount(db, table),
      foreignKeys: [...byId.values()].map((g) => `${g.map((x) => x.f).join(',')} -> ${g[0]!.t}(${g.map((x, i) => x.c ?? primaryKeyOf(db, x.t)[i]).join(',')}) on delete ${action(g[0]!.d)}`).sort(),
    };
  }
  const named = db.prepare("SELECT name, tbl_name AS t, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name").all() as { name: string; t: string; sql: string }[];
  return {
    tables,
    indexes: named.map((ix) => `${ix.name} on ${ix.t}${/^CREATE UNIQUE/i.test(ix.sql) ? ' unique' : ''}${/\bWHERE\b/i.test(ix.sql) ? ' partial' : ''}`),
    triggers: (db.prepare("SELECT name || ' on ' || tbl_name FROM sqlite_master WHERE type = 'trigger' ORDER BY name").pluck().all() as string[]),
  };
}

function pgShape(db: Db): SchemaShape {
  const tables: Record<string, TableShape> = {};
  const cols = db
    .prepare("SELECT table_name AS t, column_name AS c, data_type AS type, is_nullable AS nullable FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position")
    .all() as { t: string; c: string; type: string; nullable: string }[];
  for (const c of cols) {
    tables[c.t] ??= { columns: [], primaryKey: '', unique: [], foreignKeys: [], rows: rowCount(db, c.t) };
    tables[c.t]!.columns.push(column(c.c, pgKind(c.type), c.nullable === 'NO'));
  }
  // Every index with its key columns (0 for an expression); a constraint's (primary, unique) has the constraint's type.
  const indexes = db
    .prepare(
      `SELECT i.relname AS name, t.relname AS t, x.indisunique AS u, x.indisprimary AS pk, x.indpred IS NOT NULL AS partial,
              (SELECT string_agg(CASE WHEN k.n = 0 THEN '(expression)' ELSE a.attname END, ',' ORDER BY k.i)
                 FROM unnest(x.indkey) WITH ORDINALITY AS k(n, i) LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n) AS cols,
              EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid AND c.contype IN ('p', 'u')) AS by_key
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relnamespace = current_schema()::regnamespace ORDER BY i.relname`,
    )
    .all() as { name: string; t: string; u: boolean; pk: boolean; partial: boolean; cols: string; by_key: boolean }[];
  for (const ix of indexes) {
    const table = tables[ix.t];
    if (!table) continue;
    if (ix.pk) table.primaryKey = ix.cols;
    else if (ix.u) table.unique.push(ix.cols + (ix.partial ? ' partial' : ''));
  }
  const fks = db
    .prepare(
      `SELECT t.relname AS t, r.relname AS ref, c.confdeltype AS d,
              (SELECT string_agg(a.attname, ',' ORDER BY k.i) FROM unnest(c.conkey) WITH ORDINALITY AS k(n, i) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n) AS cols,
              (SELECT string_agg(a.attname, ',' ORDER BY k.i) FROM unnest(c.confkey) WITH ORDINALITY AS k(n, i) JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n) AS refcols
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
        WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace`,
    )
    .all() as { t: string; ref: string; d: string; cols: string; refcols: string }[];
  const deleteAction: Record<string, string> = { a: 'no action', r: 'restrict', c: 'cascade', n: 'set null', d: 'set default' };
  for (const fk of fks) tables[fk.t]?.foreignKeys.push(`${fk.cols} -> ${fk.ref}(${fk.refcols}) on delete ${deleteAction[fk.d] ?? fk.d}`);
  for (const table of Object.values(tables)) {
    table.unique.sort();
    table.foreignKeys.sort();
  }
  return {
    tables,
    indexes: indexes.filter((ix) => !ix.by_key).map((ix) => `${ix.name} on ${ix.t}${ix.u ? ' unique' : ''}${ix.partial ? ' partial' : ''}`),
    triggers: db
      .prepare("SELECT t.tgname || ' on ' || c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace ORDER BY t.tgname")
      .pluck()
      .all() as string[],
  };
}

/** The schema as the catalog of `db` tells it (see SchemaShape). */
export function schemaShape(db: Db): SchemaShape {
  return db.dialect === 'sqlite' ? sqliteShape(db) : pgShape(db);
}
