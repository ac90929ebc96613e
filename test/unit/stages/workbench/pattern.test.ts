import { describe, expect, it } from 'vitest';
import {
  type CompiledPattern,
  compilePattern,
  matchingLines,
} from '../../../../functions/stages/workbench/pattern';

const compiled = (pattern: string, ignoreCase = false): CompiledPattern => {
  const result = compilePattern(pattern, ignoreCase);
  if ('error' in result) throw new Error(result.error);
  return result;
};
const lines = (pattern: string, text: string, ignoreCase = false) =>
  matchingLines(text, compiled(pattern, ignoreCase));

describe('compilePattern', () => {
  it('turns a leading (?i) into the i flag', () => {
    expect(compiled('(?i)abc').scan.flags).toContain('i');
    expect(compiled('abc', true).line.flags).toContain('i');
    expect(compiled('abc').scan.flags).not.toContain('i');
  });

  it('uses unicode mode when it can, and not when the pattern needs the old syntax', () => {
    expect(lines('\\p{Lu}\\p{Ll}+', 'hello\nWorld\n')).toEqual([2]);
    expect(lines('a\\-b', 'a-b\n')).toEqual([1]);
  });

  it('answers invalid patterns with the reason', () => {
    expect(compilePattern('(', false)).toEqual({
      error: expect.stringContaining('invalid regular expression'),
    });
    expect(compilePattern('', false)).toEqual({ error: 'pattern must not be empty' });
    expect(compilePattern('(?i)', false)).toHaveProperty('error');
  });
});

describe('matchingLines', () => {
  const text = 'alpha\nbeta gamma\n\ndelta alpha\nalphabet';

  it('numbers matching lines from 1, each line once however many matches it has', () => {
    expect(lines('alpha', text)).toEqual([1, 4, 5]);
    expect(lines('a', text)).toEqual([1, 2, 4, 5]);
    expect(lines('^$', text)).toEqual([3]);
    expect(lines('^alpha$', text)).toEqual([1]);
    expect(lines('ALPHA', text, true)).toEqual([1, 4, 5]);
  });

  it('never lets a match span lines, also with lookarounds', () => {
    expect(lines('alpha\\nbeta', text)).toEqual([]);
    expect(lines('alpha\\s+beta', text)).toEqual([]);
    expect(lines('alpha(?=\\nbeta)', text)).toEqual([]);
    expect(lines('gamma[^x]*delta', text)).toEqual([]);
    expect(lines('a(?![\\s\\S])', 'abc\nxa\n')).toEqual([2]);
  });

  it('stops at the limit', () => {
    expect(matchingLines(text, compiled('a'), 2)).toEqual([1, 2]);
  });

  it('handles CRLF lines and a missing final newline', () => {
    expect(lines('b$', 'a\r\nb\r\nc')).toEqual([2]);
    expect(lines('c$', 'a\r\nb\r\nc')).toEqual([3]);
  });
});
