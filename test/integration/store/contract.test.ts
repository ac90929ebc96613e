import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashEvent, verifyChain } from '../../../functions/shared/domain/audit';
import {
  AlreadyExistsError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../../../functions/shared/errors';
import type {
  ApprovalRecord,
  ConversationMeta,
  ConversationTurn,
  LedgerEntry,
  PendingWait,
  Store,
  StoredAuditEvent,
} from '../../../functions/shared/ports';
import { startTestDynamo, TestClock } from '../../support/dynamodb';
import { FakeStore } from '../../support/fake-store';
import { makeRun, newRunId, readAllPages } from './fixtures';

/**
 * The store's contract: the same cases against the DynamoDB slices (on dynalite) and against the
 * in-memory FakeStore the unit tests use, so a unit test's fake behaves as production does.
 */
interface Subject {
  store: Store;
  clock: TestClock;
  close(): Promise<void>;
}

const subjects: Array<[string, () => Promise<Subject>]> = [
  ['DynamoDB slices', () => startTestDynamo()],
  [
    'FakeStore',
    async () => {
      const clock = new TestClock();
      return { store: new FakeStore(clock), clock, close: async () => {} };
    },
  ],
];

describe.each(subjects)('store contract: %s', (_name, start) => {
  let s: Subject;
  beforeAll(async () => {
    s = await start();
  });
  afterAll(async () => {
    await s?.close();
  });
  const nowSeconds = () => Math.floor(s.clock.now() / 1000);
  const firsts = (results: Array<{ first: boolean }>) => results.filter((r) => r.first).length;

  describe('runs', () => {
    it('lists recent runs of every repository, newest first, over month boundaries, bounded in time', async () => {
      // The clock stands at 2025-01-01: recent = January, December and November.
      const made = (iso: string) =>
        makeRun({ runId: ulid(Date.parse(iso)), repo: 'acme/recent', createdAt: iso, updatedAt: iso });
      const runs = [
        made('2024-09-20T00:00:00.000Z'),
        made('2024-11-03T00:00:00.000Z'),
        made('2024-12-30T00:00:00.000Z'),
        made('2025-01-01T00:00:00.000Z'),
        made('2025-01-01T00:00:00.001Z'),
      ];
      for (const run of runs) await s.store.createRun(run);
      const { items } = await readAllPages((cursor) =>
        s.store.listRecentRuns({ limit: 2, ...(cursor ? { cursor } : {}) }),
      );
      const mine = items.filter((run) => run.repo === 'acme/recent').map((run) => run.runId);
      expect(mine).toEqual([runs[4], runs[3], runs[2], runs[1]].map((run) => run?.runId));
      expect(new Set(items.map((run) => run.runId)).size).toBe(items.length);
      await expect(s.store.listRecentRuns({ limit: 2, cursor: '1999-01.' })).rejects.toBeInstanceOf(
        ValidationError,
      );
      await expect(s.store.listRecentRuns({ limit: 0 })).rejects.toBeInstanceOf(ValidationError);
    });

    it('creates once, reads back, updates under the optimistic lock', async () => {
      const run = makeRun({ repo: 'acme/contract', workItemKey: 'acme/contract#1' });
      await s.store.createRun(run);
      await expect(s.store.createRun(run)).rejects.toBeInstanceOf(AlreadyExistsError);
      expect(await s.store.getRun(run.runId)).toEqual(run);
      expect(await s.store.getRun(newRunId())).toBeUndefined();

      s.clock.advance(1000);
      const updated = await s.store.updateRun(run.runId, 0, { status: 'PLANNING', prNumber: 4 });
      expect(updated).toMatchObject({ status: 'PLANNING', prNumber: 4, version: 1 });
      expect(updated.updatedAt).toBe(new Date(s.clock.now()).toISOString());
      // An undefined value removes an optional field.
      const removed = await s.store.updateRun(run.runId, 1, { prNumber: undefined });
      expect(removed).not.toHaveProperty('prNumber');
      expect(await s.store.getRun(run.runId)).toEqual(removed);

      await expect(s.store.updateRun(run.runId, 0, { stage: 'plan' })).rejects.toBeInstanceOf(
        VersionConflictError,
      );
      await expect(s.store.updateRun(newRunId(), 0, { stage: 'plan' })).rejects.toBeInstanceOf(NotFoundError);
      for (const patch of [{ repo: 'acme/other' }, { ledger: removed.ledger }, { status: 'NOPE' }]) {
        await expect(s.store.updateRun(run.runId, 2, patch as never)).rejects.toBeInstanceOf(ValidationError);
      }
    });

    it('lets one of two updaters on the same version win', async () => {
      const run = makeRun();
      await s.store.createRun(run);
      const results = await Promise.allSettled([
        s.store.updateRun(run.runId, 0, { stage: 'plan' }),
        s.store.updateRun(run.runId, 0, { stage: 'implement' }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected');
      expect(lost?.reason).toBeInstanceOf(VersionConflictError);
    });

    it('lists runs by repo (any case) and by status, newest first, page by page', async () => {
      const repo = `acme/list-${newRunId().toLowerCase()}`;
      const runs = [makeRun({ repo }), makeRun({ repo }), makeRun({ repo })];
      for (const run of runs) await s.store.createRun(run);
      const byRepo = await readAllPages((cursor) =>
        s.store.listRunsByRepo(repo.toUpperCase(), { limit: 2, ...(cursor ? { cursor } : {}) }),
      );
      expect(byRepo.items.map((r) => r.runId)).toEqual(runs.map((r) => r.runId).reverse());

      const [first] = runs;
      await s.store.updateRun(first!.runId, 0, { status: 'CANCELLED' });
      const cancelled = await s.store.listRunsByStatus('CANCELLED', { limit: 1000 });
      expect(cancelled.items.map((r) => r.runId)).toContain(first!.runId);
    });

    it('returns a WorkItem with its runs, newest first, the WorkItem on the first page', async () => {
      const key = `acme/wi#${newRunId()}`;
      const runs = [
        makeRun({ workItemKey: key }),
        makeRun({ workItemKey: key }),
        makeRun({ workItemKey: key }),
      ];
      for (const run of runs) await s.store.createRun(run);
      const pages: Array<{ hasWorkItem: boolean; runIds: string[] }> = [];
      const all = await readAllPages(async (cursor) => {
        const page = await s.store.getWorkItemWithRuns(key, { limit: 2, ...(cursor ? { cursor } : {}) });
        pages.push({ hasWorkItem: page.workItem !== undefined, runIds: page.runs.items.map((r) => r.runId) });
        return page.runs;
      });
      expect(all.items.map((r) => r.runId)).toEqual(runs.map((r) => r.runId).reverse());
      expect(pages.every((p) => !p.hasWorkItem)).toBe(true);

      const workItem = {
        key,
        repo: 'acme/widgets',
        latestRunId: runs[2]!.runId,
        createdAt: 'c',
        updatedAt: 'u',
      };
      await s.store.putWorkItem(workItem);
      expect(await s.store.getWorkItem(key)).toMatchObject(workItem);
      const first = await s.store.getWorkItemWithRuns(key, { limit: 1 });
      expect(first.workItem).toMatchObject(workItem);
      expect(first.runs.items.map((r) => r.runId)).toEqual([runs[2]!.runId]);
      const next = await s.store.getWorkItemWithRuns(key, { limit: 1, cursor: first.runs.cursor });
      expect(next.workItem).toBeUndefined();
      expect(next.runs.items.map((r) => r.runId)).toEqual([runs[1]!.runId]);
    });

    it('refuses bad limits, malformed cursors and cursors of another listing', async () => {
      await expect(s.store.listRunsByRepo('acme/x', { limit: 0 })).rejects.toBeInstanceOf(ValidationError);
      await expect(s.store.listRunsByRepo('acme/x', { limit: 1001 })).rejects.toBeInstanceOf(ValidationError);
      await expect(s.store.listEvents('r', { limit: 1, cursor: '%%%' })).rejects.toBeInstanceOf(
        ValidationError,
      );
      const runId = newRunId();
      await s.store.appendEvent(runId, { type: 'a', actor: 'x' });
      await s.store.appendEvent(runId, { type: 'b', actor: 'x' });
      const { cursor } = await s.store.listEvents(runId, { limit: 1 });
      expect(cursor).toBeDefined();
      await expect(s.store.listEvents(newRunId(), { limit: 1, cursor })).rejects.toBeInstanceOf(
        ValidationError,
      );
    });
  });

  describe('events', () => {
    it('chains appends from the genesis hash and lists them in order, page by page', async () => {
      const runId = newRunId();
      const appended: StoredAuditEvent[] = [];
      for (let i = 0; i < 3; i++)
        appended.push(await s.store.appendEvent(runId, { type: 't', actor: 'a', data: { i } }));
      expect(appended.map((e) => e.seq)).toEqual([0, 1, 2]);
      const { hash, ...body } = appended[1]!;
      expect(hash).toBe(hashEvent(body.prevHash, body));
      const listed = await readAllPages((cursor) =>
        s.store.listEvents(runId, { limit: 2, ...(cursor ? { cursor } : {}) }),
      );
      expect(listed.items).toEqual(appended);
      expect(verifyChain(listed.items, { runId })).toEqual({ ok: true });
    });

    it('keeps a contiguous, valid chain under concurrent appenders', async () => {
      const runId = newRunId();
      await Promise.all(
        Array.from({ length: 6 }, (_, i) => s.store.appendEvent(runId, { type: 't', actor: `a${i}` })),
      );
      const { items } = await s.store.listEvents(runId, { limit: 100 });
      expect(items.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(verifyChain(items, { runId })).toEqual({ ok: true });
    });

    it('refuses event data over 16 KB', async () => {
      const data = { blob: 'x'.repeat(17 * 1024) };
      await expect(s.store.appendEvent(newRunId(), { type: 't', actor: 'a', data })).rejects.toBeInstanceOf(
        ValidationError,
      );
    });

    it('reads the run with its events, the run arriving with the last page', async () => {
      const run = makeRun();
      await s.store.createRun(run);
      for (let i = 0; i < 3; i++) await s.store.appendEvent(run.runId, { type: 't', actor: 'a' });
      const first = await s.store.getRunWithEvents(run.runId, { limit: 2 });
      expect(first.run).toBeUndefined();
      expect(first.events.items.map((e) => e.seq)).toEqual([0, 1]);
      const second = await s.store.getRunWithEvents(run.runId, { limit: 2, cursor: first.events.cursor });
      expect(second.events.items.map((e) => e.seq)).toEqual([2]);
      expect(second.run).toEqual(run);
      expect(await s.store.getRunWithEvents(newRunId(), { limit: 5 })).toMatchObject({
        events: { items: [] },
      });
    });

    it('records the chain head on the run item at each append, and reads only events after a seq', async () => {
      const run = makeRun();
      await s.store.createRun(run);
      const appended = [];
      for (let i = 0; i < 4; i++)
        appended.push(await s.store.appendEvent(run.runId, { type: 't', actor: 'a' }));
      const all = await s.store.getRunWithEvents(run.runId, { limit: 10 });
      expect(all.head).toEqual({ seq: 3, hash: appended[3]?.hash });
      expect(verifyChain(all.events.items, { expectedHead: all.head })).toEqual({ ok: true });
      const newer = await s.store.getRunWithEvents(run.runId, { limit: 10 }, 1);
      expect(newer.events.items.map((e) => e.seq)).toEqual([2, 3]);
      expect(newer.run?.runId).toBe(run.runId);
      expect((await s.store.getRunWithEvents(run.runId, { limit: 10 }, 3)).events.items).toEqual([]);
      // The head is not part of the Run: updates leave it alone and reads do not show it.
      const updated = await s.store.updateRun(run.runId, run.version, { stage: 'plan' });
      expect(updated).not.toHaveProperty('auditHeadSeq');
      expect((await s.store.getRunWithEvents(run.runId, { limit: 10 })).head?.seq).toBe(3);
      // Events of a run without a run item record no head anywhere.
      const orphan = newRunId();
      await s.store.appendEvent(orphan, { type: 't', actor: 'a' });
      expect((await s.store.getRunWithEvents(orphan, { limit: 10 })).head).toBeUndefined();
    });
  });

  describe('deliveries', () => {
    const delivery = (deliveryId: string, runId?: string) => ({
      deliveryId,
      event: 'issues',
      state: 'RECORDED' as const,
      ...(runId ? { runId } : {}),
      receivedAt: '2025-01-01T00:00:00.000Z',
    });

    it('records a delivery once under parallel duplicates, until it expires', async () => {
      const id = `d-${newRunId()}`;
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => s.store.recordDelivery(delivery(id, `run-${i}`), 60)),
      );
      expect(firsts(results)).toBe(1);
      const winner = results.findIndex((r) => r.first);
      for (const r of results.filter((r) => !r.first))
        expect(r.existing).toEqual(delivery(id, `run-${winner}`));
      s.clock.advance(61_000);
      expect((await s.store.recordDelivery(delivery(id), 60)).first).toBe(true);
    });

    it('updates a recorded delivery and refuses an unknown one', async () => {
      const id = `d-${newRunId()}`;
      await s.store.recordDelivery(delivery(id), 3600);
      await s.store.updateDelivery(id, { state: 'STARTED', runId: 'r1' });
      expect(await s.store.recordDelivery(delivery(id), 3600)).toEqual({
        first: false,
        existing: { ...delivery(id, 'r1'), state: 'STARTED' },
      });
      await expect(s.store.updateDelivery(`d-${newRunId()}`, { state: 'IGNORED' })).rejects.toBeInstanceOf(
        NotFoundError,
      );
    });
  });

  describe('waits', () => {
    const wait = (key: string, ttlSeconds = 3600): PendingWait => ({
      kind: 'checks',
      key,
      runId: 'run-1',
      taskToken: `token-${key}`,
      createdAt: 'c',
      expiresAt: nowSeconds() + ttlSeconds,
    });

    it('gives a wait to exactly one of many concurrent takers', async () => {
      const key = `acme/w@${newRunId()}`;
      await s.store.putWait(wait(key));
      expect(await s.store.getWait('checks', key)).toEqual(wait(key));
      expect(await s.store.getWait('clarify', key)).toBeUndefined();
      const taken = await Promise.all(Array.from({ length: 8 }, () => s.store.takeWait('checks', key)));
      expect(taken.filter(Boolean)).toEqual([wait(key)]);
      expect(await s.store.getWait('checks', key)).toBeUndefined();
    });

    it('reads an expired wait as absent, for get and take', async () => {
      const key = `acme/w@${newRunId()}`;
      await s.store.putWait(wait(key, 30));
      s.clock.advance(31_000);
      expect(await s.store.getWait('checks', key)).toBeUndefined();
      expect(await s.store.takeWait('checks', key)).toBeUndefined();
    });
  });

  describe('approvals', () => {
    const approval = (runId: string, approvalId: string, ttlSeconds = 3600): ApprovalRecord => ({
      approvalId,
      runId,
      approver: 'alice',
      email: 'alice@example.com',
      headSha: 'sha',
      expiresAt: nowSeconds() + ttlSeconds,
      state: 'PENDING',
      csrfHash: 'h',
    });

    it('decides an approval once under parallel decisions; lists a run’s approvals by id', async () => {
      const runId = newRunId();
      const [b, a] = [approval(runId, `b-${runId}`), approval(runId, `a-${runId}`)];
      await s.store.putApproval(b);
      await s.store.putApproval(a);
      await expect(s.store.putApproval(a)).rejects.toBeInstanceOf(AlreadyExistsError);
      const decided = await Promise.all([
        s.store.decideApproval(a.approvalId, { state: 'APPROVED', decidedAt: 'd1' }),
        s.store.decideApproval(a.approvalId, { state: 'REJECTED', decidedAt: 'd2', comment: 'no' }),
      ]);
      expect(decided.filter(Boolean)).toHaveLength(1);
      const stored = await s.store.getApproval(a.approvalId);
      expect(stored?.state).toBe(decided[0] ? 'APPROVED' : 'REJECTED');
      const listed = await s.store.listApprovalsForRun(runId);
      expect(listed.map((r) => [r.approvalId, r.state])).toEqual([
        [a.approvalId, stored?.state],
        [b.approvalId, 'PENDING'],
      ]);
      await expect(s.store.decideApproval(b.approvalId, { state: 'PENDING' })).rejects.toBeInstanceOf(
        ValidationError,
      );
    });

    it('refuses to decide an expired or unknown approval', async () => {
      const runId = newRunId();
      await s.store.putApproval(approval(runId, `x-${runId}`, 30));
      s.clock.advance(31_000);
      expect(await s.store.decideApproval(`x-${runId}`, { state: 'APPROVED' })).toBe(false);
      expect((await s.store.getApproval(`x-${runId}`))?.state).toBe('PENDING');
      expect(await s.store.decideApproval(`unknown-${runId}`, { state: 'APPROVED' })).toBe(false);
    });

    it('shows a run’s approvals and ledger in its detail', async () => {
      const run = makeRun();
      await s.store.createRun(run);
      await s.store.putApproval(approval(run.runId, `p-${run.runId}`));
      const detail = await s.store.getRunDetail(run.runId);
      expect(detail.run).toEqual(run);
      expect(detail.approvals.map((r) => r.approvalId)).toEqual([`p-${run.runId}`]);
      expect(detail.ledger).toEqual([]);
    });
  });

  describe('API keys', () => {
    it('stores a key by its hash', async () => {
      const record = {
        keyHash: `h-${newRunId()}`,
        name: 'ci',
        scopes: ['runs:read' as const],
        repoPatterns: ['acme/*'],
        createdAt: 'c',
      };
      await s.store.putApiKey(record);
      expect(await s.store.getApiKey(record.keyHash)).toEqual(record);
      expect(await s.store.getApiKey(`h-${newRunId()}`)).toBeUndefined();
    });
  });

  describe('claims', () => {
    it('gives an idempotency key to one claimer, with its fingerprint, until it expires', async () => {
      const key = `k-${newRunId()}`;
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          s.store.claimIdempotencyKey('api', key, `run-${i}`, 60, `fp-${i}`),
        ),
      );
      expect(firsts(results)).toBe(1);
      const winner = results.find((r) => r.first);
      expect(winner).toEqual({
        first: true,
        runId: winner?.runId,
        fingerprint: `fp-${winner?.runId.slice(4)}`,
      });
      for (const r of results.filter((r) => !r.first)) expect(r).toEqual({ ...winner, first: false });
      expect(await s.store.claimIdempotencyKey('api', key, 'late', 60)).toEqual({ ...winner, first: false });
      expect((await s.store.claimIdempotencyKey('other-scope', key, 'x', 60)).first).toBe(true);
      s.clock.advance(61_000);
      expect(await s.store.claimIdempotencyKey('api', key, 'after', 60)).toEqual({
        first: true,
        runId: 'after',
      });
    });

    it('leases to one owner at a time, re-entrant, released only by it, free once expired', async () => {
      const key = `lease-${newRunId()}`;
      expect(await s.store.claimLease(key, 'a', 60)).toBe(true);
      expect(await s.store.claimLease(key, 'b', 60)).toBe(false);
      expect(await s.store.claimLease(key, 'a', 60)).toBe(true);
      await s.store.releaseLease(key, 'b');
      expect(await s.store.claimLease(key, 'b', 60)).toBe(false);
      await s.store.releaseLease(key, 'a');
      expect(await s.store.claimLease(key, 'b', 60)).toBe(true);
      s.clock.advance(61_000);
      expect(await s.store.claimLease(key, 'c', 60)).toBe(true);
    });
  });

  describe('conversations', () => {
    const meta = (conversationId: string, system: string): ConversationMeta => ({
      conversationId,
      runId: 'run-1',
      stage: 'plan',
      modelAlias: 'planner',
      system,
      tools: [],
      maxTokens: 1000,
      models: ['claude'],
      budgetUsd: 1,
      createdAt: 'c',
    });
    const turn = (conversationId: string, n: number, text: string): ConversationTurn => ({
      conversationId,
      turn: n,
      runId: 'run-1',
      stage: 'plan',
      role: n % 2 ? 'assistant' : 'user',
      content: [{ type: 'text', text }],
      createdAt: 'c',
    });

    it('keeps the first meta and the first writer of each turn; lists turns in order', async () => {
      const id = `conv-${newRunId()}`;
      await s.store.putConversation(meta(id, 'first'));
      await s.store.putConversation(meta(id, 'second'));
      const results = await Promise.all([
        s.store.putTurn(turn(id, 1, 'a')),
        s.store.putTurn(turn(id, 1, 'b')),
      ]);
      expect(firsts(results)).toBe(1);
      const stored = await s.store.getTurn(id, 1);
      expect(results.find((r) => !r.first)?.existing).toEqual(stored);
      await s.store.putTurn(turn(id, 0, 'q'));
      await s.store.markTurnSettled(id, 1);
      await s.store.markTurnSettled(id, 7);
      const read = await s.store.getConversationWithTurns(id);
      expect(read.meta?.system).toBe('first');
      expect(read.turns.map((t) => [t.turn, t.settled])).toEqual([
        [0, undefined],
        [1, true],
      ]);
      expect(await s.store.getTurn(id, 7)).toBeUndefined();
      expect(await s.store.getConversationWithTurns(`conv-${newRunId()}`)).toEqual({ turns: [] });
    });
  });

  describe('ledger', () => {
    const entry = (runId: string, turn: number): LedgerEntry => ({
      runId,
      stage: 'plan',
      conversationId: 'conv',
      turn,
      model: 'claude',
      inputTokens: 100,
      outputTokens: 10,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      costUsd: 0.25,
      latencyMs: 5,
      at: 'a',
    });

    it('records each call once in the run totals, without bumping the version', async () => {
      const run = makeRun();
      await s.store.createRun(run);
      await s.store.recordLlmCall(entry(run.runId, 1));
      await s.store.recordLlmCall(entry(run.runId, 1));
      await s.store.recordLlmCall(entry(run.runId, 0));
      const stored = await s.store.getRun(run.runId);
      expect(stored?.version).toBe(0);
      expect(stored?.ledger).toMatchObject({ llmCalls: 2, inputTokens: 200, outputTokens: 20, costUsd: 0.5 });
      expect((await s.store.listLedger(run.runId)).map((e) => e.turn)).toEqual([0, 1]);
      expect((await s.store.getRunDetail(run.runId)).ledger).toHaveLength(2);
      await expect(s.store.recordLlmCall(entry(newRunId(), 0))).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe('budget', () => {
    it('reserves what fits, once per id, and settles to the actual cost once', async () => {
      const account = newRunId();
      expect(await s.store.reserveBudget(account, 'r1', 0.6, 1)).toBe(true);
      expect(await s.store.reserveBudget(account, 'r1', 0.6, 1)).toBe(true);
      expect(await s.store.reserveBudget(account, 'r2', 0.6, 1)).toBe(false);
      expect(await s.store.getBudget(account)).toEqual({ limitUsd: 1, reservedUsd: 0.6, spentUsd: 0 });
      await s.store.settleBudget(account, 'r1', 0.1);
      await s.store.settleBudget(account, 'r1', 0.1);
      expect(await s.store.getBudget(account)).toEqual({ limitUsd: 1, reservedUsd: 0, spentUsd: 0.1 });
      // A settled id is not reserved again while its marker stands.
      expect(await s.store.reserveBudget(account, 'r1', 0.5, 1)).toBe(true);
      expect((await s.store.getBudget(account))?.reservedUsd).toBe(0);
      await s.store.forgetSettlement(account, 'r1');
      expect(await s.store.reserveBudget(account, 'r2', 0.9, 1)).toBe(true);
    });

    it('follows a changed limit, records an unreserved spend and refuses bad amounts', async () => {
      const account = newRunId();
      expect(await s.store.reserveBudget(account, 'r1', 0.5, 1)).toBe(true);
      expect(await s.store.reserveBudget(account, 'r2', 0.5, 0.75)).toBe(false);
      expect((await s.store.getBudget(account))?.limitUsd).toBe(0.75);
      await s.store.settleBudget(account, 'unreserved', 0.2);
      expect(await s.store.getBudget(account)).toEqual({ limitUsd: 0.75, reservedUsd: 0.5, spentUsd: 0.2 });
      await s.store.settleBudget(newRunId(), 'r', 0);
      await expect(s.store.settleBudget(newRunId(), 'r', 0.1)).rejects.toBeInstanceOf(NotFoundError);
      await expect(s.store.reserveBudget(account, 'r3', -1, 1)).rejects.toBeInstanceOf(ValidationError);
      await expect(s.store.reserveBudget(account, '', 0.1, 1)).rejects.toBeInstanceOf(ValidationError);
    });
  });

  describe('retention of private source', () => {
    it('forgets conversations, turns and pending files 30 days after they were written', async () => {
      const runId = newRunId();
      const conversationId = `retention-${runId}`;
      await s.store.putConversation({
        conversationId,
        runId,
        stage: 'plan',
        modelAlias: 'planner',
        system: 's',
        tools: [],
        maxTokens: 1000,
        models: ['claude'],
        budgetUsd: 1,
        createdAt: 'c',
      });
      const turn = {
        conversationId,
        turn: 0,
        runId,
        stage: 'plan',
        role: 'user' as const,
        content: [{ type: 'text', text: 'private source' }],
        createdAt: 'c',
      };
      await s.store.putTurn(turn);
      await s.store.putWorkspaceFile(runId, {
        path: 'src/a.ts',
        content: 'a',
        deleted: false,
        updatedAt: 'u',
      });

      s.clock.advance(29 * 86_400_000);
      expect((await s.store.getConversationWithTurns(conversationId)).turns).toHaveLength(1);
      expect(await s.store.getTurn(conversationId, 0)).toBeDefined();
      expect(await s.store.listWorkspaceFiles(runId)).toHaveLength(1);

      s.clock.advance(2 * 86_400_000);
      expect(await s.store.getConversationWithTurns(conversationId)).toEqual({ turns: [] });
      expect(await s.store.getTurn(conversationId, 0)).toBeUndefined();
      expect(await s.store.getWorkspaceFile(runId, 'src/a.ts')).toBeUndefined();
      expect(await s.store.listWorkspaceFiles(runId)).toEqual([]);
    });
  });

  describe('workspace', () => {
    it('stores, overwrites, deletes and lists a run’s files in path order', async () => {
      const runId = newRunId();
      await s.store.putWorkspaceFile(runId, {
        path: 'src/b.ts',
        content: 'b',
        deleted: false,
        updatedAt: 'u',
      });
      await s.store.putWorkspaceFile(runId, {
        path: 'README.md',
        content: 'r',
        deleted: false,
        updatedAt: 'u',
      });
      await s.store.putWorkspaceFile(runId, { path: 'src/a.ts', deleted: true, updatedAt: 'u' });
      await s.store.putWorkspaceFile(runId, {
        path: 'src/b.ts',
        content: 'b2',
        deleted: false,
        updatedAt: 'u',
      });
      expect((await s.store.listWorkspaceFiles(runId)).map((f) => [f.path, f.content ?? null])).toEqual([
        ['README.md', 'r'],
        ['src/a.ts', null],
        ['src/b.ts', 'b2'],
      ]);
      expect(await s.store.getWorkspaceFile(runId, 'src/a.ts')).toEqual({
        path: 'src/a.ts',
        deleted: true,
        updatedAt: 'u',
      });
      expect(await s.store.getWorkspaceFile(runId, 'nope')).toBeUndefined();
      await s.store.deleteWorkspaceFile(runId, 'README.md');
      await s.store.deleteWorkspaceFile(runId, 'never-written');
      expect((await s.store.listWorkspaceFiles(runId)).map((f) => f.path)).toEqual(['src/a.ts', 'src/b.ts']);
      await expect(
        s.store.putWorkspaceFile(runId, { path: 'x', content: 'x', deleted: true, updatedAt: 'u' }),
      ).rejects.toBeInstanceOf(ValidationError);
      await expect(
        s.store.putWorkspaceFile(runId, {
          path: 'big',
          content: 'x'.repeat(256 * 1024 + 1),
          deleted: false,
          updatedAt: 'u',
        }),
      ).rejects.toBeInstanceOf(ValidationError);
    });
  });

  describe('cache', () => {
    it('reads a value until it expires; a put overwrites', async () => {
      const key = `c-${newRunId()}`;
      await s.store.cachePut(key, 'v1', 60);
      await s.store.cachePut(key, 'v2', 60);
      expect(await s.store.cacheGet(key)).toBe('v2');
      s.clock.advance(61_000);
      expect(await s.store.cacheGet(key)).toBeUndefined();
      await expect(s.store.cachePut(key, 'v', 0)).rejects.toBeInstanceOf(ValidationError);
    });
  });
});
