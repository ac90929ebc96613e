import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunk } from '../../src/index.js';

test('keeps the last, shorter group', () => {
  assert.deepEqual(chunk([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
});

test('keeps a last group of full size', () => {
  assert.deepEqual(chunk([1, 2], 2), [[1, 2]]);
  assert.deepEqual(chunk([1, 2, 3], 1), [[1], [2], [3]]);
});

test('nothing to group is no group', () => {
  assert.deepEqual(chunk([], 3), []);
});

test('a size that is not a positive integer is a RangeError', () => {
  assert.throws(() => chunk([1], 0), RangeError);
});
