import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { TOKEN, startServer, type TestServer } from '../helpers/server.js';

const CONSOLE = fileURLToPath(new URL('../../console/', import.meta.url));
const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** Every local module a console file pulls in (`src="./x.js"`, `href="./x.css"`, `from './x.js'`). */
async function referencedFiles(): Promise<string[]> {
  const seen = new Set<string>(['index.html']);
  const queue = ['index.html'];
  for (let name = queue.shift(); name !== undefined && seen.size < 100; name = queue.shift()) {
    const text = await fs.readFile(path.join(CONSOLE, name), 'utf8');
    for (const m of text.matchAll(/(?:src=|href=|from\s+)["']\.\/([\w.-]+)["']/g)) {
      if (m[1] && !seen.has(m[1])) {
        seen.add(m[1]);
        queue.push(m[1]);
      }
    }
  }
  return [...seen];
}

describe('the console is served from the package at /console', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  test('/console redirects to /console/, which is the HTML page with a strict CSP', async () => {
    const redirect = await fetch(`${server.url}/console`, { redirect: 'manual' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), '/console/');
    const res = await fetch(`${server.url}/console/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.equal(await res.text(), await fs.readFile(path.join(CONSOLE, 'index.html'), 'utf8'));
  });

  test('every file the page references is served with its type; an ETag revalidates to 304', async () => {
    const files = await referencedFiles();
    assert.ok(files.includes('app.js') && files.includes('style.css') && files.length >= 6, files.join());
    for (const name of files) {
      const res = await fetch(`${server.url}/console/${name === 'index.html' ? '' : name}`);
      assert.equal(res.status, 200, name);
      const type = { '.js': /^text\/javascript/, '.css': /^text\/css/, '.html': /^text\/html/ }[path.extname(name)];
      assert.match(res.headers.get('content-type') ?? '', type ?? /never/, name);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), await fs.readFile(path.join(CONSOLE, name)), name);
      const again = await fetch(`${server.url}/console/${name}`, { headers: { 'if-none-match': res.headers.get('etag') ?? '' } });
      assert.equal(again.status, 304, name);
    }
  });

  test('nothing outside the console folder can be reached', async () => {
    for (const p of ['nope.js', '..%2Fpackage.json', '%2e%2e%2fpackage.json', '../package.json', 'api.js%00.html']) {
      const res = await fetch(`${server.url}/console/${p}`);
      assert.notEqual(res.status, 200, p);
      assert.ok(!(await res.text()).includes('"dependencies"'), p);
    }
  });
});

test('the compiled service (npm start) finds and serves the console', { timeout: 60_000 }, async () => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-console-'));
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', AMS_HOST: '127.0.0.1', AMS_PORT: '0', AMS_LOG_LEVEL: 'info', AMS_DATA_DIR: dataDir, AMS_TOKENS: TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listen line within 20 s:\n${out}`)), 20_000);
      child.stderr.on('data', (d) => (out += d));
      child.stdout.on('data', (d) => {
        out += d;
        const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${code}:\n${out}`));
      });
    });
    const page = await fetch(`${url}/console/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /AMS console/);
    const app = await fetch(`${url}/console/app.js`);
    assert.equal(app.status, 200);
    assert.equal(await app.text(), await fs.readFile(path.join(CONSOLE, 'app.js'), 'utf8'));
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await fs.rm(dataDir, { recursive: true, force: true });
  }
});
