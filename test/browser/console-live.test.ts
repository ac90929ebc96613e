import { get as httpGet } from 'node:http';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costOfRun } from '../../functions/shared/domain/infra-cost';
import { isTerminal, type Run } from '../../functions/shared/domain/run';
import { formatUsd } from '../../local/console/html';
import { approvalLinks, approveThroughPage, DEMO_ANSWER } from '../../local/demo';
import { SAMPLE_ISSUE, SAMPLE_LABEL, SAMPLE_OWNER, SAMPLE_REPO, SAMPLE_USERS } from '../../local/forge';
import { type Stack, startStack } from '../../local/stack';
import { launchBrowser } from '../support/browser';

/**
 * The run page as a person watches it: opened once while the run has just started, it follows
 * the run to SUCCEEDED without a reload, by polling the API (through the console's read-only
 * proxy) with ETags and asking the events endpoint only for what is new.
 */

const RUN_WAIT_MS = 60_000;
const POLL_MS = 200;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (bounded) until the page's poll count holds still for longer than its poll interval. */
async function pollingStopped(page: Page): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last = await page.locator('[data-live-run]').getAttribute('data-polls');
  while (Date.now() < deadline) {
    await sleep(3_000);
    const now = await page.locator('[data-live-run]').getAttribute('data-polls');
    if (now === last) return;
    last = now;
  }
  throw new Error('the run page never stopped polling');
}

describe('live run page in headless Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let runId = '';
  const navigations: string[] = [];
  const apiAnswers: Array<{ path: string; status: number }> = [];

  beforeAll(async () => {
    stack = await startStack({ ciTimeoutMs: 30_000 });
    browser = await launchBrowser();
    context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations.push(frame.url());
    });
    page.on('response', (response) => {
      const url = new URL(response.url());
      if (url.pathname.startsWith('/api/'))
        apiAnswers.push({ path: `${url.pathname}${url.search}`, status: response.status() });
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await stack?.stop();
  });

  it('updates from the first status to SUCCEEDED without a reload', {
    timeout: RUN_WAIT_MS + 30_000,
  }, async () => {
    await stack.forge.actions.labelIssue(
      SAMPLE_USERS.admin,
      SAMPLE_OWNER,
      SAMPLE_REPO,
      SAMPLE_ISSUE.number,
      SAMPLE_LABEL,
    );
    const deadline = Date.now() + RUN_WAIT_MS;
    let run: Run | undefined;
    while (!run && Date.now() < deadline) {
      run = (await stack.store.listRunsByRepo(`${SAMPLE_OWNER}/${SAMPLE_REPO}`, { limit: 1 })).items[0];
      if (!run) await sleep(50);
    }
    expect(run, 'the label started no run').toBeDefined();
    runId = run?.runId ?? '';

    await page.goto(`${stack.consoleUrl}/runs/${runId}`);
    const badge = page.locator('h1 [data-live="status"]');
    const first = await badge.getAttribute('data-status');
    expect(isTerminal((first ?? 'SUCCEEDED') as Run['status']), `the page opened on ${first}`).toBe(false);
    expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(0);
    const loadedAt = navigations.length;
    await page.locator('body').evaluate((body) => body.setAttribute('data-same-document', 'yes'));

    // Drive the run as the demo does: answer the plan's questions, approve through the email link.
    const seen = new Set<string>([first ?? '']);
    let answered = 0;
    let approved = false;
    while (Date.now() < deadline) {
      run = (await stack.store.getRun(runId)) as Run;
      seen.add((await badge.getAttribute('data-status')) ?? '');
      if (isTerminal(run.status)) break;
      if (run.status === 'AWAITING_CLARIFICATION') {
        const asked = (await stack.store.listEvents(runId, { limit: 500 })).items.filter(
          (e) => e.type === 'clarify.asked',
        ).length;
        if (asked > answered) {
          await stack.forge.actions.comment(
            SAMPLE_ISSUE.author,
            SAMPLE_OWNER,
            SAMPLE_REPO,
            SAMPLE_ISSUE.number,
            DEMO_ANSWER,
          );
          answered = asked;
        }
      }
      if (run.status === 'AWAITING_APPROVAL' && !approved) {
        const link = (await approvalLinks(stack)).find((l) => l.includes('d=approve'));
        if (link) approved = (await approveThroughPage(link, 'approve')) < 400;
      }
      await sleep(POLL_MS);
    }
    expect(run?.status).toBe('SUCCEEDED');

    // The page catches up on its own (within a few of its polls).
    const shownBy = Date.now() + 15_000;
    while ((await badge.getAttribute('data-status')) !== 'SUCCEEDED' && Date.now() < shownBy) {
      seen.add((await badge.getAttribute('data-status')) ?? '');
      await sleep(POLL_MS);
    }
    seen.add('SUCCEEDED');
    // The same document all along: no navigation, the marker set after load is still there.
    expect(navigations.length).toBe(loadedAt);
    await expect(page.locator('body').getAttribute('data-same-document')).resolves.toBe('yes');
    expect(seen.size).toBeGreaterThanOrEqual(2);
    await expect(badge.textContent()).resolves.toBe('SUCCEEDED');
    await expect(page.locator('[data-live="status"]').nth(1).getAttribute('data-status')).resolves.toBe(
      'SUCCEEDED',
    );

    // The page keeps polling briefly after the end, for the events that settle the run; then it stops.
    await pollingStopped(page);
    // The timeline holds every event exactly once, in order: new ones were appended, none re-read.
    const stored = (await stack.store.listEvents(runId, { limit: 500 })).items.map((e) => e.seq);
    const shown = (await page.locator('[data-live="events"] tr td:first-child').allInnerTexts()).map(Number);
    expect(shown).toEqual(stored);
    const eventCalls = apiAnswers.filter((a) => a.path.includes('/events'));
    expect(eventCalls.length).toBeGreaterThan(0);
    // Only a page that opened before the run's first event reads once from the start; every other
    // read asks for what follows the last event shown.
    const fromStart = eventCalls.filter((a) => !/[?&]after=\d+/.test(a.path));
    expect(fromStart.length).toBeLessThanOrEqual(1);
    if (fromStart.length === 1) expect(eventCalls[0]).toBe(fromStart[0]);
    expect(eventCalls.some((a) => !a.path.includes('after=0'))).toBe(true);

    // Costs updated in place: the model cost shown is the ledger's, the infra cost is not zero.
    const done = (await stack.store.getRun(runId)) as Run;
    const modelShown = await page.locator('[data-live="model-cost"]').first().textContent();
    expect(modelShown).toBe(`$${done.ledger.costUsd.toFixed(done.ledger.costUsd < 1 ? 4 : 2)}`);
    const infraShown = Number(
      (await page.locator('[data-live="infra-cost"]').first().textContent())?.slice(1),
    );
    expect(infraShown).toBeGreaterThan(0);
  });

  it('stops polling once the run has ended (no idle compute)', async () => {
    const polls = await page.locator('[data-live-run]').getAttribute('data-polls');
    const before = apiAnswers.length;
    await sleep(6_000);
    await expect(page.locator('[data-live-run]').getAttribute('data-polls')).resolves.toBe(polls);
    expect(apiAnswers.length).toBe(before);
  });

  it('shows the finished run on the costs page with its model and infra cost', async () => {
    const done = (await stack.store.getRun(runId)) as Run;
    const cost = costOfRun(done);
    await page.getByRole('link', { name: 'Costs' }).click();
    expect(new URL(page.url()).pathname).toBe('/costs');
    const row = page.getByRole('table', { name: 'Run costs' }).locator(`tr[data-run-id="${runId}"]`);
    await expect(row.locator('[data-cost="model"]').textContent()).resolves.toBe(
      formatUsd(done.ledger.costUsd),
    );
    await expect(row.locator('[data-cost="infra"]').textContent()).resolves.toBe(formatUsd(cost.infraUsd));
    expect(cost.infraUsd).toBeGreaterThan(0);
    expect(done.ledger.costUsd).toBeGreaterThan(0);
    await expect(row.textContent()).resolves.toContain(done.mergedSha ? 'merged' : 'not merged');
    const all = page.getByRole('table', { name: 'Spend' }).locator('tbody tr').first();
    const cells = await all.locator('td').allInnerTexts();
    expect(Number(cells[0])).toBeGreaterThanOrEqual(1);
    expect(cells[1]).toMatch(/^\$\d+\.\d{2,4}$/);
  });

  it('shows the work item: every run with kind, PR, checks, approvals, merge commit, cost, and the timeline', async () => {
    const done = (await stack.store.getRun(runId)) as Run;
    await page.goto(`${stack.consoleUrl}/runs/${runId}`);
    await page.getByRole('link', { name: 'all runs', exact: true }).click();
    expect(new URL(page.url()).pathname).toBe(
      `/work-items/${SAMPLE_OWNER}/${SAMPLE_REPO}/${SAMPLE_ISSUE.number}`,
    );
    const row = page.getByRole('table', { name: 'Work item runs' }).locator(`tr[data-run-id="${runId}"]`);
    await expect(row.locator('[data-field="kind"]').textContent()).resolves.toBe(done.kind);
    await expect(row.locator('[data-field="pr"] a').getAttribute('href')).resolves.toBe(done.prUrl);
    await expect(row.locator('[data-field="checks"]').textContent()).resolves.toBe(done.checksConclusion);
    const approvals = await stack.store.listApprovalsForRun(runId);
    expect(approvals.length).toBeGreaterThan(0);
    await expect(row.locator('[data-field="approvals"]').textContent()).resolves.toContain(
      `${approvals[0]?.approver}: APPROVED`,
    );
    await expect(row.locator('[data-field="merge"] code').getAttribute('title')).resolves.toBe(
      done.mergedSha,
    );
    await expect(row.locator('[data-field="cost"]').textContent()).resolves.toContain(
      `infra ${formatUsd(costOfRun(done).infraUsd)}`,
    );
    const events = await stack.store.listEvents(runId, { limit: 500 });
    await expect(
      page
        .getByRole('table', { name: 'Work item timeline' })
        .locator(`tbody tr[data-run-id="${runId}"]`)
        .count(),
    ).resolves.toBe(events.items.length);
    const missing = await fetch(`${stack.consoleUrl}/work-items/${SAMPLE_OWNER}/${SAMPLE_REPO}/999`);
    expect(missing.status).toBe(404);
  });

  it('answers an unchanged run with 304 and events after a seq with only the newer ones', async () => {
    const base = `${stack.consoleUrl}/api/v1/runs/${runId}`;
    const first = await fetch(base);
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag') ?? '';
    expect(etag).toMatch(/^"[^"]+"$/);
    const again = await fetch(base, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    const body = (await first.json()) as { data: { cost: { model_usd: number; infra_usd: number } } };
    expect(body.data.cost.infra_usd).toBeGreaterThan(0);

    const all = ((await (await fetch(`${base}/events?limit=100`)).json()) as { data: Array<{ seq: number }> })
      .data;
    expect(all.length).toBeGreaterThan(3);
    const cut = all[all.length - 3]?.seq ?? 0;
    const newer = (
      (await (await fetch(`${base}/events?after=${cut}`)).json()) as { data: Array<{ seq: number }> }
    ).data;
    expect(newer.map((e) => e.seq)).toEqual(all.slice(-2).map((e) => e.seq));
    const none = (
      (await (await fetch(`${base}/events?after=${all.at(-1)?.seq}`)).json()) as { data: unknown[] }
    ).data;
    expect(none).toEqual([]);

    // A rebound DNS name (another site's page) is refused.
    const rebound = await new Promise<number>((resolve, reject) => {
      const target = new URL(base);
      const req = httpGet(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          headers: { host: 'evil.example:80' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
    });
    expect(rebound).toBe(403);
    // The proxy reaches nothing else of the API, and the browser never holds the key.
    expect((await fetch(`${stack.consoleUrl}/api/v1/runs`)).status).toBe(404);
    // An action (the copilot panel's confirmed proposals) only from the console's own page: a bare
    // POST, with no Origin and no JSON, is refused before the API is asked.
    expect((await fetch(`${base}/cancel`, { method: 'POST' })).status).toBe(403);
    expect((await fetch(`${base}/events`, { method: 'POST' })).status).toBe(405);
    const script = await (await fetch(`${stack.consoleUrl}/console.js`)).text();
    const html = await (await fetch(`${stack.consoleUrl}/runs/${runId}`)).text();
    expect(`${script}${html}`).not.toMatch(/cf_[A-Za-z0-9_-]{20,}/);
  });
});
