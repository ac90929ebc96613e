import { describe, expect, it } from 'vitest';
import { askView } from '../../../functions/api/routes/asks';
import { emptyLedger } from '../../../functions/shared/domain/run';
import { ASK_TIMEOUT_SECONDS } from '../../../functions/shared/domain/turns';
import type { Ask } from '../../../functions/shared/ports';

const ask: Ask = {
  askId: '01M8TVEEFFHSZGW2Y828JZTE54',
  question: 'which runs failed today and why',
  status: 'PENDING',
  keyHash: 'k',
  repoPatterns: ['acme/*'],
  proposals: [],
  ledger: emptyLedger(),
  createdAt: '2026-12-02T08:00:00.000Z',
  updatedAt: '2026-12-02T08:00:00.000Z',
};
const created = Date.parse(ask.createdAt);

describe('an ask as the API shows it', () => {
  it('is PENDING while its execution may still answer, FAILED AskTimedOut once that time is past', () => {
    expect(askView(ask, created + ASK_TIMEOUT_SECONDS * 1000).status).toBe('PENDING');
    const dead = askView(ask, created + (ASK_TIMEOUT_SECONDS + 61) * 1000);
    expect(dead.status).toBe('FAILED');
    expect(dead.error?.code).toBe('AskTimedOut');
    // An answered ask stays answered, however old.
    const answered = { ...ask, status: 'ANSWERED' as const, answer: 'none failed' };
    expect(askView(answered, created + 86_400_000).status).toBe('ANSWERED');
  });
});
