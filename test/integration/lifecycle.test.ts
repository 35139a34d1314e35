import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { MAIN, runScript, startServiceProcess as start, type ServiceProcess } from '../helpers/process.js';
import { fixture, json } from '../helpers/server.js';

describe('the compiled service: first start, tokens, config errors, sweeping, shutdown', () => {
  const dirs: string[] = [];
  const tempDataDir = async () => {
    const d = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-life-'));
    dirs.push(d);
    return d;
  };
  // A failed assertion must not leave a server running (the test runner would wait for it forever).
  const running: ServiceProcess[] = [];
  after(async () => {
    for (const s of running) s.kill();
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
  });

  test('first start generates a 0600 token, prints it once with a curl command; it works; restart keeps it quiet', async () => {
    const dataDir = await tempDataDir();
    const first = await start({ AMS_DATA_DIR: dataDir, AMS_PORT: '0' });
    running.push(first);
    const tokenFile = path.join(dataDir, 'token');
    const token = (await fs.readFile(tokenFile, 'utf8')).trim();
    assert.equal((await fs.stat(tokenFile)).mode & 0o777, 0o600);
    assert.ok(token.length >= 32);
    // The token block is printed just after the "listening" line: wait for it (bounded).
    const curl = `curl -H "Authorization: Bearer ${token}" -F "Filename=@photo.jpg" ${first.url.replace('127.0.0.1', 'localhost')}/assets`;
    for (let i = 0; i < 100 && !first.output().includes(curl); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(first.output().includes(curl), first.output());

    const health = await fetch(`${first.url}/healthz`);
    assert.equal(health.status, 200);
    const form = new FormData();
    form.append('Filename', new Blob([await fixture('photo.jpg')]), 'photo.jpg');
    const res = await fetch(`${first.url}/assets`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 201);
    const id = (await json(res)).id;
    assert.equal(await first.stop(), 0, 'SIGTERM closes gracefully');
    const lines = first.output().split('\n').filter((l) => l.includes('"statusCode":201'));
    assert.equal(lines.length, 1, 'one log line per request');
    assert.match(lines[0] ?? '', /"reqId":"[^"]+"/);

    const second = await start({ AMS_DATA_DIR: dataDir, AMS_PORT: '0' });
    try {
      assert.ok(!second.output().includes(token), 'the token is printed only when generated');
      const again = await fetch(`${second.url}/assets/${id}`);
      assert.equal(again.status, 200, 'data survives a restart');
    } finally {
      await second.stop();
    }
  });

  test('stale temporary files are swept at start-up', async () => {
    const dataDir = await tempDataDir();
    await fs.mkdir(path.join(dataDir, 'tmp'), { recursive: true });
    await fs.writeFile(path.join(dataDir, 'tmp', 'dead.upload'), 'left by a crash');
    const s = await start({ AMS_DATA_DIR: dataDir, AMS_PORT: '0', AMS_TOKENS: 'configured-token-123456' });
    running.push(s);
    assert.deepEqual(await fs.readdir(path.join(dataDir, 'tmp')), []);
    await s.stop();
  });

  test('bad settings stop the start, naming every bad variable', async () => {
    const dataDir = await tempDataDir();
    const { code, stdout, stderr } = await runScript(MAIN, [], { AMS_DATA_DIR: dataDir, AMS_PORT: 'eighty', AMS_MAX_PIXELS: '-5', AMS_PUBLIC_URL: 'ftp://x' });
    const output = stdout + stderr;
    assert.equal(code, 2);
    assert.match(output, /AMS_PORT="eighty"/);
    assert.match(output, /AMS_MAX_PIXELS="-5"/);
    assert.match(output, /AMS_PUBLIC_URL="ftp:\/\/x"/);
  });

  test('a data directory or an address that cannot be used stops the start with exit 2, naming the variable', async () => {
    const dataDir = await tempDataDir();
    const file = path.join(dataDir, 'a-file');
    await fs.writeFile(file, '');
    const notADir = await runScript(MAIN, [], { AMS_DATA_DIR: file, AMS_PORT: '0' });
    assert.equal(notADir.code, 2);
    assert.match(notADir.stderr, /AMS_DATA_DIR=".*a-file": cannot be used/);
    // 192.0.2.1 (TEST-NET-1) is never an address of this machine.
    const foreign = await runScript(MAIN, [], { AMS_DATA_DIR: dataDir, AMS_HOST: '192.0.2.1', AMS_PORT: '0', AMS_TOKENS: 'configured-token-123456' });
    assert.equal(foreign.code, 2);
    assert.match(foreign.stderr, /AMS_HOST="192\.0\.2\.1": not an address of this machine/);
  });
});
