import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tuneHeapGrowth } from '../../src/ops/heap-growth.js';

test("AMS sets the heap growing factor unless the operator already gave one", () => {
  assert.equal(tuneHeapGrowth([], undefined), true);
  assert.equal(tuneHeapGrowth(['--enable-source-maps'], '--max-old-space-size=512'), true);
  assert.equal(tuneHeapGrowth(['--heap-growing-percent=50'], undefined), false);
  assert.equal(tuneHeapGrowth([], '--max-old-space-size=512 --heap_growing_percent=80'), false);
});
