import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, startApiHarness } from './support';

// Real HTTP → local API Gateway (/v1/{proxy+}) → API handler → the DynamoDB store on dynalite.
let api: ApiHarness;
let writer: string; // runs:read + runs:write on acme/*
let reader: string; // runs:read on acme/*
let otherWriter: string; // runs:read + runs:write on other/*

beforeAll(async () => {
  api = await startApiHarness();
  writer = await api.key(['runs:read', 'runs:write'], ['acme/*'], 'ci-writer');
  reader = await api.key(['runs:read'], ['acme/*'], 'dashboard');
  otherWriter = await api.key(['runs:read', 'runs:write'], ['other/*'], 'other-team');
});

afterAll(async () => {
  await api?.close();
});

const FAR_FUTURE = Math.floor(Date.parse('2030-01-01T00:00:00Z') / 1000);

describe('envelope, routing and authentication', () => {
  it('serves the OpenAPI document without a key, with X-Request-Id', async () => {
    const response = await api.call('GET', '/v1/openapi.json');
    expect(response.status).toBe(200);
    expect(response.json.openapi).toBe('3.1.0');
    expect(response.headers.get('x-request-id')).toMatch(/.+/);
  });

  it('answers 401 without a key and with an unknown one, in the error envelope', async () => {
    const none = await api.call('GET', '/v1/runs?repo=acme/widgets');
    expect(none.status).toBe(401);
    expect(none.json.error).toMatchObject({
      code: 'Unauthorized',
      request_id: none.headers.get('x-request-id'),
    });
    const unknown = await api.call('GET', '/v1/runs?repo=acme/widgets', { key: `cf_${'x'.repeat(43)}` });
    expect(unknown.status).toBe(401);
    expect(unknown.json.error.code).toBe('Unauthorized');
  });

  it('answers 404 for an unknown path and 405 with Allow for a wrong method', async () => {
    const missing = await api.call('GET', '/v1/nothing-here', { key: reader });
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('NotFound');
    const wrong = await api.call('DELETE', '/v1/runs', { key: writer });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toContain('POST');
  });
});

describe('POST /v1/runs', () => {
  it('starts a run for an issue: 201, QUEUED, execution started, run.created audited', async () => {
    const response = await api.call('POST', '/v1/runs', {
      key: writer,
      body: { repo: 'acme/widgets', issue: 7 },
    });
    expect(response.status).toBe(201);
    const run = response.json.data;
    expect(run).toMatchObject({ repo: 'acme/widgets', issue: 7, status: 'QUEUED', kind: 'change' });
    expect(response.headers.get('location')).toBe(`/v1/runs/${run.id}`);
    expect(api.workflow.starts.map((s) => s.runId)).toContain(run.id);
    const events = await api.dynamo.store.listEvents(run.id, { limit: 10 });
    expect(events.items.map((e) => e.type)).toEqual(['run.created']);
    expect((await api.dynamo.store.getWorkItem('acme/widgets#7'))?.latestRunId).toBe(run.id);
  });

  it('starts a review run on a pull request with {kind, repo, pr}, and refuses pr on a change run', async () => {
    const response = await api.call('POST', '/v1/runs', {
      key: writer,
      body: { kind: 'review', repo: 'acme/widgets', pr: 41 },
    });
    expect(response.status).toBe(201);
    expect(response.json.data).toMatchObject({ kind: 'review', issue: 41, status: 'QUEUED' });
    const noPr = await api.call('POST', '/v1/runs', {
      key: writer,
      body: { kind: 'review', repo: 'acme/widgets' },
    });
    expect(noPr.status).toBe(400);
    expect(JSON.stringify(noPr.json)).toContain('pull request number in pr');
    const prOnChange = await api.call('POST', '/v1/runs', {
      key: writer,
      body: { repo: 'acme/widgets', issue: 42, pr: 41 },
    });
    expect(prOnChange.status).toBe(400);
  });

  it('refuses a second run on an issue whose run is still active (409)', async () => {
    const again = await api.call('POST', '/v1/runs', {
      key: writer,
      body: { repo: 'acme/widgets', issue: 7 },
    });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('Conflict');
  });

  it('treats the repo name case-insensitively, as GitHub does: one work item, one listing', async () => {
    const shouted = await api.call('POST', '/v1/runs', {
      key: writer,
      body: { repo: 'ACME/Widgets', issue: 7 },
    });
    expect(shouted.status).toBe(409);
    const listed = await api.call('GET', '/v1/runs?repo=Acme/WIDGETS&limit=100', { key: reader });
    expect(listed.status).toBe(200);
    expect(listed.json.data.some((r: { issue?: number }) => r.issue === 7)).toBe(true);
    const item = await api.call('GET', '/v1/work-items/ACME/widgets/7', { key: reader });
    expect(item.status).toBe(200);
    expect(item.json.data.work_item.key).toBe('acme/widgets#7');
  });

  it('starts a free-text task on a synthetic WorkItem', async () => {
    const response = await api.call('POST', '/v1/runs', {
      key: writer,
      body: { repo: 'acme/widgets', task: 'Add a --version flag' },
    });
    expect(response.status).toBe(201);
    expect(response.json.data.work_item).toBe(`acme/widgets@task-${response.json.data.id}`);
    expect(response.json.data.task).toBe('Add a --version flag');
  });

  it('honours Idempotency-Key: the same run twice (201 then 200), one execution', async () => {
    const body = { repo: 'acme/widgets', issue: 8 };
    const headers = { 'idempotency-key': 'deploy-42' };
    const first = await api.call('POST', '/v1/runs', { key: writer, body, headers });
    const second = await api.call('POST', '/v1/runs', { key: writer, body, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.json.data.id).toBe(first.json.data.id);
    expect(api.workflow.starts.filter((s) => s.runId === first.json.data.id)).toHaveLength(1);
    const runs = await api.dynamo.store.listRunsByRepo('acme/widgets', { limit: 50 });
    expect(runs.items.filter((r) => r.issueNumber === 8)).toHaveLength(1);
    // The same key with another request is a conflict, not a silent replay.
    const other = await api.call('POST', '/v1/runs', {
      key: writer,
      body: { repo: 'acme/widgets', issue: 9 },
      headers,
    });
    expect(other.status).toBe(409);
  });

  it('refuses an Idempotency-Key reused with another request even when its first use was refused', async () => {
    const headers = { 'idempotency-key': 'refused-first' };
    // Issue 7's run is still active: the first use is refused and creates nothing.
    const refused = await api.call('POST', '/v1/runs', {
      key: writer,
      body: { repo: 'acme/widgets', issue: 7 },
      headers,
    });
    expect(refused.status).toBe(409);
    const other = await api.call('POST', '/v1/runs', {
      key: writer,
      body: { repo: 'acme/widgets', task: 'something else entirely' },
      headers,
    });
    expect(other.status).toBe(409);
    expect(other.json.error.message).toContain('different request');
  });

  it('validates the body with zod: 400 with field paths, 415 for non-JSON, 400 for broken JSON', async () => {
    const both = await api.call('POST', '/v1/runs', {
      key: writer,
      body: { repo: 'acme/widgets', issue: 1, task: 'x' },
    });
    expect(both.status).toBe(400);
    expect(both.json.error).toMatchObject({ code: 'ValidationError' });
    expect(both.json.error.message).toContain('body.issue');
    const badRepo = await api.call('POST', '/v1/runs', { key: writer, body: { repo: 'nope', issue: 1 } });
    expect(badRepo.status).toBe(400);
    expect(badRepo.json.error.message).toContain('body.repo');
    const text = await api.call('POST', '/v1/runs', {
      key: writer,
      body: 'repo=acme/widgets',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    const broken = await api.call('POST', '/v1/runs', { key: writer, body: '{"repo":' });
    expect(broken.status).toBe(400);
  });

  it('a key without runs:write cannot start a run (403); a key cannot start outside its repos (403)', async () => {
    const readOnly = await api.call('POST', '/v1/runs', {
      key: reader,
      body: { repo: 'acme/widgets', issue: 3 },
    });
    expect(readOnly.status).toBe(403);
    expect(readOnly.json.error.code).toBe('Forbidden');
    const outside = await api.call('POST', '/v1/runs', {
      key: writer,
      body: { repo: 'other/thing', issue: 3 },
    });
    expect(outside.status).toBe(403);
  });
});

describe('GET /v1/runs/{id}', () => {
  it('shows status, timeline with durations, PR, checks, approvals (no secrets) and the ledger', async () => {
    const run = await api.seedRun({
      repo: 'acme/detail',
      status: 'AWAITING_APPROVAL',
      stage: 'approval',
      stages: [
        {
          name: 'plan',
          status: 'SUCCEEDED',
          startedAt: '2025-01-01T00:00:00.000Z',
          endedAt: '2025-01-01T00:00:05.000Z',
          ms: 5000,
        },
        { name: 'approval', status: 'WAITING', startedAt: '2025-01-01T00:00:05.000Z' },
      ],
      prNumber: 12,
      prUrl: 'http://forge/acme/detail/pull/12',
      headSha: 'a'.repeat(40),
      branch: 'factory/1-x',
      checksConclusion: 'success',
    });
    await api.dynamo.store.putApproval({
      approvalId: 'appr-1',
      runId: run.runId,
      approver: 'alice',
      email: 'alice@example.com',
      headSha: 'a'.repeat(40),
      expiresAt: FAR_FUTURE,
      state: 'PENDING',
      csrfHash: 'secret-hash-value',
    });
    for (const [turn, stage] of [
      [1, 'plan'],
      [2, 'plan'],
      [1, 'implement'],
    ] as const) {
      await api.dynamo.store.recordLlmCall({
        runId: run.runId,
        stage,
        conversationId: `conv-${stage}`,
        turn,
        model: 'claude-test',
        inputTokens: 100,
        outputTokens: 10,
        cacheReadTokens: 500,
        cacheWriteTokens: 40,
        cacheWrite5mTokens: 30,
        cacheWrite1hTokens: 10,
        costUsd: 0.01,
        latencyMs: 5,
        at: '2025-01-01T00:00:01.000Z',
      });
    }
    const response = await api.call('GET', `/v1/runs/${run.runId}`, { key: reader });
    expect(response.status).toBe(200);
    const data = response.json.data;
    expect(data).toMatchObject({
      id: run.runId,
      status: 'AWAITING_APPROVAL',
      stage: 'approval',
      pull_request: { number: 12, head_sha: 'a'.repeat(40), branch: 'factory/1-x' },
      checks: { conclusion: 'success', rounds: 0 },
      approvals: [{ approver: 'alice', state: 'PENDING' }],
    });
    expect(data.stages[0]).toMatchObject({ name: 'plan', duration_ms: 5000 });
    // input_tokens is uncached input; the total adds cache writes and cache reads.
    expect(data.ledger).toMatchObject({
      llm_calls: 3,
      input_tokens: 300,
      cache_write_tokens: 120,
      cache_read_tokens: 1500,
      total_input_tokens: 1920,
      cost_usd: 0.03,
    });
    expect(data.ledger.by_stage).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          stage: 'plan',
          model: 'claude-test',
          llm_calls: 2,
          input_tokens: 200,
          cache_write_tokens: 80,
          cache_read_tokens: 1000,
          total_input_tokens: 1280,
          cache_write_5m_tokens: 60,
          cache_write_1h_tokens: 20,
        }),
        expect.objectContaining({ stage: 'implement', llm_calls: 1 }),
      ]),
    );
    expect(response.text).not.toContain('secret-hash-value');
    expect(response.text).not.toContain('alice@example.com');
    expect(response.headers.get('retry-after')).toBe('60');
  });

  it('answers 304 to If-None-Match while unchanged, 200 with a new ETag once the run changes', async () => {
    const run = await api.seedRun({ repo: 'acme/etag', status: 'PLANNING' });
    const first = await api.call('GET', `/v1/runs/${run.runId}`, { key: reader });
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^".+"$/);
    expect(first.headers.get('retry-after')).toBe('2');
    const unchanged = await api.call('GET', `/v1/runs/${run.runId}`, {
      key: reader,
      headers: { 'if-none-match': etag ?? '' },
    });
    expect(unchanged.status).toBe(304);
    expect(unchanged.text).toBe('');
    expect(unchanged.headers.get('x-request-id')).toMatch(/.+/);
    await api.dynamo.store.updateRun(run.runId, 0, { status: 'IMPLEMENTING', stage: 'implement' });
    const changed = await api.call('GET', `/v1/runs/${run.runId}`, {
      key: reader,
      headers: { 'if-none-match': etag ?? '' },
    });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(changed.json.data.status).toBe('IMPLEMENTING');
  });

  it('a key for acme/* gets the very same 404 for an other/* run as for a missing run', async () => {
    const foreign = await api.seedRun({ repo: 'other/secret', status: 'PLANNING' });
    const missingId = '01JZZZZZZZZZZZZZZZZZZZZZZZ';
    const hidden = await api.call('GET', `/v1/runs/${foreign.runId}`, { key: reader });
    const missing = await api.call('GET', `/v1/runs/${missingId}`, { key: reader });
    expect(hidden.status).toBe(404);
    expect(missing.status).toBe(404);
    const shape = (r: typeof hidden, id: string) => ({
      code: r.json.error.code,
      message: r.json.error.message.replace(id, '<id>'),
      keys: Object.keys(r.json.error).sort(),
    });
    expect(shape(hidden, foreign.runId)).toEqual(shape(missing, missingId));
    // The owner's key sees it.
    expect((await api.call('GET', `/v1/runs/${foreign.runId}`, { key: otherWriter })).status).toBe(200);
    // Its events and cancel hide it the same way.
    expect((await api.call('GET', `/v1/runs/${foreign.runId}/events`, { key: reader })).status).toBe(404);
    expect((await api.call('POST', `/v1/runs/${foreign.runId}/cancel`, { key: writer })).status).toBe(404);
  });

  it('rejects a malformed id with 400', async () => {
    const response = await api.call('GET', '/v1/runs/not-a-ulid', { key: reader });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('ValidationError');
  });
});

describe('GET /v1/runs', () => {
  it('pages newest first over more than one page, then stops', async () => {
    const seeded = [];
    for (let i = 0; i < 5; i++) seeded.push(await api.seedRun({ repo: 'acme/pages', issueNumber: i + 1 }));
    const ids: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const query = `repo=acme/pages&limit=2${token ? `&next_token=${encodeURIComponent(token)}` : ''}`;
      const response = await api.call('GET', `/v1/runs?${query}`, { key: reader });
      expect(response.status).toBe(200);
      ids.push(...response.json.data.map((r: { id: string }) => r.id));
      token = response.json.next_token;
      pages++;
    } while (token && pages < 10);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(ids).toEqual(seeded.map((r) => r.runId).reverse());
  });

  it('rejects a tampered or re-targeted next_token with 400', async () => {
    const first = await api.call('GET', '/v1/runs?repo=acme/pages&limit=2', { key: reader });
    const token: string = first.json.next_token;
    expect(token).toBeTruthy();
    const [iv = '', sealed = ''] = token.split('.');
    // A cursor of the caller's choosing in the token's place, and one bit of the sealed part changed.
    const forged = `${iv}.${Buffer.from(JSON.stringify({ pk: 'RUN#x', sk: 'RUN' })).toString('base64url')}`;
    const flipped = `${iv}.${sealed.startsWith('A') ? 'B' : 'A'}${sealed.slice(1)}`;
    for (const bad of [forged, flipped, 'garbage']) {
      const response = await api.call(
        'GET',
        `/v1/runs?repo=acme/pages&limit=2&next_token=${encodeURIComponent(bad)}`,
        {
          key: reader,
        },
      );
      expect(response.status).toBe(400);
      expect(response.json.error.code).toBe('BadRequest');
    }
    // A genuine token bound to other filters does not carry over.
    const retargeted = await api.call(
      'GET',
      `/v1/runs?repo=acme/pages&status=PLANNING&limit=2&next_token=${encodeURIComponent(token)}`,
      { key: reader },
    );
    expect(retargeted.status).toBe(400);
  });

  it('filters by status (across repos, only the key’s) and by kind', async () => {
    await api.seedRun({ repo: 'acme/status', status: 'VERIFYING' });
    await api.seedRun({ repo: 'other/status', status: 'VERIFYING' });
    const response = await api.call('GET', '/v1/runs?status=VERIFYING&limit=100', { key: reader });
    expect(response.status).toBe(200);
    const repos = response.json.data.map((r: { repo: string }) => r.repo);
    expect(repos).toContain('acme/status');
    expect(repos).not.toContain('other/status');
    const reviews = await api.call('GET', '/v1/runs?repo=acme/pages&kind=review', { key: reader });
    expect(reviews.json.data).toEqual([]);
  });

  it('with no filter lists the key’s recent runs across its repositories, newest first', async () => {
    const one = await api.seedRun({ repo: 'acme/recent-one' });
    const hidden = await api.seedRun({ repo: 'other/recent' });
    const two = await api.seedRun({ repo: 'acme/recent-two' });
    const ids: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < 50; page++) {
      const suffix = token ? `&next_token=${encodeURIComponent(token)}` : '';
      const response = await api.call('GET', `/v1/runs?limit=3${suffix}`, { key: reader });
      expect(response.status).toBe(200);
      ids.push(...response.json.data.map((r: { id: string }) => r.id));
      token = response.json.next_token;
      if (!token) break;
    }
    expect(token).toBeUndefined();
    expect(ids.indexOf(two.runId)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(two.runId)).toBeLessThan(ids.indexOf(one.runId));
    expect(ids).not.toContain(hidden.runId);
    const others = await api.call('GET', '/v1/runs?limit=100', { key: otherWriter });
    expect(others.json.data.map((r: { id: string }) => r.id)).toContain(hidden.runId);
    expect(others.json.data.every((r: { repo: string }) => r.repo.startsWith('other/'))).toBe(true);
  });

  it('refuses a repo outside the key, and validates limit', async () => {
    expect((await api.call('GET', '/v1/runs?repo=other/status', { key: reader })).status).toBe(403);
    expect((await api.call('GET', '/v1/runs?repo=acme/pages&limit=101', { key: reader })).status).toBe(400);
    expect((await api.call('GET', '/v1/runs?repo=acme/pages&limit=0', { key: reader })).status).toBe(400);
    // Numbers are digits only: no hex, exponents, fractions or signs slipping through coercion.
    for (const limit of ['0x10', '1e1', '1.0', '+5', '%205', 'abc', '']) {
      const response = await api.call('GET', `/v1/runs?repo=acme/pages&limit=${limit}`, { key: reader });
      expect(response.status, limit).toBe(400);
    }
    expect((await api.call('GET', '/v1/runs?repo=acme/pages&limit=7', { key: reader })).status).toBe(200);
    for (const issue of ['1.0', '0x1', '1e0', '0', '-1']) {
      const response = await api.call('GET', `/v1/work-items/acme/wi/${issue}`, { key: reader });
      expect(response.status, issue).toBe(400);
    }
  });
});

describe('GET /v1/runs/{id}/events', () => {
  it('pages the audit timeline in order', async () => {
    const run = await api.seedRun({ repo: 'acme/events' });
    for (let i = 0; i < 5; i++)
      await api.dynamo.store.appendEvent(run.runId, { type: `step.${i}`, actor: 'test' });
    const types: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < 10; page++) {
      const suffix = token ? `&next_token=${encodeURIComponent(token)}` : '';
      const response = await api.call('GET', `/v1/runs/${run.runId}/events?limit=2${suffix}`, {
        key: reader,
      });
      expect(response.status).toBe(200);
      types.push(...response.json.data.map((e: { type: string }) => e.type));
      token = response.json.next_token;
      if (!token) break;
    }
    expect(types).toEqual(['step.0', 'step.1', 'step.2', 'step.3', 'step.4']);
  });

  it('with after=<seq> returns only newer events; an unchanged answer is a 304 to its ETag', async () => {
    const run = await api.seedRun({ repo: 'acme/events' });
    for (let i = 0; i < 3; i++)
      await api.dynamo.store.appendEvent(run.runId, { type: `step.${i}`, actor: 'test' });
    const newer = await api.call('GET', `/v1/runs/${run.runId}/events?after=1`, { key: reader });
    expect(newer.status).toBe(200);
    expect(newer.json.data.map((e: { seq: number }) => e.seq)).toEqual([2]);
    const none = await api.call('GET', `/v1/runs/${run.runId}/events?after=2`, { key: reader });
    expect(none.status).toBe(200);
    expect(none.json.data).toEqual([]);
    const etag = none.headers.get('etag') ?? '';
    const still = await api.call('GET', `/v1/runs/${run.runId}/events?after=2`, {
      key: reader,
      headers: { 'if-none-match': etag },
    });
    expect(still.status).toBe(304);
    await api.dynamo.store.appendEvent(run.runId, { type: 'step.3', actor: 'test' });
    const moved = await api.call('GET', `/v1/runs/${run.runId}/events?after=2`, {
      key: reader,
      headers: { 'if-none-match': etag },
    });
    expect(moved.status).toBe(200);
    expect(moved.json.data.map((e: { type: string }) => e.type)).toEqual(['step.3']);
    for (const bad of ['-1', '1.5', 'x', '0x1']) {
      const refused = await api.call('GET', `/v1/runs/${run.runId}/events?after=${bad}`, { key: reader });
      expect(refused.status, bad).toBe(400);
    }
    // A page token is bound to its `after`: it cannot be replayed with another one.
    const paged = await api.call('GET', `/v1/runs/${run.runId}/events?after=0&limit=1`, { key: reader });
    const token = encodeURIComponent(paged.json.next_token);
    const replayed = await api.call('GET', `/v1/runs/${run.runId}/events?after=1&next_token=${token}`, {
      key: reader,
    });
    expect(replayed.status).toBe(400);
  });
});

describe('GET /v1/runs/{id}/audit', () => {
  it('returns the chain and, on the page that reaches its end, the recorded head', async () => {
    const run = await api.seedRun({ repo: 'acme/events' });
    for (let i = 0; i < 3; i++)
      await api.dynamo.store.appendEvent(run.runId, { type: `step.${i}`, actor: 'test' });
    const whole = await api.call('GET', `/v1/runs/${run.runId}/audit`, { key: reader });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('etag')).toMatch(/.+/);
    const last = whole.json.data.events.at(-1);
    expect(whole.json.data).toMatchObject({
      run_id: run.runId,
      genesis_hash: '0'.repeat(64),
      head: { seq: 2, hash: last.hash },
    });
    expect(whole.json.data.events.map((e: { seq: number }) => e.seq)).toEqual([0, 1, 2]);
    const first = await api.call('GET', `/v1/runs/${run.runId}/audit?limit=2`, { key: reader });
    expect(first.json.data).not.toHaveProperty('head');
    expect(first.json.next_token).toEqual(expect.any(String));
    const other = await api.call('GET', `/v1/runs/${run.runId}/audit`, { key: otherWriter });
    expect(other.status).toBe(404);
  });

  it('says null when the run item records no head', async () => {
    const run = await api.seedRun({ repo: 'acme/events' });
    const answer = await api.call('GET', `/v1/runs/${run.runId}/audit`, { key: reader });
    expect(answer.json.data).toMatchObject({ head: null, events: [] });
  });
});

describe('POST /v1/runs/{id}/cancel', () => {
  it('cancels: CANCELLED, execution stopped, PR closed, waits taken, approvals superseded, audited', async () => {
    const run = await api.seedRun({
      repo: 'acme/cancel',
      status: 'AWAITING_APPROVAL',
      stage: 'approval',
      stages: [{ name: 'approval', status: 'WAITING', startedAt: '2025-01-01T00:00:00.000Z' }],
      prNumber: 5,
      headSha: 'b'.repeat(40),
    });
    api.github.pulls.set(5, {
      number: 5,
      url: 'u',
      headSha: 'b'.repeat(40),
      headRef: 'factory/1',
      baseRef: 'main',
      state: 'open',
      merged: false,
      draft: false,
    });
    await api.dynamo.store.putWait({
      kind: 'approval',
      key: run.runId,
      runId: run.runId,
      taskToken: 'token-1',
      createdAt: '2025-01-01T00:00:00.000Z',
      expiresAt: FAR_FUTURE,
    });
    await api.dynamo.store.putApproval({
      approvalId: 'appr-cancel',
      runId: run.runId,
      approver: 'alice',
      email: 'a@example.com',
      headSha: 'b'.repeat(40),
      expiresAt: FAR_FUTURE,
      state: 'PENDING',
      csrfHash: 'h',
    });

    const readOnly = await api.call('POST', `/v1/runs/${run.runId}/cancel`, { key: reader });
    expect(readOnly.status).toBe(403);

    const response = await api.call('POST', `/v1/runs/${run.runId}/cancel`, { key: writer });
    expect(response.status).toBe(200);
    expect(response.json.data).toMatchObject({ status: 'CANCELLED', error: { class: 'Cancelled' } });
    expect(response.json.data.stages[0]).toMatchObject({ status: 'FAILED' });
    expect(api.workflow.stops).toContainEqual(
      expect.objectContaining({ runId: run.runId, error: 'Cancelled' }),
    );
    expect(api.github.closed).toEqual([5]);
    expect(await api.dynamo.store.getWait('approval', run.runId)).toBeUndefined();
    expect((await api.dynamo.store.getApproval('appr-cancel'))?.state).toBe('SUPERSEDED');

    const again = await api.call('POST', `/v1/runs/${run.runId}/cancel`, { key: writer });
    expect(again.status).toBe(200);
    expect(again.json.data.status).toBe('CANCELLED');
    const events = await api.dynamo.store.listEvents(run.runId, { limit: 20 });
    expect(events.items.filter((e) => e.type === 'run.cancelled')).toHaveLength(1);
    expect(api.github.closed).toEqual([5]);
  });

  it('answers 409 on a run that already ended otherwise, 404 on a missing one', async () => {
    const done = await api.seedRun({ repo: 'acme/cancel', status: 'SUCCEEDED', issueNumber: 2 });
    const response = await api.call('POST', `/v1/runs/${done.runId}/cancel`, { key: writer });
    expect(response.status).toBe(409);
    expect((await api.dynamo.store.getRun(done.runId))?.status).toBe('SUCCEEDED');
    const missing = await api.call('POST', '/v1/runs/01JZZZZZZZZZZZZZZZZZZZZZZZ/cancel', { key: writer });
    expect(missing.status).toBe(404);
  });
});

describe('GET /v1/work-items/{owner}/{repo}/{issue}', () => {
  it('returns the WorkItem and its runs, newest first', async () => {
    const created = await api.call('POST', '/v1/runs', { key: writer, body: { repo: 'acme/wi', issue: 4 } });
    expect(created.status).toBe(201);
    const response = await api.call('GET', '/v1/work-items/acme/wi/4', { key: reader });
    expect(response.status).toBe(200);
    expect(response.json.data.work_item).toMatchObject({
      key: 'acme/wi#4',
      latest_run_id: created.json.data.id,
    });
    expect(response.json.data.runs.map((r: { id: string }) => r.id)).toEqual([created.json.data.id]);
  });

  it('404 for an unknown WorkItem, 403 for a repo outside the key', async () => {
    expect((await api.call('GET', '/v1/work-items/acme/wi/999', { key: reader })).status).toBe(404);
    expect((await api.call('GET', '/v1/work-items/other/wi/1', { key: reader })).status).toBe(403);
  });
});
