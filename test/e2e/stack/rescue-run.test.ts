import { describe, expect, it } from 'vitest';
import { runDemo } from '../../../local/demo';
import { CI_ONLY_YML, FAILING_PULL, type Scenario, scenarioNamed } from '../../../local/model/scenarios';
import { rescueOutOfAttemptsScenario } from '../../../local/model/scripts';
import { SLUGIFY_BUGGY_SOURCE, SLUGIFY_PATH, SLUGIFY_SOURCE } from '../../../local/model/sample-code';
import type { Stack } from '../../../local/stack';

/**
 * Rescue runs on the embedded stack (`npm run demo -- --scenario rescue`): bob opens a pull
 * request whose slugify leaves a trailing dash, with the tests that catch it, so CI fails; alice
 * comments `/factory rescue`. The run reads the failing CI, fixes slugify on bob's branch with a
 * commit on top of his, and CI turns green: same PR, no other PR or branch, nothing merged. A
 * rescue that runs out of attempts leaves the PR open, its branch as it pushed it, and says what it
 * tried and what still fails.
 */

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary fields of forge responses
type Json = any;

async function forgeGet(stack: Stack, route: string): Promise<Json> {
  const response = await fetch(`${stack.forgeUrl}/api/v3${route}`, {
    headers: { authorization: `token ${stack.forge.botToken}`, accept: 'application/vnd.github+json' },
  });
  if (!response.ok) throw new Error(`forge GET ${route}: ${response.status}`);
  return response.json();
}

const fileAt = async (stack: Stack, path: string, ref: string): Promise<string> => {
  const file: Json = await forgeGet(stack, `/repos/acme/widgets/contents/${path}?ref=${ref}`);
  return Buffer.from(file.content, 'base64').toString('utf8');
};

const conclusionsOf = async (stack: Stack, sha: string): Promise<string[]> =>
  ((await forgeGet(stack, `/repos/acme/widgets/commits/${sha}/check-runs`)) as Json).check_runs.map(
    (r: Json) => r.conclusion,
  );

async function waitForEnd(stack: Stack, runId: string) {
  for (let i = 0; i < 300; i++) {
    const run = await stack.store.getRun(runId);
    if (run && ['SUCCEEDED', 'FAILED', 'BLOCKED', 'STOPPED'].includes(run.status)) return run;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`run ${runId} did not end`);
}

describe('a rescue run on a pull request whose CI fails', () => {
  it("pushes a fixing commit on bob's branch, CI turns green; the PR number is unchanged and no other PR exists", async () => {
    const scenario = scenarioNamed('rescue');
    expect(scenario?.pullRequest).toEqual(FAILING_PULL);
    let checked = false;
    const result = await runDemo({
      autoApprove: true,
      json: true,
      timeoutMs: 150_000,
      ...(scenario ? { scenario } : {}),
      inspect: async (stack, demo) => {
        const run = await stack.store.getRun(demo.runId);
        const pulls: Json[] = await forgeGet(stack, '/repos/acme/widgets/pulls?state=all');
        // Only bob's PR, still open: the rescue opened none and closed nothing.
        expect(pulls.map((p) => [p.number, p.user.login, p.head.ref, p.state])).toEqual([
          [demo.rescuedPr?.number, 'bob', FAILING_PULL.branch, 'open'],
        ]);
        const number = pulls[0].number;
        // Bob's commit, then the factory's on top (never forced): the head is the run's.
        const commits: Json[] = await forgeGet(stack, `/repos/acme/widgets/pulls/${number}/commits`);
        expect(commits).toHaveLength(2);
        expect(commits[0].commit.author.name).toBe('bob');
        expect(commits[1].parents.map((p: Json) => p.sha)).toEqual([commits[0].sha]);
        expect(commits[1].commit.message).toContain(`Code-Factory-Run: ${demo.runId}`);
        expect(commits[1].sha).toBe(pulls[0].head.sha);
        expect(run?.headSha).toBe(pulls[0].head.sha);
        // CI failed on bob's head and passes on the fix.
        expect(await conclusionsOf(stack, commits[0].sha)).toEqual(['failure']);
        expect(await conclusionsOf(stack, commits[1].sha)).toEqual(['success']);
        expect(await fileAt(stack, SLUGIFY_PATH, commits[0].sha)).toBe(SLUGIFY_BUGGY_SOURCE);
        expect(await fileAt(stack, SLUGIFY_PATH, commits[1].sha)).toBe(SLUGIFY_SOURCE);
        const branches: Json[] = await forgeGet(stack, '/repos/acme/widgets/git/matching-refs/heads/');
        expect(branches.map((b) => b.ref).sort()).toEqual([
          `refs/heads/${FAILING_PULL.branch}`,
          'refs/heads/main',
        ]);
        // The PR's own text is bob's; the run speaks in its status comment.
        expect(pulls[0].body).toBe(FAILING_PULL.body);
        const comments: Json[] = await forgeGet(stack, `/repos/acme/widgets/issues/${number}/comments`);
        const status = comments.find((c) => String(c.body).includes(demo.runId));
        expect(status?.body).toContain('checks pass');
        expect(status?.body).toContain(commits[1].sha.slice(0, 7));
        // No approval mail for a rescue.
        const mail = (await (await fetch(`${stack.mailUrl}/store`)).json()) as Json;
        expect(mail.emails).toEqual([]);

        // Again through the REST API, now that CI passes: nothing to fix, nothing pushed.
        const started = await fetch(`${stack.url}/v1/runs`, {
          method: 'POST',
          headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ kind: 'rescue', repo: 'acme/widgets', pr: number }),
        });
        expect(started.status).toBe(201);
        const again = await waitForEnd(stack, ((await started.json()) as Json).data.id);
        expect(again).toMatchObject({ status: 'SUCCEEDED', kind: 'rescue', prNumber: number });
        expect(again.rescue?.pushes).toEqual([]);
        expect((await forgeGet(stack, `/repos/acme/widgets/pulls/${number}/commits`)).length).toBe(2);
        checked = true;
      },
    });
    expect(checked).toBe(true);
    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      kind: 'rescue',
      mergedSha: null,
      scenario: 'rescue',
    });
    expect(result.rescuedPr?.url).toMatch(/\/acme\/widgets\/pull\/\d+$/);
    expect(result.stages.map((s) => s.name)).toEqual([
      'admit',
      'checks',
      'implement',
      'boundary',
      'publish',
      'checks',
    ]);
  }, 200_000);

  it('out of attempts: the PR stays open, its branch intact, and a comment says what it tried and what still fails', async () => {
    const scenario: Scenario = {
      name: 'rescue-out-of-attempts',
      description: 'the fix fails CI another way; one fix attempt allowed',
      script: rescueOutOfAttemptsScenario,
      expect: 'FAILED',
      // The sandbox checks run only the original tests, so the wrong fix reaches CI.
      files: { '.github/factory.yml': `${CI_ONLY_YML}max_fix_attempts: 1\n` },
      pullRequest: FAILING_PULL,
      pullCommand: 'rescue',
    };
    let checked = false;
    const result = await runDemo({
      autoApprove: true,
      json: true,
      timeoutMs: 150_000,
      scenario,
      inspect: async (stack, demo) => {
        const run = await stack.store.getRun(demo.runId);
        expect(run?.error?.class).toBe('FixAttemptsExhausted');
        const pulls: Json[] = await forgeGet(stack, '/repos/acme/widgets/pulls?state=all');
        expect(pulls.map((p) => [p.number, p.head.ref, p.state, p.draft])).toEqual([
          [demo.rescuedPr?.number, FAILING_PULL.branch, 'open', false],
        ]);
        const number = pulls[0].number;
        // The branch is there, at the commit the rescue pushed on top of bob's.
        const ref: Json = await forgeGet(stack, `/repos/acme/widgets/git/ref/heads/${FAILING_PULL.branch}`);
        expect(ref.object.sha).toBe(run?.headSha);
        expect(run?.rescue?.pushes.map((p) => p.sha)).toEqual([run?.headSha]);
        expect(await conclusionsOf(stack, ref.object.sha)).toEqual(['failure']);
        const comments: Json[] = await forgeGet(stack, `/repos/acme/widgets/issues/${number}/comments`);
        const status = comments.find((c) => String(c.body).includes(demo.runId))?.body ?? '';
        expect(status).toContain('Could not make the checks pass');
        expect(status).toContain('(FixAttemptsExhausted)');
        // What it tried: its commit; what still fails: the test CI names.
        expect(status).toContain(ref.object.sha.slice(0, 7));
        expect(status).toContain('Still failing:');
        expect(status).toContain('collapses runs of other characters into one dash');
        expect(status).toContain('stays open and its branch as it is');
        expect(status).toContain('/factory rescue');
        checked = true;
      },
    });
    expect(checked).toBe(true);
    expect(result).toMatchObject({ status: 'FAILED', kind: 'rescue', mergedSha: null });
  }, 200_000);
});
