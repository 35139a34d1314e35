/** Median of 3 (or n) runs with min and max: the shape of every figure in the table. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(values: number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)] as number, min: s[0] as number, max: s[s.length - 1] as number };
}

export async function runs(n: number, one: () => Promise<number>): Promise<Spread> {
  const values: number[] = [];
  for (let i = 0; i < n; i++) values.push(await one());
  return spread(values);
}

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
export const show = (s: Spread | null) => (s === null ? 'not available' : `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`);

export interface Row {
  workload: string;
  metric: string;
  ams: Spread | null;
  ceilingName: string;
  ceiling: Spread | null;
  /** 'higher' when more is better (rates), 'lower' for latencies: sets which way the ratio reads. */
  better: 'higher' | 'lower' | 'none';
  target: string;
}

export function table(rows: Row[]): string {
  const lines = [
    '| workload | metric | AMS median (min–max) | ceiling | ceiling median (min–max) | ratio AMS/ceiling | target |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const ratio = r.ams && r.ceiling && r.better !== 'none' ? (r.ams.median / r.ceiling.median).toFixed(2) : '—';
    lines.push(`| ${r.workload} | ${r.metric} | ${show(r.ams)} | ${r.ceilingName} | ${r.ceiling ? show(r.ceiling) : '—'} | ${ratio} | ${r.target} |`);
  }
  return lines.join('\n');
}
