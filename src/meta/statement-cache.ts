import type Database from 'better-sqlite3';

/** More distinct SQL texts than this means queries are being built with inlined values: stop caching. */
const MAX_STATEMENTS = 256;

/**
 * Kysely's SQLite driver calls `db.prepare(sql)` on every query, and compiling the statement was
 * ~10 % of the server's CPU under the metadata benchmark (W2, `node --cpu-prof`): as much as
 * running it. Kysely emits the same parameterised text for the same query, so prepared statements
 * are kept by text. Safe because better-sqlite3 runs each statement to completion synchronously;
 * a statement being iterated (`iterate`, used only by streaming queries) is never handed out twice.
 */
export function cachePreparedStatements(db: Database.Database): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    let stmt = cache.get(sql);
    if (stmt === undefined || stmt.busy) {
      stmt = prepare(sql);
      if (cache.size >= MAX_STATEMENTS) cache.clear();
      cache.set(sql, stmt);
    }
    return stmt;
  }) as typeof db.prepare;
}
