/**
 * The code the scripted sample model writes for the sample issue (forge repo `acme/widgets`
 * issue #1: `slugify(text)` in `src/slugify.js`, exported from `src/index.js`, tested with
 * node:test in `test/slugify.test.js`).
 */

export const SLUGIFY_PATH = 'src/slugify.js';
export const INDEX_PATH = 'src/index.js';
export const SLUGIFY_TEST_PATH = 'test/slugify.test.js';
export const SLUGIFY_EXPORT_LINE = "export { slugify } from './slugify.js';";
/** What the sample model runs in the sandbox before submitting (the sample's declared check). */
export const SAMPLE_TEST_COMMAND = 'node --test';

export const SLUGIFY_SOURCE = `/**
 * Turns text into a URL slug: lower case, trimmed, every run of characters other than a-z and 0-9
 * replaced by a single '-', with no leading or trailing '-'.
 * @param {string} text
 * @returns {string}
 */
export function slugify(text) {
  return String(text)
    .toLowerCase()
    .trim()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}
`;

/** A plausible first attempt that forgets to strip the edges: `'  Hello, World! '` → `hello-world-`. */
export const SLUGIFY_BUGGY_SOURCE = `/**
 * Turns text into a URL slug.
 * @param {string} text
 * @returns {string}
 */
export function slugify(text) {
  return String(text).toLowerCase().trim().replace(/[^a-z0-9]+/g, '-');
}
`;

/** Keeps accented letters (`'Déjà vu'` → `'déjà-vu'`): only "collapses runs of other characters" fails. */
export const SLUGIFY_KEEPS_ACCENTS_SOURCE = `/**
 * Turns text into a URL slug.
 * @param {string} text
 * @returns {string}
 */
export function slugify(text) {
  return String(text)
    .toLowerCase()
    .trim()
    .replace(/[^\\p{L}0-9]+/gu, '-')
    .replace(/^-+|-+$/g, '');
}
`;

/** Falls back to 'untitled' for empty results: only "returns an empty string" fails. */
export const SLUGIFY_UNTITLED_SOURCE = `/**
 * Turns text into a URL slug ('untitled' when nothing is left).
 * @param {string} text
 * @returns {string}
 */
export function slugify(text) {
  const slug = String(text)
    .toLowerCase()
    .trim()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug || 'untitled';
}
`;

/** The names of the tests those two versions fail (test/slugify.test.js). */
export const COLLAPSE_TEST_NAME = 'collapses runs of other characters into one dash';
export const EMPTY_TEST_NAME = 'returns an empty string when nothing is left';

const TEST_HEADER = `import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slugify } from '../src/index.js';
`;

const CORE_TESTS = `
test('lowercases, trims and joins words with single dashes', () => {
  assert.equal(slugify('  Hello, World! '), 'hello-world');
  assert.equal(slugify('Widgets 2 Go'), 'widgets-2-go');
});

test('collapses runs of other characters into one dash', () => {
  assert.equal(slugify('a -- b__c...d'), 'a-b-c-d');
  assert.equal(slugify('Déjà vu'), 'd-j-vu');
});

test('strips leading and trailing dashes', () => {
  assert.equal(slugify('--Already-Slugged--'), 'already-slugged');
  assert.equal(slugify('!!!wow!!!'), 'wow');
});
`;

const EDGE_TESTS = `
test('returns an empty string when nothing is left', () => {
  assert.equal(slugify(''), '');
  assert.equal(slugify('   '), '');
  assert.equal(slugify('?!'), '');
});
`;

/** The full test file. */
export const SLUGIFY_TEST_SOURCE = TEST_HEADER + CORE_TESTS + EDGE_TESTS;

/** Tests that miss the empty-input case (what the blocking-review scenario's reviewer asks for). */
export const SLUGIFY_TEST_SOURCE_WITHOUT_EDGES = TEST_HEADER + CORE_TESTS;

/** What the edge-case test calls: the reviewer looks for it. */
export const EMPTY_INPUT_ASSERTION = "slugify('')";
