import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { outputSize } from '../../src/media/transform.js';
import type { Geometry } from '../../src/media/variant-spec.js';

test('derivative settings: defaults', () => {
  assert.deepEqual({ ...loadConfig({}).derivatives }, {
    concurrency: os.availableParallelism(),
    queueLimit: 100,
    timeoutMs: 10_000,
    maxDimension: 4096,
    presets: {
      thumb: 'width=240&height=240&fit=cover',
      card: 'width=600&height=600&fit=inside',
      zoom: 'width=2000&height=2000&fit=inside',
    },
    presetsOnly: false,
    signingKeys: [],
    ffmpegPath: 'ffmpeg',
  });
});

test('derivative settings: every variable is read', () => {
  const d = loadConfig({
    AMS_DERIVATIVE_CONCURRENCY: '3',
    AMS_DERIVATIVE_QUEUE: '0',
    AMS_DERIVATIVE_TIMEOUT_MS: '2500',
    AMS_DERIVATIVE_MAX_DIMENSION: '2048',
    AMS_DERIVATIVE_PRESETS: 'small:width=100, hero:width=1600&height=600&quality=70',
    AMS_DERIVATIVE_PRESETS_ONLY: 'true',
    AMS_SIGNING_KEYS: 'k'.repeat(16) + ', ' + 'j'.repeat(20),
    AMS_FFMPEG_PATH: '/opt/ffmpeg/bin/ffmpeg',
  }).derivatives;
  assert.deepEqual({ ...d, presets: { ...d.presets }, signingKeys: [...d.signingKeys] }, {
    concurrency: 3,
    queueLimit: 0,
    timeoutMs: 2500,
    maxDimension: 2048,
    presets: { small: 'width=100', hero: 'width=1600&height=600&quality=70' },
    presetsOnly: true,
    signingKeys: ['k'.repeat(16), 'j'.repeat(20)],
    ffmpegPath: '/opt/ffmpeg/bin/ffmpeg',
  });
});

// [env, text a problem must contain]
const bad: Array<[Record<string, string>, string]> = [
  [{ AMS_DERIVATIVE_CONCURRENCY: '0' }, 'AMS_DERIVATIVE_CONCURRENCY'],
  [{ AMS_DERIVATIVE_TIMEOUT_MS: 'soon' }, 'AMS_DERIVATIVE_TIMEOUT_MS'],
  [{ AMS_DERIVATIVE_MAX_DIMENSION: '8' }, 'AMS_DERIVATIVE_MAX_DIMENSION'],
  [{ AMS_DERIVATIVE_PRESETS: 'thumb:width=abc' }, 'Invalid width="abc"'],
  [{ AMS_DERIVATIVE_PRESETS: 'Big Name:width=10' }, 'a preset name is lowercase'],
  [{ AMS_DERIVATIVE_PRESETS: 'a:width=5000', AMS_DERIVATIVE_MAX_DIMENSION: '4096' }, 'from 1 to 4096'],
  [{ AMS_DERIVATIVE_PRESETS_ONLY: 'yes' }, 'AMS_DERIVATIVE_PRESETS_ONLY: expected true or false'],
  [{ AMS_SIGNING_KEYS: 'short' }, 'AMS_SIGNING_KEYS: every key must be at least 16 characters'],
];
for (const [env, text] of bad) {
  test(`derivative settings: refuses ${JSON.stringify(env)}`, () => {
    assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.includes(text)));
  });
}

const geometry = (g: Partial<Geometry>): Geometry => ({ width: null, height: null, fit: 'cover', quality: null, enlarge: false, ...g });
// [what, source w, h, geometry, expected output size] — the bound checked against the output cap.
const sizes: Array<[string, number, number, Partial<Geometry>, [number, number]]> = [
  ['no resize', 640, 480, {}, [640, 480]],
  ['width only', 640, 480, { width: 320 }, [320, 240]],
  ['height only', 640, 480, { height: 120 }, [160, 120]],
  ['no upscaling by default', 640, 480, { width: 1280 }, [640, 480]],
  ['upscaling when asked', 640, 480, { width: 1280, enlarge: true }, [1280, 960]],
  ['cover is the box', 640, 480, { width: 100, height: 100 }, [100, 100]],
  ['inside fits in the box', 640, 480, { width: 100, height: 100, fit: 'inside' }, [100, 75]],
  ['outside covers the box', 640, 480, { width: 100, height: 100, fit: 'outside' }, [133, 100]],
  ['outside of a strip can be huge', 100, 10, { width: 10, height: 4000, fit: 'outside', enlarge: true }, [40000, 4000]],
];
for (const [what, w, h, g, expected] of sizes) {
  test(`output size: ${what}`, () => {
    const out = outputSize(w, h, geometry(g));
    assert.deepEqual([out.width, out.height], expected);
  });
}
