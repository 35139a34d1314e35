/**
 * The thread side of SqliteRowWriter (sqlite-writer.ts): its own connection to the database file,
 * inserting each batch it is handed in one transaction — one WAL fsync for the whole batch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

type Row = Record<string, unknown>;
const { file, table } = workerData as { file: string; table: string };
const db = new Database(file);
// Each connection sets its own: every commit is durable before its caller hears of it.
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 5000');

/** Rows always carry the same columns (the repository's toRow): one statement per column set. */
const statements = new Map<string, Database.Statement>();
function insertStatement(row: Row): Database.Statement {
  const columns = Object.keys(row);
  const key = columns.join(',');
  let stmt = statements.get(key);
  if (stmt === undefined) {
    stmt = db.prepare(`insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values (${columns.map((c) => `@${c}`).join(', ')})`);
    statements.set(key, stmt);
  }
  return stmt;
}

const insertAll = db.transaction((rows: Row[]) => {
  for (const row of rows) insertStatement(row).run(row);
});

/** Error messages by row, null for a row that is in. */
function insertBatch(rows: Row[]): Array<string | null> {
  try {
    insertAll(rows);
    return rows.map(() => null);
  } catch {
    // The transaction rolled back: one bad row (a duplicate id) must not fail the others.
    return rows.map((row) => {
      try {
        insertStatement(row).run(row);
        return null;
      } catch (err) {
        return (err as Error).message;
      }
    });
  }
}

parentPort?.on('message', (message: Row[] | 'close') => {
  if (message === 'close') {
    db.close();
    parentPort?.close();
    return;
  }
  parentPort?.postMessage(insertBatch(message));
});
