import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slugify } from '../../src/index.js';
import { slugify as direct } from '../../src/slugify.js';

test('slugify is exported from src/index.js and src/slugify.js', () => {
  assert.equal(typeof slugify, 'function');
  assert.equal(direct, slugify);
});

test('the example of the issue', () => {
  assert.equal(slugify('  Hello, World! '), 'hello-world');
});

test('runs of other characters become one dash, none at the ends', () => {
  assert.equal(slugify('Rock & Roll -- 2024!!'), 'rock-roll-2024');
  assert.equal(slugify('__init__'), 'init');
  assert.equal(slugify('ÀB'), 'b');
});

test('nothing left is an empty string', () => {
  assert.equal(slugify(''), '');
  assert.equal(slugify(' - '), '');
});
