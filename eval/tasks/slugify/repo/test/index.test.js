import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capitalize, truncate } from '../src/index.js';

test('capitalize upper-cases the first character only', () => {
  assert.equal(capitalize('widget'), 'Widget');
  assert.equal(capitalize('wIDGET'), 'WIDGET');
  assert.equal(capitalize(''), '');
});

test('truncate keeps short text and cuts long text with an ellipsis', () => {
  assert.equal(truncate('short', 10), 'short');
  assert.equal(truncate('a longer sentence', 8), 'a longe…');
  assert.equal(truncate('anything', 0), '');
});
