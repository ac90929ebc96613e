import { describe, expect, it } from 'vitest';
import { runDemo } from '../../../local/demo';
import { BUGGY_PULL, type Scenario, scenarioNamed } from '../../../local/model/scenarios';
import { type Script, sampleScript } from '../../../local/model/scripts';
import { SLUGIFY_BUGGY_SOURCE, SLUGIFY_PATH } from '../../../local/model/sample-code';
import type { Stack } from '../../../local/stack';

/**
 * A review run on the embedded stack (`npm run demo -- --scenario review`): bob opens a pull
 * request whose slugify leaves a trailing dash, alice comments `/factory review` on it. The run
 * posts ONE review, CHANGES_REQUESTED, with an inline comment on the buggy line; it pushes
 * nothing and opens nothing.
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

/** The line of the buggy source that replaces separators without stripping the ends. */
const BUGGY_LINE =
  SLUGIFY_BUGGY_SOURCE.split('\n').findIndex((line) => line.includes(".replace(/[^a-z0-9]+/g, '-');")) + 1;

describe('a review run on a pull request', () => {
  it("reviews bob's PR with a bug (webhook, then REST API): one review each, CHANGES_REQUESTED, an inline comment on the buggy line, nothing pushed", async () => {
    const scenario = scenarioNamed('review');
    expect(scenario?.pullRequest).toEqual(BUGGY_PULL);
    expect(BUGGY_LINE).toBeGreaterThan(0);
    let checked = false;
    const result = await runDemo({
      autoApprove: true,
      json: true,
      timeoutMs: 120_000,
      ...(scenario ? { scenario } : {}),
      inspect: async (stack, demo) => {
        const pulls: Json[] = await forgeGet(stack, '/repos/acme/widgets/pulls?state=all');
        // Only bob's PR: the review run opened none.
        expect(pulls.map((p) => [p.number, p.user.login, p.head.ref])).toEqual([
          [demo.reviewedPr?.number, 'bob', BUGGY_PULL.branch],
        ]);
        const number = pulls[0].number;
        expect(pulls[0].state).toBe('open');
        // bob's branch is untouched: still his one commit on top of main.
        const commits: Json[] = await forgeGet(stack, `/repos/acme/widgets/pulls/${number}/commits`);
        expect(commits.map((c) => c.commit.author.name)).toEqual(['bob']);
        const branches: Json[] = await forgeGet(stack, '/repos/acme/widgets/git/matching-refs/heads/');
        expect(branches.map((b) => b.ref).sort()).toEqual(['refs/heads/bob/slugify', 'refs/heads/main']);

        const reviews: Json[] = await forgeGet(stack, `/repos/acme/widgets/pulls/${number}/reviews`);
        expect(reviews).toHaveLength(1);
        expect(reviews[0].state).toBe('CHANGES_REQUESTED');
        expect(reviews[0].user.login).toBe(stack.forge.botLogin);
        expect(reviews[0].commit_id).toBe(pulls[0].head.sha);
        expect(reviews[0].body).toContain(demo.runId);

        const comments: Json[] = await forgeGet(stack, `/repos/acme/widgets/pulls/${number}/comments`);
        expect(comments).toHaveLength(1);
        expect(comments[0]).toMatchObject({
          path: SLUGIFY_PATH,
          line: BUGGY_LINE,
          side: 'RIGHT',
          pull_request_review_id: reviews[0].id,
        });
        expect(comments[0].body).toContain('```suggestion');
        expect(comments[0].diff_hunk).toContain(".replace(/[^a-z0-9]+/g, '-');");

        // The same through the REST API: POST /v1/runs {kind: "review", repo, pr}.
        const started = await fetch(`${stack.url}/v1/runs`, {
          method: 'POST',
          headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ kind: 'review', repo: 'acme/widgets', pr: number }),
        });
        expect(started.status).toBe(201);
        const runId: string = ((await started.json()) as Json).data.id;
        for (let i = 0; i < 150; i++) {
          const run = await stack.store.getRun(runId);
          if (run?.status === 'SUCCEEDED' || run?.status === 'FAILED') break;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        expect((await stack.store.getRun(runId))?.status).toBe('SUCCEEDED');
        const again: Json[] = await forgeGet(stack, `/repos/acme/widgets/pulls/${number}/reviews`);
        expect(again.map((r) => r.state)).toEqual(['CHANGES_REQUESTED', 'CHANGES_REQUESTED']);
        expect((await forgeGet(stack, '/repos/acme/widgets/pulls?state=all')).length).toBe(1);
        checked = true;
      },
    });
    expect(checked).toBe(true);
    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      kind: 'review',
      mergedSha: null,
      scenario: 'review',
    });
    expect(result.reviewedPr?.url).toMatch(/\/acme\/widgets\/pull\/\d+$/);
    expect(result.stages.map((s) => s.name)).toEqual(['admit', 'review']);
  }, 180_000);

  it('reviews a large PR in parts and posts ONE review with every part, the inline comment on the buggy line', async () => {
    const data = (name: string) =>
      Array.from({ length: 1100 }, (_, i) => `${name} ${i} ${'lorem ipsum '.repeat(3)}`).join('\n');
    const scenario: Scenario = {
      name: 'review-large',
      description: 'a large PR reviewed in parts',
      script: sampleScript,
      expect: 'SUCCEEDED',
      pullRequest: {
        ...BUGGY_PULL,
        files: { ...BUGGY_PULL.files, 'data/a.txt': `${data('a')}\n`, 'data/b.txt': `${data('b')}\n` },
      },
    };
    let checked = false;
    const result = await runDemo({
      autoApprove: true,
      json: true,
      timeoutMs: 150_000,
      scenario,
      inspect: async (stack, demo) => {
        const number = demo.reviewedPr?.number;
        const started = (await stack.store.listEvents(demo.runId, { limit: 500 })).items.filter(
          (e) => e.type === 'review.started',
        );
        const parts = Number(started[0]?.data?.parts ?? 0);
        expect(parts).toBeGreaterThanOrEqual(2);
        expect(started).toHaveLength(parts);
        const reviews: Json[] = await forgeGet(stack, `/repos/acme/widgets/pulls/${number}/reviews`);
        expect(reviews).toHaveLength(1);
        expect(reviews[0].state).toBe('CHANGES_REQUESTED');
        for (let i = 1; i <= parts; i++) expect(reviews[0].body).toContain(`**Part ${i} of ${parts}:**`);
        const comments: Json[] = await forgeGet(stack, `/repos/acme/widgets/pulls/${number}/comments`);
        expect(comments.map((c) => [c.path, c.line])).toEqual([[SLUGIFY_PATH, BUGGY_LINE]]);
        checked = true;
      },
    });
    expect(checked).toBe(true);
    expect(result).toMatchObject({ status: 'SUCCEEDED', kind: 'review', mergedSha: null });
  }, 200_000);

  it('out of turns, it still posts one partial COMMENT review saying what was not reviewed, then ends STOPPED', async () => {
    // A reviewer that keeps reading and never submits; the repository allows it two turns.
    const reader: Script = (request, ctx) =>
      ctx.stage === 'pr-review'
        ? { content: [{ type: 'tool_use', name: 'read_file', input: { path: SLUGIFY_PATH } }] }
        : sampleScript(request, ctx);
    const scenario: Scenario = {
      name: 'review-out-of-turns',
      description: 'the reviewer runs out of turns',
      script: reader,
      expect: 'STOPPED',
      files: {
        '.github/factory.yml':
          'version: 1\nenvironment:\n  checks:\n    - node --test\nlimits:\n  turns:\n    review: 2\n',
      },
      pullRequest: {
        ...BUGGY_PULL,
        files: { ...BUGGY_PULL.files, 'README.md': '# widgets, with slugify\n' },
      },
    };
    let checked = false;
    const result = await runDemo({
      autoApprove: true,
      json: true,
      timeoutMs: 120_000,
      scenario,
      inspect: async (stack, demo) => {
        const number = demo.reviewedPr?.number;
        const reviews: Json[] = await forgeGet(stack, `/repos/acme/widgets/pulls/${number}/reviews`);
        expect(reviews).toHaveLength(1);
        expect(reviews[0].state).toBe('COMMENTED');
        expect(reviews[0].body).toContain('(partial)');
        expect(reviews[0].body).toContain(`Read by the reviewer (1 of 2 files): \`${SLUGIFY_PATH}\``);
        expect(reviews[0].body).toContain('Not reviewed beyond the diff shown to the reviewer: `README.md`');
        expect(reviews[0].body).toContain(demo.runId);
        expect(await forgeGet(stack, `/repos/acme/widgets/pulls/${number}/comments`)).toEqual([]);
        checked = true;
      },
    });
    expect(checked).toBe(true);
    expect(result).toMatchObject({ status: 'STOPPED', kind: 'review', mergedSha: null });
  }, 180_000);
});
