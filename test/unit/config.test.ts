import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from '../../src/config.js';

const CWD = path.resolve('/srv/ams');
const TOKEN_A = 'a'.repeat(16);
const TOKEN_B = 'tok_0123456789abcdef';

/** The problems loadConfig reports for `env`; fails the test if it does not throw a ConfigError. */
function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, CWD);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.ok(err.message.includes(err.problems[0] ?? '\u0000'), 'the message lists the problems');
    return err.problems;
  }
  assert.fail(`loadConfig accepted ${JSON.stringify(env)}`);
}

test('defaults', () => {
  assert.deepEqual({ ...loadConfig({}, CWD) }, {
    port: 8080,
    host: '0.0.0.0',
    dataDir: path.join(CWD, 'data'),
    publicUrl: null, // http://localhost:<bound port>, resolved when the server listens
    tokens: [],
    maxUploadBytes: 2 * 1024 ** 3,
    maxPixels: 100_000_000,
    logLevel: 'info',
    requestTimeoutMs: 3_600_000,
    idleTimeoutMs: 30_000,
    database: { kind: 'sqlite', file: path.join(CWD, 'data', 'ams.sqlite') },
    storage: { kind: 'fs', root: path.join(CWD, 'data', 'blobs') },
    startupWaitMs: 30_000,
    cache: { rows: 10_000, rowTtlMs: 5_000, fileBytes: 64 * 1024 * 1024, maxFileBytes: 512 * 1024, hotReads: true },
    derivatives: loadConfig({}, CWD).derivatives, // its defaults: test/unit/derivative-config.test.ts
    ops: {
      jwt: { jwksUrl: null, publicKeyPem: null, issuer: null, audience: null, clockSkewS: 30, requiredScope: null },
      idempotencyTtlS: 86_400,
      uploadRatePerToken: 600,
      uploadRatePerIp: 600,
      rateWindowS: 60,
      corsUploadOrigins: [],
      shutdownTimeoutMs: 30_000,
      workers: 1,
      gcGraceS: 86_400,
      metricsToken: null,
    },
  } satisfies Config);
});

test('empty and blank variables mean "use the default"', () => {
  const config = loadConfig({ AMS_PORT: '', AMS_DATA_DIR: '   ', AMS_TOKENS: '', AMS_LOG_LEVEL: ' ' }, CWD);
  assert.equal(config.port, 8080);
  assert.equal(config.dataDir, path.join(CWD, 'data'));
  assert.deepEqual(config.tokens, []);
  assert.equal(config.logLevel, 'info');
});

// [what, env, field, expected]
const good: Array<[string, Record<string, string>, keyof Config, unknown]> = [
  ['port', { AMS_PORT: '3000' }, 'port', 3000],
  ['port 0 (any free port)', { AMS_PORT: '0' }, 'port', 0],
  ['port with spaces', { AMS_PORT: ' 3000 ' }, 'port', 3000],
  ['publicUrl unset means: derived from the bound port', { AMS_PORT: '3000' }, 'publicUrl', null],
  ['host', { AMS_HOST: '127.0.0.1' }, 'host', '127.0.0.1'],
  ['relative data dir', { AMS_DATA_DIR: 'var/media' }, 'dataDir', path.join(CWD, 'var/media')],
  ['absolute data dir', { AMS_DATA_DIR: '/mnt/media' }, 'dataDir', path.resolve('/mnt/media')],
  ['public URL', { AMS_PUBLIC_URL: 'https://media.example.com' }, 'publicUrl', 'https://media.example.com'],
  ['public URL trailing slash removed', { AMS_PUBLIC_URL: 'https://media.example.com/' }, 'publicUrl', 'https://media.example.com'],
  ['public URL path kept, slashes removed', { AMS_PUBLIC_URL: 'http://cdn.example.com/ams//' }, 'publicUrl', 'http://cdn.example.com/ams'],
  ['public URL with a port', { AMS_PUBLIC_URL: 'http://10.0.0.5:9000/' }, 'publicUrl', 'http://10.0.0.5:9000'],
  ['one token', { AMS_TOKENS: TOKEN_A }, 'tokens', [TOKEN_A]],
  ['metrics token', { AMS_METRICS_TOKEN: TOKEN_B }, 'ops', { ...loadConfig({}, CWD).ops, metricsToken: TOKEN_B }],
  ['tokens split and trimmed', { AMS_TOKENS: ` ${TOKEN_A} ,${TOKEN_B}, ` }, 'tokens', [TOKEN_A, TOKEN_B]],
  ['empty items dropped', { AMS_TOKENS: `,,${TOKEN_A},,` }, 'tokens', [TOKEN_A]],
  ['max upload bytes', { AMS_MAX_UPLOAD_BYTES: '1048576' }, 'maxUploadBytes', 1_048_576],
  ['max upload bytes above 4 GiB', { AMS_MAX_UPLOAD_BYTES: '10737418240' }, 'maxUploadBytes', 10_737_418_240],
  ['max pixels', { AMS_MAX_PIXELS: '2500' }, 'maxPixels', 2500],
  ['log level', { AMS_LOG_LEVEL: 'silent' }, 'logLevel', 'silent'],
  ['request timeout 0 disables', { AMS_REQUEST_TIMEOUT_MS: '0' }, 'requestTimeoutMs', 0],
  ['idle timeout at its minimum', { AMS_IDLE_TIMEOUT_MS: '1000' }, 'idleTimeoutMs', 1000],
  ['start-up wait off', { AMS_STARTUP_WAIT_S: '0' }, 'startupWaitMs', 0],
  [
    'caches turned off',
    { AMS_CACHE_ROWS: '0', AMS_CACHE_FILE_MB: '0' },
    'cache',
    { rows: 0, rowTtlMs: 5_000, fileBytes: 0, maxFileBytes: 512 * 1024, hotReads: true },
  ],
  [
    'cache sizes',
    { AMS_CACHE_ROWS: '50', AMS_CACHE_ROW_TTL_MS: '250', AMS_CACHE_FILE_MB: '2', AMS_CACHE_MAX_FILE_KB: '64', AMS_HOT_READS: 'false' },
    'cache',
    { rows: 50, rowTtlMs: 250, fileBytes: 2 * 1024 * 1024, maxFileBytes: 64 * 1024, hotReads: false },
  ],
];

for (const [what, env, field, expected] of good) {
  test(`accepts ${what}`, () => {
    assert.deepEqual(loadConfig(env, CWD)[field], expected);
  });
}

// [env, variable the problem must name]
const bad: Array<[Record<string, string>, string]> = [
  [{ AMS_PORT: 'http' }, 'AMS_PORT'],
  [{ AMS_PORT: '-1' }, 'AMS_PORT'],
  [{ AMS_PORT: '65536' }, 'AMS_PORT'],
  [{ AMS_PORT: '80.5' }, 'AMS_PORT'],
  [{ AMS_PORT: '1e3' }, 'AMS_PORT'],
  [{ AMS_PUBLIC_URL: 'media.example.com' }, 'AMS_PUBLIC_URL'],
  [{ AMS_PUBLIC_URL: 'ftp://media.example.com' }, 'AMS_PUBLIC_URL'],
  [{ AMS_PUBLIC_URL: 'javascript:alert(1)' }, 'AMS_PUBLIC_URL'],
  [{ AMS_PUBLIC_URL: 'https://media.example.com/?x=1' }, 'AMS_PUBLIC_URL'],
  [{ AMS_PUBLIC_URL: 'https://media.example.com/#top' }, 'AMS_PUBLIC_URL'],
  [{ AMS_TOKENS: 'short' }, 'AMS_TOKENS'],
  [{ AMS_TOKENS: `${TOKEN_A},short` }, 'AMS_TOKENS'],
  [{ AMS_TOKENS: 'sixteen chars ok but spaced' }, 'AMS_TOKENS'],
  [{ AMS_TOKENS: `${TOKEN_A}\u00e9` }, 'AMS_TOKENS'],
  [{ AMS_MAX_UPLOAD_BYTES: '0' }, 'AMS_MAX_UPLOAD_BYTES'],
  [{ AMS_MAX_UPLOAD_BYTES: '2G' }, 'AMS_MAX_UPLOAD_BYTES'],
  [{ AMS_MAX_UPLOAD_BYTES: '99999999999999999999' }, 'AMS_MAX_UPLOAD_BYTES'],
  [{ AMS_CACHE_ROW_TTL_MS: '0' }, 'AMS_CACHE_ROW_TTL_MS'],
  [{ AMS_STARTUP_WAIT_S: '-1' }, 'AMS_STARTUP_WAIT_S'],
  [{ AMS_STARTUP_WAIT_S: '3601' }, 'AMS_STARTUP_WAIT_S'],
  [{ AMS_CACHE_FILE_MB: '-1' }, 'AMS_CACHE_FILE_MB'],
  [{ AMS_CACHE_MAX_FILE_KB: '0' }, 'AMS_CACHE_MAX_FILE_KB'],
  [{ AMS_HOT_READS: 'no' }, 'AMS_HOT_READS'],
  [{ AMS_MAX_PIXELS: '0' }, 'AMS_MAX_PIXELS'],
  [{ AMS_MAX_PIXELS: '-5' }, 'AMS_MAX_PIXELS'],
  [{ AMS_LOG_LEVEL: 'verbose' }, 'AMS_LOG_LEVEL'],
  [{ AMS_LOG_LEVEL: 'INFO' }, 'AMS_LOG_LEVEL'],
  [{ AMS_REQUEST_TIMEOUT_MS: 'never' }, 'AMS_REQUEST_TIMEOUT_MS'],
  [{ AMS_IDLE_TIMEOUT_MS: '999' }, 'AMS_IDLE_TIMEOUT_MS'],
  [{ AMS_HOST: 'local host' }, 'AMS_HOST'],
  [{ AMS_HOST: '999.1.1.1' }, 'AMS_HOST'],
  [{ AMS_JWT_SCOPE: 'assets:write assets:read' }, 'AMS_JWT_SCOPE'],
  [{ AMS_METRICS_TOKEN: 'short' }, 'AMS_METRICS_TOKEN'],
  [{ AMS_METRICS_TOKEN: 'sixteen chars but spaced' }, 'AMS_METRICS_TOKEN'],
];

for (const [env, name] of bad) {
  test(`refuses ${name}=${JSON.stringify(Object.values(env)[0])} and names it`, () => {
    const problems = problemsOf(env);
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.ok(problems[0]?.startsWith(name), problems[0]);
  });
}

test('a refused token is not echoed back in the error', () => {
  const secretish = 'hunter2';
  const problems = problemsOf({ AMS_TOKENS: secretish });
  assert.ok(!problems.some((p) => p.includes(secretish)), problems.join('\n'));
});

test('every bad variable is reported at once', () => {
  const problems = problemsOf({
    AMS_PORT: 'x',
    AMS_PUBLIC_URL: 'ftp://x',
    AMS_TOKENS: 'short',
    AMS_MAX_PIXELS: '0',
    AMS_LOG_LEVEL: 'loud',
    AMS_IDLE_TIMEOUT_MS: '1',
    AMS_HOST: '127.0.0.1',
  });
  const named = problems.map((p) => /^AMS_[A-Z_]+/.exec(p)?.[0]).sort();
  assert.deepEqual(named, ['AMS_IDLE_TIMEOUT_MS', 'AMS_LOG_LEVEL', 'AMS_MAX_PIXELS', 'AMS_PORT', 'AMS_PUBLIC_URL', 'AMS_TOKENS']);
});

test('several short tokens are one problem, not one per token', () => {
  assert.equal(problemsOf({ AMS_TOKENS: 'a,b,c' }).length, 1);
});

test('unrelated variables are ignored', () => {
  assert.equal(loadConfig({ PATH: '/bin', AMS_UNKNOWN: 'x', PORT: 'nope' }, CWD).port, 8080);
});

test('the result is frozen, tokens included', () => {
  const config = loadConfig({ AMS_TOKENS: TOKEN_A }, CWD);
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.tokens));
  assert.throws(() => {
    (config as Config).port = 1;
  }, TypeError);
  assert.throws(() => {
    (config.tokens as string[]).push('added-at-runtime-0000');
  }, TypeError);
  assert.deepEqual(config.tokens, [TOKEN_A]);
});

test('loadConfig does not modify the env it is given', () => {
  const env = { AMS_PORT: ' 3000 ', AMS_TOKENS: ` ${TOKEN_A} ` };
  const before = { ...env };
  loadConfig(env, CWD);
  assert.deepEqual(env, before);
});

test('operations settings: parsed, and bad ones named', () => {
  const ops = loadConfig(
    {
      AMS_WORKERS: 'auto',
      AMS_JWT_JWKS_URL: 'https://idp.example.com/jwks.json',
      AMS_JWT_SCOPE: 'assets:write',
      AMS_CORS_UPLOAD_ORIGINS: 'https://a.example.com, http://b.example.com:8080',
      AMS_UPLOAD_RATE_PER_IP: '0',
    },
    CWD,
  ).ops;
  assert.ok(ops.workers >= 1);
  assert.equal(ops.jwt.jwksUrl, 'https://idp.example.com/jwks.json');
  assert.equal(ops.jwt.requiredScope, 'assets:write');
  assert.deepEqual(ops.corsUploadOrigins, ['https://a.example.com', 'http://b.example.com:8080']);
  assert.equal(ops.uploadRatePerIp, 0);
  const problems = problemsOf({
    AMS_WORKERS: 'many',
    AMS_JWT_JWKS_URL: 'ftp://x',
    AMS_JWT_PUBLIC_KEY: 'not a key',
    AMS_CORS_UPLOAD_ORIGINS: 'https://a.example.com/path',
    AMS_SHUTDOWN_TIMEOUT_MS: '-1',
  });
  for (const name of ['AMS_WORKERS', 'AMS_JWT_JWKS_URL', 'AMS_JWT_PUBLIC_KEY', 'AMS_CORS_UPLOAD_ORIGINS', 'AMS_SHUTDOWN_TIMEOUT_MS']) {
    assert.ok(problems.some((p) => p.startsWith(name)), name);
  }
});
