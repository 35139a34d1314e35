import v8 from 'node:v8';

/** Old-generation limit after each full GC = live heap × this (V8's own factor varies from 1.1 to 4). */
export const HEAP_GROWING_PERCENT = 150;

/**
 * Gives the old generation room to grow to 2.5× the live heap after a full GC. With V8's own
 * dynamic factor, a server whose live heap is ~25 MB got an old-generation limit only ~23 MB
 * above it — less than the young generation once an upload's chunks had grown it — and V8 then
 * starts incremental marking again as soon as one finishes: a 1 GiB upload ran 35–40 full GCs
 * (only the first upload after start ran none), ~1 s of marking on the same core, and took
 * 4–6 s instead of 2.7 s (`--trace-incremental-marking`: "Start (allocation limit) 23MB / 46MB").
 * A flag given by the operator (NODE_OPTIONS or the node command line) wins. Returns whether
 * AMS set it.
 */
export function tuneHeapGrowth(execArgv = process.execArgv, nodeOptions = process.env.NODE_OPTIONS): boolean {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].some((a) => /^--heap[-_]growing[-_]percent/.test(a));
  if (!given) v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return !given;
}
