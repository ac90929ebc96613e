import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ask } from '../../../functions/shared/ports';
import { ASK_TTL_SECONDS } from '../../../functions/shared/store/asks';
import { startTestDynamo, type TestDynamo } from '../../support/dynamodb';
import { newRunId } from './fixtures';

let db: TestDynamo;
beforeAll(async () => {
  db = await startTestDynamo();
});
afterAll(async () => {
  await db?.close();
});

const newAsk = (): Ask => {
  const now = new Date(db.clock.now()).toISOString();
  return {
    askId: newRunId(),
    question: 'which runs failed today and why',
    status: 'PENDING',
    keyHash: 'f'.repeat(64),
    repoPatterns: ['acme/*'],
    proposals: [],
    ledger: {
      llmCalls: 0,
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      costUsd: 0,
    },
    createdAt: now,
    updatedAt: now,
  };
};

describe('asks (functions/shared/store/asks.ts)', () => {
  it('stores an ask once and ends it once, with its answer and proposals', async () => {
    const ask = newAsk();
    await db.store.putAsk(ask);
    await expect(db.store.putAsk(ask)).rejects.toThrow();
    expect(await db.store.getAsk(ask.askId)).toEqual(ask);
    const proposal = {
      action: 'retry' as const,
      target: newRunId(),
      payload: { method: 'POST' as const, path: '/v1/runs/x/retry', body: {} },
      reason: 'it failed',
    };
    expect(
      await db.store.finishAsk(ask.askId, {
        status: 'ANSWERED',
        answer: 'one failed',
        proposals: [proposal],
      }),
    ).toBe(true);
    // A retried step cannot overwrite the answer, nor fail an answered ask.
    expect(await db.store.finishAsk(ask.askId, { status: 'FAILED', error: { class: 'X', cause: 'y' } })).toBe(
      false,
    );
    const answered = await db.store.getAsk(ask.askId);
    expect(answered).toMatchObject({ status: 'ANSWERED', answer: 'one failed', proposals: [proposal] });
    expect(answered?.error).toBeUndefined();
  });

  it('fails a pending ask with its error, and reads an expired ask as absent', async () => {
    const ask = newAsk();
    await db.store.putAsk(ask);
    expect(
      await db.store.finishAsk(ask.askId, {
        status: 'FAILED',
        error: { class: 'BudgetExceeded', cause: 'spent' },
      }),
    ).toBe(true);
    expect((await db.store.getAsk(ask.askId))?.error).toEqual({ class: 'BudgetExceeded', cause: 'spent' });
    expect(
      await db.store.finishAsk(newRunId(), { status: 'FAILED', error: { class: 'X', cause: 'y' } }),
    ).toBe(false);
    db.clock.advance((ASK_TTL_SECONDS + 1) * 1000);
    expect(await db.store.getAsk(ask.askId)).toBeUndefined();
  });
});
