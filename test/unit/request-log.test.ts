import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { lazyChildLogger, writeAccessLine } from '../../src/http/request-log.js';

function capture(options: pino.LoggerOptions = {}) {
  const lines: string[] = [];
  const logger = pino({ level: 'info', ...options }, { write: (s: string) => void lines.push(s) });
  return { logger, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}
const withoutTime = ({ time, ...rest }: Record<string, unknown>) => (assert.equal(typeof time, 'number'), rest);

describe('access log line', () => {
  it('is the JSON pino writes for the same call: same keys in the same order, same values, one line', () => {
    const { logger, lines, parsed } = capture();
    const url = '/images/x.webp?width=320&q="a\\b"\u2028\u0001é';
    writeAccessLine(logger, 'req-"1"', 'GET', url, 200, 3);
    logger.info({ reqId: 'req-"1"', method: 'GET', url, statusCode: 200, ms: 3 }, 'request');
    const [mine, theirs] = parsed().map(withoutTime);
    assert.deepEqual(mine, theirs);
    assert.deepEqual(Object.keys(mine as object), Object.keys(theirs as object));
    assert.ok(lines.every((l) => l.endsWith('}\n') && l.indexOf('\n') === l.length - 1));
  });

  it('is byte for byte the line pino writes, for plain and awkward strings alike', () => {
    const { logger, lines } = capture();
    const cases = ['/assets/0f4c15d4-abf8-4d3a-b08d-4e53b4d282cf', '/a b?c=%22d%22&e=~', '/q"x', '/b\\s', '/ctl\u0001\u001f\u007f', '/latin\u00e9\u00ff', '/u\u2028'];
    for (const url of cases) {
      for (const reqId of ['0f4c15d4-abf8-4d3a-b08d-4e53b4d282cf', url]) {
        writeAccessLine(logger, reqId, 'GET', url, 200, 0);
        logger.info({ reqId, method: 'GET', url, statusCode: 200, ms: 0 }, 'request');
      }
    }
    const untimed = lines.map((l) => l.replace(/"time":\d+/, ''));
    for (let i = 0; i < untimed.length; i += 2) assert.equal(untimed[i], untimed[i + 1]);
  });

  it('follows the level, also when it changes at run time', () => {
    const { logger, lines } = capture({ level: 'warn' });
    writeAccessLine(logger, 'r', 'GET', '/', 200, 1);
    assert.equal(lines.length, 0);
    logger.level = 'info';
    writeAccessLine(logger, 'r', 'GET', '/', 200, 1);
    assert.equal(lines.length, 1);
  });

  it('goes through pino when the logger adds to its lines (mixin, other time format)', () => {
    const mixed = capture({ mixin: () => ({ zone: 'eu' }) });
    writeAccessLine(mixed.logger, 'r', 'GET', '/', 200, 1);
    assert.equal(mixed.parsed()[0]?.zone, 'eu');
    const iso = capture({ timestamp: pino.stdTimeFunctions.isoTime });
    writeAccessLine(iso.logger, 'r', 'GET', '/', 200, 1);
    assert.match(String(iso.parsed()[0]?.time), /^\d{4}-\d\d-\d\dT/);
  });
});

describe('lazy request logger', () => {
  it('makes the pino child on first use only, with the request id bound', () => {
    const { logger, parsed } = capture();
    let made = 0;
    const child = logger.child.bind(logger);
    (logger as { child: unknown }).child = (...args: Parameters<typeof child>) => (made++, child(...args));
    const lazy = lazyChildLogger(logger as FastifyBaseLogger, { reqId: 'r1' }, {});
    assert.equal(lazy.level, 'info');
    assert.equal(made, 0);
    lazy.info({ a: 1 }, 'first');
    lazy.warn('second');
    lazy.debug('not written');
    assert.equal(made, 1);
    assert.deepEqual(parsed().map((l) => [l.reqId, l.msg, l.a]), [['r1', 'first', 1], ['r1', 'second', undefined]]);
  });

  it('keeps a route-level log level', () => {
    const { logger, parsed } = capture();
    const lazy = lazyChildLogger(logger as FastifyBaseLogger, { reqId: 'r2' }, { level: 'error' });
    assert.equal(lazy.level, 'error');
    lazy.info('dropped');
    lazy.error('kept');
    assert.deepEqual(parsed().map((l) => l.msg), ['kept']);
  });
});
