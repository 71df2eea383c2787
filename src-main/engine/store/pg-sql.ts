// The store's SQL is written once, in the dialect both databases accept; this turns its two
// SQLite-only spellings into PostgreSQL's, and nothing more: placeholders (`?` and `@name`, outside
// string literals and quoted names) become $1..$n, and `INSERT OR IGNORE` becomes
// `INSERT … ON CONFLICT DO NOTHING`. Anything else that differs is a per-dialect fragment in the store.

export interface PgSql {
  text: string;
  /** For `@name` placeholders: the parameter object's keys, in $n order. Null when the SQL uses `?`. */
  names: string[] | null;
}

const OR_IGNORE = /^\s*INSERT\s+OR\s+IGNORE\s+INTO\b/i;

export function toPgSql(sql: string): PgSql {
  let out = '';
  let n = 0;
  const names: string[] = [];
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(i, stop + 1);
      i = stop;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === '?') {
      out += `$${++n}`;
    } else if (c === '@' && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i + 1))![0];
      let at = names.indexOf(name);
      if (at < 0) at = names.push(name) - 1;
      out += `$${at + 1}`;
      i += name.length;
    } else {
      out += c;
    }
  }
  if (n > 0 && names.length > 0) throw new Error('A statement mixes ? and @name placeholders');
  if (OR_IGNORE.test(out)) out = `${out.replace(OR_IGNORE, 'INSERT INTO').replace(/;?\s*$/, '')} ON CONFLICT DO NOTHING`;
  return { text: out, names: names.length > 0 ? names : null };
}

/** The values in $n order: a statement with `@name` placeholders takes one object, as better-sqlite3 does. */
export function bindValues(sql: PgSql, params: readonly unknown[]): unknown[] {
  if (!sql.names) return params.flat();
  const bag = (params[0] ?? {}) as Record<string, unknown>;
  return sql.names.map((name) => {
    if (!(name in bag)) throw new Error(`Missing named parameter "${name}"`);
    return bag[name];
  });
}
