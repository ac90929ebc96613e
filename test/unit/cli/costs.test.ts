import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../cli/io';
import { main } from '../../../cli/main';
import { emptyLedger } from '../../../functions/shared/domain/run';
import { monthlyBudgetAccount } from '../../../functions/shared/store/keys';
import { type ApiHarness, startApiHarness } from '../../integration/api/support';

// `code-factory costs` through main(), against the API on dynalite.
let api: ApiHarness;
let key: string;

beforeAll(async () => {
  api = await startApiHarness();
  key = await api.key(['runs:read'], ['acme/*'], 'cost-watcher');
  await api.seedRun({
    repo: 'acme/spend',
    issueNumber: 1,
    status: 'SUCCEEDED',
    mergedSha: 'a'.repeat(40),
    ledger: { ...emptyLedger(), costUsd: 0.4, llmCalls: 8 },
    version: 20,
  });
  await api.seedRun({
    repo: 'acme/spend',
    issueNumber: 2,
    status: 'FAILED',
    ledger: { ...emptyLedger(), costUsd: 0.2, llmCalls: 3 },
    version: 9,
  });
  api.dynamo.clock.advance(86_400_000);
  await api.dynamo.store.reserveBudget(
    monthlyBudgetAccount('acme/spend', api.dynamo.clock.now()),
    'r',
    2,
    25,
  );
});

afterAll(async () => {
  await api?.close();
});

async function costs(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) };
  const code = await main(['costs', ...args, '--url', api.gateway.url, '--api-key', key], io);
  return { code, out: out.join(''), err: err.join('') };
}

describe('code-factory costs', () => {
  it('prints the spend per kind, the total, cost per merged PR, unmerged runs and the budget left', async () => {
    const result = await costs(
      '--repo',
      'acme/spend',
      '--from',
      '2025-01-01',
      '--to',
      '2025-01-01',
      '--group-by',
      'kind',
    );
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const lines = result.out.split('\n');
    expect(lines[0]).toBe(
      'costs of acme/spend, runs created 2025-01-01T00:00:00.000Z to 2025-01-02T00:00:00.000Z',
    );
    const total = lines.find((line) => line.startsWith('total'));
    // 2 runs, $0.60 of model cost, 1 merged PR, 1 unmerged run that cost $0.20 of models plus its infra.
    expect(total).toMatch(
      /^total\s+2\s+\$0\.6000\s+\$0\.\d{4}\s+\$0\.6\d{3}\s+1\s+\$0\.6\d{3}\s+1 \(\$0\.2\d{3}\)$/,
    );
    expect(lines.some((line) => /^change\s+2\s/.test(line))).toBe(true);
    expect(result.out).toMatch(/acme\/spend\s+\$25\.00\s+\$0\.00\s+\$2\.00\s+\$23\.00/);
  });

  it('prints the API answer with --json, and refuses an unknown grouping as a usage error', async () => {
    const json = await costs('--repo', 'acme/spend', '--from', '2025-01-01', '--to', '2025-01-01', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out).total).toMatchObject({ runs: 2, merged_prs: 1, unmerged_runs: 1 });
    const bad = await costs('--group-by', 'colour');
    expect(bad.code).toBe(3);
    expect(bad.err).toContain('--group-by must be one of repo, model, kind, day');
    const outside = await costs('--repo', 'other/thing');
    expect(outside.code).toBe(3);
    expect(outside.err).toMatch(/^code-factory: 40[34] /);
  });
});
