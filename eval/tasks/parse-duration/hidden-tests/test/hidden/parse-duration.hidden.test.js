import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseDuration } from '../../src/index.js';

test('reads what formatDuration writes', () => {
  for (const ms of [0, 1000, 61_000, 3_600_000, 3_723_000]) assert.equal(parseDuration(formatDuration(ms)), ms);
});

test('reads parts without spaces', () => {
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('2m5s'), 125_000);
});

test('refuses what it cannot read', () => {
  for (const bad of ['', '5x', '1h 1h', '-1s', 'soon']) assert.throws(() => parseDuration(bad), SyntaxError);
});
