import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_INPUT_ASSERTION, SLUGIFY_SOURCE } from '../../../local/model/sample-code';
import { makeBlobs } from '../../../functions/shared/runtime';
import { COLLAPSE_TEST_NAME, EMPTY_TEST_NAME } from '../../../local/model/sample-code';
import {
  blockingReviewScenario,
  failingTestsOf,
  failingThenFixedScenario,
  type Script,
  sameFailureTwiceScenario,
  twoDifferentFailuresScenario,
} from '../../../local/model/scripts';
import { ApiError } from '../../../local/model/api-error';
import { CI_LOG_SUMMARY_YML, CI_ONLY_YML } from '../../../local/model/scenarios';
import { type Stack, WORKSPACE_BUCKET } from '../../../local/stack';
import { startTestStack } from '../../support/e2e';
import {
  branchExists,
  decideRun,
  eventsOf,
  eventTypes,
  fileAt,
  forgeGet,
  issueComments,
  pullCommits,
  pullOf,
  reviewsOf,
  sandbox,
  startScenario,
  finished,
} from './support';

/** The fix loop: failing CI fixed, the same failure twice reverted, a blocking review fixed. */

/** The model's view of each CI fix attempt: the first user message the real worker sent it. */
function recordingFixPrompts(next: Script): { script: Script; fixPrompts: string[] } {
  const fixPrompts: string[] = [];
  const script: Script = (request, ctx) => {
    if (ctx.stage === 'implement' && ctx.fixMode === 'checks' && !fixPrompts.includes(ctx.prompt))
      fixPrompts.push(ctx.prompt);
    return next(request, ctx);
  };
  return { script, fixPrompts };
}

let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack();
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('fix loop', () => {
  it('fixes failing CI on the next attempt: two commits on the PR, merged green', async () => {
    const box = await sandbox(stack, 'ci-fix');
    const run = await startScenario(stack, box, failingThenFixedScenario);
    expect(await decideRun(stack, run.runId, 'approve')).toBe(200);
    const done = await finished(stack, run.runId);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.fixAttempts).toBe(1);

    const commits = await pullCommits(stack, box, done.prNumber as number);
    expect(commits).toHaveLength(2);
    const pull = await pullOf(stack, box, done.prNumber as number);
    expect(pull.merged).toBe(true);
    expect(pull.head.sha).toBe(done.headSha);
    expect(await fileAt(stack, box, 'src/slugify.js')).toBe(SLUGIFY_SOURCE);

    const events = await eventsOf(stack, run.runId);
    const failed = events.filter((e) => e.type === 'checks.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.data?.headSha).toBe(commits[0]?.sha);
    expect(events.filter((e) => e.type === 'change.published')).toHaveLength(2);
  }, 60_000);

  it('the same failure twice reverts: PR closed, branch deleted, FAILED with the root cause', async () => {
    const box = await sandbox(stack, 'ci-twice');
    const run = await startScenario(stack, box, sameFailureTwiceScenario);
    const done = await finished(stack, run.runId, 60_000);
    expect(done.status).toBe('FAILED');
    expect(done.error?.class).toBe('SameFailureRepeated');
    expect(done.error?.cause).toMatch(/not ok|fail|expected/i);

    const pull = await pullOf(stack, box, done.prNumber as number);
    expect(pull.state).toBe('closed');
    expect(pull.merged).toBe(false);
    expect(await branchExists(stack, box, done.branch as string)).toBe(false);
    expect(await fileAt(stack, box, 'src/slugify.js')).toBeUndefined();

    const status = (await issueComments(stack, box)).find((c) => c.body.includes(done.runId));
    expect(status?.body).toContain('failed');
    expect(status?.body).toContain('SameFailureRepeated');
    expect(status?.body).toContain((done.error?.cause ?? '').split('\n')[0]);

    const types = await eventTypes(stack, run.runId);
    expect(types.filter((t) => t === 'checks.failed')).toHaveLength(2);
    expect(types).toContain('change.reverted');
    expect(types.at(-1)).toBe('run.finished');
  }, 60_000);

  it('two different failing tests give two signatures, each fix prompt naming its test and assertion', async () => {
    // CI runs every test; the repository's sandbox checks run only its original ones.
    const box = await sandbox(stack, 'ci-two', { files: { '.github/factory.yml': CI_ONLY_YML } });
    const { script, fixPrompts } = recordingFixPrompts(twoDifferentFailuresScenario);
    const run = await startScenario(stack, box, script);
    expect(await decideRun(stack, run.runId, 'approve')).toBe(200);
    const done = await finished(stack, run.runId, 120_000);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.fixAttempts).toBe(2);

    const failed = (await eventsOf(stack, run.runId)).filter((e) => e.type === 'checks.failed');
    expect(failed.map((e) => e.data?.repeated)).toEqual([false, false]);
    expect(failed[0]?.data?.signature).not.toBe(failed[1]?.data?.signature);
    // The sandbox checks ran before each push and passed: only CI saw the failing tests.
    const types = await eventTypes(stack, run.runId);
    expect(types.filter((t) => t === 'sandbox.checks-passed')).toHaveLength(3);
    expect(types).not.toContain('sandbox.checks-failed');

    // Failures first (the root cause names the failing test and its assertion), the log's tail after.
    expect(fixPrompts).toHaveLength(2);
    const [first, second] = fixPrompts.map((p) => p.slice(p.indexOf('Root cause:'), p.indexOf('Log tail')));
    expect(failingTestsOf(first ?? '')).toEqual([COLLAPSE_TEST_NAME]);
    expect(first).toContain("+ 'déjà-vu'\n");
    expect(first).toContain("- 'd-j-vu'");
    // Then the failed check, its link and its annotations (the failing assertion's file:line).
    expect(first).toMatch(
      new RegExp(
        `\\n- test: failure \\(details: http[^)]+\\)\\n {2}- test/slugify\\.test\\.js:\\d+ failure ${COLLAPSE_TEST_NAME}: `,
      ),
    );
    expect(failingTestsOf(second ?? '')).toEqual([EMPTY_TEST_NAME]);
    expect(second).toContain("'untitled' !== ''");

    const blobs = makeBlobs({ WORKSPACE_BUCKET });
    for (const event of failed) {
      const headSha = String(event.data?.headSha);
      // As on GitHub Actions: no output on the check run; the log is the job's, annotations aside.
      const { check_runs } = await forgeGet(stack, `/repos/${box.full}/commits/${headSha}/check-runs`);
      expect(check_runs).toHaveLength(1);
      expect(check_runs[0].output).toMatchObject({ title: null, summary: null, text: null });
      expect(check_runs[0].output.annotations_count).toBeGreaterThan(1);
      // The whole job log, kept by reference under the run.
      const logs = event.data?.logs as Array<{ key: string }>;
      expect(logs).toHaveLength(1);
      expect(logs[0]?.key).toMatch(new RegExp(`^ci-logs/${run.runId}/${headSha}/test-\\d+\\.log$`));
      const log = new TextDecoder().decode(await blobs.get(logs[0]?.key ?? ''));
      expect(log).toContain('##[error]Process completed with exit code 1.');
    }
  }, 150_000);

  it('summarises a long CI log with the fast alias: one call without tools, its words in the fix prompt', async () => {
    const box = await sandbox(stack, 'ci-summary', {
      files: {
        '.github/factory.yml': CI_LOG_SUMMARY_YML,
        'AGENTS.md': '# Agents\n\nTests run with node --test; a TAP `not ok` line names the failing test.\n',
      },
    });
    const summaries: Array<{ model: string; tools: number; prompt: string }> = [];
    const models = new Set<string>();
    const { script, fixPrompts } = recordingFixPrompts((request, ctx) => {
      if (ctx.stage === 'ci-summary')
        summaries.push({ model: request.model, tools: request.tools?.length ?? 0, prompt: ctx.prompt });
      else models.add(request.model);
      return failingThenFixedScenario(request, ctx);
    });
    const run = await startScenario(stack, box, script);
    expect(await decideRun(stack, run.runId, 'approve')).toBe(200);
    const done = await finished(stack, run.runId, 120_000);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.fixAttempts).toBe(1);

    // The fast alias's model, not the coder's, read the job log (its failing test included).
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    const [summary] = summaries;
    expect(summary?.tools).toBe(0);
    expect(summary?.model).toMatch(/haiku/);
    expect(models.has(summary?.model ?? '')).toBe(false);
    expect(summary?.prompt).toContain('## test: failure');
    expect(summary?.prompt).toContain(`not ok`);
    // The repository's guidance, as every stage's first message carries it.
    expect(summary?.prompt).toContain('a TAP `not ok` line names the failing test');

    // The fix prompt: the extracted failures first, then what the summariser said.
    expect(fixPrompts).toHaveLength(1);
    const [fix] = fixPrompts;
    const said = (fix ?? '').indexOf('What a model reading the full CI logs says');
    expect((fix ?? '').indexOf('Root cause:')).toBeGreaterThan(-1);
    expect(said).toBeGreaterThan((fix ?? '').indexOf('Root cause:'));
    expect((fix ?? '').slice(said)).toContain('Failed checks: test (failure).');

    const events = await eventsOf(stack, run.runId);
    expect(events.find((e) => e.type === 'checks.summarised')?.data?.model).toBe(summary?.model);
    const ledger = await stack.store.listLedger(run.runId);
    expect(ledger.filter((row) => row.stage === 'ci-summary').map((row) => row.model)).toEqual([
      summary?.model,
    ]);
  }, 150_000);

  it('the same failure twice shows it, summarised, in the final status comment', async () => {
    const box = await sandbox(stack, 'ci-summary-twice', {
      files: { '.github/factory.yml': CI_LOG_SUMMARY_YML },
    });
    const run = await startScenario(stack, box, sameFailureTwiceScenario);
    const done = await finished(stack, run.runId, 120_000);
    expect(done.status).toBe('FAILED');
    expect(done.error?.class).toBe('SameFailureRepeated');
    const status = (await issueComments(stack, box)).find((c) => c.body.includes(done.runId));
    expect(status?.body).toContain('**Last CI failure**, summarised from the logs:');
    expect(status?.body).toContain('Failed checks: test (failure).');
  }, 150_000);

  it('a summary that fails (the API refuses it, or the answer is empty) costs the summary, not the run', async () => {
    for (const [label, answer] of [
      ['refused', 'error'],
      ['empty', 'empty'],
    ] as const) {
      const box = await sandbox(stack, `ci-summary-${label}`, {
        files: { '.github/factory.yml': CI_LOG_SUMMARY_YML },
      });
      const { script, fixPrompts } = recordingFixPrompts((request, ctx) => {
        if (ctx.stage === 'ci-summary') {
          if (answer === 'error')
            throw new ApiError(
              400,
              'invalid_request_error',
              'messages: text content blocks must be non-empty',
            );
          return { content: [], stopReason: 'end_turn' };
        }
        return failingThenFixedScenario(request, ctx);
      });
      const run = await startScenario(stack, box, script);
      expect(await decideRun(stack, run.runId, 'approve')).toBe(200);
      const done = await finished(stack, run.runId, 120_000);
      expect(done.status, label).toBe('SUCCEEDED');
      expect(fixPrompts[0], label).toContain('Root cause:');
      expect(fixPrompts[0], label).not.toContain('What a model reading the full CI logs says');
      const types = await eventTypes(stack, run.runId);
      expect(types, label).not.toContain('checks.summarised');
      if (answer === 'empty') expect(types).toContain('checks.summary-skipped');
    }
  }, 240_000);

  it('a blocking review finding goes back to implement, and the fixed change merges', async () => {
    const box = await sandbox(stack, 'review');
    const run = await startScenario(stack, box, blockingReviewScenario);
    expect(await decideRun(stack, run.runId, 'approve')).toBe(200);
    const done = await finished(stack, run.runId);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.fixAttempts).toBe(1);

    const reviews = await reviewsOf(stack, box, done.prNumber as number);
    expect(reviews).toHaveLength(2);
    expect(reviews[0]?.body).toContain('changes required');
    expect(reviews[0]?.body).toContain('empty');
    expect(reviews[1]?.body).not.toContain('changes required');
    expect(await pullCommits(stack, box, done.prNumber as number)).toHaveLength(2);
    expect(await fileAt(stack, box, 'test/slugify.test.js')).toContain(EMPTY_INPUT_ASSERTION);

    const events = await eventsOf(stack, run.runId);
    const submitted = events.filter((e) => e.type === 'review.submitted').map((e) => e.data?.blocking);
    expect(submitted).toEqual([true, false]);
  }, 60_000);
});
