import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BENCH_TOKEN = 'bench-token-0123456789abcdef';

/** With two cores or more, servers run on core 0 and the load generator on core 1. */
export const PINNED = os.cpus().length >= 2 && hasTaskset();
function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
export const SERVER_CORE = '0';
export const LOADGEN_CORE = '1';

export interface Running {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Polls until the port accepts connections (bounded: 30 s). */
async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listening on ${port} after 30 s`);
}

/** Spawns `cmd args` pinned to the server core (when pinning is possible), waits for `port`. */
async function start(cmd: string, args: string[], port: number, env: Record<string, string> = {}, pin = PINNED): Promise<Running> {
  const [file, argv] = pin ? ['taskset', ['-c', SERVER_CORE, cmd, ...args]] : [cmd, args];
  const child = spawn(file, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await waitForPort(port, child);
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid as number,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

export async function startAms(dataDir: string, extraNodeArgs: string[] = [], pin = PINNED): Promise<Running> {
  const port = await freePort();
  return start(process.execPath, [...extraNodeArgs, path.join(ROOT, 'dist/main.js')], port, {
    AMS_DATA_DIR: dataDir,
    AMS_PORT: String(port),
    AMS_HOST: '127.0.0.1',
    AMS_TOKENS: BENCH_TOKEN,
    AMS_PUBLIC_URL: `http://127.0.0.1:${port}`,
    AMS_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    // The load generator is one client: the default upload rate limits would measure 429s.
    AMS_UPLOAD_RATE_PER_TOKEN: '0',
    AMS_UPLOAD_RATE_PER_IP: '0',
  }, pin);
}

/** The bare multipart ceiling; `durable` adds AMS's SHA-256 content address and fsyncs (see the file). */
export async function startBareMultipart(dir: string, durable = false, pin = PINNED): Promise<Running> {
  const port = await freePort();
  const args = ['--import', 'tsx', 'bench/bare-multipart.ts', String(port), dir, ...(durable ? ['--durable'] : [])];
  return start(process.execPath, args, port, {}, pin);
}

export async function startBareFastify(assetsJson: string): Promise<Running> {
  const port = await freePort();
  return start(process.execPath, ['--import', 'tsx', 'bench/bare-fastify.ts', String(port), assetsJson], port);
}

/** Debian's nginx-light serving `root`, one worker on the server core, no access log. */
export async function startNginx(root: string, workDir: string): Promise<Running> {
  const port = await freePort();
  const conf = path.join(workDir, 'nginx.conf');
  await fs.writeFile(
    conf,
    `daemon off; user root; worker_processes 1; ${PINNED ? 'worker_cpu_affinity 01;' : ''} pid ${workDir}/nginx.pid;
error_log ${workDir}/nginx-error.log warn;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  client_body_temp_path ${workDir}/cb; proxy_temp_path ${workDir}/pt; fastcgi_temp_path ${workDir}/ft; uwsgi_temp_path ${workDir}/ut; scgi_temp_path ${workDir}/st;
  types { image/jpeg jpg; video/mp4 mp4; }
  server { listen 127.0.0.1:${port}; root ${root}; etag on; } }
`,
  );
  return start('nginx', ['-c', conf, '-e', `${workDir}/nginx-error.log`], port);
}

/** Debian packages the bench needs but CI does not: installed here if missing (the bench runs as root). */
export function ensureNginx(): void {
  try {
    execFileSync('nginx', ['-v'], { stdio: 'ignore' });
  } catch {
    execFileSync('sh', ['-c', 'apt-get update -qq && apt-get install -y -qq nginx-light'], { stdio: 'inherit' });
  }
}

/** Resident memory of a process: current (VmRSS) and peak since the last reset (VmHWM), bytes. */
export async function memory(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Resets VmHWM to the current RSS (writing 5 to clear_refs), so a peak can be measured per run. */
export async function resetPeak(pid: number): Promise<void> {
  await fs.writeFile(`/proc/${pid}/clear_refs`, '5');
}
