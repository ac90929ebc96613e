import { describe, expect, it } from 'vitest';
import { lineDelta, linesOf } from '../../../functions/shared/domain/line-diff';

describe('linesOf', () => {
  it('ends lines at \\r\\n, \\n and a lone \\r, keeping the terminator', () => {
    expect(linesOf('a\r\nb\nc\rd')).toEqual(['a\r\n', 'b\n', 'c\r', 'd']);
    expect(linesOf('')).toEqual([]);
    expect(linesOf('\n\n')).toEqual(['\n', '\n']);
    expect(linesOf('\r\r\n')).toEqual(['\r', '\r\n']);
  });
});

describe('lineDelta', () => {
  it('counts a new file, a deletion and an unchanged file', () => {
    expect(lineDelta(undefined, 'a\nb\n')).toEqual({
      added: ['a', 'b'],
      removed: 0,
      addedBytes: 4,
      wholeFile: false,
    });
    expect(lineDelta('a\nb\n', undefined)).toMatchObject({ added: [], removed: 2, addedBytes: 0 });
    expect(lineDelta('a\nb\n', 'a\nb\n')).toMatchObject({ added: [], removed: 0 });
  });

  it('counts a swap of two lines as changed (a set difference saw nothing)', () => {
    const delta = lineDelta('a\nb\n', 'b\na\n');
    expect(delta.added.length + delta.removed).toBe(2);
  });

  it('counts changed line endings and a final newline', () => {
    expect(lineDelta('a\nb\n', 'a\r\nb\r\n')).toMatchObject({ added: ['a', 'b'], removed: 2 });
    expect(lineDelta('a\nb', 'a\nb\n')).toMatchObject({ added: ['b'], removed: 1 });
  });

  it('counts UTF-8 bytes with terminators', () => {
    expect(lineDelta(undefined, '€\r\n').addedBytes).toBe(5);
  });

  it('past maxEditLength counts the whole file (never fewer lines than the truth)', () => {
    const old = Array.from({ length: 50 }, (_, i) => `old ${i}`).join('\n');
    const now = Array.from({ length: 50 }, (_, i) => `new ${i}`).join('\n');
    expect(lineDelta(old, now, { maxEditLength: 10 })).toMatchObject({ removed: 50, wholeFile: true });
    expect(lineDelta(old, now, { maxEditLength: 10 }).added).toHaveLength(50);
    expect(lineDelta(old, now, { maxEditLength: 1000 })).toMatchObject({ removed: 50, wholeFile: false });
  });

  it('stays fast on large rewrites', () => {
    const rand = () => Array.from({ length: 30_000 }, (_, i) => `${i}-${Math.random()}`).join('\n');
    const started = Date.now();
    const delta = lineDelta(rand(), rand(), { maxEditLength: 1001 });
    expect(delta.wholeFile).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
