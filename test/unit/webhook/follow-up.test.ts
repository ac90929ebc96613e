import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import type { Run } from '../../../functions/shared/domain/run';
import { cancelActiveRun } from '../../../functions/webhook/cancel';
import { startFollowUp } from '../../../functions/webhook/follow-up';
import { classify } from '../../../functions/webhook/triggers';
import { HEAD_SHA, reviewedRun } from '../approvals/support';
import { makeWebhookContext } from './helpers';

const BRANCH = 'factory/7-add-a-greeting';
const target = {
  repo: 'acme/widgets',
  issueNumber: 12,
  workItemKey: 'acme/widgets#12',
  isPull: true,
};
const comment = (login: string, text = 'also handle empty strings') =>
  ({
    ...target,
    type: 'unknown-command',
    word: text.split(' ')[0] ?? '',
    text,
    commentId: 5,
    sender: { login, type: 'User' },
  }) as const;
const review = (login: string) =>
  ({
    ...target,
    type: 'changes-requested',
    reviewId: 77,
    body: 'Please trim the input first.',
    headRef: BRANCH,
    sender: { login, type: 'User' },
  }) as const;

/** Run #7's change waiting for approval on PR #12, with its wait and one pending approval link. */
async function waitingOnPull(overrides: Partial<Run> = {}, headRef = BRANCH) {
  const fakes = makeWebhookContext();
  // Created before the fake clock's now, so a follow-up started in the test is the newer run.
  const run = reviewedRun({
    runId: ulid(Date.parse('2025-03-01T11:00:00Z')),
    status: 'AWAITING_APPROVAL',
    ...overrides,
  });
  fakes.store.runs.set(run.runId, run);
  await fakes.store.putWorkItem({
    key: run.workItemKey,
    repo: run.repo,
    issueNumber: 7,
    createdAt: run.createdAt,
    updatedAt: run.createdAt,
    latestRunId: run.runId,
  });
  await fakes.store.putWait({
    kind: 'approval',
    key: run.runId,
    runId: run.runId,
    taskToken: 'approval-token',
    createdAt: '2025-03-01T00:00:00Z',
    expiresAt: Math.floor(Date.parse('2030-01-01T00:00:00Z') / 1000),
  });
  await fakes.store.putApproval({
    approvalId: 'appr-1',
    runId: run.runId,
    approver: 'alice',
    email: 'alice@acme.test',
    headSha: HEAD_SHA,
    expiresAt: Math.floor(Date.parse('2030-01-01T00:00:00Z') / 1000),
    state: 'PENDING',
    csrfHash: 'x',
  });
  fakes.github.pulls.set(12, {
    number: 12,
    url: 'https://github.test/acme/widgets/pull/12',
    headSha: HEAD_SHA,
    headRef,
    baseRef: 'main',
    state: 'open',
    merged: false,
    draft: false,
  });
  return { ...fakes, run };
}

describe('startFollowUp', () => {
  it("a writer's `/factory <instructions>` on the factory PR supersedes the waiting run and starts a follow-up on the same work item, PR and branch", async () => {
    const { ctx, run, store, workflow, github } = await waitingOnPull();
    const outcome = await startFollowUp(ctx, { id: 'd-1', event: 'issue_comment.created' }, comment('bob'));
    expect(outcome.status).toBe(202);
    const runId = String(outcome.data.runId);
    const old = await store.getRun(run.runId);
    expect(old?.status).toBe('SUPERSEDED');
    expect(old?.error?.class).toBe('Superseded');
    expect(workflow.stops).toEqual([expect.objectContaining({ runId: run.runId, error: 'Superseded' })]);
    expect(await store.getWait('approval', run.runId)).toBeUndefined();
    expect((await store.listApprovalsForRun(run.runId)).map((a) => a.state)).toEqual(['SUPERSEDED']);
    const created = await store.getRun(runId);
    expect(created).toMatchObject({
      kind: 'follow-up',
      workItemKey: 'acme/widgets#7',
      issueNumber: 7,
      status: 'QUEUED',
      trigger: { source: 'comment', sender: 'bob', command: 'follow-up' },
      followUp: {
        prNumber: 12,
        branch: BRANCH,
        fromRunId: run.runId,
        sender: 'bob',
        instructions: 'also handle empty strings',
      },
    });
    expect(workflow.starts.map((s) => s.runId)).toEqual([runId]);
    // Nothing closed: the fake GitHub has no updatePull or deleteRef, and no comment asks anything.
    expect(github.comments.map((c) => c.issueNumber)).toEqual([7]);
    expect(github.comments[0]?.body).toContain(`Superseded by follow-up run \`${runId}\``);
  });

  it('`/factory cancel` on the factory PR cancels the follow-up running on its issue, closing nothing', async () => {
    const { ctx, store, workflow } = await waitingOnPull();
    const started = await startFollowUp(ctx, { id: 'd-10', event: 'issue_comment.created' }, comment('bob'));
    const runId = String(started.data.runId);
    const followUp = await store.getRun(runId);
    if (followUp) store.runs.set(runId, { ...followUp, status: 'IMPLEMENTING', stage: 'implement' });
    const outcome = await cancelActiveRun(
      ctx,
      { id: 'd-11', event: 'issue_comment.created' },
      { ...target, type: 'command', command: 'cancel', commentId: 6, sender: { login: 'bob', type: 'User' } },
    );
    expect(outcome.data).toEqual({ status: 'cancelled', runId });
    expect((await store.getRun(runId))?.status).toBe('CANCELLED');
    expect(workflow.stops.map((s) => s.runId)).toContain(runId);
  });

  it('a review requesting changes starts a follow-up carrying the review id and body', async () => {
    const { ctx, store } = await waitingOnPull();
    const outcome = await startFollowUp(
      ctx,
      { id: 'd-2', event: 'pull_request_review.submitted' },
      review('alice'),
    );
    const created = await store.getRun(String(outcome.data.runId));
    expect(created?.trigger).toMatchObject({ source: 'review', command: 'review:77' });
    expect(created?.followUp).toMatchObject({ reviewId: 77, instructions: 'Please trim the input first.' });
  });

  it('a secret in the instructions is redacted before it reaches the run record', async () => {
    const { ctx, store } = await waitingOnPull();
    const token = 'ghp_0123456789abcdefghijABCDEFGHIJ0123456789';
    const outcome = await startFollowUp(
      ctx,
      { id: 'd-9', event: 'issue_comment.created' },
      comment('bob', `use the token ${token} for the test`),
    );
    const created = await store.getRun(String(outcome.data.runId));
    expect(created?.followUp?.instructions).not.toContain(token);
    expect(created?.followUp?.instructions).toMatch(/use the token \[REDACTED:[^\]]+\] for the test/);
  });

  it('a reader is refused: the waiting run keeps waiting, nothing starts', async () => {
    const { ctx, run, store, workflow } = await waitingOnPull();
    const outcome = await startFollowUp(
      ctx,
      { id: 'd-3', event: 'issue_comment.created' },
      comment('mallory'),
    );
    expect(outcome.data.status).toBe('refused');
    expect((await store.getRun(run.runId))?.status).toBe('AWAITING_APPROVAL');
    expect(workflow.starts).toEqual([]);
    expect(workflow.stops).toEqual([]);
  });

  it('a run still publishing is not superseded either (its push must not land under the follow-up)', async () => {
    const { ctx, run, store, workflow } = await waitingOnPull({ status: 'VERIFYING', stage: 'publish' });
    const outcome = await startFollowUp(ctx, { id: 'd-7', event: 'issue_comment.created' }, comment('bob'));
    expect(outcome.data.status).toBe('refused');
    expect((await store.getRun(run.runId))?.status).toBe('VERIFYING');
    expect(workflow.starts).toEqual([]);
  });

  it('a run waiting for CI is superseded', async () => {
    const { ctx, run, store } = await waitingOnPull({ status: 'VERIFYING', stage: 'checks' });
    const outcome = await startFollowUp(ctx, { id: 'd-8', event: 'issue_comment.created' }, comment('bob'));
    expect(outcome.status).toBe(202);
    expect((await store.getRun(run.runId))?.status).toBe('SUPERSEDED');
  });

  it('a run still implementing is not superseded: the follow-up is refused with a comment', async () => {
    const { ctx, run, store, workflow, github } = await waitingOnPull({ status: 'IMPLEMENTING' });
    const outcome = await startFollowUp(ctx, { id: 'd-4', event: 'issue_comment.created' }, comment('bob'));
    expect(outcome.data.status).toBe('refused');
    expect((await store.getRun(run.runId))?.status).toBe('IMPLEMENTING');
    expect(workflow.starts).toEqual([]);
    expect(github.comments.at(-1)?.body).toContain('is still IMPLEMENTING');
  });

  it('on a pull request the factory did not open, unknown words get the help text and a review is ignored', async () => {
    const { ctx, workflow, github } = await waitingOnPull({}, 'bob/slugify');
    const answered = await startFollowUp(ctx, { id: 'd-5', event: 'issue_comment.created' }, comment('bob'));
    expect(answered.data.status).toBe('ignored');
    expect(github.comments.at(-1)?.body).toContain('is not a command I know');
    const ignored = await startFollowUp(
      ctx,
      { id: 'd-6', event: 'pull_request_review.submitted' },
      {
        ...review('bob'),
        headRef: 'bob/slugify',
      },
    );
    expect(ignored.data).toMatchObject({ status: 'ignored' });
    expect(workflow.starts).toEqual([]);
  });
});

describe('classify a comment on a pull request', () => {
  const on = (body: string, pull: boolean) => ({
    action: 'created',
    repository: { full_name: 'acme/widgets' },
    sender: { login: 'alice', type: 'User' },
    issue: { number: 12, title: 'Add a greeting (#7)', ...(pull ? { pull_request: {} } : {}) },
    comment: { id: 5, body },
  });

  it('any text that is not a PR command is a follow-up instruction, `run ...` included', () => {
    expect(classify('issue_comment', on('/factory also handle empty strings', true))).toMatchObject({
      type: 'unknown-command',
      text: 'also handle empty strings',
    });
    expect(classify('issue_comment', on('/factory run the linter too', true))).toMatchObject({
      type: 'unknown-command',
      text: 'run the linter too',
    });
    expect(classify('issue_comment', on('/factory run', false))).toMatchObject({
      type: 'command',
      command: 'run',
    });
    expect(classify('issue_comment', on('/factory review', true))).toMatchObject({
      type: 'command',
      command: 'review',
    });
  });
});

describe('classify pull_request_review', () => {
  const payload = (state: string) => ({
    action: 'submitted',
    repository: { full_name: 'acme/widgets' },
    sender: { login: 'alice', type: 'User' },
    pull_request: { number: 12, title: 'Add a greeting (#7)', head: { ref: BRANCH, sha: HEAD_SHA } },
    review: { id: 77, state, body: 'Please trim the input first.' },
  });

  it('a review requesting changes is a changes-requested intent', () => {
    expect(classify('pull_request_review', payload('changes_requested'))).toMatchObject({
      type: 'changes-requested',
      repo: 'acme/widgets',
      issueNumber: 12,
      reviewId: 77,
      headRef: BRANCH,
      body: 'Please trim the input first.',
    });
  });

  it.each(['approved', 'commented'])('a review that is %s is ignored', (state) => {
    expect(classify('pull_request_review', payload(state)).type).toBe('ignore');
  });
});
