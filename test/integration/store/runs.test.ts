import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '../../../functions/shared/domain/run';
import {
  AlreadyExistsError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../../../functions/shared/errors';
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

const rawItem = async (key: { pk: string; sk: string }) =>
  (await db.doc.send(new GetCommand({ TableName: db.tableName, Key: key }))).Item;

describe('runs', () => {
  it('creates a run with its GSI projections and reads it back without key attributes', async () => {
    const run = makeRun({ repo: 'acme/create', workItemKey: 'acme/create#1' });
    await db.store.createRun(run);

    const stored = await rawItem(keys.run(run.runId));
    expect(stored).toMatchObject({
      ...keys.runByRepo('acme/create', run.runId),
      ...keys.runByStatus('QUEUED', run.runId),
      ...keys.runByWorkItem('acme/create#1', run.runId),
    });
    const read = await db.store.getRun(run.runId);
    expect(read).toEqual(expect.objectContaining({ runId: run.runId, status: 'QUEUED', version: 0 }));
    expect(read).not.toHaveProperty('pk');
    expect(read).not.toHaveProperty('gsi1pk');
    expect(await db.store.getRun(newRunId())).toBeUndefined();
  });

  it('reads a run item written by the activity-based version (its openWaitId is ignored)', async () => {
    const run = makeRun({ status: 'VERIFYING' });
    await db.store.createRun(run);
    await db.doc.send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: keys.run(run.runId),
        UpdateExpression: 'SET openWaitId = :id',
        ExpressionAttributeValues: { ':id': '0b8f5a52-3c1e-4c55-9f0e-2f3d7c1a9e11' },
      }),
    );
    const read = await db.store.getRun(run.runId);
    expect(read?.status).toBe('VERIFYING');
    expect(read).not.toHaveProperty('openWaitId');
  });

  it('refuses a second run with the same id', async () => {
    const run = makeRun();
    await db.store.createRun(run);
    await expect(db.store.createRun({ ...run, status: 'FAILED' })).rejects.toBeInstanceOf(AlreadyExistsError);
    expect((await db.store.getRun(run.runId))?.status).toBe('QUEUED');
  });

  it('updates under the optimistic lock, bumps the version and re-projects the status index', async () => {
    const run = makeRun({ repo: 'acme/update' });
    await db.store.createRun(run);
    db.clock.advance(1000);
    const updated = await db.store.updateRun(run.runId, 0, {
      status: 'PLANNING',
      stage: 'plan',
      prNumber: 5,
    });
    expect(updated).toMatchObject({ status: 'PLANNING', stage: 'plan', prNumber: 5, version: 1 });
    expect(updated.updatedAt).toBe(new Date(db.clock.now()).toISOString());
    expect(updated).not.toHaveProperty('gsi2pk');
    expect(await rawItem(keys.run(run.runId))).toMatchObject(keys.runByStatus('PLANNING', run.runId));

    const planning = await db.store.listRunsByStatus('PLANNING', { limit: 100 });
    expect(planning.items.map((r) => r.runId)).toContain(run.runId);
    const queued = await db.store.listRunsByStatus('QUEUED', { limit: 100 });
    expect(queued.items.map((r) => r.runId)).not.toContain(run.runId);

    // An undefined value removes an optional field.
    const cleared = await db.store.updateRun(run.runId, 1, { prNumber: undefined });
    expect(cleared.prNumber).toBeUndefined();
    expect(cleared.version).toBe(2);
  });

  it('lets exactly one of two updaters on the same version win; the other gets VersionConflictError', async () => {
    const run = makeRun();
    await db.store.createRun(run);
    const results = await Promise.allSettled([
      db.store.updateRun(run.runId, 0, { status: 'PLANNING' }),
      db.store.updateRun(run.runId, 0, { status: 'CANCELLED' }),
    ]);
    const won = results.filter((r): r is PromiseFulfilledResult<Run> => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]?.reason).toBeInstanceOf(VersionConflictError);
    const stored = await db.store.getRun(run.runId);
    expect(stored?.version).toBe(1);
    expect(stored?.status).toBe(won[0]?.value.status);
  });

  it('rejects a stale version, an unknown run, identity fields and invalid values', async () => {
    const run = makeRun();
    await db.store.createRun(run);
    await db.store.updateRun(run.runId, 0, { stage: 'admit' });
    await expect(db.store.updateRun(run.runId, 0, { stage: 'plan' })).rejects.toBeInstanceOf(
      VersionConflictError,
    );
    await expect(db.store.updateRun(newRunId(), 0, { stage: 'plan' })).rejects.toBeInstanceOf(NotFoundError);
    for (const patch of [
      { runId: newRunId() },
      { repo: 'evil/repo' },
      { kind: 'review' as const },
      { ledger: { ...run.ledger, costUsd: 0 } },
      { status: 'NOT_A_STATUS' as Run['status'] },
      { status: undefined },
    ]) {
      await expect(db.store.updateRun(run.runId, 1, patch)).rejects.toBeInstanceOf(ValidationError);
    }
    const stored = await db.store.getRun(run.runId);
    expect(stored).toMatchObject({ version: 1, repo: run.repo, kind: 'change', stage: 'admit' });
  });
});

describe('runs by repo, by status and by WorkItem', () => {
  it('pages runs of a repo newest first across pages', async () => {
    const repo = 'acme/paging';
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const run = makeRun({ repo, workItemKey: `${repo}#${i}` });
      ids.push(run.runId);
      await db.store.createRun(run);
    }
    await db.store.createRun(makeRun({ repo: 'acme/other' }));
    const { items, pages } = await readAllPages((cursor) =>
      db.store.listRunsByRepo(repo, { limit: 3, cursor }),
    );
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(items.map((r) => r.runId)).toEqual([...ids].reverse());
  });

  it('lists runs by status newest first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const run = makeRun({ status: 'AWAITING_APPROVAL' });
      ids.push(run.runId);
      await db.store.createRun(run);
    }
    const page = await db.store.listRunsByStatus('AWAITING_APPROVAL', { limit: 10 });
    expect(page.items.map((r) => r.runId)).toEqual([...ids].reverse());
    expect(page.cursor).toBeUndefined();
  });

  it('returns a WorkItem and its runs newest first in one query, paged', async () => {
    const key = 'acme/wi#42';
    expect(await db.store.getWorkItem(key)).toBeUndefined();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const run = makeRun({ repo: 'acme/wi', workItemKey: key });
      ids.push(run.runId);
      await db.store.createRun(run);
    }
    await db.store.putWorkItem({
      key,
      repo: 'acme/wi',
      issueNumber: 42,
      createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-01-01T00:00:00.000Z',
      latestRunId: ids.at(-1),
    });
    expect(await db.store.getWorkItem(key)).toMatchObject({ key, latestRunId: ids.at(-1) });

    const first = await db.store.getWorkItemWithRuns(key, { limit: 2 });
    expect(first.workItem).toMatchObject({ key, issueNumber: 42 });
    expect(first.runs.items.map((r) => r.runId)).toEqual([ids[4], ids[3]]);
    expect(first.runs.cursor).toBeDefined();
    const rest = await readAllPages((cursor) =>
      db.store.getWorkItemWithRuns(key, { limit: 2, cursor }).then((r) => r.runs),
    );
    expect(rest.items.map((r) => r.runId)).toEqual([...ids].reverse());
  });

  it('pages runs of a WorkItem without a WorkItem item', async () => {
    const key = 'acme/orphan#1';
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const run = makeRun({ repo: 'acme/orphan', workItemKey: key });
      ids.push(run.runId);
      await db.store.createRun(run);
    }
    const first = await db.store.getWorkItemWithRuns(key, { limit: 2 });
    expect(first.workItem).toBeUndefined();
    expect(first.runs.items.map((r) => r.runId)).toEqual([ids[2], ids[1]]);
    const second = await db.store.getWorkItemWithRuns(key, { limit: 2, cursor: first.runs.cursor });
    expect(second.runs.items.map((r) => r.runId)).toEqual([ids[0]]);
  });

  it('rejects malformed, foreign and oversized cursors and bad limits with ValidationError', async () => {
    const repo = 'acme/cursor';
    for (let i = 0; i < 3; i++) await db.store.createRun(makeRun({ repo }));
    const page = await db.store.listRunsByRepo(repo, { limit: 1 });
    expect(page.cursor).toBeDefined();
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const bad = [
      'not base64!',
      b64('a string'),
      b64([1, 2]),
      b64({ pk: 1 }),
      b64({ evil: 'x' }),
      Buffer.from('{not json').toString('base64url'),
      'A'.repeat(5000),
      // A valid cursor, but of another repo's query.
      b64({ ...JSON.parse(Buffer.from(page.cursor ?? '', 'base64url').toString()), gsi1pk: 'REPO#other/x' }),
    ];
    for (const cursor of bad) {
      await expect(db.store.listRunsByRepo(repo, { limit: 1, cursor })).rejects.toBeInstanceOf(
        ValidationError,
      );
    }
    // A cursor from the status index does not fit the repo index.
    await expect(
      db.store.listRunsByStatus('QUEUED', { limit: 1, cursor: page.cursor }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(db.store.listEvents(newRunId(), { limit: 1, cursor: page.cursor })).rejects.toBeInstanceOf(
      ValidationError,
    );
    for (const limit of [0, -1, 1.5, 10_000]) {
      await expect(db.store.listRunsByRepo(repo, { limit })).rejects.toBeInstanceOf(ValidationError);
    }
  });
});
