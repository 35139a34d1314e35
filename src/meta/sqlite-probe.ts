import fs from 'node:fs/promises';

const MAGIC = Buffer.from('SQLite format 3\0');

/**
 * Readiness for an SQLite database: the open connection keeps working from its cached pages, its
 * file descriptor and the WAL even after the file is deleted, replaced or damaged (an unmounted
 * volume, a bad restore), so a query alone would keep /readyz green. Reading the file's header
 * through a fresh descriptor notices; it costs one small read.
 */
export function sqliteFileProbe(file: string): () => Promise<void> {
  return async () => {
    const header = Buffer.alloc(MAGIC.length);
    try {
      const handle = await fs.open(file, 'r');
      try {
        await handle.read(header, 0, header.length, 0);
      } finally {
        await handle.close();
      }
    } catch (err) {
      throw new Error(`the SQLite database ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!header.equals(MAGIC)) throw new Error(`the SQLite database ${file} cannot be read: it is not an SQLite file`);
  };
}
