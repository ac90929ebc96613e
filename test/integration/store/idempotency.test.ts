import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlreadyExistsError, NotFoundError } from '../../../functions/shared/errors';
import type { ApprovalRecord, ConversationTurn, PendingWait } from '../../../functions/shared/ports';
import { startTestDynamo, type TestDynamo } from '../../support/dynamodb';
import { newRunId } from './fixtures';

let db: TestDynamo;
beforeAll(async () => {
  db = await startTestDynamo();
});
afterAll(async () => {
  await db?.close();
});

const nowSeconds = () => Math.floor(db.clock.now() / 1000);
const firsts = (results: Array<{ first: boolean }>) => results.filter((r) => r.first).length;

describe('webhook deliveries', () => {
  it('records a delivery exactly once under parallel duplicates and returns the first record', async () => {
    const record = (runId: string) => ({
      deliveryId: 'delivery-1',
      event: 'issues',
      state: 'RECORDED' as const,
      runId,
      receivedAt: '2025-01-01T00:00:00.000Z',
    });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => db.store.recordDelivery(record(`run-${i}`), 3600)),
    );
    expect(firsts(results)).toBe(1);
    const winner = results.findIndex((r) => r.first);
    for (const result of results.filter((r) => !r.first)) {
      expect(result.existing).toEqual(record(`run-${winner}`));
    }
  });

  it('updates a delivery and refuses to update an unknown one', async () => {
    await db.store.recordDelivery(
      {
        deliveryId: 'delivery-2',
        event: 'issues',
        state: 'RECORDED',
        receivedAt: '2025-01-01T00:00:00.000Z',
      },
      3600,
    );
    await db.store.updateDelivery('delivery-2', { state: 'STARTED', runId: 'r1' });
    const again = await db.store.recordDelivery(
      { deliveryId: 'delivery-2', event: 'issues', state: 'RECORDED', receivedAt: 'later' },
      3600,
    );
    expect(again).toMatchObject({ first: false, existing: { state: 'STARTED', runId: 'r1' } });
    await expect(db.store.updateDelivery('no-such-delivery', { state: 'IGNORED' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('treats an expired delivery record as absent', async () => {
    const record = { deliveryId: 'delivery-3', event: 'issues', state: 'IGNORED' as const, receivedAt: 'x' };
    expect((await db.store.recordDelivery(record, 60)).first).toBe(true);
    expect((await db.store.recordDelivery(record, 60)).first).toBe(false);
    db.clock.advance(61_000);
    expect((await db.store.recordDelivery(record, 60)).first).toBe(true);
  });
});

describe('Idempotency-Key', () => {
  it('lets exactly one parallel claimer win; the others get its run id', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => db.store.claimIdempotencyKey('api:key1', 'k-1', `run-${i}`, 3600)),
    );
    expect(firsts(results)).toBe(1);
    const winner = results.find((r) => r.first)?.runId;
    expect(results.every((r) => r.runId === winner)).toBe(true);
    expect(await db.store.claimIdempotencyKey('api:key1', 'k-1', 'late', 3600)).toEqual({
      first: false,
      runId: winner,
    });
    // Another scope is another key.
    expect((await db.store.claimIdempotencyKey('api:key2', 'k-1', 'other', 3600)).first).toBe(true);
  });

  it('frees an expired key', async () => {
    expect((await db.store.claimIdempotencyKey('s', 'k-exp', 'r1', 10)).first).toBe(true);
    db.clock.advance(11_000);
    expect(await db.store.claimIdempotencyKey('s', 'k-exp', 'r2', 10)).toEqual({ first: true, runId: 'r2' });
  });
});

describe('leases', () => {
  it('one owner at a time: refused to others, re-entered by the owner, released only by it, taken over once expired', async () => {
    const key = `lease-${Date.now()}`;
    const claims = await Promise.all(['a', 'b', 'c'].map((owner) => db.store.claimLease(key, owner, 30)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    const owner = ['a', 'b', 'c'][claims.indexOf(true)] as string;
    const other = owner === 'a' ? 'b' : 'a';
    expect(await db.store.claimLease(key, owner, 30)).toBe(true);
    await db.store.releaseLease(key, other); // not its lease: no effect
    expect(await db.store.claimLease(key, other, 30)).toBe(false);
    await db.store.releaseLease(key, owner);
    expect(await db.store.claimLease(key, other, 30)).toBe(true);
    db.clock.advance(31_000); // the holder died: its lease expires
    expect(await db.store.claimLease(key, owner, 30)).toBe(true);
  });
});

describe('conversations', () => {
  const turn = (conversationId: string, n: number, text: string): ConversationTurn => ({
    conversationId,
    turn: n,
    runId: 'run',
    stage: 'plan',
    role: n % 2 === 0 ? 'user' : 'assistant',
    content: [{ type: 'text', text }],
    createdAt: '2025-01-01T00:00:00.000Z',
  });

  it('stores a turn once under parallel writers; the others get the stored turn', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => db.store.putTurn(turn('conv-race', 1, `answer ${i}`))),
    );
    expect(firsts(results)).toBe(1);
    const stored = await db.store.getTurn('conv-race', 1);
    for (const result of results.filter((r) => !r.first)) expect(result.existing).toEqual(stored);
  });

  it('keeps the first conversation meta and lists turns in order', async () => {
    const meta = {
      conversationId: 'conv-list',
      runId: 'run',
      stage: 'plan',
      modelAlias: 'planner' as const,
      system: 'first system',
      tools: [{ name: 'read_file', description: 'reads', input_schema: { type: 'object' } }],
      maxTokens: 1000,
      models: ['model-a', 'model-b'],
      budgetUsd: 5,
      createdAt: '2025-01-01T00:00:00.000Z',
    };
    expect((await db.store.getConversationWithTurns('conv-list')).meta).toBeUndefined();
    await db.store.putConversation(meta);
    await db.store.putConversation({ ...meta, system: 'second system' });
    expect((await db.store.getConversationWithTurns('conv-list')).meta).toEqual(meta);
    for (const n of [2, 0, 11, 1]) await db.store.putTurn(turn('conv-list', n, `t${n}`));
    expect(await db.store.getTurn('conv-list', 5)).toBeUndefined();
    const whole = await db.store.getConversationWithTurns('conv-list');
    expect(whole.meta).toEqual(meta);
    expect(whole.turns.map((t) => t.turn)).toEqual([0, 1, 2, 11]);
    expect(await db.store.getConversationWithTurns('conv-none')).toEqual({ turns: [] });
  });
});

describe('waits', () => {
  const wait = (key: string, ttlSeconds = 3600): PendingWait => ({
    kind: 'checks',
    key,
    runId: 'run-w',
    taskToken: `token-${key}`,
    createdAt: '2025-01-01T00:00:00.000Z',
    expiresAt: nowSeconds() + ttlSeconds,
  });

  it('gives a wait to exactly one of 20 concurrent takers', async () => {
    await db.store.putWait(wait('acme/w@sha1'));
    expect(await db.store.getWait('checks', 'acme/w@sha1')).toEqual(wait('acme/w@sha1'));
    const taken = await Promise.all(
      Array.from({ length: 20 }, () => db.store.takeWait('checks', 'acme/w@sha1')),
    );
    const winners = taken.filter((t) => t !== undefined);
    expect(winners).toHaveLength(1);
    expect(winners[0]?.taskToken).toBe('token-acme/w@sha1');
    expect(await db.store.getWait('checks', 'acme/w@sha1')).toBeUndefined();
  });

  it('treats an expired wait as absent for get and take', async () => {
    await db.store.putWait(wait('acme/w@old', 30));
    expect(await db.store.getWait('checks', 'acme/w@old')).toBeDefined();
    db.clock.advance(31_000);
    expect(await db.store.getWait('checks', 'acme/w@old')).toBeUndefined();
    expect(await db.store.takeWait('checks', 'acme/w@old')).toBeUndefined();
  });

  it('keys waits by kind', async () => {
    await db.store.putWait({ ...wait('acme/w#3'), kind: 'clarify' });
    expect(await db.store.getWait('checks', 'acme/w#3')).toBeUndefined();
    expect(await db.store.takeWait('clarify', 'acme/w#3')).toMatchObject({
      kind: 'clarify',
      key: 'acme/w#3',
    });
  });
});

describe('approvals', () => {
  const approval = (approvalId: string, runId: string, ttlSeconds = 3600): ApprovalRecord => ({
    approvalId,
    runId,
    approver: 'octocat',
    email: 'octo@example.com',
    headSha: 'abc123',
    expiresAt: nowSeconds() + ttlSeconds,
    state: 'PENDING',
    csrfHash: 'csrf-hash',
  });

  it('decides an approval exactly once under parallel decisions', async () => {
    const runId = newRunId();
    await db.store.putApproval(approval('appr-race', runId));
    const decisions = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        db.store.decideApproval('appr-race', {
          state: i % 2 === 0 ? 'APPROVED' : 'REJECTED',
          decidedAt: `2025-01-01T00:00:0${i}.000Z`,
          comment: `decision ${i}`,
        }),
      ),
    );
    expect(decisions.filter(Boolean)).toHaveLength(1);
    const winner = decisions.indexOf(true);
    const stored = await db.store.getApproval('appr-race');
    expect(stored).toMatchObject({
      state: winner % 2 === 0 ? 'APPROVED' : 'REJECTED',
      comment: `decision ${winner}`,
    });
    // The per-run listing carries the decided copy.
    expect(await db.store.listApprovalsForRun(runId)).toEqual([stored]);
  });

  it('refuses to decide an expired approval and a duplicate id; lists approvals of a run', async () => {
    const runId = newRunId();
    await db.store.putApproval(approval('appr-a', runId, 30));
    await db.store.putApproval(approval('appr-b', runId, 3600));
    await expect(db.store.putApproval(approval('appr-a', runId))).rejects.toBeInstanceOf(AlreadyExistsError);
    expect((await db.store.listApprovalsForRun(runId)).map((a) => a.approvalId)).toEqual([
      'appr-a',
      'appr-b',
    ]);
    db.clock.advance(31_000);
    expect(await db.store.decideApproval('appr-a', { state: 'APPROVED', decidedAt: 'now' })).toBe(false);
    expect(await db.store.getApproval('appr-a')).toMatchObject({ state: 'PENDING' });
    expect(await db.store.decideApproval('appr-b', { state: 'SUPERSEDED', decidedAt: 'now' })).toBe(true);
    expect(await db.store.decideApproval('appr-b', { state: 'APPROVED', decidedAt: 'now' })).toBe(false);
    expect(await db.store.decideApproval('no-such', { state: 'APPROVED', decidedAt: 'now' })).toBe(false);
    expect(await db.store.getApproval('no-such')).toBeUndefined();
  });
});

describe('API keys and cache', () => {
  it('stores API keys by hash', async () => {
    const record = {
      keyHash: 'a'.repeat(64),
      name: 'ci',
      scopes: ['runs:read' as const],
      repoPatterns: ['acme/*'],
      createdAt: '2025-01-01T00:00:00.000Z',
    };
    await db.store.putApiKey(record);
    expect(await db.store.getApiKey(record.keyHash)).toEqual(record);
    expect(await db.store.getApiKey('b'.repeat(64))).toBeUndefined();
  });

  it('filters expired cache entries on read', async () => {
    await db.store.cachePut('perm:acme/w:octocat', 'write', 60);
    expect(await db.store.cacheGet('perm:acme/w:octocat')).toBe('write');
    db.clock.advance(59_000);
    expect(await db.store.cacheGet('perm:acme/w:octocat')).toBe('write');
    db.clock.advance(2_000);
    expect(await db.store.cacheGet('perm:acme/w:octocat')).toBeUndefined();
    await db.store.cachePut('perm:acme/w:octocat', 'admin', 60);
    expect(await db.store.cacheGet('perm:acme/w:octocat')).toBe('admin');
    expect(await db.store.cacheGet('missing')).toBeUndefined();
  });
});
