import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { RESTART_AFTER_MS, SqliteRowWriter } from '../../src/meta/sqlite-writer.js';

test('a writer whose thread stopped starts a new one on a later insert, and rows go in again', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-writer-'));
  const file = path.join(dir, 'ams.sqlite');
  // A directory where the database file should be: the thread cannot open it and stops.
  await fs.mkdir(file);
  const writer = new SqliteRowWriter(file, 'assets');
  try {
    await assert.rejects(writer.insert({ id: 'a' }), 'the insert fails while the thread cannot open the file');
    // Within the restart interval no new thread is tried: the same error comes back at once.
    const t = Date.now();
    await assert.rejects(writer.insert({ id: 'b' }));
    assert.ok(Date.now() - t < RESTART_AFTER_MS / 2, 'answered without waiting for a thread');

    // The fault passes: the file becomes a database with the table.
    await fs.rmdir(file);
    const db = new Database(file);
    db.exec('create table assets (id text primary key)');
    await sleep(RESTART_AFTER_MS + 50);
    await writer.insert({ id: 'c' });
    await Promise.all([writer.insert({ id: 'd' }), writer.insert({ id: 'e' })]);
    await assert.rejects(writer.insert({ id: 'c' }), /UNIQUE/, 'a duplicate still fails alone');
    assert.deepEqual(
      db.prepare('select id from assets order by id').all().map((r) => (r as { id: string }).id),
      ['c', 'd', 'e'],
    );
    db.close();
  } finally {
    await writer.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
});
