import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LOADGEN_CORE, PINNED } from './servers.js';

/**
 * wrk (Debian) for the GET workloads. autocannon, in JavaScript on one core, topped out near
 * 6k req/s and served a 50 KB file from nginx at 390 req/s (p50 47 ms) where wrk measured
 * 4,300 req/s: it measured itself, not the server. Installed here if missing (bench runs as root).
 */
export function ensureWrk(): void {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (err) {
    // `wrk --version` exits 1 after printing its version.
    if ((err as { status?: number }).status === 1) return;
    execFileSync('sh', ['-c', 'apt-get update -qq && apt-get install -y -qq wrk'], { stdio: 'inherit' });
  }
}

export interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  mbps: number;
}

const LUA = `
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
`;

function ms(text: string, pct: string): number {
  const m = new RegExp(`\\s${pct}%\\s+([\\d.]+)(us|ms|s)`).exec(text);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

/** GETs cycling through `paths` on `base` with `connections` for `seconds`, one wrk thread on the load core. */
export async function wrk(base: string, paths: string[], connections: number, seconds: number): Promise<WrkResult> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-wrk-'));
  try {
    await fs.writeFile(path.join(dir, 'paths.txt'), `${paths.join('\n')}\n`);
    await fs.writeFile(path.join(dir, 'cycle.lua'), LUA);
    const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', path.join(dir, 'cycle.lua'), base];
    const out = execFileSync(PINNED ? 'taskset' : 'wrk', PINNED ? ['-c', LOADGEN_CORE, 'wrk', ...args] : args, {
      encoding: 'utf8',
      env: { ...process.env, WRK_PATHS: path.join(dir, 'paths.txt') },
    });
    const bad = /Non-2xx or 3xx responses: (\d+)/.exec(out) ?? /Socket errors: .*/.exec(out);
    if (bad) throw new Error(`wrk ${base}${paths[0]}: ${bad[0]}`);
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
    const transfer = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(out);
    const unit = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[(transfer?.[2] ?? 'B') as 'B'];
    return { rps, p50: ms(out, '50'), p99: ms(out, '99'), mbps: (Number(transfer?.[1]) * unit) / 1e6 };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
