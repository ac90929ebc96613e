import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLUGIFY_SOURCE } from '../../../local/model/sample-code';
import { parseModelScript, scriptOf } from '../../../local/model/script-file';
import { sampleScript } from '../../../local/model/scripts';
import type { Stack } from '../../../local/stack';
import { api, eventually, runsOf, startTestStack } from '../../support/e2e';
import { decideRun, eventsOf, fileAt, finished, pullOf, sandbox, startScenario } from './support';

/**
 * `/factory retry` after a run that STOPPED with its work on a draft PR resumes it (SPEC §2.4):
 * the new run starts from the stopped run's branch (its change is the pending change) with the
 * stopped run's note in its prompts, publishes to the same PR, and merges both runs' work.
 */

let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack();
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

/** The retry's model: it writes nothing, only checks and submits what the stopped run left. */
const RESUME_SCRIPT = scriptOf(
  parseModelScript(
    JSON.stringify({
      stages: {
        plan: [
          [
            {
              type: 'tool_use',
              name: 'submit_plan',
              input: {
                status: 'COMPLETE',
                summary:
                  'Finish the stopped run: its slugify change is in the workspace; run the tests, submit.',
                assumptions: [],
                questions: [],
                blockers: [],
                acceptance_criteria: ['node --test passes'],
                files_to_touch: ['src/slugify.js', 'src/index.js', 'test/slugify.test.js'],
                test_plan: 'The tests the stopped run wrote.',
                risks: [],
                cost_estimate_usd: 0.02,
              },
            },
          ],
        ],
        implement: [
          [{ type: 'tool_use', name: 'diff', input: {} }],
          [{ type: 'tool_use', name: 'run', input: { command: 'node --test' } }],
          [
            {
              type: 'tool_use',
              name: 'submit_change',
              input: {
                status: 'COMPLETE',
                summary: 'Finished the slugify change the stopped run left.',
                assumptions: [],
                questions: [],
                blockers: [],
                commit_message: 'Add slugify(text) helper',
              },
            },
          ],
        ],
        review: [
          [
            {
              type: 'tool_use',
              name: 'submit_review',
              input: {
                status: 'COMPLETE',
                summary: 'Looks right.',
                assumptions: [],
                questions: [],
                blockers: [],
                findings: [],
              },
            },
          ],
        ],
      },
    }),
  ),
);

/** The text of every block (text and tool results) of each turn of the run's latest `stage` conversation. */
async function conversation(runId: string, stage: string): Promise<string[]> {
  const run = await stack.store.getRun(runId);
  const id = run?.conversations.filter((c) => c.stage === stage).at(-1)?.conversationId;
  if (!id) return [];
  const { turns } = await stack.store.getConversationWithTurns(id);
  return turns.map((t) => JSON.stringify(t.content));
}

describe('/factory retry after a stopped run', () => {
  it('resumes from the draft PR and the note, and merges the stopped run work', async () => {
    const box = await sandbox(stack, 'resume', {
      files: {
        '.github/factory.yml':
          'version: 1\nenvironment:\n  checks:\n    - node --test\nlimits:\n  turns:\n    implement: 4\n',
      },
    });
    // The sample model needs 6 implement turns: with 4 it writes the files, then runs out.
    const first = await startScenario(stack, box, sampleScript);
    const stopped = await finished(stack, first.runId);
    expect(stopped.status).toBe('STOPPED');
    expect(stopped.prNumber).toBeDefined();
    expect(await fileAt(stack, box, 'src/slugify.js', stopped.branch)).toBe(SLUGIFY_SOURCE);

    stack.model?.setScript(RESUME_SCRIPT);
    await stack.forge.actions.comment('alice', box.owner, box.name, box.issue, '/factory retry');
    const retry = await eventually('the retry run', async () =>
      (await runsOf(stack, box.full)).find((r) => r.runId !== first.runId),
    );
    expect(retry.trigger.source).toBe('retry');
    expect(await decideRun(stack, retry.runId, 'approve')).toBeLessThan(400);
    const done = await finished(stack, retry.runId);
    expect(done.status).toBe('SUCCEEDED');

    // It resumed the stopped run: its base, its branch, its PR; three files seeded from the branch.
    expect(done.resumedFrom).toMatchObject({
      runId: first.runId,
      branch: stopped.branch,
      headSha: stopped.headSha,
      baseSha: stopped.baseSha,
    });
    expect(done.baseSha).toBe(stopped.baseSha);
    expect(done.prNumber).toBe(stopped.prNumber);
    const resumed = (await eventsOf(stack, retry.runId)).find((e) => e.type === 'run.resumed');
    expect(resumed?.data).toMatchObject({ fromRunId: first.runId, files: 3, deleted: 0 });

    // Implement began with the stopped run's change pending and its note in the first message.
    const turns = await conversation(retry.runId, 'implement');
    expect(turns[0]).toContain('This run resumes a run that stopped before it finished');
    expect(turns[0]).toContain(
      `Code Factory stopped before finishing** (run \`${first.runId}\`, TurnsExhausted)`,
    );
    expect(turns[0]).toContain("The stopped run's change (pending change against the base");
    // The answer to its first call (diff) shows the slugify change it never wrote itself.
    expect(turns[2]).toContain('src/slugify.js');
    expect(turns[2]).toContain('export function slugify');
    const plan = await conversation(retry.runId, 'plan');
    expect(plan[0]).toContain('Where the stopped run stopped and what is left');

    // Merged through the same PR, with the stopped run's files, which the retry never wrote.
    const pull = await pullOf(stack, box, done.prNumber as number);
    expect(pull).toMatchObject({ merged: true });
    expect(await fileAt(stack, box, 'src/slugify.js')).toBe(SLUGIFY_SOURCE);
    expect(await fileAt(stack, box, 'test/slugify.test.js')).toContain("from '../src/index.js'");
    expect(await fileAt(stack, box, 'src/index.js')).toContain("export { slugify } from './slugify.js';");
  }, 180_000);

  it('POST /v1/runs/{id}/retry resumes it too, with the larger budget it asks for', async () => {
    const box = await sandbox(stack, 'resume-api', {
      files: {
        '.github/factory.yml':
          'version: 1\nbudget_usd: 2\nmonthly_budget_usd: 50\nenvironment:\n  checks:\n    - node --test\nlimits:\n  turns:\n    implement: 4\n',
      },
    });
    const first = await startScenario(stack, box, sampleScript);
    const stopped = await finished(stack, first.runId);
    expect(stopped.status).toBe('STOPPED');

    stack.model?.setScript(RESUME_SCRIPT);
    const started = await api(stack, 'POST', `/v1/runs/${first.runId}/retry`, { budget_usd: 8 });
    expect(started.status).toBe(201);
    const retryId = started.json.data.id as string;
    expect(await decideRun(stack, retryId, 'approve')).toBeLessThan(400);
    const done = await finished(stack, retryId);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.trigger.source).toBe('retry');
    expect(done.resumedFrom?.runId).toBe(first.runId);
    expect((done.contract as { budgetUsd?: number }).budgetUsd).toBe(8);
    expect(done.prNumber).toBe(stopped.prNumber);
    expect(await fileAt(stack, box, 'src/slugify.js')).toBe(SLUGIFY_SOURCE);
  }, 180_000);
});
