import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminal, type Run, STAGES } from '../../functions/shared/domain/run';
import { formatUsd } from '../../local/console/html';
import { SAMPLE_ISSUE, SAMPLE_LABEL, SAMPLE_OWNER, SAMPLE_REPO, SAMPLE_USERS } from '../../local/forge';
import { type Stack, startStack } from '../../local/stack';
import { launchBrowser } from '../support/browser';

/**
 * The local console as a person sees it in Chromium: a real run of the sample issue on the
 * embedded stack, then the runs list, the run detail, the mailbox and the forge's PRs.
 * CONSOLE_SCREENSHOT_DIR keeps the run detail screenshot; otherwise it goes to a temp dir.
 */

const RUN_WAIT_MS = 35_000;
const POLL_MS = 250;

describe('local console in headless Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let screenshotDir: string;
  const cspErrors: string[] = [];
  let run: Run | undefined;

  beforeAll(async () => {
    screenshotDir =
      process.env.CONSOLE_SCREENSHOT_DIR ?? (await mkdtemp(path.join(tmpdir(), 'console-shots-')));
    await mkdir(screenshotDir, { recursive: true });
    stack = await startStack({ ciTimeoutMs: 30_000 });
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy/i.test(message.text()))
        cspErrors.push(message.text());
    });
  });

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await stack?.stop();
    if (!process.env.CONSOLE_SCREENSHOT_DIR && screenshotDir)
      await rm(screenshotDir, { recursive: true, force: true });
  });

  it('serves its own server with a strict CSP, and says what to do while nothing has run', async () => {
    expect(stack.consoleUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await page.goto(stack.consoleUrl);
    expect(response?.status()).toBe(200);
    const csp = response?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    await expect(page.title()).resolves.toContain('Runs');
    await expect(page.locator('.empty').textContent()).resolves.toMatch(/No runs yet[\s\S]*npm run demo/);

    await page.getByRole('link', { name: 'Forge PRs' }).click();
    await expect(page.locator('h1').textContent()).resolves.toContain(`${SAMPLE_OWNER}/${SAMPLE_REPO}`);
    await expect(page.locator('.empty').textContent()).resolves.toContain('No pull requests');
  });

  it('runs the sample issue until it waits for approval (or the bound)', {
    timeout: RUN_WAIT_MS + 10_000,
  }, async () => {
    const labelledAt = Date.now();
    await stack.forge.actions.labelIssue(
      SAMPLE_USERS.admin,
      SAMPLE_OWNER,
      SAMPLE_REPO,
      SAMPLE_ISSUE.number,
      SAMPLE_LABEL,
    );
    const deadline = labelledAt + RUN_WAIT_MS;
    while (Date.now() < deadline) {
      const runs = await stack.store.listRunsByRepo(`${SAMPLE_OWNER}/${SAMPLE_REPO}`, { limit: 5 });
      run = runs.items[0];
      if (run && (run.status === 'AWAITING_APPROVAL' || isTerminal(run.status))) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    expect(run, 'the label started no run').toBeDefined();
    expect(run?.stages.length ?? 0).toBeGreaterThan(0);
    console.info(`console test: run ${run?.status} after ${Date.now() - labelledAt} ms`);
  });

  it('lists the run with its status, stage, cost and PR link', async () => {
    const before = (await stack.store.getRun(run?.runId ?? '')) as Run;
    await page.goto(stack.consoleUrl);
    await page.getByRole('link', { name: 'Runs' }).click();
    const row = page.locator(`tr[data-run-id="${before.runId}"]`);
    await expect(row.count()).resolves.toBe(1);
    const after = (await stack.store.getRun(before.runId)) as Run;
    const shown = await row.locator('.badge').getAttribute('data-status');
    expect([before.status, after.status]).toContain(shown);
    await expect(row.locator('.badge').textContent()).resolves.toBe((shown ?? '').replaceAll('_', ' '));
    const text = await row.textContent();
    expect(text).toContain(`${SAMPLE_OWNER}/${SAMPLE_REPO}#${SAMPLE_ISSUE.number}`);
    expect(text).toContain(SAMPLE_ISSUE.title);
    expect(text).toContain('by alice');
    if (after.prUrl) {
      await expect(row.getByRole('link', { name: /^PR #\d+$/ }).getAttribute('href')).resolves.toBe(
        after.prUrl,
      );
    }
  });

  it('shows the run detail: status, stage timeline with durations, cost and audit events', async () => {
    const runId = run?.runId ?? '';
    const before = (await stack.store.getRun(runId)) as Run;
    await page.goto(stack.consoleUrl);
    await page.locator(`tr[data-run-id="${runId}"] a[href="/runs/${runId}"]`).click();
    expect(new URL(page.url()).pathname).toBe(`/runs/${runId}`);
    const current = (await stack.store.getRun(runId)) as Run;

    await expect(page.locator('h1').textContent()).resolves.toContain(SAMPLE_ISSUE.title);
    const facts = page.getByLabel('Run facts');
    // The run page keeps itself current through its script (console-live.test.ts), not by reloading.
    expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(0);
    expect(await page.locator('script[src="/console.js"]').count()).toBe(1);
    expect([before.status, current.status]).toContain(
      await page.locator('[data-live-run]').getAttribute('data-live-status'),
    );
    const infra = await facts.locator('div', { hasText: 'Infra cost' }).locator('dd').textContent();
    expect(infra).toMatch(/^\$\d+\.\d{2,4} estimated$/);
    const stageShown = await facts.locator('div', { hasText: 'Current stage' }).locator('dd').textContent();
    expect(STAGES as readonly string[]).toContain(stageShown);

    // One timeline row per stage record, each with a duration and a visible bar.
    const timeline = page.getByRole('table', { name: 'Stage timeline' });
    const rows = timeline.locator('tbody tr');
    expect(await rows.count()).toBeGreaterThanOrEqual(Math.min(current.stages.length, 2));
    const names = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-stage')));
    expect(names.slice(0, 2)).toEqual(current.stages.slice(0, 2).map((s) => s.name));
    expect(names).toContain('admit');
    await expect(rows.first().locator('td.num').textContent()).resolves.toMatch(/\d+(\.\d)? (ms|s|min)/);
    const barWidth = await rows.first().locator('svg.gantt').boundingBox();
    expect(barWidth?.width ?? 0).toBeGreaterThan(100);

    // Cost: the ledger totals as stored.
    const ledger = page.getByRole('table', { name: 'Ledger totals' });
    const cells = await ledger.locator('tbody td').allInnerTexts();
    expect(Number(cells[0]?.replaceAll(',', ''))).toBeGreaterThanOrEqual(1);
    expect(cells[5]).toMatch(/^\$\d+\.\d{2,4}$/);
    const stored = (await stack.store.getRun(runId)) as Run;
    expect([formatUsd(current.ledger.costUsd), formatUsd(stored.ledger.costUsd)]).toContain(cells[5]);

    // Audit events in order.
    const seqs = await page
      .getByRole('table', { name: 'Audit events' })
      .locator('tbody tr td:first-child')
      .allInnerTexts();
    expect(seqs.length).toBeGreaterThan(0);
    expect(seqs.map(Number)).toEqual([...seqs.map(Number)].sort((a, b) => a - b));

    // The stylesheet applies (its CSP hash matches): badges are rounded pills.
    const radius = await page
      .locator('h1 .badge')
      .evaluate((el) => el.ownerDocument.defaultView?.getComputedStyle(el).borderTopLeftRadius ?? '');
    expect(Number.parseFloat(radius)).toBeGreaterThan(0);

    const file = path.join(screenshotDir, 'run-detail.png');
    await page.screenshot({ path: file, fullPage: true });
    const png = await readFile(file);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(20_000);
    console.info(`console test: run detail screenshot at ${file}`);
  });

  it('shows the mailbox: the approval email with clickable links, or the empty state', async () => {
    const current = (await stack.store.getRun(run?.runId ?? '')) as Run;
    await page.goto(stack.consoleUrl);
    await page.getByRole('link', { name: 'Mailbox' }).click();
    await expect(page.locator('h1').textContent()).resolves.toBe('Mailbox');
    const approvals = await stack.store.listApprovalsForRun(current.runId);
    if (approvals.length === 0) {
      // The run never asked for approval within the bound: nothing was mailed.
      console.info(`console test: no approval requested (run ${current.status}); checking the empty mailbox`);
      await expect(page.locator('.empty').textContent()).resolves.toContain('The mailbox is empty');
      return;
    }
    const mail = page.locator('article.mail').filter({ hasText: 'Approval needed' }).first();
    await expect(mail.locator('h2').textContent()).resolves.toContain(`${SAMPLE_OWNER}/${SAMPLE_REPO}`);
    await expect(mail.locator('.head').textContent()).resolves.toContain(approvals[0]?.email ?? '?');
    const approvalLink = mail.locator('pre a[href*="/approvals/"]').first();
    const href = (await approvalLink.getAttribute('href')) ?? '';
    expect(href.startsWith(stack.url)).toBe(true);
    // Following the link opens the confirmation page; it decides nothing.
    const [response] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname.startsWith('/approvals/')),
      approvalLink.click(),
    ]);
    await page.waitForLoadState();
    expect(response?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toMatch(/^\/approvals\//);
    const after = await stack.store.listApprovalsForRun(current.runId);
    expect(after.map((a) => a.state)).not.toContain('APPROVED');
  });

  it('lists the forge pull request of the run', async () => {
    const current = (await stack.store.getRun(run?.runId ?? '')) as Run;
    await page.goto(`${stack.consoleUrl}/forge`);
    if (!current.prNumber) {
      console.info(`console test: the run opened no PR (run ${current.status}); checking the empty state`);
      await expect(page.locator('.empty').textContent()).resolves.toContain('No pull requests');
      return;
    }
    const row = page.locator(`tr[data-pr="${current.prNumber}"]`);
    await expect(row.getByRole('link').first().getAttribute('href')).resolves.toBe(current.prUrl);
    const text = await row.textContent();
    expect(text).toMatch(/open|merged|closed/);
    if (current.branch) expect(text).toContain(current.branch);
    if (current.headSha) expect(text).toContain(current.headSha.slice(0, 10));
  });

  it('escapes what it echoes and answers unknown runs and methods with error pages', async () => {
    const response = await page.goto(
      `${stack.consoleUrl}/runs/${encodeURIComponent('<img src=x onerror=alert(1)>')}`,
    );
    expect(response?.status()).toBe(404);
    await expect(page.locator('.error').textContent()).resolves.toContain('<img src=x onerror=alert(1)>');
    expect(await page.locator('main img').count()).toBe(0);
    const missing = await fetch(`${stack.consoleUrl}/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV`);
    expect(missing.status).toBe(404);
    const post = await fetch(stack.consoleUrl, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(cspErrors).toEqual([]);
  });
});
