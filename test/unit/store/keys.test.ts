import { describe, expect, it } from 'vitest';
import { keys, pad } from '../../../functions/shared/store/keys';

describe('key builders', () => {
  it('pads sequence numbers so lexical order equals numeric order', () => {
    const seqs = [1, 2, 10, 9, 100, 11];
    const sorted = seqs.map((n) => pad(n)).sort();
    expect(sorted.map(Number)).toEqual([1, 2, 9, 10, 11, 100]);
  });

  it('sorts the WorkItem after its runs in GSI3 so a newest-first query returns it first', () => {
    const wi = keys.workItemInGsi3('acme/widgets#1').gsi3sk;
    const run = keys.runByWorkItem('acme/widgets#1', '01JABCDEFGHJKMNPQRSTVWXYZ0').gsi3sk;
    expect(wi > run).toBe(true);
  });

  it('sorts run events before the run item so one Query from "EVT#" returns both', () => {
    const evt = keys.runEvent('R', 1).sk;
    const run = keys.run('R').sk;
    const budget = keys.runBudget('R').sk;
    expect(evt >= keys.runEventPrefix && evt < run).toBe(true);
    expect(budget < keys.runEventPrefix).toBe(true);
  });

  it('sorts conversation meta before its turns', () => {
    expect(keys.conversation('c').sk < keys.turn('c', 0).sk).toBe(true);
    expect(keys.turn('c', 2).sk < keys.turn('c', 10).sk).toBe(true);
  });
});
