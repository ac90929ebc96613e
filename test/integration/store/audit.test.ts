import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENESIS_HASH, hashEvent } from '../../../functions/shared/domain/audit';
import type { StoredAuditEvent } from '../../../functions/shared/ports';
import { keys } from '../../../functions/shared/store/keys';
import { startTestDynamo, type TestDynamo } from '../../support/dynamodb';
import { makeRun, newRunId, readAllPages } from './fixtures';

let db: TestDynamo;
beforeAll(async () => {
  db = await startTestDynamo();
});
afterAll(async () => {
  await db?.close();
});

/** Independent re-check of the chain: contiguous seqs from 0 and every hash recomputed. */
function expectValidChain(runId: string, events: StoredAuditEvent[]): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
  let prev = GENESIS_HASH;
  for (const event of events) {
    expect(event.runId).toBe(runId);
    expect(event.prevHash).toBe(prev);
    expect(event.hash).toBe(hashEvent(prev, event));
    prev = event.hash;
  }
}

describe('audit events', () => {
  it('chains sequential appends from the genesis hash', async () => {
    const runId = newRunId();
    const first = await db.store.appendEvent(runId, { type: 'run.created', actor: 'webhook' });
    expect(first).toMatchObject({ seq: 0, prevHash: GENESIS_HASH });
    const second = await db.store.appendEvent(runId, {
      type: 'stage.entered',
      actor: 'stages',
      data: { stage: 'plan' },
    });
    expect(second).toMatchObject({ seq: 1, prevHash: first.hash, data: { stage: 'plan' } });
    const listed = await db.store.listEvents(runId, { limit: 10 });
    expect(listed.items).toEqual([first, second]);
    expectValidChain(runId, listed.items);
  });

  it('keeps a contiguous, valid chain under 10 concurrent appenders', async () => {
    const runId = newRunId();
    const appended = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        db.store.appendEvent(runId, { type: 'parallel', actor: `a${i}`, data: { i } }),
      ),
    );
    expect(new Set(appended.map((e) => e.seq)).size).toBe(10);
    const { items } = await readAllPages((cursor) => db.store.listEvents(runId, { limit: 4, cursor }));
    expect(items).toHaveLength(10);
    expectValidChain(runId, items);
    expect(new Set(items.map((e) => e.actor))).toEqual(new Set(appended.map((e) => e.actor)));
  });

  it('returns the run and its events in order with one query, skipping the run’s other items', async () => {
    const run = makeRun();
    await db.store.createRun(run);
    for (let i = 0; i < 5; i++)
      await db.store.appendEvent(run.runId, { type: 'step', actor: 'stages', data: { i } });
    // Items of the same partition that are not part of the timeline.
    await db.store.reserveBudget(run.runId, 'r', 0.1, 5);
    await db.store.recordLlmCall({
      runId: run.runId,
      stage: 'plan',
      conversationId: 'conv',
      turn: 1,
      model: 'm',
      inputTokens: 1,
      outputTokens: 1,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      costUsd: 0.01,
      latencyMs: 1,
      at: '2025-01-01T00:00:00.000Z',
    });
    await db.store.putApproval({
      approvalId: 'appr-timeline',
      runId: run.runId,
      approver: 'octocat',
      email: 'o@example.com',
      headSha: 'abc',
      expiresAt: Math.floor(db.clock.now() / 1000) + 3600,
      state: 'PENDING',
      csrfHash: 'h',
    });

    // The run view of GET /v1/runs/{id}: run, approvals and ledger in one request, no events.
    const sent: string[] = [];
    const send = db.doc.send.bind(db.doc);
    db.doc.send = ((command: { constructor: { name: string } }, ...rest: unknown[]) => {
      sent.push(command.constructor.name);
      return (send as (...args: unknown[]) => unknown)(command, ...rest);
    }) as typeof db.doc.send;
    const detail = await db.store.getRunDetail(run.runId);
    db.doc.send = send;
    expect(sent).toEqual(['QueryCommand']);
    expect(detail.run?.runId).toBe(run.runId);
    expect(detail.approvals.map((a) => a.approvalId)).toEqual(['appr-timeline']);
    expect(detail.ledger.map((l) => l.costUsd)).toEqual([0.01]);
    expect((await db.store.getRunDetail(newRunId())).run).toBeUndefined();

    const all = await db.store.getRunWithEvents(run.runId, { limit: 50 });
    expect(all.run?.runId).toBe(run.runId);
    expect(all.run?.ledger.llmCalls).toBe(1);
    expect(all.events.items.map((e) => e.data?.i)).toEqual([0, 1, 2, 3, 4]);
    expect(all.events.cursor).toBeUndefined();
    expectValidChain(run.runId, all.events.items);

    // Paged: the run sorts after its events, so it arrives once, with (or after) the last event.
    const pages: Array<Awaited<ReturnType<typeof db.store.getRunWithEvents>>> = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await db.store.getRunWithEvents(run.runId, { limit: 2, cursor });
      pages.push(page);
      cursor = page.events.cursor;
      if (!cursor) break;
    }
    expect(pages.flatMap((p) => p.events.items.map((e) => e.seq))).toEqual([0, 1, 2, 3, 4]);
    const withRun = pages.filter((p) => p.run !== undefined);
    expect(withRun.map((p) => p.run?.runId)).toEqual([run.runId]);
    const lastEventPage = pages.findIndex((p) => p.events.items.some((e) => e.seq === 4));
    expect(pages.findIndex((p) => p.run !== undefined)).toBeGreaterThanOrEqual(lastEventPage);
  });

  it('returns no run and no events for an unknown run', async () => {
    const result = await db.store.getRunWithEvents(newRunId(), { limit: 10 });
    expect(result.run).toBeUndefined();
    expect(result.events.items).toEqual([]);
  });

  it('a tampered stored event is detected by re-hashing', async () => {
    const runId = newRunId();
    for (let i = 0; i < 3; i++) await db.store.appendEvent(runId, { type: 'x', actor: 'a', data: { i } });
    const original = (await db.store.listEvents(runId, { limit: 10 })).items;
    const tampered = { ...original[1], data: { i: 99 } } as StoredAuditEvent;
    await db.doc.send(
      new PutCommand({ TableName: db.tableName, Item: { ...keys.runEvent(runId, 1), ...tampered } }),
    );
    const events = (await db.store.listEvents(runId, { limit: 10 })).items;
    expect(events[1]?.hash).not.toBe(hashEvent(events[1]?.prevHash ?? '', events[1] as StoredAuditEvent));
  });
});
