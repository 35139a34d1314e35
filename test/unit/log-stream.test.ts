import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { BatchedLogStream } from '../../src/ops/log-stream.js';

async function withFile(run: (file: string) => Promise<void>): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-log-'));
  try {
    await run(path.join(dir, 'out.log'));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

test('lines gather until the threshold, then go out together, whole and in order', () =>
  withFile(async (file) => {
    const stream = new BatchedLogStream(pino.destination({ dest: file, sync: true }), 140);
    const line = (i: number) => `{"n":${i},"pad":"${'x'.repeat(20)}"}\n`; // 37 chars
    stream.write(line(1));
    stream.write(line(2));
    stream.write(line(3));
    assert.equal(await fs.readFile(file, 'utf8'), '', 'nothing written below the threshold');
    stream.write(line(4)); // 148 chars >= 140
    assert.equal(await fs.readFile(file, 'utf8'), [1, 2, 3, 4].map(line).join(''));
    stream.write(line(5));
    stream.flushSync();
    assert.equal(await fs.readFile(file, 'utf8'), [1, 2, 3, 4, 5].map(line).join(''));
    stream.flush(); // nothing gathered: writes nothing more
    assert.equal((await fs.readFile(file, 'utf8')).split('\n').length, 6);
  }));

test('with a threshold of 0 every line is written at once (workers sharing a pipe)', () =>
  withFile(async (file) => {
    const stream = new BatchedLogStream(pino.destination({ dest: file, sync: true }), 0);
    stream.write('{"a":1}\n');
    assert.equal(await fs.readFile(file, 'utf8'), '{"a":1}\n');
  }));

test('a pino logger writes through it: lines with multi-byte text arrive intact after flushSync', () =>
  withFile(async (file) => {
    const stream = new BatchedLogStream(pino.destination({ dest: file, sync: true }), 4096);
    const log = pino({ base: null, timestamp: false }, stream);
    for (let i = 0; i < 200; i++) log.info({ i, name: 'Größe—写真.jpg' }, 'request');
    stream.flushSync();
    const lines = (await fs.readFile(file, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as { i: number; name: string });
    assert.deepEqual(
      lines.map((l) => l.i),
      [...Array(200).keys()],
    );
    assert.ok(lines.every((l) => l.name === 'Größe—写真.jpg'));
  }));
