import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminal } from '../../functions/shared/domain/run';
import { type Stack, startStack } from '../../local/stack';
import { launchBrowser } from '../support/browser';
import { type SeededRuns, seedRunHistory } from '../support/copilot-seed';
import { eventually } from '../support/e2e';

/**
 * Issue 21, Done when: the console's copilot panel answers "which runs failed today and why" on
 * seeded data (the stand-in model answers from the read tools alone) and offers a retry button
 * that, clicked, starts a run, through the console's API proxy and the normal retry endpoint.
 */

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let seeded: SeededRuns;
const apiCalls: Array<{ method: string; path: string; status: number }> = [];

beforeAll(async () => {
  stack = await startStack({ ciTimeoutMs: 30_000 });
  seeded = await seedRunHistory(stack.store);
  browser = await launchBrowser();
  context = await browser.newContext();
  context.setDefaultTimeout(15_000);
  page = await context.newPage();
  page.on('response', (response) => {
    const url = new URL(response.url());
    if (url.pathname.startsWith('/api/'))
      apiCalls.push({ method: response.request().method(), path: url.pathname, status: response.status() });
  });
}, 60_000);

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await stack?.stop();
});

describe('the copilot panel in headless Chromium', () => {
  it('answers "which runs failed today and why" and its retry button starts a run', {
    timeout: 90_000,
  }, async () => {
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(stack.consoleUrl);
    await page.fill('#copilot-question', 'which runs failed today and why');
    await page.click('#copilot-ask');
    const panel = page.locator('[data-copilot]');
    await expect
      .poll(() => panel.getAttribute('data-copilot-status'), { timeout: 60_000, interval: 250 })
      .toBe('ANSWERED');

    // The answer names both runs that failed today with their causes, and not the others.
    const answer = (await page.locator('[data-copilot-part="answer"]').textContent()) ?? '';
    expect(answer).toContain(seeded.failedChecks.runId);
    expect(answer).toContain('ChecksFailed');
    expect(answer).toContain(seeded.failedPlanted.runId);
    expect(answer).toContain('ContractInvalid');
    expect(answer).not.toContain(seeded.succeeded.runId);
    expect(answer).not.toContain(seeded.running.runId);

    // One retry button per failed work item; nothing has run yet.
    const retry = page.locator(`button[data-proposal="retry"][data-target="${seeded.failedChecks.runId}"]`);
    await expect.poll(() => retry.count()).toBe(1);
    const proposals = await page
      .locator('button[data-proposal]')
      .evaluateAll((buttons) =>
        buttons.map((b) => `${b.getAttribute('data-proposal')} ${b.getAttribute('data-target')}`),
      );
    expect(proposals.sort()).toEqual(
      [`retry ${seeded.failedChecks.runId}`, `retry ${seeded.failedPlanted.runId}`].sort(),
    );
    expect((await stack.store.listRecentRuns({ limit: 50 })).items).toHaveLength(4);
    expect(apiCalls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual(['/api/v1/asks']);

    // The click is the confirmation: the retry goes to the normal endpoint and starts a run.
    await retry.click();
    const started = page.locator('[data-started-run]');
    await expect.poll(() => started.count(), { timeout: 15_000 }).toBe(1);
    const newRunId = (await started.getAttribute('data-started-run')) ?? '';
    expect(newRunId).not.toBe(seeded.failedChecks.runId);
    expect(apiCalls.filter((c) => c.method === 'POST').map((c) => [c.path, c.status])).toEqual([
      ['/api/v1/asks', 202],
      [`/api/v1/runs/${seeded.failedChecks.runId}/retry`, 201],
    ]);
    const run = await eventually('the retried run', () => stack.store.getRun(newRunId), 10_000);
    expect(run.workItemKey).toBe(seeded.failedChecks.workItemKey);
    expect(run.trigger.source).toBe('retry');
    // Its execution started: it moves past QUEUED (or already ended) on the pipeline.
    await eventually(
      'the retried run to make progress',
      async () => {
        const now = await stack.store.getRun(newRunId);
        return now && (now.status !== 'QUEUED' || isTerminal(now.status)) ? now : undefined;
      },
      30_000,
    );
    // The other seeded runs are as they were: nothing but the clicked action ran.
    expect((await stack.store.getRun(seeded.running.runId))?.status).toBe('IMPLEMENTING');
    expect((await stack.store.getRun(seeded.failedPlanted.runId))?.status).toBe('FAILED');
    expect(errors).toEqual([]);
  });

  it('refuses an action from another origin, and one without JSON', async () => {
    const path = `${stack.consoleUrl}/api/v1/runs/${seeded.failedPlanted.runId}/retry`;
    const foreign = await fetch(path, {
      method: 'POST',
      headers: { origin: 'http://evil.example', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(foreign.status).toBe(403);
    const form = await fetch(path, {
      method: 'POST',
      headers: { origin: stack.consoleUrl, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=b',
    });
    expect(form.status).toBe(415);
    const bare = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(bare.status).toBe(403);
    expect((await stack.store.getRun(seeded.failedPlanted.runId))?.status).toBe('FAILED');
    expect((await stack.store.listRunsByRepo('acme/widgets', { limit: 50 })).items).toHaveLength(5);
  });
});
