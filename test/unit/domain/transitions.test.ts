import { describe, expect, it } from 'vitest';
import {
  assertTransition,
  canTransition,
  nextStatuses,
  TRANSITIONS,
} from '../../../functions/shared/domain/transitions';
import { isTerminal, RUN_STATUSES, type RunStatus } from '../../../functions/shared/domain/run';
import { IllegalTransitionError } from '../../../functions/shared/errors';

// The table from the brief, written out independently of the implementation.
const EXPECTED_FORWARD: Record<string, RunStatus[]> = {
  QUEUED: ['PLANNING', 'REVIEWING', 'IMPLEMENTING', 'VERIFYING', 'BLOCKED'],
  PLANNING: ['AWAITING_CLARIFICATION', 'IMPLEMENTING', 'BLOCKED', 'STOPPED'],
  AWAITING_CLARIFICATION: ['PLANNING', 'TIMED_OUT'],
  IMPLEMENTING: ['VERIFYING', 'IMPLEMENTING', 'BLOCKED', 'STOPPED'],
  VERIFYING: ['IMPLEMENTING', 'REVIEWING', 'AWAITING_APPROVAL', 'SUCCEEDED', 'STOPPED'],
  REVIEWING: ['IMPLEMENTING', 'AWAITING_APPROVAL', 'BLOCKED', 'STOPPED', 'SUCCEEDED'],
  AWAITING_APPROVAL: ['MERGING', 'REJECTED', 'EXPIRED'],
  MERGING: ['SUCCEEDED'],
};

describe('run status transitions', () => {
  it('allows exactly the listed transitions plus FAILED/CANCELLED/SUPERSEDED from non-terminal statuses', () => {
    for (const from of RUN_STATUSES) {
      for (const to of RUN_STATUSES) {
        const expected = isTerminal(from)
          ? false
          : (EXPECTED_FORWARD[from] ?? []).includes(to) ||
            to === 'FAILED' ||
            to === 'CANCELLED' ||
            to === 'SUPERSEDED';
        expect(canTransition(from, to), `${from} -> ${to}`).toBe(expected);
      }
    }
  });

  it('SUPERSEDED is terminal: a superseded run never moves again', () => {
    expect(isTerminal('SUPERSEDED')).toBe(true);
    expect(nextStatuses('SUPERSEDED')).toEqual([]);
    expect(canTransition('AWAITING_APPROVAL', 'SUPERSEDED')).toBe(true);
  });

  it('lets terminal statuses go nowhere', () => {
    for (const status of [
      'SUCCEEDED',
      'FAILED',
      'BLOCKED',
      'REJECTED',
      'EXPIRED',
      'TIMED_OUT',
      'CANCELLED',
      'STOPPED',
    ] as const) {
      expect(nextStatuses(status)).toEqual([]);
      expect(TRANSITIONS[status].size).toBe(0);
    }
  });

  it('throws a typed IllegalTransitionError naming both ends', () => {
    expect(() => assertTransition('QUEUED', 'MERGING')).toThrow(IllegalTransitionError);
    try {
      assertTransition('SUCCEEDED', 'PLANNING');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(IllegalTransitionError);
      const typed = error as IllegalTransitionError;
      expect([typed.name, typed.from, typed.to]).toEqual(['IllegalTransition', 'SUCCEEDED', 'PLANNING']);
    }
    expect(() => assertTransition('PLANNING', 'IMPLEMENTING')).not.toThrow();
    expect(() => assertTransition('MERGING', 'CANCELLED')).not.toThrow();
  });

  it('rejects unknown statuses and self-loops other than IMPLEMENTING', () => {
    expect(canTransition('PLANNING', 'DONE')).toBe(false);
    expect(canTransition('constructor', 'PLANNING')).toBe(false);
    expect(canTransition('__proto__', 'FAILED')).toBe(false);
    expect(canTransition('PLANNING', 'PLANNING')).toBe(false);
    expect(canTransition('IMPLEMENTING', 'IMPLEMENTING')).toBe(true);
    expect(() => assertTransition('toString', 'FAILED')).toThrow(IllegalTransitionError);
  });
});
