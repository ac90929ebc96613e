/**
 * The fingerprint of a CI failure: a hash of the sorted failures (test id + message), normalised so
 * that what changes between two runs of the same failure does not count: timestamps, durations and
 * other numbers, hex ids (addresses, hashes, UUIDs), and the directories of absolute paths (work
 * dirs, temp dirs: `/tmp/cfg-x1Y2z3/settings.json` -> `settings.json`). Ids keep their numbers
 * (`case 1` and `case 2` are different tests); messages do not.
 */
import { createHash } from 'node:crypto';
import type { Failure } from './lines';

const TIMESTAMP = /\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:Z|[+-]\d\d:?\d\d)?/g;
const CLOCK = /\b\d\d:\d\d:\d\d(?:[.,]\d+)?/g;
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
const HEX = /\b(?:0x[0-9a-f]+|[0-9a-f]{7,})\b/gi;
const FILE_URL = /file:\/\/(?=\/)/g;
// The directories of an absolute path (POSIX or Windows); the last segment is kept.
const POSIX_DIRS = /(?<![\w.~-])\/(?:[^\s'"`()<>[\]{},;:/\\]+\/)+/g;
const WINDOWS_DIRS = /\b[A-Za-z]:\\(?:[^\s'"`()<>[\]{},;:/\\]+\\)+/g;
const NUMBER = /\d+(?:\.\d+)?/g;

function common(text: string): string {
  return text
    .replace(TIMESTAMP, '<time>')
    .replace(CLOCK, '<time>')
    .replace(FILE_URL, '')
    .replace(POSIX_DIRS, '')
    .replace(WINDOWS_DIRS, '')
    .replace(UUID, '<id>');
}

/** A test id as it compares across runs. */
export function normalizeId(id: string): string {
  return common(id).replace(/\s+/g, ' ').trim();
}

/** A message (or any log text) as it compares across runs. */
export function normalizeText(text: string): string {
  return common(text)
    .replace(HEX, (h) => (/^0x|\d/i.test(h) ? '<hex>' : h))
    .replace(NUMBER, '#')
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' ').trim())
    .filter((l) => l !== '')
    .join('\n');
}

/**
 * Same failures, same signature. With no failures (nothing was recognised) the normalised
 * fallback text is hashed instead.
 */
export function failureSignature(failures: readonly Failure[], fallbackText = ''): string {
  const entries =
    failures.length > 0
      ? [...new Set(failures.map((f) => `${normalizeId(f.id)}\n${normalizeText(f.message)}`))].sort()
      : [normalizeText(fallbackText)];
  return createHash('sha256').update(entries.join('\n\u0000\n')).digest('hex').slice(0, 32);
}
