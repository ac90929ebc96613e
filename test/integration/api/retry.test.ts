import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, startApiHarness } from './support';

/** POST /v1/runs/{id}/retry through the local API Gateway onto the store on dynalite. */
let api: ApiHarness;
let writer: string;
let reader: string;
let otherWriter: string;

beforeAll(async () => {
  api = await startApiHarness();
  writer = await api.key(['runs:read', 'runs:write'], ['acme/*'], 'ci-writer');
  reader = await api.key(['runs:read'], ['acme/*'], 'dashboard');
  otherWriter = await api.key(['runs:read', 'runs:write'], ['other/*'], 'other-team');
});

afterAll(async () => {
  await api?.close();
});

describe('POST /v1/runs/{id}/retry', () => {
  it('starts a retry run on the same work item, with the budget asked for; a repeat is refused', async () => {
    const stopped = await api.seedRun({
      repo: 'acme/retry',
      issueNumber: 3,
      status: 'STOPPED',
      issueTitle: 'Add a slugify helper',
    });
    const response = await api.call('POST', `/v1/runs/${stopped.runId}/retry`, {
      key: writer,
      body: { budget_usd: 12.5 },
    });
    expect(response.status).toBe(201);
    const id = response.json.data.id as string;
    expect(id).not.toBe(stopped.runId);
    expect(response.headers.get('location')).toBe(`/v1/runs/${id}`);
    expect(response.json.data).toMatchObject({
      repo: 'acme/retry',
      issue: 3,
      status: 'QUEUED',
      kind: 'change',
    });
    const run = await api.dynamo.store.getRun(id);
    expect(run).toMatchObject({
      workItemKey: stopped.workItemKey,
      issueTitle: 'Add a slugify helper',
      budgetUsd: 12.5,
      trigger: { source: 'retry', sender: 'api:ci-writer', command: 'retry' },
    });
    expect(api.workflow.starts.map((s) => s.runId)).toContain(id);
    const created = (await api.dynamo.store.listEvents(id, { limit: 5 })).items[0];
    expect(created?.data).toMatchObject({ source: 'retry', retryOf: stopped.runId });

    // The same request again finds its retry newer (and still active): no second run.
    const again = await api.call('POST', `/v1/runs/${stopped.runId}/retry`, { key: writer });
    expect(again.status).toBe(409);
    expect(again.json.error.message).toContain(`run ${id} is newer`);
    expect(api.workflow.starts.filter((s) => s.runId !== id && s.runId !== stopped.runId)).toHaveLength(0);
  });

  it('takes no body too; refuses a run still going, a reader, another repo and a budget out of range', async () => {
    const failed = await api.seedRun({ repo: 'acme/retry', issueNumber: 4, status: 'FAILED' });
    expect((await api.call('POST', `/v1/runs/${failed.runId}/retry`, { key: reader })).status).toBe(403);
    expect((await api.call('POST', `/v1/runs/${failed.runId}/retry`, { key: otherWriter })).status).toBe(404);
    const tooMuch = await api.call('POST', `/v1/runs/${failed.runId}/retry`, {
      key: writer,
      body: { budget_usd: 1000 },
    });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.text).toContain('budget_usd');
    const plain = await api.call('POST', `/v1/runs/${failed.runId}/retry`, { key: writer });
    expect(plain.status).toBe(201);
    expect((await api.dynamo.store.getRun(plain.json.data.id))?.budgetUsd).toBeUndefined();

    const running = await api.seedRun({ repo: 'acme/retry', issueNumber: 5, status: 'IMPLEMENTING' });
    const busy = await api.call('POST', `/v1/runs/${running.runId}/retry`, { key: writer });
    expect(busy.status).toBe(409);
    expect(busy.json.error.message).toContain('still IMPLEMENTING');
  });
});
