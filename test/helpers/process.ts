import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

/** The compiled service and CLI (built by `npm test`'s pretest), run as an operator runs them. */
export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface ServiceProcess {
  child: ChildProcess;
  /** http://127.0.0.1:<port> */
  url: string;
  output(): string;
  /** Resolves with the exit code whenever the process ends. */
  exited: Promise<number | null>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL if still running (for after() hooks). */
  kill(): void;
}

/**
 * Starts one AMS process with exactly `env` (plus PATH) on an ephemeral loopback port; resolves
 * once `listenLines` "Server listening" lines were logged (one per cluster worker).
 */
export async function startServiceProcess(
  env: Record<string, string>,
  listenLines = 1,
  /** Sees all output so far each time more arrives (e.g. to act on a line logged while starting). */
  onOutput?: (all: string) => void,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', AMS_HOST: '127.0.0.1', AMS_PORT: '0', AMS_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const more = (d: Buffer) => {
    out += d.toString();
    onOutput?.(out);
  };
  child.stdout?.on('data', more);
  child.stderr?.on('data', more);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not listening within 20 s:\n${out}`));
    }, 20_000);
    const onData = () => {
      const all = [...out.matchAll(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/g)];
      if (all.length >= listenLines && all[0]?.[1]) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(all[0][1]);
      }
    };
    child.stdout?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${out}`));
    });
  });
  return {
    child,
    url,
    output: () => out,
    exited,
    stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Runs a compiled script to completion with exactly `env` (plus PATH). */
export function runScript(
  file: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `ams <args>` as an operator types it (logs silenced unless `env` says otherwise). */
export function runCli(args: string[], env: Record<string, string>) {
  return runScript(CLI, args, { AMS_LOG_LEVEL: 'silent', ...env });
}

/** Polls `ready` every 50 ms, at most `ms`; the loop is bounded so a broken test fails instead of hanging. */
export async function waitFor(ready: () => Promise<boolean> | boolean, ms = 10_000, what = 'condition'): Promise<void> {
  for (let waited = 0; waited < ms; waited += 50) {
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A POST on its own connection (no keep-alive), so cluster workers each get a fresh one. */
export function postOnce(url: string, body: Buffer, headers: Record<string, string>): { req: http.ClientRequest; response: Promise<{ status: number; text: string }> } {
  const req = http.request(`${url}/assets`, { method: 'POST', agent: false, headers: { ...headers, 'content-length': String(body.length) } });
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.once('error', reject);
  });
  return { req, response };
}
