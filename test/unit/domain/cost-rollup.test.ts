import { describe, expect, it } from 'vitest';
import { groupOf, rollUpCosts } from '../../../functions/shared/domain/cost-rollup';
import { costOfRun } from '../../../functions/shared/domain/infra-cost';
import { emptyLedger, type Run } from '../../../functions/shared/domain/run';

const run = (id: string, over: Partial<Run>) =>
  ({
    runId: id,
    repo: 'Acme/Widgets',
    kind: 'change',
    createdAt: '2026-11-03T10:00:00.000Z',
    ledger: { ...emptyLedger(), llmCalls: 2, costUsd: 0.2 },
    stages: [],
    version: 10,
    transitions: 0,
    ...over,
  }) as unknown as Run;

describe('rollUpCosts', () => {
  const merged = run('a', { mergedSha: 'f'.repeat(40) });
  const failed = run('b', {
    ledger: { ...emptyLedger(), llmCalls: 4, costUsd: 0.5 },
    createdAt: '2026-11-04T01:00:00.000Z',
  });
  const review = run('c', { kind: 'review', repo: 'acme/other' });

  it('sums model and infra cost, and charges every run to the merged PRs', () => {
    const { total, groups } = rollUpCosts([merged, failed, review], undefined);
    const all = [merged, failed, review].map((r) => costOfRun(r));
    expect(total.runs).toBe(3);
    expect(total.modelUsd).toBeCloseTo(0.9, 9);
    expect(total.infraUsd).toBeCloseTo(
      all.reduce((s, c) => s + c.infraUsd, 0),
      6,
    );
    expect(total.mergedPrs).toBe(1);
    expect(total.costPerMergedPrUsd).toBeCloseTo(total.totalUsd, 6);
    expect(total.unmergedRuns).toBe(2);
    expect(total.unmergedUsd).toBeCloseTo((all[1]?.totalUsd ?? 0) + (all[2]?.totalUsd ?? 0), 6);
    expect(groups).toEqual([]);
  });

  it('groups by repo (case folded), kind, day and model', () => {
    expect(rollUpCosts([merged, failed, review], 'repo').groups.map((g) => [g.key, g.runs])).toEqual([
      ['acme/other', 1],
      ['acme/widgets', 2],
    ]);
    expect(rollUpCosts([merged, failed, review], 'kind').groups.map((g) => g.key)).toEqual([
      'change',
      'review',
    ]);
    expect(rollUpCosts([merged, failed], 'day').groups.map((g) => g.key)).toEqual([
      '2026-11-03',
      '2026-11-04',
    ]);
    const models = new Map([
      ['a', 'claude-opus'],
      ['b', 'claude-haiku'],
    ]);
    const byModel = rollUpCosts([merged, failed, review], 'model', (r) => models.get(r.runId)).groups;
    expect(byModel.map((g) => [g.key, g.costPerMergedPrUsd === null])).toEqual([
      ['claude-haiku', true],
      ['claude-opus', false],
      ['unknown', true],
    ]);
    expect(groupOf(review, 'model')).toBe('unknown');
  });
});
