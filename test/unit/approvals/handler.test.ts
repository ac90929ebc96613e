import { describe, expect, it } from 'vitest';
import { approvalKey, csrfHashOf, formToken, signLink } from '../../../functions/shared/approval-links';
import type { Run } from '../../../functions/shared/domain/run';
import { NoApprovers, requestApproval } from '../../../functions/stages/approval';
import type { FakeStore } from '../../support/fake-store';
import {
  approvalEvent,
  formOf,
  HEAD_SHA,
  invoker,
  linksOf,
  makeWorld,
  NEW_HEAD_SHA,
  reviewedRun,
  runContract,
  SIGNING_KEY,
  TASK_TOKEN,
} from './support';

/** One character changed, always to a different one. */
const tamper = (token: string): string =>
  `${token.slice(0, 5)}${token[5] === 'A' ? 'B' : 'A'}${token.slice(6)}`;

async function waitingRun(options: { contract?: ReturnType<typeof runContract>; run?: Partial<Run> } = {}) {
  const world = makeWorld();
  const store = world.store as FakeStore;
  const run = reviewedRun(options.run, options.contract);
  await store.createRun(run);
  world.workflow.liveTokens.add(TASK_TOKEN);
  await requestApproval(world.stagePorts, run.runId, TASK_TOKEN);
  const invoke = invoker(world.approvalsPorts);
  const links = (login: string) => {
    const message = world.mailer.sent.find((m) => m.to[0] === `${login}@example.test`);
    if (!message) throw new Error(`no email for ${login}`);
    return linksOf(message);
  };
  const idOf = (url: URL) => decodeURIComponent(url.pathname.split('/').at(-1) ?? '');
  const open = (url: URL, method = 'GET', userAgent = 'TestBrowser/1.0') =>
    invoke(
      approvalEvent(method, idOf(url), {
        query: Object.fromEntries(url.searchParams),
        headers: { 'user-agent': userAgent },
      }),
    );
  /** Opens the link and submits the form for `decision` (with optional field overrides). */
  const decide = async (
    url: URL,
    decision: 'approve' | 'reject',
    overrides: Record<string, string> = {},
    extra = '',
  ) => {
    const pageResult = await open(url);
    expect(pageResult.statusCode).toBe(200);
    const { fields } = formOf(pageResult.body, decision);
    const body = new URLSearchParams({ ...fields, comment: '', ...overrides }).toString() + extra;
    return invoke(approvalEvent('POST', idOf(url), { body }));
  };
  const refusals = async () =>
    (await store.listEvents(run.runId, { limit: 100 })).items
      .filter((e) => e.type === 'approval.refused')
      .map((e) => e.data?.reason);
  return { world, store, run, invoke, links, idOf, open, decide, refusals };
}

describe('approval stage', () => {
  it('stores the wait, one record per approver, marks the PR ready and emails personal links', async () => {
    const { world, store, run, links } = await waitingRun({
      contract: runContract({ riskyPermissions: ['dependency manifests may change'] }),
    });
    expect(world.github.readied).toEqual([12]);
    const updated = await store.getRun(run.runId);
    expect(updated).toMatchObject({ status: 'AWAITING_APPROVAL', stage: 'approval' });
    const wait = await store.getWait('approval', run.runId);
    expect(wait).toMatchObject({ runId: run.runId, taskToken: TASK_TOKEN });
    const records = [...store.approvals.values()];
    expect(records.map((r) => [r.approver, r.state, r.headSha])).toEqual([
      ['alice', 'PENDING', HEAD_SHA],
      ['bob', 'PENDING', HEAD_SHA],
    ]);
    expect(records[0]?.expiresAt).toBe(Math.floor(world.clock.now() / 1000) + 86_400);
    expect(world.mailer.sent.map((m) => m.to)).toEqual([['alice@example.test'], ['bob@example.test']]);
    expect(links('alice').approve.searchParams.get('d')).toBe('approve');
    expect(links('alice').approve.searchParams.get('t')).not.toBe(links('bob').approve.searchParams.get('t'));
    expect(world.mailer.sent[0]?.text).toContain('!!! WARNING');
    const events = (await store.listEvents(run.runId, { limit: 10 })).items;
    expect(events.map((e) => e.type)).toEqual(['approval.requested']);
    // The task token never leaves the wait item.
    const everything = JSON.stringify([world.mailer.sent, records, events, world.github.comments]);
    expect(everything).not.toContain(TASK_TOKEN);
  });

  it('falls back to the deployment approvers, and fails with NoApprovers when there are none', async () => {
    const world = makeWorld();
    const run = reviewedRun({}, runContract({ approvers: [] }));
    await world.store.createRun(run);
    await expect(requestApproval(world.stagePorts, run.runId, TASK_TOKEN)).rejects.toBeInstanceOf(
      NoApprovers,
    );
    world.stagePorts.settings.defaultApprovers = [{ login: 'dora', email: 'dora@example.test' }];
    await requestApproval(world.stagePorts, run.runId, TASK_TOKEN);
    expect(world.mailer.sent.map((m) => m.to[0])).toEqual(['dora@example.test']);
  });

  it('a retried invocation supersedes the earlier links', async () => {
    const { world, store, run, links, open } = await waitingRun();
    const first = links('alice').approve;
    world.mailer.sent.length = 0;
    await requestApproval(world.stagePorts, run.runId, `${TASK_TOKEN}-2`);
    expect([...store.approvals.values()].map((r) => r.state)).toEqual([
      'SUPERSEDED',
      'SUPERSEDED',
      'PENDING',
      'PENDING',
    ]);
    expect((await open(first)).statusCode).toBe(409);
    expect((await open(links('alice').approve)).statusCode).toBe(200);
  });

  it('one unreachable approver does not stop the others', async () => {
    const world = makeWorld();
    world.mailer.failFor.add('bob@example.test');
    const run = reviewedRun();
    await world.store.createRun(run);
    await requestApproval(world.stagePorts, run.runId, TASK_TOKEN);
    expect(world.mailer.sent.map((m) => m.to[0])).toEqual(['alice@example.test']);
    const events = (await world.store.listEvents(run.runId, { limit: 10 })).items;
    expect(events[0]?.data).toMatchObject({ emailFailed: ['bob'] });
  });
});

describe('GET and HEAD change nothing', () => {
  it('renders the confirmation page with the security headers and no writes', async () => {
    const { store, links, open, world } = await waitingRun();
    const writesBefore = store.writes.length;
    const result = await open(links('alice').reject);
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy':
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
      'cache-control': 'no-store',
      'referrer-policy': 'same-origin',
      'x-frame-options': 'DENY',
    });
    expect(result.body).toContain('Confirm your decision');
    expect(result.body.indexOf('class="reject"')).toBeLessThan(result.body.indexOf('class="approve"'));
    expect(result.body).not.toContain(TASK_TOKEN);
    const head = await open(links('alice').approve, 'HEAD');
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    expect(store.writes.length).toBe(writesBefore);
    expect(world.workflow.calls).toBe(0);
  });

  it('refusals on GET are pages with 4xx and still write nothing', async () => {
    const { store, links, open, idOf, invoke } = await waitingRun();
    const writesBefore = store.writes.length;
    const url = links('alice').approve;
    const tampered = new URL(url);
    tampered.searchParams.set('t', tamper(url.searchParams.get('t') ?? ''));
    expect((await open(tampered)).statusCode).toBe(403);
    expect((await invoke(approvalEvent('GET', idOf(url)))).statusCode).toBe(403);
    expect((await invoke(approvalEvent('GET', 'not-an-id'))).statusCode).toBe(404);
    expect(
      (await invoke(approvalEvent('GET', 'a'.repeat(22), { query: { t: 'b'.repeat(43) } }))).statusCode,
    ).toBe(404);
    expect(store.writes.length).toBe(writesBefore);
  });
});

describe('POST decides once', () => {
  it('approve: records, answers the token once, supersedes the others, audits and comments', async () => {
    const { world, store, run, links, decide } = await waitingRun();
    const result = await decide(links('alice').approve, 'approve', { comment: 'LGTM <b>ship</b>' });
    expect(result.statusCode).toBe(200);
    expect(result.body).toContain('<h1>Approved</h1>');
    expect(result.body).toContain('LGTM &lt;b&gt;ship&lt;/b&gt;');
    expect(world.workflow.successes).toEqual([
      { token: TASK_TOKEN, output: { decision: 'approve', approver: 'alice' } },
    ]);
    expect(world.workflow.failures).toEqual([]);
    expect(await store.getRun(run.runId)).toMatchObject({ approvedSha: HEAD_SHA, approvedBy: 'alice' });
    expect(await store.getWait('approval', run.runId)).toBeUndefined();
    const states = Object.fromEntries([...store.approvals.values()].map((r) => [r.approver, r.state]));
    expect(states).toEqual({ alice: 'APPROVED', bob: 'SUPERSEDED' });
    const decided = (await store.listEvents(run.runId, { limit: 10 })).items.find(
      (e) => e.type === 'approval.decided',
    );
    expect(decided).toMatchObject({
      actor: 'alice',
      data: {
        approver: 'alice',
        decision: 'approve',
        comment: 'LGTM <b>ship</b>',
        userAgent: 'TestBrowser/1.0',
      },
    });
    const decisionComments = world.github.comments.filter((c) => c.body.includes('approved commit'));
    expect(decisionComments.map((c) => c.number).sort()).toEqual([12, 7]);
    expect(decisionComments[0]?.body).toContain('@alice approved commit `a1b2c3d`');
    // Fenced, so the approver's words render as text (no HTML, images or @mentions).
    expect(decisionComments[0]?.body).toContain('```text\nLGTM <b>ship</b>\n```');
    expect(JSON.stringify([result, [...store.approvals.values()]])).not.toContain(TASK_TOKEN);
  });

  it('reject: the reason is shown on the run and the token fails with Rejected', async () => {
    const { world, store, run, links, decide } = await waitingRun();
    const result = await decide(links('bob').reject, 'reject', { comment: 'Wrong approach' });
    expect(result.statusCode).toBe(200);
    expect(world.workflow.failures).toEqual([
      { token: TASK_TOKEN, error: 'Rejected', cause: 'Wrong approach' },
    ]);
    expect(world.workflow.successes).toEqual([]);
    expect((await store.getRun(run.runId))?.error).toEqual({ class: 'Rejected', cause: 'Wrong approach' });
    expect((await store.getRun(run.runId))?.approvedSha).toBeUndefined();
  });

  it('the link decision is only a default: the approve link can submit the reject form', async () => {
    const { world, links, decide } = await waitingRun();
    const result = await decide(links('alice').approve, 'reject');
    expect(result.statusCode).toBe(200);
    expect(world.workflow.failures).toEqual([
      { token: TASK_TOKEN, error: 'Rejected', cause: 'rejected by alice' },
    ]);
  });

  it('10 concurrent POSTs of the same form answer the token exactly once', async () => {
    const { world, links, open, idOf, invoke } = await waitingRun();
    const url = links('alice').approve;
    const { fields } = formOf((await open(url)).body, 'approve');
    const body = new URLSearchParams(fields).toString();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => invoke(approvalEvent('POST', idOf(url), { body }))),
    );
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(results.filter((r) => r.statusCode === 409)).toHaveLength(9);
    expect(world.workflow.successes).toHaveLength(1);
  });

  it('alice and bob deciding at once: one decision wins, the other is refused', async () => {
    const { world, links, decide } = await waitingRun();
    const [a, b] = await Promise.all([
      decide(links('alice').approve, 'approve'),
      decide(links('bob').reject, 'reject'),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
    expect(world.workflow.calls).toBe(1);
  });
});

describe('refusals: 4xx page, audited, no task-token call', () => {
  const cases: Array<{
    name: string;
    status: number;
    reason: string;
    act: (s: Awaited<ReturnType<typeof waitingRun>>) => Promise<{ statusCode: number; body: string }>;
  }> = [
    {
      name: 'tampered link token',
      status: 403,
      reason: 'bad-link-token',
      act: (s) => {
        const url = s.links('alice').approve;
        return s.decide(url, 'approve', { t: tamper(url.searchParams.get('t') ?? '') });
      },
    },
    {
      name: 'expired link',
      status: 410,
      reason: 'expired',
      act: async (s) => {
        const url = s.links('alice').approve;
        const { fields } = formOf((await s.open(url)).body, 'approve');
        s.world.clock.advance(86_401_000);
        return s.invoke(approvalEvent('POST', s.idOf(url), { body: new URLSearchParams(fields).toString() }));
      },
    },
    {
      name: 'replayed POST',
      status: 409,
      reason: 'already-decided',
      act: async (s) => {
        const url = s.links('alice').approve;
        const { fields } = formOf((await s.open(url)).body, 'approve');
        const body = new URLSearchParams(fields).toString();
        expect((await s.invoke(approvalEvent('POST', s.idOf(url), { body }))).statusCode).toBe(200);
        s.world.workflow.successes.length = 0;
        return s.invoke(approvalEvent('POST', s.idOf(url), { body }));
      },
    },
    {
      name: 'the other decision swapped into a form',
      status: 403,
      reason: 'decision-swapped',
      act: (s) => s.decide(s.links('alice').reject, 'reject', { decision: 'approve' }),
    },
    {
      name: 'a decision outside approve|reject',
      status: 400,
      reason: 'bad-decision',
      act: (s) => s.decide(s.links('alice').approve, 'approve', { decision: 'APPROVE' }),
    },
    {
      name: 'two decisions in one POST',
      status: 400,
      reason: 'bad-decision',
      act: (s) => s.decide(s.links('alice').reject, 'reject', {}, '&decision=approve'),
    },
    {
      name: 'a missing anti-CSRF token',
      status: 403,
      reason: 'csrf-mismatch',
      act: (s) => s.decide(s.links('alice').approve, 'approve', { csrf: '' }),
    },
    {
      name: "another approver's link token on this approval",
      status: 403,
      reason: 'bad-link-token',
      act: (s) =>
        s.decide(s.links('alice').approve, 'approve', {
          t: s.links('bob').approve.searchParams.get('t') ?? '',
        }),
    },
    {
      name: 'a new push: the PR head is no longer the approved head',
      status: 409,
      reason: 'stale-head',
      act: async (s) => {
        const url = s.links('alice').approve;
        const { fields } = formOf((await s.open(url)).body, 'approve');
        s.world.github.head = NEW_HEAD_SHA;
        return s.invoke(approvalEvent('POST', s.idOf(url), { body: new URLSearchParams(fields).toString() }));
      },
    },
    {
      name: 'a run no longer waiting (cancelled)',
      status: 409,
      reason: 'run-not-waiting',
      act: async (s) => {
        const url = s.links('alice').approve;
        const { fields } = formOf((await s.open(url)).body, 'approve');
        const run = (await s.store.getRun(s.run.runId)) as Run;
        await s.store.updateRun(run.runId, run.version, { status: 'CANCELLED' });
        return s.invoke(approvalEvent('POST', s.idOf(url), { body: new URLSearchParams(fields).toString() }));
      },
    },
    {
      name: 'a run whose wait is gone (timed out)',
      status: 409,
      reason: 'run-not-waiting',
      act: async (s) => {
        const url = s.links('alice').approve;
        const { fields } = formOf((await s.open(url)).body, 'approve');
        await s.store.takeWait('approval', s.run.runId);
        return s.invoke(approvalEvent('POST', s.idOf(url), { body: new URLSearchParams(fields).toString() }));
      },
    },
    {
      name: 'decided by someone else first',
      status: 409,
      reason: 'superseded',
      act: async (s) => {
        const url = s.links('alice').approve;
        const { fields } = formOf((await s.open(url)).body, 'approve');
        expect((await s.decide(s.links('bob').approve, 'approve')).statusCode).toBe(200);
        s.world.workflow.successes.length = 0;
        return s.invoke(approvalEvent('POST', s.idOf(url), { body: new URLSearchParams(fields).toString() }));
      },
    },
    {
      name: 'an approver not in the list',
      status: 403,
      reason: 'approver-not-listed',
      act: async (s) => {
        const key = approvalKey(SIGNING_KEY);
        const approvalId = 'carolcarolcarolcarol00';
        const claims = {
          approvalId,
          runId: s.run.runId,
          approver: 'carol',
          headSha: HEAD_SHA,
          expiresAt: 1_900_000_000,
        };
        const t = signLink(key, claims);
        await s.world.store.putApproval({
          ...claims,
          email: 'carol@example.test',
          state: 'PENDING',
          csrfHash: csrfHashOf(key, approvalId, t),
        });
        const body = new URLSearchParams({
          t,
          decision: 'approve',
          csrf: formToken(key, approvalId, t, 'approve'),
        });
        return s.invoke(approvalEvent('POST', approvalId, { body: body.toString() }));
      },
    },
  ];

  it.each(cases)('$name → $status', async ({ status, reason, act }) => {
    const s = await waitingRun();
    const result = await act(s);
    expect(result.statusCode).toBe(status);
    expect(result.body).toContain('Nothing was changed');
    expect(s.world.workflow.calls).toBe(0);
    expect(await s.refusals()).toContain(reason);
  });

  it("another run's link (same approver) is refused", async () => {
    const a = await waitingRun();
    const b = await waitingRun();
    const foreignToken = b.links('alice').approve.searchParams.get('t') ?? '';
    const result = await a.decide(a.links('alice').approve, 'approve', { t: foreignToken });
    expect(result.statusCode).toBe(403);
    expect(a.world.workflow.calls + b.world.workflow.calls).toBe(0);
    expect(await a.refusals()).toEqual(['bad-link-token']);
  });

  it('non-form bodies, other methods and unknown ids are refused before any decision', async () => {
    const s = await waitingRun();
    const id = s.idOf(s.links('alice').approve);
    const json = await s.invoke(
      approvalEvent('POST', id, { body: '{}', headers: { 'content-type': 'application/json' } }),
    );
    expect(json.statusCode).toBe(415);
    expect((await s.invoke(approvalEvent('PUT', id, { body: 'x' }))).statusCode).toBe(405);
    expect((await s.invoke(approvalEvent('POST', 'z'.repeat(22), { body: 't=x' }))).statusCode).toBe(404);
    expect(
      (await s.invoke(approvalEvent('POST', id, { body: `comment=${'x'.repeat(40_000)}` }))).statusCode,
    ).toBe(413);
    expect(s.world.workflow.calls).toBe(0);
  });
});
