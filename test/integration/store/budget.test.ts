import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../../functions/shared/errors';
import type { LedgerEntry } from '../../../functions/shared/ports';
import { MAX_WORKSPACE_FILE_BYTES } from '../../../functions/shared/store/workspace';
import { keys } from '../../../functions/shared/store/keys';
import { startTestDynamo, type TestDynamo } from '../../support/dynamodb';
import { makeRun, newRunId } from './fixtures';

let db: TestDynamo;
beforeAll(async () => {
  db = await startTestDynamo();
});
afterAll(async () => {
  await db?.close();
});

describe('budget', () => {
  it('creates the budget on first use and refuses reservations over the limit', async () => {
    const runId = newRunId();
    expect(await db.store.getBudget(runId)).toBeUndefined();
    expect(await db.store.reserveBudget(runId, 'r1', 0.6, 1)).toBe(true);
    expect(await db.store.getBudget(runId)).toEqual({ limitUsd: 1, reservedUsd: 0.6, spentUsd: 0 });
    expect(await db.store.reserveBudget(runId, 'r2', 0.5, 1)).toBe(false);
    expect(await db.store.reserveBudget(runId, 'r3', 0.4, 1)).toBe(true);
    expect(await db.store.reserveBudget(runId, 'r4', 0.000001, 1)).toBe(false);
    // The caller's limit applies: a cap raised (or lowered) since the account was opened.
    expect(await db.store.reserveBudget(runId, 'r5', 0.1, 100)).toBe(true);
    expect(await db.store.getBudget(runId)).toEqual({ limitUsd: 100, reservedUsd: 1.1, spentUsd: 0 });
    expect(await db.store.reserveBudget(runId, 'r6', 0.1, 1)).toBe(false);
    expect(await db.store.getBudget(runId)).toEqual({ limitUsd: 1, reservedUsd: 1.1, spentUsd: 0 });
    // A single call bigger than the whole budget never fits.
    expect(await db.store.reserveBudget(newRunId(), 'big', 2, 1)).toBe(false);
  });

  it('is idempotent per reservation id for reserve and settle, and settles to the actual cost', async () => {
    const runId = newRunId();
    const reserves = await Promise.all(
      Array.from({ length: 5 }, () => db.store.reserveBudget(runId, 'c1#1', 0.3, 1)),
    );
    expect(reserves.every(Boolean)).toBe(true);
    expect(await db.store.getBudget(runId)).toEqual({ limitUsd: 1, reservedUsd: 0.3, spentUsd: 0 });

    await Promise.all(Array.from({ length: 5 }, () => db.store.settleBudget(runId, 'c1#1', 0.1)));
    expect(await db.store.getBudget(runId)).toEqual({ limitUsd: 1, reservedUsd: 0, spentUsd: 0.1 });
    // Re-reserving a settled id does not reserve again.
    expect(await db.store.reserveBudget(runId, 'c1#1', 0.3, 1)).toBe(true);
    expect(await db.store.getBudget(runId)).toEqual({ limitUsd: 1, reservedUsd: 0, spentUsd: 0.1 });

    // What was freed by settling below the reservation can be reserved again.
    expect(await db.store.reserveBudget(runId, 'c1#2', 0.9, 1)).toBe(true);
    expect(await db.store.reserveBudget(runId, 'c1#3', 0.000001, 1)).toBe(false);
    // Settling above the reservation (the model used more than its worst case) counts the actual.
    await db.store.settleBudget(runId, 'c1#2', 0.95);
    expect(await db.store.getBudget(runId)).toEqual({ limitUsd: 1, reservedUsd: 0, spentUsd: 1.05 });
    expect(await db.store.reserveBudget(runId, 'c1#4', 0, 1)).toBe(false);
  });

  it('keeps integer micro-dollars: many small amounts add up exactly', async () => {
    const runId = newRunId();
    for (let i = 0; i < 10; i++) {
      expect(await db.store.reserveBudget(runId, `r${i}`, 0.1, 1)).toBe(true);
      await db.store.settleBudget(runId, `r${i}`, 0.1);
    }
    expect(await db.store.getBudget(runId)).toEqual({ limitUsd: 1, reservedUsd: 0, spentUsd: 1 });
    expect(await db.store.reserveBudget(runId, 'r-over', 0.000001, 1)).toBe(false);
    const raw = (await db.doc.send(new GetCommand({ TableName: db.tableName, Key: keys.runBudget(runId) })))
      .Item;
    expect(raw).toMatchObject({ limitMicros: 1_000_000, spentMicros: 1_000_000, availableMicros: 0 });
  });

  it('lets only what fits through when reservations race', async () => {
    const runId = newRunId();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => db.store.reserveBudget(runId, `p${i}`, 0.25, 1)),
    );
    expect(results.filter(Boolean)).toHaveLength(4);
    expect(await db.store.getBudget(runId)).toEqual({ limitUsd: 1, reservedUsd: 1, spentUsd: 0 });
  });

  it('records an unreserved settlement, ignores a zero settlement without a budget, rejects bad amounts', async () => {
    const runId = newRunId();
    await db.store.settleBudget(runId, 'never', 0);
    expect(await db.store.getBudget(runId)).toBeUndefined();
    await expect(db.store.settleBudget(runId, 'never', 0.5)).rejects.toBeInstanceOf(NotFoundError);
    await db.store.reserveBudget(runId, 'a', 0.1, 1);
    await db.store.settleBudget(runId, 'unreserved', 0.2);
    await db.store.settleBudget(runId, 'unreserved', 0.2);
    expect(await db.store.getBudget(runId)).toEqual({ limitUsd: 1, reservedUsd: 0.1, spentUsd: 0.2 });
    await expect(db.store.reserveBudget(runId, 'neg', -1, 1)).rejects.toBeInstanceOf(ValidationError);
    await expect(db.store.reserveBudget(runId, 'nan', Number.NaN, 1)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('ledger', () => {
  const entry = (runId: string, turn: number, costUsd: number): LedgerEntry => ({
    runId,
    stage: 'implement',
    conversationId: 'conv-l',
    turn,
    model: 'model-a',
    inputTokens: 100,
    outputTokens: 20,
    cacheReadTokens: 50,
    cacheWriteTokens: 10,
    costUsd,
    latencyMs: 900,
    at: '2025-01-01T00:00:00.000Z',
  });

  it('records each call exactly once, adds to the run totals without bumping the version', async () => {
    const run = makeRun();
    await db.store.createRun(run);
    await Promise.all([
      db.store.recordLlmCall(entry(run.runId, 1, 0.25)),
      db.store.recordLlmCall(entry(run.runId, 1, 0.25)),
      db.store.recordLlmCall(entry(run.runId, 3, 0.5)),
    ]);
    await db.store.recordLlmCall(entry(run.runId, 3, 0.5));
    const stored = await db.store.getRun(run.runId);
    expect(stored?.version).toBe(0);
    expect(stored?.ledger).toEqual({
      llmCalls: 2,
      inputTokens: 200,
      outputTokens: 40,
      cacheReadTokens: 100,
      cacheWriteTokens: 20,
      costUsd: 0.75,
    });
    expect((await db.store.listLedger(run.runId)).map((e) => e.turn)).toEqual([1, 3]);
    // updateRun keeps the totals it did not write.
    const updated = await db.store.updateRun(run.runId, 0, { stage: 'review' });
    expect(updated.ledger.llmCalls).toBe(2);
  });

  it('records a turn’s sandbox time once: in the cost and sandbox seconds, not in the model calls', async () => {
    const run = makeRun();
    await db.store.createRun(run);
    await db.store.recordLlmCall(entry(run.runId, 1, 0.25));
    const sandbox = {
      runId: run.runId,
      stage: 'implement',
      conversationId: 'conv-l',
      turn: 1,
      sandboxSeconds: 2.5,
      costUsd: 0.000083,
      latencyMs: 2500,
      at: '2025-01-01T00:00:00.000Z',
    };
    await Promise.all([db.store.recordSandboxRun(sandbox), db.store.recordSandboxRun(sandbox)]);
    await db.store.recordSandboxRun(sandbox);
    const stored = await db.store.getRun(run.runId);
    expect(stored?.ledger.llmCalls).toBe(1);
    expect(stored?.ledger.costUsd).toBe(0.250083);
    expect(stored?.ledger.sandboxSeconds).toBe(2.5);
    const ledger = await db.store.listLedger(run.runId);
    expect(ledger.map((e) => [e.turn, e.kind ?? 'model', e.model])).toEqual([
      [1, 'model', expect.any(String)],
      [1, 'sandbox', 'sandbox'],
    ]);
    await expect(db.store.recordSandboxRun({ ...sandbox, runId: newRunId() })).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('refuses to record a call for an unknown run', async () => {
    await expect(db.store.recordLlmCall(entry(newRunId(), 1, 0.1))).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('workspace files', () => {
  it('stores, overwrites, deletes and lists files of a run in path order', async () => {
    const runId = newRunId();
    const at = '2025-01-01T00:00:00.000Z';
    await db.store.putWorkspaceFile(runId, {
      path: 'src/b.ts',
      content: 'b1',
      deleted: false,
      updatedAt: at,
    });
    await db.store.putWorkspaceFile(runId, { path: 'src/a.ts', content: 'a', deleted: false, updatedAt: at });
    await db.store.putWorkspaceFile(runId, {
      path: 'src/b.ts',
      content: 'b2',
      deleted: false,
      updatedAt: at,
    });
    await db.store.putWorkspaceFile(runId, { path: 'old.txt', deleted: true, updatedAt: at });
    await db.store.putWorkspaceFile(newRunId(), {
      path: 'other.ts',
      content: 'x',
      deleted: false,
      updatedAt: at,
    });

    expect(await db.store.getWorkspaceFile(runId, 'src/b.ts')).toMatchObject({ content: 'b2' });
    expect(await db.store.getWorkspaceFile(runId, 'nope.ts')).toBeUndefined();
    const files = await db.store.listWorkspaceFiles(runId);
    expect(files.map((f) => [f.path, f.deleted, f.content])).toEqual([
      ['old.txt', true, undefined],
      ['src/a.ts', false, 'a'],
      ['src/b.ts', false, 'b2'],
    ]);
  });

  it('accepts a file at the size limit and rejects one byte more', async () => {
    const runId = newRunId();
    const at = '2025-01-01T00:00:00.000Z';
    const atLimit = 'x'.repeat(MAX_WORKSPACE_FILE_BYTES);
    await db.store.putWorkspaceFile(runId, {
      path: 'big.txt',
      content: atLimit,
      deleted: false,
      updatedAt: at,
    });
    expect((await db.store.getWorkspaceFile(runId, 'big.txt'))?.content).toHaveLength(
      MAX_WORKSPACE_FILE_BYTES,
    );
    // Multi-byte characters count as bytes, not as characters.
    const overByBytes = 'é'.repeat(MAX_WORKSPACE_FILE_BYTES / 2 + 1);
    await expect(
      db.store.putWorkspaceFile(runId, {
        path: 'big2.txt',
        content: overByBytes,
        deleted: false,
        updatedAt: at,
      }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      db.store.putWorkspaceFile(runId, {
        path: 'big3.txt',
        content: `${atLimit}x`,
        deleted: false,
        updatedAt: at,
      }),
    ).rejects.toBeInstanceOf(ValidationError);
  });
});
