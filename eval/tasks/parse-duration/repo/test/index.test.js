import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration } from '../src/index.js';

test('formatDuration writes hours, minutes and seconds', () => {
  assert.equal(formatDuration(3_723_000), '1h 2m 3s');
  assert.equal(formatDuration(0), '0s');
});
