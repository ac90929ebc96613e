import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costOfRun } from '../../../functions/shared/domain/infra-cost';
import { emptyLedger, type Run } from '../../../functions/shared/domain/run';
import { monthlyBudgetAccount } from '../../../functions/shared/store/keys';
import { type ApiHarness, startApiHarness } from './support';

// GET /v1/costs over real HTTP → API handler → the DynamoDB store on dynalite.
let api: ApiHarness;
let reader: string;
let writeOnly: string;
let other: string;
const runs: Run[] = [];

const ledger = (costUsd: number, llmCalls: number) => ({ ...emptyLedger(), costUsd, llmCalls });

beforeAll(async () => {
  api = await startApiHarness();
  reader = await api.key(['runs:read'], ['acme/*'], 'costs-reader');
  writeOnly = await api.key(['runs:write'], ['acme/*'], 'costs-writer');
  other = await api.key(['runs:read'], ['other/*'], 'other-team');
  runs.push(
    await api.seedRun({
      repo: 'acme/costs',
      issueNumber: 1,
      status: 'SUCCEEDED',
      mergedSha: 'a'.repeat(40),
      ledger: ledger(0.3, 6),
      version: 20,
    }),
    await api.seedRun({
      repo: 'acme/costs',
      issueNumber: 2,
      status: 'FAILED',
      ledger: ledger(0.1, 2),
      version: 9,
    }),
    await api.seedRun({
      repo: 'acme/costs',
      issueNumber: 3,
      kind: 'review',
      status: 'SUCCEEDED',
      ledger: ledger(0.05, 1),
      version: 5,
    }),
  );
  // The store's clock: a day after the seeded runs. A monthly cap of $10, $1.5 of it reserved.
  api.dynamo.clock.advance(86_400_000);
  await api.dynamo.store.reserveBudget(
    monthlyBudgetAccount('acme/costs', api.dynamo.clock.now()),
    'res-1',
    1.5,
    10,
  );
});

afterAll(async () => {
  await api?.close();
});

const sum = (list: Run[], pick: (run: Run) => number) => list.reduce((total, run) => total + pick(run), 0);

describe('GET /v1/costs', () => {
  it('rolls up model and infra cost, cost per merged PR, unmerged runs and the budget left', async () => {
    const response = await api.call('GET', '/v1/costs?repo=acme/costs&from=2025-01-01&to=2025-01-01', {
      key: reader,
    });
    expect(response.status).toBe(200);
    const data = response.json.data;
    expect(data.from).toBe('2025-01-01T00:00:00.000Z');
    expect(data.to).toBe('2025-01-02T00:00:00.000Z');
    const infra = sum(runs, (run) => costOfRun(run).infraUsd);
    expect(data.total.runs).toBe(3);
    expect(data.total.model_usd).toBeCloseTo(0.45, 6);
    expect(data.total.infra_usd).toBeCloseTo(infra, 6);
    expect(data.total.infra_usd).toBeGreaterThan(0);
    expect(data.total.total_usd).toBeCloseTo(0.45 + infra, 6);
    expect(data.total.merged_prs).toBe(1);
    expect(data.total.cost_per_merged_pr_usd).toBeCloseTo(0.45 + infra, 6);
    const unmerged = runs.slice(1);
    expect(data.total.unmerged_runs).toBe(2);
    expect(data.total.unmerged_usd).toBeCloseTo(
      sum(unmerged, (run) => costOfRun(run).totalUsd),
      6,
    );
    expect(data.budget.repos).toEqual([
      { repo: 'acme/costs', limit_usd: 10, spent_usd: 0, reserved_usd: 1.5, left_usd: 8.5 },
    ]);
    expect(data.budget.left_usd).toBe(8.5);
    expect(data.truncated).toBe(false);
    expect(response.headers.get('etag')).toMatch(/^"/);
  });

  it('groups by kind and by day, and leaves out runs outside the range', async () => {
    const byKind = (
      await api.call('GET', '/v1/costs?repo=acme/costs&from=2025-01-01&to=2025-01-01&group_by=kind', {
        key: reader,
      })
    ).json.data;
    expect(byKind.groups.map((g: { key: string; runs: number }) => [g.key, g.runs])).toEqual([
      ['change', 2],
      ['review', 1],
    ]);
    expect(byKind.groups[1].model_usd).toBeCloseTo(0.05, 6);
    const byDay = (
      await api.call('GET', '/v1/costs?repo=acme/costs&from=2025-01-01&group_by=day', { key: reader })
    ).json.data;
    expect(byDay.groups.map((g: { key: string }) => g.key)).toEqual(['2025-01-01']);
    const later = (
      await api.call('GET', '/v1/costs?repo=acme/costs&from=2025-02-01&to=2025-03-01', { key: reader })
    ).json.data;
    expect(later.total.runs).toBe(0);
    expect(later.total.cost_per_merged_pr_usd).toBeNull();
  });

  it('needs runs:read and a visible repo, and refuses a bad query in the error envelope', async () => {
    expect((await api.call('GET', '/v1/costs?repo=acme/costs', { key: writeOnly })).status).toBe(403);
    expect((await api.call('GET', '/v1/costs?repo=acme/costs', { key: other })).status).toBe(403);
    expect((await api.call('GET', '/v1/costs')).status).toBe(401);
    const bad = await api.call('GET', '/v1/costs?group_by=colour', { key: reader });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('ValidationError');
    expect((await api.call('GET', '/v1/costs?from=yesterday', { key: reader })).status).toBe(400);
    // Another team's key sees none of acme's spend across repositories.
    const theirs = (await api.call('GET', '/v1/costs?from=2025-01-01', { key: other })).json.data;
    expect(theirs.total.runs).toBe(0);
  });
});
