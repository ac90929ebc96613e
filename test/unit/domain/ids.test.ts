import { describe, expect, it } from 'vitest';
import { isRunId, isUlid, newRunId, parseRunId, Ulid, ulidTime } from '../../../functions/shared/domain/ids';
import { RunId } from '../../../functions/shared/domain/run';

describe('ids', () => {
  it('makes valid, unique, time-ordered run ids', () => {
    const a = newRunId(1_700_000_000_000);
    const b = newRunId(1_700_000_000_001);
    expect(isRunId(a)).toBe(true);
    expect(RunId.safeParse(a).success).toBe(true);
    expect(Ulid.safeParse(a).success).toBe(true);
    expect(a < b).toBe(true);
    expect(ulidTime(a)).toBe(1_700_000_000_000);
    const many = new Set(Array.from({ length: 200 }, () => newRunId()));
    expect(many.size).toBe(200);
  });

  it('rejects what is not a ULID', () => {
    for (const bad of [
      '',
      'abc',
      '01HNZX8JGFACFA36RBXDHEQN6',
      '01hnzx8jgfacfa36rbxdheqn6e',
      '01HNZX8JGFACFA36RBXDHEQN6I',
      'ZZZZZZZZZZZZZZZZZZZZZZZZZZ',
      42,
      null,
    ]) {
      expect(isUlid(bad), String(bad)).toBe(false);
    }
    expect(parseRunId('nope')).toEqual({ ok: false, message: expect.stringContaining('ULID') });
    expect(parseRunId('01HNZX8JGFACFA36RBXDHEQN6E')).toEqual({
      ok: true,
      runId: '01HNZX8JGFACFA36RBXDHEQN6E',
    });
    expect(() => ulidTime('nope')).toThrow(RangeError);
  });
});
