import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clamp, sum } from '../../src/index.js';

test('values inside the range are kept', () => {
  assert.equal(clamp(5, 0, 10), 5);
  assert.equal(clamp(0, 0, 10), 0);
  assert.equal(clamp(10, 0, 10), 10);
});

test('values outside the range are limited to it', () => {
  assert.equal(clamp(-3, 0, 10), 0);
  assert.equal(clamp(42, 0, 10), 10);
  assert.equal(clamp(-1.5, -1, 1), -1);
});

test('min greater than max is a RangeError', () => {
  assert.throws(() => clamp(1, 2, 0), RangeError);
});

test('sum still works', () => {
  assert.equal(sum([2, 2]), 4);
});
