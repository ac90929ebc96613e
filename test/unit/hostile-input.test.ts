import { describe, expect, it } from 'vitest';
import { requestApproval } from '../../functions/stages/approval';
import type { FakeStore } from '../support/fake-store';
import {
  approvalEvent,
  BASE_URL,
  formOf,
  invoker,
  linksOf,
  makeWorld,
  reviewedRun,
  TASK_TOKEN,
} from './approvals/support';

// Issue 22 ("Hardening"): the bypasses an attacker tried, one place. Each case fails if its fix is
// reverted. Focused tests of the same code live beside it (test/unit/approvals, test/unit/domain).

describe('approval POSTs from another origin', () => {
  /** A run waiting for approval, and alice's approve form as her confirmation page renders it. */
  async function alicesForm() {
    const world = makeWorld();
    const store = world.store as FakeStore;
    const run = reviewedRun();
    await store.createRun(run);
    world.workflow.liveTokens.add(TASK_TOKEN);
    await requestApproval(world.stagePorts, run.runId, TASK_TOKEN);
    const message = world.mailer.sent.find((m) => m.to[0] === 'alice@example.test');
    if (!message) throw new Error('no email for alice');
    const url = linksOf(message).approve;
    const id = decodeURIComponent(url.pathname.split('/').at(-1) ?? '');
    const invoke = invoker(world.approvalsPorts);
    const page = await invoke(approvalEvent('GET', id, { query: Object.fromEntries(url.searchParams) }));
    const body = new URLSearchParams(formOf(page.body, 'approve').fields).toString();
    const post = (headers: Record<string, string>) =>
      invoke(approvalEvent('POST', id, { body, headers: { 'user-agent': 'TestBrowser/1.0', ...headers } }));
    const stillWaiting = async () =>
      (await store.getWait('approval', run.runId)) !== undefined &&
      (await store.getRun(run.runId))?.status === 'AWAITING_APPROVAL' &&
      world.workflow.calls === 0;
    const refusals = async () =>
      (await store.listEvents(run.runId, { limit: 50 })).items.filter((e) => e.type === 'approval.refused');
    return { world, post, stillWaiting, refusals };
  }

  const foreign: Array<[string, Record<string, string>]> = [
    ['another site', { origin: 'https://evil.example' }],
    ['a typed or bookmarked POST (Sec-Fetch-Site: none)', { 'sec-fetch-site': 'none' }],
    ['a look-alike host', { origin: 'https://factory.example.test.evil.example' }],
    ['another scheme', { origin: 'http://factory.example.test' }],
    ['another port', { origin: 'https://factory.example.test:8443' }],
    ['a sandboxed frame (Origin: null)', { origin: 'null' }],
    ['Sec-Fetch-Site: cross-site alone', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site (a sibling API)', { 'sec-fetch-site': 'same-site' }],
    ['Origin right but Sec-Fetch-Site cross-site', { origin: BASE_URL, 'sec-fetch-site': 'cross-site' }],
    [
      'Sec-Fetch-Site same-origin but a foreign Origin',
      { origin: 'https://evil.example', 'sec-fetch-site': 'same-origin' },
    ],
    ['two Origin headers joined', { origin: `${BASE_URL},https://evil.example` }],
  ];

  for (const [name, headers] of foreign) {
    it(`refuses a valid form posted from ${name}; the run keeps waiting`, async () => {
      const { post, stillWaiting, refusals } = await alicesForm();
      const result = await post(headers);
      expect(result.statusCode).toBe(403);
      expect(result.body).toContain('Decision from another site');
      expect(result.body).toContain('not sent from the approval page itself');
      expect(await stillWaiting()).toBe(true);
      const audited = await refusals();
      expect(audited.map((e) => e.data?.reason)).toEqual(['cross-origin']);
    });
  }

  it('the same form from the page’s own origin decides', async () => {
    const { world, post } = await alicesForm();
    const result = await post({ origin: BASE_URL, 'sec-fetch-site': 'same-origin' });
    expect(result.statusCode).toBe(200);
    expect(result.body).toContain('<h1>Approved</h1>');
    expect(world.workflow.successes).toHaveLength(1);
  });

  it('a browser that withholds its origin (Origin: null) but vouches same-origin decides', async () => {
    const { world, post } = await alicesForm();
    expect((await post({ origin: 'null', 'sec-fetch-site': 'same-origin' })).statusCode).toBe(200);
    expect(world.workflow.successes).toHaveLength(1);
  });

  it('a client that sends neither header is judged by the tokens alone', async () => {
    const { world, post } = await alicesForm();
    expect((await post({})).statusCode).toBe(200);
    expect(world.workflow.successes).toHaveLength(1);
  });

  it('pages cannot be framed, and the page’s own POST keeps its Origin', async () => {
    const { post } = await alicesForm();
    const result = await post({ origin: BASE_URL });
    expect(result.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    // `no-referrer` would make browsers send `Origin: null` on the page's own form.
    expect(result.headers['referrer-policy']).toBe('same-origin');
  });
});
