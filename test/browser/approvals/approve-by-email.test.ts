import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetExecutionHistoryCommand } from '@aws-sdk/client-sfn';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminal, type Run } from '../../../functions/shared/domain/run';
import { readMailStore, type StoredEmail } from '../../../local/emulators/ses';
import { type Stack, startStack } from '../../../local/stack';
import { launchBrowser } from '../../support/browser';

// The whole embedded stack: label the sample issue, let the pipeline reach approval, open the
// emailed link from the mail store in headless Chromium, click Approve, and see the run merge.

let stack: Stack;
let browser: Browser;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('approval by email in a browser', () => {
  beforeAll(async () => {
    stack = await startStack({
      maxWaitSeconds: { approvalSeconds: 300, checksSeconds: 120, clarifySeconds: 60 },
    });
    browser = await launchBrowser();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('opens the emailed link, approves, and the run merges', { timeout: 150_000 }, async () => {
    await stack.forge.actions.labelIssue('alice', 'acme', 'widgets', 1, 'factory');
    const run = await until('a run awaiting approval', async () => {
      const newest = (await stack.store.listRunsByRepo('acme/widgets', { limit: 1 })).items[0];
      if (newest && isTerminal(newest.status))
        throw new Error(`run ended ${newest.status}: ${newest.error?.cause}`);
      return newest?.status === 'AWAITING_APPROVAL' ? newest : undefined;
    });
    const email = await until<StoredEmail>('the approval email', async () =>
      (await readMailStore(stack.mailUrl)).emails.find(
        (e) => e.destination.to.includes('alice@acme.test') && e.subject.includes('Approval needed'),
      ),
    );
    const link = /^Approve: (\S+)$/m.exec(email.body.text ?? '')?.[1];
    expect(link).toMatch(new RegExp(`^${stack.url}/approvals/`));

    const page = await browser.newPage();
    const opened = await page.goto(link ?? '');
    expect(opened?.status()).toBe(200);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
      'Confirm your decision',
    );
    expect(await page.getByText('acme/widgets').count()).toBeGreaterThan(0);
    // Only viewing changed nothing.
    expect((await stack.store.getRun(run.runId))?.approvedSha).toBeUndefined();

    // The same valid form, copied onto another origin's page and submitted there, is refused.
    const copied = await page.locator('form.approve').evaluate((form) => form.outerHTML);
    const action = new URL((await page.locator('form.approve').getAttribute('action')) ?? '', link).href;
    const foreign = await serveOnce(
      `<!doctype html><title>Free gift</title>${copied.replace(/action="[^"]*"/, `action="${action}"`)}`,
    );
    try {
      const attack = await browser.newPage();
      await attack.goto(foreign.url);
      await attack.getByRole('button', { name: 'Approve and merge' }).click();
      await attack.waitForLoadState();
      await expect(attack.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
        'Decision from another site',
      );
      await attack.close();
    } finally {
      await new Promise((resolve) => foreign.server.close(resolve));
    }
    const waiting = await stack.store.getRun(run.runId);
    expect(waiting?.status).toBe('AWAITING_APPROVAL');
    expect(waiting?.approvedSha).toBeUndefined();

    await page.getByLabel('Comment (optional)').fill('Looks good from the browser');
    await page.getByRole('button', { name: 'Approve and merge' }).click();
    await page.waitForLoadState();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Approved');

    const finished = await until<Run>('the run to finish', async () => {
      const current = await stack.store.getRun(run.runId);
      return current && isTerminal(current.status) ? current : undefined;
    });
    expect(finished.status).toBe('SUCCEEDED');
    expect(finished.approvedBy).toBe('alice');
    expect(finished.mergedSha).toBeDefined();
    const events = (await stack.store.listEvents(run.runId, { limit: 200 })).items;
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['approval.requested', 'approval.decided']),
    );
    // The link token never reaches Step Functions' execution history or the run record.
    const linkToken = new URL(link ?? '').searchParams.get('t') ?? '';
    expect(linkToken).toHaveLength(43);
    const executionArn = `${stack.stateMachineArn.replace(':stateMachine:', ':execution:')}:${run.runId}`;
    const history = await stack.sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
    expect(history.events?.length ?? 0).toBeGreaterThan(0);
    expect(JSON.stringify(history.events)).not.toContain(linkToken);
    expect(JSON.stringify(finished)).not.toContain(linkToken);
    await page.close();
  });
});

/** One HTML page on another loopback origin (an attacker's site). */
async function serveOnce(html: string): Promise<{ server: Server; url: string }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}
