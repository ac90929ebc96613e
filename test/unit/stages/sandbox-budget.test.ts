import { describe, expect, it } from 'vitest';
import type { SandboxOutcome } from '../../../functions/shared/domain/sandbox-job';
import {
  DEFAULT_SANDBOX_PRICE_PER_SECOND_USD,
  LAMBDA_X86_USD_PER_GB_SECOND,
  SANDBOX_MEMORY_MB,
  sandboxCostUsd,
  sandboxWorstCaseUsd,
} from '../../../functions/shared/domain/sandbox-price';
import { monthlyBudgetAccount } from '../../../functions/shared/store/keys';
import { billedMs, worstCaseSeconds } from '../../../functions/stages/sandbox-budget';
import { setUp } from './agent-harness';

const call = (id: string, name: string, input: unknown) => ({ type: 'tool_use', id, name, input });
const passed = (durationMs: number, extra: Partial<SandboxOutcome> = {}): SandboxOutcome => ({
  exitCode: 0,
  timedOut: false,
  head: 'ok\n',
  tail: '',
  omittedChars: 0,
  durationMs,
  ...extra,
});

describe('the sandbox price', () => {
  it('defaults to 2,048 MB at the Lambda x86 GB-second rate', () => {
    expect(DEFAULT_SANDBOX_PRICE_PER_SECOND_USD).toBeCloseTo(
      (SANDBOX_MEMORY_MB / 1024) * LAMBDA_X86_USD_PER_GB_SECOND,
      12,
    );
  });

  it('reserves rounded up and bills rounded to the micro-dollar', () => {
    expect(sandboxWorstCaseUsd(120, 0.0000333334)).toBe(0.004001);
    expect(sandboxCostUsd(1500, 0.0000333334)).toBe(0.00005);
    expect(sandboxCostUsd(0, 0.0000333334)).toBe(0);
  });
});

describe('billed sandbox time', () => {
  const pending = {
    setupSeconds: 60,
    calls: [
      { index: 0, toolUseId: 'a', kind: 'run' as const, commands: [{ command: 'x', timeoutSeconds: 10 }] },
      {
        index: 1,
        toolUseId: 'b',
        kind: 'checks' as const,
        commands: [
          { command: 'y', timeoutSeconds: 20 },
          { command: 'z', timeoutSeconds: 30 },
        ],
      },
    ],
  };

  it('reserves every command limit plus the setup limits', () => {
    expect(worstCaseSeconds(pending)).toBe(10 + 20 + 30 + 60);
  });

  it('sums the commands, counts setup once, and caps what the untrusted sandbox reports', () => {
    const outcomes = [[passed(4000, { setupMs: 5000 })], [passed(1000, { setupMs: 5000 }), undefined]];
    expect(billedMs(pending, outcomes)).toBe(4000 + 1000 + 5000);
    const forged = [[passed(1e12, { setupMs: 1e12 })], [passed(1e12), passed(1e12)]];
    expect(billedMs(pending, forged)).toBe((10 + 20 + 30 + 60) * 1000);
  });

  it('bills a command refused because setup failed through the setup time only', () => {
    const failed = passed(900, { exitCode: 1, setupFailed: true, unavailable: 'setup failed', setupMs: 900 });
    expect(billedMs(pending, [[failed], [failed, failed]])).toBe(900);
  });
});

describe('sandbox time on the run’s budget and ledger', () => {
  it('reserves the worst case before the job, then settles to the seconds run and writes a sandbox entry', async () => {
    const { store, runId, answer, ran } = await setUp({ pricePerSecondUsd: 0.001 });
    const deferred = await answer(
      [call('r-1', 'run', { command: 'npm test', timeout_seconds: 100 })],
      'tool_use',
    );
    expect(deferred.pointer.outcome).toBe('sandbox');
    expect(await store.getBudget(runId)).toEqual({ limitUsd: 5, reservedUsd: 0.1, spentUsd: 0 });

    const done = await ran([[passed(2500)]]);
    expect(done.pointer.outcome).toBe('continue');
    expect(done.reply[0]).toMatchObject({ tool_use_id: 'r-1', is_error: false });
    expect(await store.getBudget(runId)).toEqual({ limitUsd: 5, reservedUsd: 0, spentUsd: 0.0025 });
    const ledger = await store.listLedger(runId);
    expect(ledger).toEqual([
      expect.objectContaining({ kind: 'sandbox', model: 'sandbox', costUsd: 0.0025, sandboxSeconds: 2.5 }),
    ]);
    const totals = store.runs.get(runId)?.ledger;
    expect(totals?.costUsd).toBe(0.0025);
    expect(totals?.sandboxSeconds).toBe(2.5);
    expect(totals?.llmCalls).toBe(0);

    // The Ran step retried: nothing billed twice.
    await ran([[passed(2500)]]);
    expect((await store.getBudget(runId))?.spentUsd).toBe(0.0025);
    expect(store.runs.get(runId)?.ledger.costUsd).toBe(0.0025);
  });

  it('refuses a job that does not fit: the model is told the cost and what is left, and nothing runs', async () => {
    const { store, runId, answer } = await setUp({ pricePerSecondUsd: 0.001, budgetUsd: 0.05 });
    const { pointer, reply } = await answer(
      [call('r-1', 'run', { command: 'npm test', timeout_seconds: 100 })],
      'tool_use',
    );
    expect(pointer.outcome).toBe('continue');
    expect(pointer.sandbox).toBeUndefined();
    expect(reply[0]).toMatchObject({ tool_use_id: 'r-1', is_error: true });
    expect(String(reply[0]?.content)).toMatch(
      /not run: not enough budget: the sandbox job could cost up to \$0\.1000 \(100 s at \$0\.001 a second\); \$0\.0500 of the run's \$0\.05 budget is left/,
    );
    expect(await store.getBudget(runId)).toEqual({ limitUsd: 0.05, reservedUsd: 0, spentUsd: 0 });
    expect(store.events.get(runId)?.map((e) => e.type)).toContain('sandbox.refused');
  });

  it('reserves on the repository’s month too, and a month that is used up refuses with the run released', async () => {
    const { store, runId, answer, ran } = await setUp({ pricePerSecondUsd: 0.001, monthlyBudgetUsd: 1 });
    const month = monthlyBudgetAccount('acme/widgets', Date.parse('2026-01-01T00:00:00.000Z'));
    await answer([call('r-1', 'run', { command: 'npm test', timeout_seconds: 100 })], 'tool_use');
    expect((await store.getBudget(month))?.reservedUsd).toBe(0.1);
    await ran([[passed(1000)]]);
    expect(await store.getBudget(month)).toEqual({ limitUsd: 1, reservedUsd: 0, spentUsd: 0.001 });

    expect(await store.reserveBudget(month, 'another-run', 0.95, 1)).toBe(true);
    const { reply } = await answer(
      [call('r-2', 'run', { command: 'npm test', timeout_seconds: 100 })],
      'tool_use',
    );
    expect(String(reply[0]?.content)).toMatch(/\$0\.0490 of acme\/widgets's \$1\.00 monthly budget is left/);
    expect(await store.getBudget(runId)).toEqual({ limitUsd: 5, reservedUsd: 0, spentUsd: 0.001 });
  });
});
