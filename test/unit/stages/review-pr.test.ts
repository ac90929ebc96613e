import { describe, expect, it } from 'vitest';
import { Run as RunSchema } from '../../../functions/shared/domain/run';
import type { GitHub, NewReview, PullFile } from '../../../functions/shared/ports';
import { repoOf } from '../../../functions/shared/run-contract';
import type { StagePorts } from '../../../functions/stages/deps';
import {
  MAX_REVIEW_PARTS,
  reviewPrPrompt,
  reviewPrSpec,
  reviewParts,
} from '../../../functions/stages/review-pr';
import { postPartialReview } from '../../../functions/stages/review-pr-partial';
import { toolsFor } from '../../../functions/stages/agent';
import { FakeStore } from '../../support/fake-store';

/**
 * submit_pr_review: one review posted with its inline comments, REQUEST_CHANGES only when a comment
 * is blocking, never APPROVE; comments off the diff go back to the model; a retried step never
 * posts twice.
 */

const RUN_ID = '01J00000000000000000000002';
const FILES: PullFile[] = [
  {
    path: 'src/slugify.js',
    status: 'added',
    additions: 3,
    deletions: 0,
    patch:
      "@@ -0,0 +1,3 @@\n+export function slugify(text) {\n+  return String(text).replace(/[^a-z0-9]+/g, '-');\n+}",
  },
];

async function setUp() {
  const store = new FakeStore();
  await store.createRun(
    RunSchema.parse({
      runId: RUN_ID,
      kind: 'review',
      repo: 'acme/widgets',
      issueNumber: 2,
      prNumber: 2,
      headSha: 'b'.repeat(40),
      workItemKey: 'acme/widgets#2',
      status: 'REVIEWING',
      version: 0,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      trigger: { source: 'comment', sender: 'alice' },
    }),
  );
  const posted: NewReview[] = [];
  const github = {
    listPullFiles: async () => FILES,
    createReview: async (_repo: unknown, _n: number, review: NewReview) => {
      posted.push(review);
      return { id: 77 };
    },
  } as unknown as GitHub;
  const deps = { store, github, repoOf, now: () => '2026-01-01T00:01:00.000Z' } as unknown as StagePorts;
  const submit = async (input: Record<string, unknown>) =>
    reviewPrSpec.onSubmit(deps, (await store.getRun(RUN_ID)) as never, input, { checked: false });
  return { store, posted, submit };
}

const blockingComment = { path: 'src/slugify.js', line: 2, body: 'Leaves a trailing dash.', blocking: true };

describe('submit_pr_review', () => {
  it('posts one REQUEST_CHANGES review with the inline comment when a comment is blocking', async () => {
    const { store, posted, submit } = await setUp();
    const decision = await submit({ status: 'COMPLETE', summary: 'One bug.', comments: [blockingComment] });
    expect(decision.outcome).toBe('complete');
    expect(posted).toHaveLength(1);
    expect(posted[0]).toMatchObject({
      event: 'REQUEST_CHANGES',
      commitSha: 'b'.repeat(40),
      comments: [
        { path: 'src/slugify.js', line: 2, side: 'RIGHT', body: '**Blocking:** Leaves a trailing dash.' },
      ],
    });
    expect(posted[0]?.body).toContain(RUN_ID);
    expect((await store.getRun(RUN_ID))?.reviewId).toBe(77);
    // A retried step: the review is there already, nothing is posted again.
    await submit({ status: 'COMPLETE', summary: 'One bug.', comments: [blockingComment] });
    expect(posted).toHaveLength(1);
  });

  it('comments without blocking findings, and never approves', async () => {
    const { posted, submit } = await setUp();
    await submit({
      status: 'COMPLETE',
      summary: 'Fine.',
      comments: [{ ...blockingComment, blocking: false }],
    });
    expect(posted[0]?.event).toBe('COMMENT');
    expect(JSON.stringify(reviewPrSpec.terminalTool.input_schema)).not.toContain('APPROVE');
  });

  it('sends comments off the diff back to the model with the lines it may use, posting nothing', async () => {
    const { posted, submit } = await setUp();
    const decision = await submit({
      status: 'COMPLETE',
      summary: 'x',
      comments: [
        { ...blockingComment, line: 9 },
        { ...blockingComment, path: 'README.md' },
      ],
    });
    expect(decision.outcome).toBe('continue');
    expect(decision.feedback).toContain('src/slugify.js:9 (RIGHT) is not a line of the diff');
    expect(decision.feedback).toContain('1-3');
    expect(decision.feedback).toContain('README.md: the pull request does not change this file');
    expect(posted).toEqual([]);
  });

  it('offers the read tools without diff or writes, and numbers the diff in the prompt', async () => {
    const names = toolsFor(reviewPrSpec).map((t) => t.name);
    expect(names).toContain('read_file');
    expect(names).toContain('grep');
    expect(names).not.toContain('diff');
    expect(names).not.toContain('write_file');
    expect(names.at(-1)).toBe('submit_pr_review');
    const { store } = await setUp();
    const prompt = reviewPrPrompt(
      (await store.getRun(RUN_ID)) as never,
      { number: 2, title: 'Add slugify', body: '', author: 'bob', state: 'open', labels: [] },
      FILES,
      [],
    );
    expect(prompt.user).toContain("     2 +  return String(text).replace(/[^a-z0-9]+/g, '-');");
  });
});

describe('a partial review (state ReviewPrPartial: out of turns or budget)', () => {
  async function stopped(read: string[]) {
    const { store, posted } = await setUp();
    const run = await store.getRun(RUN_ID);
    if (!run) throw new Error('no run');
    await store.updateRun(RUN_ID, run.version, {
      conversations: [{ stage: 'review', conversationId: 'conv-1' }],
    });
    store.getConversationWithTurns = async () => ({
      turns: read.map((path, i) => ({
        conversationId: 'conv-1',
        turn: 2 * i + 1,
        runId: RUN_ID,
        stage: 'review',
        role: 'assistant' as const,
        createdAt: '2026-01-01T00:00:30.000Z',
        content: [{ type: 'tool_use', id: `t${i}`, name: 'read_file', input: { path } }],
      })),
    });
    const github = {
      listPullFiles: async () => [
        ...FILES,
        { ...FILES[0], path: 'test/slugify.test.js', patch: '@@ -0,0 +1 @@\n+x' },
      ],
      createReview: async (_repo: unknown, _n: number, review: NewReview) => {
        posted.push(review);
        return { id: 78 };
      },
    } as unknown as GitHub;
    const deps = { store, github, repoOf, now: () => '2026-01-01T00:01:00.000Z' } as unknown as StagePorts;
    return { store, posted, deps };
  }

  it('posts one COMMENT review saying it is partial, why, and which files were not reviewed', async () => {
    const { store, posted, deps } = await stopped(['src/slugify.js']);
    const error = { Error: 'TurnsExhausted', Cause: 'review: out of turns (limits.turns.review = 2)' };
    expect(await postPartialReview(deps, RUN_ID, error)).toEqual({ posted: true });
    expect(posted).toHaveLength(1);
    expect(posted[0]).toMatchObject({ event: 'COMMENT', commitSha: 'b'.repeat(40), comments: [] });
    expect(posted[0]?.body).toContain('(partial)');
    expect(posted[0]?.body).toContain('TurnsExhausted');
    expect(posted[0]?.body).toContain('Read by the reviewer (1 of 2 files): `src/slugify.js`');
    expect(posted[0]?.body).toContain(
      'Not reviewed beyond the diff shown to the reviewer: `test/slugify.test.js`',
    );
    expect(await store.getRun(RUN_ID)).toMatchObject({ reviewId: 78, error: { class: 'TurnsExhausted' } });
    // A retried step posts nothing more.
    expect(await postPartialReview(deps, RUN_ID, error)).toEqual({ posted: false });
    expect(posted).toHaveLength(1);
  });

  it('says the budget ran out, and names every file when none was read', async () => {
    const { posted, deps } = await stopped([]);
    await postPartialReview(deps, RUN_ID, { Error: 'BudgetExceeded', Cause: 'the run budget is spent' });
    expect(posted[0]?.body).toContain('the budget ran out');
    expect(posted[0]?.body).toContain('Read by the reviewer (0 of 2 files): none');
    expect(posted[0]?.body).toContain('`src/slugify.js`, `test/slugify.test.js`');
  });
});

describe('a large pull request, reviewed in parts', () => {
  const big = (path: string, lines: number): PullFile => ({
    path,
    status: 'added',
    additions: lines,
    deletions: 0,
    patch: `@@ -0,0 +1,${lines} @@\n${Array.from({ length: lines }, (_, i) => `+line ${i} ${'x'.repeat(40)}`).join('\n')}`,
  });

  it('splits the files into parts that each fit the diff budget, in order, bounded in number', () => {
    expect(reviewParts(FILES)).toEqual([FILES]);
    const files = [big('a.txt', 800), big('b.txt', 800), ...FILES];
    const parts = reviewParts(files);
    expect(parts.map((p) => p.map((f) => f.path))).toEqual([['a.txt'], ['b.txt', 'src/slugify.js']]);
    const many = Array.from({ length: 30 }, (_, i) => big(`f${String(i).padStart(2, '0')}.txt`, 800));
    const bounded = reviewParts(many);
    expect(bounded).toHaveLength(MAX_REVIEW_PARTS);
    expect(bounded.flat()).toHaveLength(30);
  });

  it('keeps what each part finds, then posts ONE review with every part at the end; a retried part counts once', async () => {
    const { store, posted } = await setUp();
    const files = [big('a.txt', 1100), ...FILES];
    const run = (await store.getRun(RUN_ID))!;
    await store.updateRun(RUN_ID, run.version, {
      conversations: [{ stage: 'review', conversationId: 'conv-part-1' }],
      reviewParts: { index: 0, total: 2, comments: [], summaries: [], finished: [] },
    });
    const github = {
      listPullFiles: async () => files,
      createReview: async (_repo: unknown, _n: number, review: NewReview) => {
        posted.push(review);
        return { id: 79 };
      },
    } as unknown as GitHub;
    const deps = { store, github, repoOf, now: () => '2026-01-01T00:01:00.000Z' } as unknown as StagePorts;
    const submit = async (input: Record<string, unknown>) =>
      reviewPrSpec.onSubmit(deps, (await store.getRun(RUN_ID)) as never, input, { checked: false });
    const first = {
      status: 'COMPLETE',
      summary: 'Data only.',
      comments: [{ path: 'a.txt', line: 3, body: 'Typo.', blocking: false }],
    };
    // Part 1 may not comment on part 2's files.
    expect((await submit({ ...first, comments: [blockingComment] })).outcome).toBe('continue');
    expect(await submit(first)).toEqual({ outcome: 'next' });
    expect(await submit(first)).toEqual({ outcome: 'next' });
    expect((await store.getRun(RUN_ID))?.reviewParts).toMatchObject({ index: 1, summaries: ['Data only.'] });
    expect(posted).toEqual([]);
    const current = (await store.getRun(RUN_ID))!;
    await store.updateRun(RUN_ID, current.version, {
      conversations: [...current.conversations, { stage: 'review', conversationId: 'conv-part-2' }],
    });
    expect(
      (await submit({ status: 'COMPLETE', summary: 'One bug.', comments: [blockingComment] })).outcome,
    ).toBe('complete');
    expect(posted).toHaveLength(1);
    expect(posted[0]?.event).toBe('REQUEST_CHANGES');
    expect(posted[0]?.comments?.map((c) => [c.path, c.line])).toEqual([
      ['a.txt', 3],
      ['src/slugify.js', 2],
    ]);
    expect(posted[0]?.body).toContain('**Part 1 of 2:** Data only.');
    expect(posted[0]?.body).toContain('**Part 2 of 2:** One bug.');
  });
});
