import { isDeepStrictEqual } from 'node:util';
import type { KyselyAssetRepository } from './kysely.js';

export interface RowCopyReport {
  total: number;
  inserted: number;
  /** Already in the target with identical fields (a resumed run). */
  skipped: number;
  /** Ids present in the target with different fields: left alone, for a human to look at. */
  conflicts: string[];
}

/**
 * Copies every asset row from one database to another in id order, a page at a time, and reads
 * each page back from the target to prove every field arrived intact. Rows already there are kept
 * (a rerun resumes), so it is safe to run again after an interruption.
 */
export async function copyAssetRows(
  source: KyselyAssetRepository,
  target: KyselyAssetRepository,
  onProgress: (done: number) => void = () => {},
  pageSize = 500,
): Promise<RowCopyReport> {
  const report: RowCopyReport = { total: 0, inserted: 0, skipped: 0, conflicts: [] };
  let after = '';
  // Bounded by the table: every page moves the cursor past its last id.
  for (;;) {
    const page = await source.pageAfter(after, pageSize);
    if (page.length === 0) break;
    report.inserted += await target.insertMissing(page);
    const copied = new Map((await target.findByIds(page.map((a) => a.id))).map((a) => [a.id, a]));
    for (const a of page) {
      const there = copied.get(a.id);
      if (there === undefined) throw new Error(`row ${a.id} is missing from the target after being inserted`);
      if (!isDeepStrictEqual(there, a)) report.conflicts.push(a.id);
    }
    report.total += page.length;
    after = page[page.length - 1]!.id;
    onProgress(report.total);
  }
  report.skipped = report.total - report.inserted - report.conflicts.length;
  return report;
}
