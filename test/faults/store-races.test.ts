import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VersionConflictError } from '../../functions/shared/errors';
import type { LedgerEntry } from '../../functions/shared/ports';
import { mutateRun } from '../../functions/shared/run-state';
import { startTestDynamo, type TestDynamo } from '../support/dynamodb';
import { makeRun } from '../integration/store/fixtures';

/**
 * Fault suite: DynamoDB conditional-check races on one run (dynalite, the real SDK). Concurrent
 * writers must never lose an update: every write lands exactly once and `version` counts them.
 */

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo?.close();
});

const ledgerEntry = (runId: string, turn: number): LedgerEntry => ({
  runId,
  stage: 'plan',
  conversationId: `conv-${runId}`,
  turn,
  model: 'claude-sonnet-4-5',
  inputTokens: 100,
  outputTokens: 10,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  costUsd: 0.01,
  latencyMs: 5,
  at: '2025-01-01T00:00:00.000Z',
});

describe('conditional-check races on one run', () => {
  it('concurrent updateRun with the same expected version: exactly one wins, the rest conflict', async () => {
    const run = makeRun();
    await dynamo.store.createRun(run);
    const writers = 20;
    const results = await Promise.allSettled(
      Array.from({ length: writers }, (_, i) =>
        dynamo.store.updateRun(run.runId, 0, { warnings: [`w${i}`] }),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(writers - 1);
    for (const r of lost) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(VersionConflictError);
    const stored = await dynamo.store.getRun(run.runId);
    expect(stored?.version).toBe(1);
    expect(stored?.warnings).toEqual(
      (won[0] as PromiseFulfilledResult<{ warnings: string[] }>).value.warnings,
    );
  });

  it('concurrent mutateRun writers (within its retry bound) each land exactly once', async () => {
    const run = makeRun();
    await dynamo.store.createRun(run);
    // mutateRun retries a lost race 8 times; each loss means another writer won, so 9 writers
    // always finish. More writers than that may exhaust the bound (a loud error, never a lost write).
    const writers = 9;
    await Promise.all(
      Array.from({ length: writers }, (_, i) =>
        mutateRun({ store: dynamo.store }, run.runId, (current) => ({
          warnings: [...current.warnings, `writer-${i}`],
          transitions: current.transitions + 1,
        })),
      ),
    );
    const stored = await dynamo.store.getRun(run.runId);
    expect(stored?.version).toBe(writers);
    expect(stored?.transitions).toBe(writers);
    expect([...(stored?.warnings ?? [])].sort()).toEqual(
      Array.from({ length: writers }, (_, i) => `writer-${i}`).sort(),
    );
  });

  it('ledger ADDs racing versioned run updates: neither clobbers the other', async () => {
    const run = makeRun();
    await dynamo.store.createRun(run);
    const writers = 8;
    const calls = 8;
    await Promise.all([
      ...Array.from({ length: writers }, (_, i) =>
        mutateRun({ store: dynamo.store }, run.runId, (current) => ({
          warnings: [...current.warnings, `writer-${i}`],
        })),
      ),
      // Each call twice (a redelivered worker), concurrently: still charged once.
      ...Array.from({ length: calls }, (_, turn) =>
        dynamo.store.recordLlmCall(ledgerEntry(run.runId, turn + 1)),
      ),
      ...Array.from({ length: calls }, (_, turn) =>
        dynamo.store.recordLlmCall(ledgerEntry(run.runId, turn + 1)),
      ),
    ]);
    const stored = await dynamo.store.getRun(run.runId);
    expect(stored?.version).toBe(writers);
    expect(stored?.warnings).toHaveLength(writers);
    expect(stored?.ledger.llmCalls).toBe(calls);
    expect(stored?.ledger.inputTokens).toBe(calls * 100);
    expect(stored?.ledger.costUsd).toBeCloseTo(calls * 0.01, 6);
    expect(await dynamo.store.listLedger(run.runId)).toHaveLength(calls);
  });
});
