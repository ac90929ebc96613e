import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunk } from '../src/index.js';

test('chunk groups items', () => {
  assert.deepEqual(chunk([1, 2, 3, 4, 5, 6, 7], 3).slice(0, 2), [
    [1, 2, 3],
    [4, 5, 6],
  ]);
});
