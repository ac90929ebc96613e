import { describe, expect, it } from 'vitest';
import { commentableLines, describeLines, numberedPatch } from '../../../functions/shared/domain/patch';

/** A modified file's patch as GitHub gives it: a removed line, an added one, context around. */
const PATCH = [
  '@@ -3,4 +3,5 @@ export function slugify(text) {',
  '   return String(text)',
  '-    .toLowerCase()',
  '+    .toLowerCase()',
  '+    .trim()',
  "     .replace(/[^a-z0-9]+/g, '-');",
  ' }',
  '@@ -20,2 +21,2 @@',
  ' a',
  '-b',
  '+c',
].join('\n');

describe('GitHub patches read for a review', () => {
  it('knows which lines of each side a review comment may sit on', () => {
    const lines = commentableLines(PATCH);
    expect([...lines.RIGHT]).toEqual([3, 4, 5, 6, 7, 21, 22]);
    expect([...lines.LEFT]).toEqual([3, 4, 5, 6, 20, 21]);
    expect(commentableLines(undefined).RIGHT.size).toBe(0);
  });

  it('numbers each line by the file it is in, removed lines with their old number after -', () => {
    const numbered = numberedPatch(PATCH).split('\n');
    expect(numbered[0]).toBe('@@ -3,4 +3,5 @@ export function slugify(text) {');
    expect(numbered[1]).toBe('     3    return String(text)');
    expect(numbered[2]).toBe('    -4 -    .toLowerCase()');
    expect(numbered[4]).toBe('     5 +    .trim()');
    expect(numbered.at(-1)).toBe('    22 +c');
  });

  it('describes line sets as short ranges', () => {
    expect(describeLines(new Set([7, 3, 4, 5, 21]))).toBe('3-5, 7, 21');
    expect(describeLines(new Set())).toBe('none');
  });
});
