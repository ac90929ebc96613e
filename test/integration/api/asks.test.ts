import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, startApiHarness } from './support';

let api: ApiHarness;
beforeAll(async () => {
  api = await startApiHarness();
});
afterAll(async () => {
  await api?.close();
});

describe('POST /v1/asks, GET /v1/asks/{id}', () => {
  it('stores the question, starts one ask execution and answers 202; only the asking key reads it', async () => {
    const key = await api.key(['runs:read'], ['acme/*'], 'reader');
    const asked = await api.call('POST', '/v1/asks', {
      key,
      body: { question: 'which runs failed today and why', repo: 'acme/widgets' },
    });
    expect(asked.status).toBe(202);
    const id: string = asked.json.data.id;
    expect(asked.headers.get('location')).toBe(`/v1/asks/${id}`);
    expect(asked.json.data).toMatchObject({
      status: 'PENDING',
      answer: null,
      proposals: [],
      repo: 'acme/widgets',
    });
    expect(api.asks.starts).toEqual([{ runId: id, input: { askId: id } }]);
    expect(api.workflow.starts).toEqual([]);
    const stored = await api.dynamo.store.getAsk(id);
    expect(stored?.repoPatterns).toEqual(['acme/*']);

    const read = await api.call('GET', `/v1/asks/${id}`, { key });
    expect(read.status).toBe(200);
    expect(read.json.data.status).toBe('PENDING');
    expect(read.headers.get('retry-after')).toBe('2');
    await api.dynamo.store.finishAsk(id, { status: 'ANSWERED', answer: 'none failed', proposals: [] });
    const answered = await api.call('GET', `/v1/asks/${id}`, { key });
    expect(answered.json.data).toMatchObject({ status: 'ANSWERED', answer: 'none failed' });
    const again = await api.call('GET', `/v1/asks/${id}`, {
      key,
      headers: { 'if-none-match': answered.headers.get('etag') ?? '' },
    });
    expect(again.status).toBe(304);

    const other = await api.key(['runs:read', 'runs:write'], ['*/*'], 'other');
    expect((await api.call('GET', `/v1/asks/${id}`, { key: other })).status).toBe(404);
  });

  it('refuses a repository outside the key, an empty question and unknown fields', async () => {
    const key = await api.key(['runs:read'], ['acme/*']);
    const before = api.asks.starts.length;
    expect(
      (await api.call('POST', '/v1/asks', { key, body: { question: 'x', repo: 'other/repo' } })).status,
    ).toBe(403);
    expect((await api.call('POST', '/v1/asks', { key, body: { question: '  ' } })).status).toBe(400);
    expect((await api.call('POST', '/v1/asks', { key, body: { question: 'x', run: 'cancel' } })).status).toBe(
      400,
    );
    expect((await api.call('POST', '/v1/asks', { body: { question: 'x' } })).status).toBe(401);
    expect(api.asks.starts.length).toBe(before);
  });
});
