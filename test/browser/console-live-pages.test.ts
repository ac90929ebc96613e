import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminal, type Run } from '../../functions/shared/domain/run';
import { approvalLinks, approveThroughPage, DEMO_ANSWER } from '../../local/demo';
import { SAMPLE_ISSUE, SAMPLE_LABEL, SAMPLE_OWNER, SAMPLE_REPO, SAMPLE_USERS } from '../../local/forge';
import { type Stack, startStack } from '../../local/stack';
import { launchBrowser } from '../support/browser';

/**
 * The list pages (runs, costs, a work item) stay current without a reload: each asks for itself
 * again with If-None-Match (unchanged: a 304) and swaps in its live regions. Opened before the
 * run exists or while it waits, each shows what happened next in the same document.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const SAMPLE = `${SAMPLE_OWNER}/${SAMPLE_REPO}`;

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('live list pages in headless Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let context: BrowserContext;
  const navigations = new Map<Page, number>();
  const pageAnswers: Array<{ path: string; status: number }> = [];

  const open = async (path: string): Promise<Page> => {
    const page = await context.newPage();
    navigations.set(page, 0);
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations.set(page, (navigations.get(page) ?? 0) + 1);
    });
    page.on('response', (response) => {
      const url = new URL(response.url());
      if (response.request().resourceType() === 'fetch')
        pageAnswers.push({ path: url.pathname, status: response.status() });
    });
    await page.goto(`${stack.consoleUrl}${path}`);
    await page.locator('body').evaluate((body) => body.setAttribute('data-same-document', 'yes'));
    return page;
  };

  const sameDocument = async (page: Page) => {
    expect(navigations.get(page)).toBe(1);
    await expect(page.locator('body').getAttribute('data-same-document')).resolves.toBe('yes');
    expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(0);
  };

  beforeAll(async () => {
    stack = await startStack({ ciTimeoutMs: 30_000 });
    browser = await launchBrowser();
    context = await browser.newContext();
    context.setDefaultTimeout(10_000);
  }, 60_000);

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await stack?.stop();
  });

  it('shows a new run on the runs and costs pages, and a run leaving its approval wait on its work-item page, without a reload', {
    timeout: 120_000,
  }, async () => {
    const runs = await open('/');
    expect(await runs.locator('tr[data-run-id]').count()).toBe(0);
    // A question being typed in the copilot panel survives the list's updates.
    const question = runs.locator('#copilot-question');
    await question.fill('which runs failed today and why');
    const costs = await open('/costs');
    expect(await costs.locator('tr[data-run-id]').count()).toBe(0);

    await stack.forge.actions.labelIssue(
      SAMPLE_USERS.admin,
      SAMPLE_OWNER,
      SAMPLE_REPO,
      SAMPLE_ISSUE.number,
      SAMPLE_LABEL,
    );
    const run = await until(
      'the run to start',
      async () => (await stack.store.listRunsByRepo(SAMPLE, { limit: 1 })).items[0],
    );
    await until('the costs page to show the run', async () =>
      (await costs.locator(`tr[data-run-id="${run.runId}"]`).count()) > 0 ? true : undefined,
    );
    await sameDocument(costs);
    await until('the runs page to show the run', async () =>
      (await runs.locator(`tr[data-run-id="${run.runId}"]`).count()) > 0 ? true : undefined,
    );
    await sameDocument(runs);
    await expect(question.inputValue()).resolves.toBe('which runs failed today and why');

    let answered = 0;
    await until(
      'the run to wait for approval',
      async () => {
        const now = (await stack.store.getRun(run.runId)) as Run;
        if (isTerminal(now.status)) throw new Error(`the run ended ${now.status}`);
        if (now.status === 'AWAITING_CLARIFICATION') {
          const asked = (await stack.store.listEvents(run.runId, { limit: 500 })).items.filter(
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
        return now.status === 'AWAITING_APPROVAL' ? true : undefined;
      },
      60_000,
    );
    const item = await open(`/work-items/${SAMPLE}/${SAMPLE_ISSUE.number}`);
    const badge = item.locator(`tr[data-run-id="${run.runId}"] [data-status]`);
    await expect(badge.getAttribute('data-status')).resolves.toBe('AWAITING_APPROVAL');
    // Unchanged while it waits: the page's polls are answered 304.
    await until('a 304 for an unchanged work-item page', async () =>
      pageAnswers.some((a) => a.path.startsWith('/work-items/') && a.status === 304) ? true : undefined,
    );

    const link = await until('the approval link', async () =>
      (await approvalLinks(stack)).find((l) => l.includes('d=approve')),
    );
    expect(await approveThroughPage(link, 'approve')).toBeLessThan(400);
    await until('the work-item page to show the run moving on', async () => {
      const shown = await badge.getAttribute('data-status');
      return shown && shown !== 'AWAITING_APPROVAL' ? shown : undefined;
    });
    await sameDocument(item);
    expect(pageAnswers.some((a) => a.path.startsWith('/work-items/') && a.status === 200)).toBe(true);
    const timeline = await item.getByRole('table', { name: 'Work item timeline' }).textContent();
    expect(timeline).toContain('approval.decided');
  });
});
