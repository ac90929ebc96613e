import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLUGIFY_SOURCE } from '../../../local/model/sample-code';
import { sampleScript } from '../../../local/model/scripts';
import type { Stack } from '../../../local/stack';
import { startTestStack } from '../../support/e2e';
import {
  commitMessage,
  eventsOf,
  executionEnded,
  fileAt,
  finished,
  forgeGet,
  issueComments,
  pullOf,
  sandbox,
  startScenario,
} from './support';

/**
 * A run that stops keeps its work (SPEC §2.4): a stage out of its `limits.turns` ends STOPPED;
 * what it changed is on a draft PR with a note on where it stopped, and a stage that changed
 * nothing opens no PR. (Checks that keep failing: sandbox.test.ts; a budget spent before the
 * first call: decisions.test.ts.)
 */

let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack();
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

/** The text blocks of every turn of the run's latest conversation of `stage`. */
async function conversationTexts(runId: string, stage: string): Promise<string[][]> {
  const run = await stack.store.getRun(runId);
  const conversation = run?.conversations.filter((c) => c.stage === stage).at(-1);
  if (!conversation) return [];
  const { turns } = await stack.store.getConversationWithTurns(conversation.conversationId);
  return turns.map((t) =>
    (t.content as Array<{ type: string; text?: string }>)
      .filter((b) => b.type === 'text')
      .map((b) => String(b.text)),
  );
}

describe('keeping the work of a run that stops', () => {
  it('an implement stage out of turns ends STOPPED with its work on a draft PR', async () => {
    const box = await sandbox(stack, 'out-of-turns', {
      files: { '.github/factory.yml': 'version: 1\nlimits:\n  turns:\n    implement: 4\n' },
    });
    // The sample model needs 6 implement turns (read, write, export, tests, run, submit).
    const run = await startScenario(stack, box, sampleScript);
    const done = await finished(stack, run.runId);
    expect(done.status).toBe('STOPPED');
    expect(done.error).toEqual({
      class: 'TurnsExhausted',
      cause: 'implement used all 4 of its turns (limits.turns.implement) without calling submit_change',
    });
    expect(await executionEnded(stack, run.runId)).toBe('SUCCEEDED');

    // The model was told its allowance, then the turns left after each turn.
    const texts = await conversationTexts(run.runId, 'implement');
    expect(texts[0]?.at(-1)).toMatch(/^You have 4 turns \(model calls\) for this stage/);
    expect(texts[2]).toContain('[3 of 4 turns left: finish up and call submit_change.]');
    expect(texts[6]).toContain(
      '[1 of 4 turns left, your last: call submit_change now, or the stage stops where it is.]',
    );
    expect(texts).toHaveLength(9);

    // What it wrote in those turns is on the run's branch, in a draft PR with the note.
    const pull = await pullOf(stack, box, done.prNumber as number);
    expect(pull).toMatchObject({ draft: true, state: 'open' });
    expect(pull.head.ref).toBe(done.branch);
    expect(pull.body).toContain('(run `' + run.runId + '`, TurnsExhausted)');
    expect(pull.body).toContain('- **Turns:** 4 of 4 in implement');
    expect(pull.body).toContain('### The plan');
    expect(pull.body).toContain(
      '- Finish the change: the implement stage ran out of turns before it was submitted',
    );
    expect(pull.body).toMatch(/ 3 files changed, \d+ insertion/);
    expect(pull.body).toContain('Part of #' + box.issue);
    expect(await fileAt(stack, box, 'src/slugify.js', done.branch)).toBe(SLUGIFY_SOURCE);
    expect(await fileAt(stack, box, 'test/slugify.test.js', done.branch)).toBeDefined();
    expect(await commitMessage(stack, box, done.headSha as string)).toMatch(
      /^WIP: .* \(stopped: TurnsExhausted\)\n\nCode-Factory-Run: /,
    );
    const comment = (await issueComments(stack, box)).find((c) => c.body.includes(run.runId));
    expect(comment?.body).toContain(`**Pull request:** ${pull.html_url}`);
    expect(comment?.body).toContain('(TurnsExhausted)');
  }, 90_000);

  it('a plan stage out of turns ends STOPPED without a PR: it changed nothing', async () => {
    const box = await sandbox(stack, 'plan-out-of-turns', {
      files: { '.github/factory.yml': 'version: 1\nlimits:\n  turns:\n    plan: 2\n' },
    });
    const run = await startScenario(stack, box, sampleScript);
    const done = await finished(stack, run.runId);
    expect(done.status).toBe('STOPPED');
    expect(done.error?.class).toBe('TurnsExhausted');
    expect(done.prNumber).toBeUndefined();
    const kept = (await eventsOf(stack, run.runId)).find((e) => e.type === 'work.kept');
    expect(kept?.data).toMatchObject({ pushed: false, stage: 'plan' });
    expect(await forgeGet(stack, `/repos/${box.full}/pulls?state=all`)).toEqual([]);
  }, 90_000);
});
