import { describe, expect, it } from 'vitest';
import { Run as RunSchema } from '../../../functions/shared/domain/run';
import type { CheckSummary, GitHub } from '../../../functions/shared/ports';
import { repoOf, type RunContract } from '../../../functions/shared/run-contract';
import { CI_SUMMARY_SYSTEM, readCiSummary } from '../../../functions/stages/ci-summary';
import { TurnNotRecorded } from '../../../functions/stages/agent';
import { decideAfterChecks, waitForChecks } from '../../../functions/stages/checks';
import { enterStage, mutateRun } from '../../../functions/shared/run-state';
import type { StagePorts } from '../../../functions/stages/deps';
import { FakeStore } from '../../support/fake-store';
import { MemoryBlobs } from '../../support/memory-blobs';
import { MutableClock, RecordingWorkflow, runContract, silentLog } from '../approvals/support';

const RUN_ID = '01J00000000000000000000000';
const HEAD = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const WAIT_KEY = `acme/widgets@${HEAD}`;
const CHECKS_SECONDS = 1800;

const pending: CheckSummary = { state: 'pending', runs: [{ name: 'test', status: 'in_progress', id: 41 }] };
const failed = (log: string): CheckSummary => ({
  state: 'failure',
  runs: [{ name: 'test', status: 'completed', conclusion: 'failure', id: 41, log }],
});

async function setUp(contract: Partial<RunContract> = {}) {
  const store = new FakeStore();
  const clock = new MutableClock(Date.now());
  const workflow = new RecordingWorkflow();
  const blobs = new MemoryBlobs();
  let checks: CheckSummary = pending;
  const comments: string[] = [];
  await store.createRun(
    RunSchema.parse({
      runId: RUN_ID,
      kind: 'change',
      repo: 'acme/widgets',
      workItemKey: 'acme/widgets#1',
      status: 'VERIFYING',
      stage: 'publish',
      stages: [{ name: 'publish', status: 'RUNNING', startedAt: new Date(clock.now()).toISOString() }],
      version: 0,
      createdAt: '2025-03-01T11:00:00.000Z',
      updatedAt: '2025-03-01T11:00:00.000Z',
      trigger: { source: 'label', sender: 'alice' },
      issueNumber: 1,
      headSha: HEAD,
      contract: runContract({
        maxFixAttempts: 3,
        timeouts: {
          llmTurnSeconds: 900,
          clarifySeconds: 3600,
          checksSeconds: CHECKS_SECONDS,
          checksRecheckSeconds: 300,
          approvalSeconds: 3600,
        },
        ...contract,
      }),
    }),
  );
  const deps = {
    store,
    github: {
      getChecks: async () => checks,
      createComment: async (_repo: unknown, _issue: number, body: string) => {
        comments.push(body);
        return { id: 7 };
      },
      updateComment: async (_repo: unknown, _id: number, body: string) => {
        comments.push(body);
      },
    } as unknown as GitHub,
    blobs,
    workflow,
    clock,
    log: silentLog,
    now: () => new Date(clock.now()).toISOString(),
    repoOf,
    contractOf: (run: { contract?: unknown }) => run.contract,
  } as unknown as StagePorts;
  const setChecks = (next: CheckSummary) => {
    checks = next;
  };
  return { store, clock, workflow, blobs, deps, setChecks, comments };
}

describe('the checks wait', () => {
  it('re-reads CI when nobody answered, and goes on when its completion webhook was lost', async () => {
    const { store, clock, workflow, deps, setChecks } = await setUp();
    await waitForChecks(deps, RUN_ID, 'token-1');
    expect(workflow.calls).toBe(0);
    expect((await store.getWait('checks', WAIT_KEY))?.taskToken).toBe('token-1');

    // CI finished; its check_suite delivery never came. The heartbeat timeout runs the stage again.
    clock.advance(300_000);
    setChecks({ state: 'success', runs: [{ name: 'test', status: 'completed', conclusion: 'success' }] });
    await waitForChecks(deps, RUN_ID, 'token-2');
    expect(workflow.successes).toEqual([{ token: 'token-2', output: { sha: HEAD, conclusion: 'success' } }]);
    expect(await store.getWait('checks', WAIT_KEY)).toBeUndefined();
    const reread = store.events.get(RUN_ID)?.find((e) => e.type === 'checks.reread');
    expect(reread?.data).toEqual({ headSha: HEAD, state: 'success', waitedSeconds: 300 });
    // One checks stage on the timeline, however many times the wait was entered.
    expect(store.runs.get(RUN_ID)?.stages.filter((s) => s.name === 'checks')).toHaveLength(1);
  });

  it('ends ChecksTimedOut once the wait has lasted checksSeconds, counted from its start', async () => {
    const { clock, workflow, deps } = await setUp();
    await waitForChecks(deps, RUN_ID, 'token-1');
    for (let i = 2; i <= 6; i++) {
      clock.advance(300_000);
      await waitForChecks(deps, RUN_ID, `token-${i}`);
    }
    expect(workflow.calls).toBe(0);
    clock.advance(300_000);
    await waitForChecks(deps, RUN_ID, 'token-7');
    expect(workflow.failures).toEqual([
      { token: 'token-7', error: 'ChecksTimedOut', cause: expect.stringContaining('1800 s') },
    ]);
  });

  it('keeps the failed job log by reference and points the feedback at it', async () => {
    const { store, blobs, deps, setChecks } = await setUp();
    await waitForChecks(deps, RUN_ID, 'token-1');
    const log = "2025-03-01T12:00:00.0000000Z not ok 1 - adds\n  ---\n  error: '1 !== 2'\n  ...\n";
    setChecks(failed(log));
    expect(await decideAfterChecks(deps, RUN_ID)).toEqual({ outcome: 'fix' });
    const key = `ci-logs/${RUN_ID}/${HEAD}/test-41.log`;
    expect(new TextDecoder().decode(blobs.objects.get(key))).toBe(log);
    const run = store.runs.get(RUN_ID);
    expect(run?.feedback?.logKeys).toEqual([key]);
    expect(run?.feedback?.text).toMatch(
      /^Root cause:\n1 failure extracted from the CI log:\n1\. \[tap\] adds\n {3}1 !== 2/,
    );
    const event = store.events.get(RUN_ID)?.find((e) => e.type === 'checks.failed');
    expect(event?.data?.logs).toEqual([{ check: 'test', key, chars: log.length }]);
    // The run item holds the key, never the log.
    expect(JSON.stringify(run)).not.toContain('2025-03-01T12:00:00.0000000Z');
  });
});

describe('the decision after CI', () => {
  it('decides a head once: a retried step adds no fix attempt, signature or event', async () => {
    const { store, deps, setChecks } = await setUp();
    await waitForChecks(deps, RUN_ID, 'token-1');
    setChecks(failed("not ok 1 - adds\n  ---\n  error: '1 !== 2'\n  ...\n"));
    expect(await decideAfterChecks(deps, RUN_ID)).toEqual({ outcome: 'fix' });
    // Without this, the retry would read its own signature as the same failure again and revert.
    expect(await decideAfterChecks(deps, RUN_ID)).toEqual({ outcome: 'fix' });
    const run = store.runs.get(RUN_ID);
    expect(run?.fixAttempts).toBe(1);
    expect(run?.failureSignatures).toHaveLength(1);
    expect(store.events.get(RUN_ID)?.filter((e) => e.type === 'checks.failed')).toHaveLength(1);
  });

  it('decides a new wait on an unchanged head anew: a fix that changed nothing is the same failure again', async () => {
    const { store, clock, deps, setChecks } = await setUp();
    await waitForChecks(deps, RUN_ID, 'token-1');
    setChecks(failed("not ok 1 - adds\n  ---\n  error: '1 !== 2'\n  ...\n"));
    expect(await decideAfterChecks(deps, RUN_ID)).toEqual({ outcome: 'fix' });
    // The fix attempt runs; its tree was the head's, so publish made no commit and CI is read again.
    clock.advance(60_000);
    await mutateRun(deps, RUN_ID, (r) => enterStage(r, 'implement', deps.now(), 'IMPLEMENTING'));
    clock.advance(60_000);
    await waitForChecks(deps, RUN_ID, 'token-2');
    expect(await decideAfterChecks(deps, RUN_ID)).toEqual({ outcome: 'revert' });
    expect(store.runs.get(RUN_ID)?.error?.class).toBe('SameFailureRepeated');
  });
});

describe('the CI-log summary (alias fast)', () => {
  // Setup noise, then the failure at the end, as in a real job log; a secret echoed in between.
  const longLog = [
    ...Array.from(
      { length: 400 },
      (_, i) => `2025-03-01T12:00:00.0000000Z npm http fetch GET 200 pkg-${i} 12ms`,
    ),
    'export AWS_ACCESS_KEY_ID=AKIAZ7Q2VXW4YRT3LPKN',
    "not ok 1 - adds\n  ---\n  error: '1 !== 2'\n  ...",
    '##[error]Process completed with exit code 1.',
  ].join('\n');

  async function summarising(contract: Partial<RunContract> = { ciLogSummaryChars: 1000 }) {
    const context = await setUp(contract);
    await waitForChecks(context.deps, RUN_ID, 'token-1');
    context.setChecks(failed(longLog));
    return context;
  }

  const answer = (store: FakeStore, conversationId: string, text: string, stopReason = 'end_turn') =>
    store.putTurn({
      conversationId,
      turn: 1,
      runId: RUN_ID,
      stage: 'ci-summary',
      role: 'assistant',
      content: text ? [{ type: 'text', text }] : [],
      stopReason,
      model: 'claude-haiku-4-5',
      createdAt: '2025-03-01T12:01:00.000Z',
    });

  it('asks the fast alias, without tools, to read a log longer than limits.ci_log_summary_chars, secrets redacted', async () => {
    const { store, deps } = await summarising();
    const decided = await decideAfterChecks(deps, RUN_ID);
    expect(decided).toEqual({ outcome: 'summarize', conversationId: `${RUN_ID}-ci-1`, turn: 1 });
    const meta = store.conversations.get(decided.conversationId as string);
    expect(meta).toMatchObject({
      runId: RUN_ID,
      stage: 'ci-summary',
      modelAlias: 'fast',
      system: CI_SUMMARY_SYSTEM,
      tools: [],
      models: runContract().models.fast,
    });
    const first = JSON.stringify(store.turns.get(decided.conversationId as string)?.get(0)?.content);
    expect(first).toContain("error: '1 !== 2'");
    expect(first).toContain('1. [tap] adds');
    expect(first).not.toContain('AKIAZ7Q2VXW4YRT3LPKN');
    expect(first).toContain('[REDACTED:');
    expect(store.events.get(RUN_ID)?.find((e) => e.type === 'secrets.redacted')?.data).toMatchObject({
      source: 'ci-log',
    });
    // The fix's feedback is written before the summary: without one, the fix has it all the same.
    expect(store.runs.get(RUN_ID)?.feedback?.text).toMatch(/^Root cause:/);
  });

  it('redacts a secret while the log is whole, so the cut to the last 120,000 characters cannot leave half of it', async () => {
    const context = await setUp({ ciLogSummaryChars: 1000 });
    await waitForChecks(context.deps, RUN_ID, 'token-1');
    // The cut falls ten characters before the key's end: cut first, those ten would read as no key.
    const tail = `${`${'x'.repeat(99)}\n`.repeat(1199)}${'x'.repeat(89)}`;
    context.setChecks(failed(`not ok 1 - adds\nexport AWS_ACCESS_KEY_ID=AKIAZ7Q2VXW4YRT3LPKN\n${tail}`));
    const { conversationId } = await decideAfterChecks(context.deps, RUN_ID);
    const first = JSON.stringify(context.store.turns.get(conversationId as string)?.get(0)?.content);
    expect(first).not.toContain('YRT3LPKN');
    expect(first).toContain('earlier characters cut');
  });

  it('goes on to the fix when the summary cannot be started', async () => {
    const { store, deps } = await summarising();
    store.putConversation = async () => {
      throw new Error('item too large');
    };
    expect(await decideAfterChecks(deps, RUN_ID)).toEqual({ outcome: 'fix' });
    expect(store.runs.get(RUN_ID)?.fixAttempts).toBe(1);
    expect(store.events.get(RUN_ID)?.find((e) => e.type === 'checks.summary-skipped')?.data).toEqual({
      reason: 'could not start',
    });
  });

  it('does not summarise a short log, or any log when the limit is 0', async () => {
    const short = await setUp({ ciLogSummaryChars: 1000 });
    await waitForChecks(short.deps, RUN_ID, 'token-1');
    short.setChecks(failed("not ok 1 - adds\n  ---\n  error: '1 !== 2'\n  ...\n"));
    expect(await decideAfterChecks(short.deps, RUN_ID)).toEqual({ outcome: 'fix' });
    const off = await summarising({ ciLogSummaryChars: 0 });
    expect(await decideAfterChecks(off.deps, RUN_ID)).toEqual({ outcome: 'fix' });
    expect(off.store.conversations.size).toBe(0);
  });

  it('adds the summary to the feedback and the status comment, once', async () => {
    const { store, deps, comments } = await summarising();
    const { conversationId } = await decideAfterChecks(deps, RUN_ID);
    const before = store.runs.get(RUN_ID)?.feedback?.text;
    await answer(
      store,
      conversationId as string,
      "The test job failed: 'adds' expects 2 and gets 1 (test/add.test.js).",
    );
    expect(await readCiSummary(deps, RUN_ID, conversationId as string, 1)).toEqual({ outcome: 'fix' });
    const feedback = store.runs.get(RUN_ID)?.feedback;
    expect(feedback?.summary).toBe("The test job failed: 'adds' expects 2 and gets 1 (test/add.test.js).");
    expect(feedback?.text).toBe(before);
    expect(comments.at(-1)).toContain('**Last CI failure**, summarised from the logs:');
    expect(comments.at(-1)).toContain('expects 2 and gets 1');
    // A retried step changes nothing and says nothing twice.
    await readCiSummary(deps, RUN_ID, conversationId as string, 1);
    expect(store.events.get(RUN_ID)?.filter((e) => e.type === 'checks.summarised')).toHaveLength(1);
    expect(store.events.get(RUN_ID)?.find((e) => e.type === 'checks.summarised')?.data).toMatchObject({
      model: 'claude-haiku-4-5',
    });
  });

  it('goes on without a summary after an empty, refused or cut-short answer, and refuses a turn the worker did not record', async () => {
    for (const [text, stopReason, reason] of [
      ['', 'end_turn', 'empty answer'],
      ['I cannot help with that.', 'refusal', 'refusal'],
      ['The job test failed because slugify joins the wor', 'max_tokens', 'cut at the output limit'],
    ] as const) {
      const { store, deps } = await summarising();
      const { conversationId } = await decideAfterChecks(deps, RUN_ID);
      await expect(readCiSummary(deps, RUN_ID, conversationId as string, 1)).rejects.toBeInstanceOf(
        TurnNotRecorded,
      );
      await answer(store, conversationId as string, text, stopReason);
      expect(await readCiSummary(deps, RUN_ID, conversationId as string, 1)).toEqual({ outcome: 'fix' });
      expect(store.runs.get(RUN_ID)?.feedback?.summary).toBeUndefined();
      expect(store.runs.get(RUN_ID)?.feedback?.text).toMatch(/^Root cause:/);
      expect(store.events.get(RUN_ID)?.find((e) => e.type === 'checks.summary-skipped')?.data).toMatchObject({
        reason,
      });
    }
  });
});
