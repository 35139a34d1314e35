// GET /assets paging cost on SQLite: the first page vs a page deep in the catalogue (keyset
// paging should make them alike), plus the kind filter and a name search (a scan by design).
// Run: node --import tsx bench/list-paging.ts [rows]
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { encodeCursor } from '../src/meta/cursor.js';
import { openRepository } from '../src/meta/kysely.js';
import type { ListQuery } from '../src/meta/repository.js';

const ROWS = Number(process.argv[2] ?? 200_000);
const RUNS = 200;

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-bench-list-'));
const file = path.join(dir, 'ams.sqlite');
try {
  await (await openRepository(`sqlite:${file}`)).close(); // creates the schema
  const db = new Database(file);
  const insert = db.prepare(
    `insert into assets (id, name, kind, mime_type, ext, width, height, duration_ms, size_bytes, md5, sha256, blob_key, created_at)
     values (?, ?, ?, 'image/jpeg', 'jpg', 640, 480, null, 1000, ?, ?, ?, ?)`,
  );
  const ids: Array<{ id: string; at: number }> = [];
  db.transaction(() => {
    for (let i = 0; i < ROWS; i++) {
      const id = randomUUID();
      const at = 1_700_000_000_000 + i;
      ids.push({ id, at });
      insert.run(id, `product-${i}-shoe.jpg`, i % 10 === 0 ? 'video' : 'image', '0'.repeat(32), 'a'.repeat(64), `originals/${i}`, at);
    }
  })();
  db.close();

  const repo = await openRepository(`sqlite:${file}`);
  const median = async (query: ListQuery) => {
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = process.hrtime.bigint();
      await repo.list(query);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return times.sort((a, b) => a - b)[RUNS >> 1]!;
  };
  // The cursor of a page 90 % of the way down the newest-first listing.
  const deep = ids[Math.floor(ROWS * 0.1)]!;
  const first = await median({ limit: 24 });
  const deepPage = await median({ limit: 24, cursor: encodeCursor({ createdAtMs: deep.at, id: deep.id }) });
  const videos = await median({ limit: 24, kind: 'video' });
  const search = await median({ limit: 24, q: `product-${ROWS - 5}-` });
  await repo.close();
  console.log(`rows ${ROWS}, median of ${RUNS} calls (ms):`);
  console.log(`  first page ${first.toFixed(3)} | 90 % deep ${deepPage.toFixed(3)} (×${(deepPage / first).toFixed(2)})`);
  console.log(`  kind=video ${videos.toFixed(3)} | q=<rare name> ${search.toFixed(3)} (×${(search / first).toFixed(1)}, a scan)`);
} finally {
  await fs.rm(dir, { recursive: true, force: true });
}
