import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleScript } from '../../../local/model/scripts';
import type { Run } from '../../../functions/shared/domain/run';
import { approveThroughPage } from '../../../local/demo';
import type { Stack } from '../../../local/stack';
import { api, eventually, runsOf, sleep, startTestStack, waitForStatus } from '../../support/e2e';
import {
  approvalLinkOf,
  branchExists,
  decideRun,
  eventTypes,
  executionEnded,
  fileAt,
  issueComments,
  pullCommits,
  pullOf,
  type Sandbox,
  sandbox,
  startScenario,
  finished,
} from './support';

/** People and limits stopping a run: rejection, cancel (API and comment), budget. */

let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack();
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

/** What the forge shows of a run: comments (with bodies), PR commits, PR state. */
async function forgeSnapshot(box: Sandbox, prNumber?: number) {
  return {
    comments: (await issueComments(stack, box)).map((c) => `${c.id}:${c.body}`),
    commits: prNumber ? (await pullCommits(stack, box, prNumber)).map((c) => c.sha) : [],
    pr: prNumber ? (await pullOf(stack, box, prNumber)).state : undefined,
  };
}

const messageCalls = () => (stack.model?.calls() ?? []).filter((c) => c.path === '/v1/messages');

describe('rejection', () => {
  it('a reject through the approval page ends REJECTED, closes the PR and shows the reason', async () => {
    const box = await sandbox(stack, 'reject');
    const run = await startScenario(stack, box, sampleScript);
    const reason = 'Please use the existing string helpers instead of a new module.';
    expect(await decideRun(stack, run.runId, 'reject', reason)).toBe(200);
    const done = await finished(stack, run.runId);
    expect(done.status).toBe('REJECTED');
    expect(done.error?.class).toBe('Rejected');
    expect(done.error?.cause).toContain(reason);
    // A rejected change is taken back: the next run starts from the default branch.
    expect(await branchExists(stack, box, done.branch as string)).toBe(false);

    const pull = await pullOf(stack, box, done.prNumber as number);
    expect(pull.state).toBe('closed');
    expect(pull.merged).toBe(false);
    expect(await fileAt(stack, box, 'src/slugify.js')).toBeUndefined();

    const view = await api(stack, 'GET', `/v1/runs/${run.runId}`);
    expect(view.status).toBe(200);
    expect(view.json.data.status).toBe('REJECTED');
    expect(view.json.data.error.cause).toContain(reason);
    const types = await eventTypes(stack, run.runId);
    expect(types).toContain('approval.decided');
    expect(types).not.toContain('change.merged');
  }, 60_000);
});

describe('a free-text task started through the API', () => {
  it('is planned, implemented, reviewed, approved and merged like an issue', async () => {
    const box = await sandbox(stack, 'task');
    stack.model?.setScript(sampleScript);
    const task = 'Add a slugify helper\n\nExport slugify(text) from src/slugify.js, with tests.';
    const started = await api(stack, 'POST', '/v1/runs', { repo: box.full, task });
    expect(started.status).toBe(201);
    const runId = started.json.data.id as string;
    expect(await decideRun(stack, runId, 'approve')).toBe(200);
    const done = await finished(stack, runId);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.mergedSha).toBeDefined();
    expect(done.issueTitle).toBe('Add a slugify helper');
    const pull = await pullOf(stack, box, done.prNumber as number);
    expect(pull.title).toBe('Add a slugify helper');
    expect(String(pull.body)).not.toContain('Closes #');
    expect(await fileAt(stack, box, 'src/slugify.js')).toContain('export function slugify');
  }, 60_000);
});

describe('new commits while waiting for approval', () => {
  it('a push to the PR ends the run FAILED HeadMoved, and the old link decides nothing', async () => {
    const box = await sandbox(stack, 'head-moved');
    const run = await startScenario(stack, box, sampleScript);
    await waitForStatus(stack, run.runId, ['AWAITING_APPROVAL']);
    const link = await approvalLinkOf(stack, run.runId, 'approve');
    const waiting = (await stack.store.getRun(run.runId)) as Run;
    await stack.forge.actions.pushCommit(
      'bob',
      box.owner,
      box.name,
      waiting.branch as string,
      { 'NOTES.md': 'pushed by hand\n' },
      'A commit nobody reviewed',
    );
    const done = await finished(stack, run.runId, 30_000);
    expect(done.status).toBe('FAILED');
    expect(done.error?.class).toBe('HeadMoved');
    expect(done.error?.cause).toContain('/factory retry');
    expect(done.mergedSha).toBeUndefined();
    const page = await fetch(link);
    expect(page.status).toBe(409);
    expect(await page.text()).toContain('no longer waiting for approval');
    expect((await stack.store.getRun(run.runId))?.status).toBe('FAILED');
    expect(await eventTypes(stack, run.runId)).not.toContain('change.merged');
  }, 60_000);
});

describe('cancel', () => {
  it('POST /v1/runs/{id}/cancel mid-run stops the execution, closes the PR and nothing continues', async () => {
    const box = await sandbox(stack, 'cancel-api');
    // Slow CI keeps the run VERIFYING long enough to cancel it with the PR open.
    stack.forge.actions.setCiCommand(box.owner, box.name, 'sleep 2 && node --test');
    const run = await startScenario(stack, box, sampleScript);
    await waitForStatus(stack, run.runId, ['VERIFYING']);
    const published = await waitForPr(run.runId);
    expect(published.status).toBe('VERIFYING');

    const cancelled = await api(stack, 'POST', `/v1/runs/${run.runId}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json.data.status).toBe('CANCELLED');
    expect(await executionEnded(stack, run.runId)).toBe('ABORTED');

    const prNumber = published.prNumber as number;
    expect((await pullOf(stack, box, prNumber)).state).toBe('closed');
    // The cancel took the change back and said so where people look.
    expect(await branchExists(stack, box, published.branch as string)).toBe(false);
    const status = (await issueComments(stack, box)).find((c) => String(c.body).includes(run.runId));
    expect(status?.body).toContain('cancelled');
    expect(status?.body).toContain('branch deleted');
    const callsAtCancel = messageCalls().length;
    const before = await forgeSnapshot(box, prNumber);
    // Let the slow CI finish and its webhook arrive: nothing may resume the run.
    await stack.forge.waitForIdle(20_000);
    await sleep(1000);
    expect(await forgeSnapshot(box, prNumber)).toEqual(before);
    expect(messageCalls()).toHaveLength(callsAtCancel);
    const after = await stack.store.getRun(run.runId);
    expect(after?.status).toBe('CANCELLED');
    expect(await eventTypes(stack, run.runId)).toContain('run.cancelled');
    expect(await fileAt(stack, box, 'src/slugify.js')).toBeUndefined();
  }, 60_000);

  it('a `/factory cancel` comment by alice cancels a run mid-CI, closes its PR; nothing continues', async () => {
    const box = await sandbox(stack, 'cancel-comment');
    stack.forge.actions.setCiCommand(box.owner, box.name, 'sleep 2 && node --test');
    const run = await startScenario(stack, box, sampleScript);
    await waitForStatus(stack, run.runId, ['VERIFYING']);
    const published = await waitForPr(run.runId);
    await stack.forge.actions.comment('alice', box.owner, box.name, box.issue, '/factory cancel');
    const done = await waitForStatus(stack, run.runId, ['CANCELLED'], 20_000);
    expect(done.status).toBe('CANCELLED');
    expect(await executionEnded(stack, run.runId)).toBe('ABORTED');
    const prNumber = published.prNumber as number;
    // The webhook answers once CANCELLED is written; the cleanup ends with the audit event.
    await eventually(
      'the cancel to finish its cleanup',
      async () => (await eventTypes(stack, run.runId)).includes('run.cancelled'),
      10_000,
    );
    expect((await pullOf(stack, box, prNumber)).state).toBe('closed');
    expect(await branchExists(stack, box, published.branch as string)).toBe(false);

    const callsAtCancel = messageCalls().length;
    const before = await forgeSnapshot(box, prNumber);
    await stack.forge.waitForIdle(20_000);
    await sleep(1000);
    expect(await forgeSnapshot(box, prNumber)).toEqual(before);
    expect(messageCalls()).toHaveLength(callsAtCancel);
    expect((await stack.store.getRun(run.runId))?.status).toBe('CANCELLED');
    expect(await eventTypes(stack, run.runId)).toContain('run.cancelled');
  }, 60_000);
});

describe('budget', () => {
  it('a budget too small for the first call stops the run (BudgetExceeded) before the model is called', async () => {
    const box = await sandbox(stack, 'budget');
    await stack.forge.actions.pushCommit(
      'alice',
      box.owner,
      box.name,
      'main',
      { '.github/factory.yml': 'budget_usd: 0.01\n' },
      'Tiny factory budget',
    );
    stack.model?.reset();
    const run = await startScenario(stack, box, sampleScript);
    const done = await finished(stack, run.runId, 30_000);
    // A spent budget ends STOPPED with the work kept (here none: no PR), not FAILED.
    expect(done.status).toBe('STOPPED');
    expect(done.error?.class).toBe('BudgetExceeded');
    expect(done.prNumber).toBeUndefined();
    expect(messageCalls()).toHaveLength(0);
    expect(done.ledger.llmCalls).toBe(0);
    expect(done.ledger.costUsd).toBe(0);
    const status = (await issueComments(stack, box)).find((c) => c.body.includes(run.runId));
    expect(status?.body).toContain('BudgetExceeded');
  }, 60_000);
});

describe('cancel while waiting for approval', () => {
  it('kills the emailed links: the page refuses and decides nothing', async () => {
    const box = await sandbox(stack, 'cancel-approval');
    const run = await startScenario(stack, box, sampleScript);
    await waitForStatus(stack, run.runId, ['AWAITING_APPROVAL']);
    const link = await approvalLinkOf(stack, run.runId, 'approve');
    expect((await api(stack, 'POST', `/v1/runs/${run.runId}/cancel`)).status).toBe(200);
    const page = await fetch(link);
    expect(page.status).toBe(409);
    expect(await page.text()).toContain('no longer waiting for approval');
    await expect(approveThroughPage(link, 'approve')).rejects.toThrow(/no approve form/);
    const after = await stack.store.getRun(run.runId);
    expect(after?.status).toBe('CANCELLED');
    expect(after?.approvedSha).toBeUndefined();
    expect(await eventTypes(stack, run.runId)).not.toContain('approval.decided');
  }, 60_000);
});

describe('a repeated cancel', () => {
  it('leaves the change of a newer run on the same issue alone (same branch name)', async () => {
    const box = await sandbox(stack, 'recancel');
    stack.forge.actions.setCiCommand(box.owner, box.name, 'sleep 3 && node --test');
    const first = await startScenario(stack, box, sampleScript);
    await waitForPr(first.runId);
    expect((await api(stack, 'POST', `/v1/runs/${first.runId}/cancel`)).status).toBe(200);
    await eventually('the first cancel to finish', async () =>
      (await eventTypes(stack, first.runId)).includes('run.cancelled'),
    );

    await stack.forge.actions.comment('alice', box.owner, box.name, box.issue, '/factory run');
    const second = await eventually('a second run', async () =>
      (await runsOf(stack, box.full)).find((r) => r.runId !== first.runId),
    );
    const published = await waitForPr(second.runId);
    expect(published.branch).toBe((await stack.store.getRun(first.runId))?.branch);

    // Cancelling the first run again redoes its cleanup: nothing of the second run may go.
    expect((await api(stack, 'POST', `/v1/runs/${first.runId}/cancel`)).status).toBe(200);
    expect(await branchExists(stack, box, published.branch as string)).toBe(true);
    expect((await pullOf(stack, box, published.prNumber as number)).state).toBe('open');
    await api(stack, 'POST', `/v1/runs/${second.runId}/cancel`);
  }, 90_000);
});

async function waitForPr(runId: string) {
  for (let i = 0; i < 100; i++) {
    const run = await stack.store.getRun(runId);
    if (run?.prNumber) return run;
    await sleep(100);
  }
  throw new Error(`run ${runId} never opened a PR`);
}
