import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Forge,
  SAMPLE_FILES,
  SAMPLE_ISSUE,
  SAMPLE_OWNER,
  SAMPLE_REPO,
  SAMPLE_USERS,
  startForge,
} from '../../../local/forge';
import { octokitFor, statusOf, WEBHOOK_SECRET } from './support';

const repo = { owner: SAMPLE_OWNER, repo: SAMPLE_REPO };
const decode = (content: string) => Buffer.from(content, 'base64').toString('utf8');

describe('forge pull requests, permissions and issues', () => {
  let forge: Forge;

  beforeAll(async () => {
    // No CI in this file: merges and permissions only.
    forge = await startForge({ webhookSecret: WEBHOOK_SECRET });
    await forge.seedSample();
    forge.actions.setCiCommand(SAMPLE_OWNER, SAMPLE_REPO, null);
  });

  afterAll(async () => {
    await forge?.close();
  });

  it('reports the seeded permission levels like GitHub', async () => {
    const octokit = octokitFor(forge.apiUrl, forge.botToken);
    const level = async (username: string) =>
      (await octokit.rest.repos.getCollaboratorPermissionLevel({ ...repo, username })).data;
    expect(await level(SAMPLE_USERS.admin)).toMatchObject({ permission: 'admin', role_name: 'admin' });
    expect(await level(SAMPLE_USERS.writer)).toMatchObject({ permission: 'write', role_name: 'write' });
    expect(await level(SAMPLE_USERS.reader)).toMatchObject({ permission: 'read', role_name: 'read' });
    expect(await level(forge.botLogin)).toMatchObject({ permission: 'write' });
    expect(await statusOf(level('nobody-here'))).toBe(404);
    const bot = await octokit.rest.users.getByUsername({ username: forge.botLogin });
    expect(bot.data.type).toBe('Bot');
  });

  it('serves the sample issue and lets only triagers label it', async () => {
    const bob = octokitFor(forge.apiUrl, forge.tokens.bob);
    const mallory = octokitFor(forge.apiUrl, forge.tokens.mallory);
    const issue = await bob.rest.issues.get({ ...repo, issue_number: SAMPLE_ISSUE.number });
    expect(issue.data).toMatchObject({ title: SAMPLE_ISSUE.title, body: SAMPLE_ISSUE.body, state: 'open' });
    expect(issue.data.user?.login).toBe(SAMPLE_ISSUE.author);

    expect(
      await statusOf(mallory.rest.issues.addLabels({ ...repo, issue_number: 1, labels: ['factory'] })),
    ).toBe(403);
    const labels = await bob.rest.issues.addLabels({ ...repo, issue_number: 1, labels: ['factory'] });
    expect(labels.data.map((label) => label.name)).toEqual(['factory']);
    await bob.rest.issues.removeLabel({ ...repo, issue_number: 1, name: 'factory' });
    expect((await bob.rest.issues.get({ ...repo, issue_number: 1 })).data.labels).toEqual([]);

    // Anyone signed in may comment on a public repository; only the author or a writer may edit.
    const comment = await mallory.rest.issues.createComment({
      ...repo,
      issue_number: 1,
      body: '/factory run',
    });
    expect(comment.data.user?.login).toBe('mallory');
    expect(comment.data.author_association).toBe('CONTRIBUTOR');
    const bot = octokitFor(forge.apiUrl, forge.botToken);
    const edited = await bot.rest.issues.updateComment({
      ...repo,
      comment_id: comment.data.id,
      body: 'edited',
    });
    expect(edited.data.body).toBe('edited');
    expect(
      await statusOf(mallory.rest.issues.updateComment({ ...repo, comment_id: 999_999, body: 'x' })),
    ).toBe(404);
  });

  it('merges a pull request into a moved base with a real two-parent merge commit', async () => {
    const bot = octokitFor(forge.apiUrl, forge.botToken);
    const head = await forge.actions.pushCommit(
      forge.botLogin,
      SAMPLE_OWNER,
      SAMPLE_REPO,
      'factory/1-slugify',
      { 'src/slugify.js': 'export const slugify = (text) => text;\n' },
      'Add slugify',
    );
    // main moves on after the branch was cut: the merge has to combine both sides.
    const mainTip = await forge.actions.pushCommit(
      'alice',
      SAMPLE_OWNER,
      SAMPLE_REPO,
      'main',
      { 'NOTES.md': 'notes\n' },
      'Notes',
    );

    const created = await bot.rest.pulls.create({
      ...repo,
      title: 'Add a slugify helper',
      body: 'Closes #1',
      head: 'factory/1-slugify',
      base: 'main',
      draft: true,
    });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ draft: true, state: 'open', merged: false });
    expect(created.data.head).toMatchObject({ ref: 'factory/1-slugify', sha: head });
    const found = await bot.rest.pulls.list({
      ...repo,
      head: `${SAMPLE_OWNER}:factory/1-slugify`,
      state: 'open',
    });
    expect(found.data.map((pull) => pull.number)).toEqual([created.data.number]);
    expect(
      (await bot.rest.pulls.list({ ...repo, head: `${SAMPLE_OWNER}:other`, state: 'open' })).data,
    ).toEqual([]);
    expect(
      await statusOf(
        bot.rest.pulls.create({ ...repo, title: 'again', head: 'factory/1-slugify', base: 'main' }),
      ),
    ).toBe(422);

    const number = created.data.number;
    // Drafts cannot be merged; the forge accepts PATCH draft:false for "ready for review".
    expect(await statusOf(bot.rest.pulls.merge({ ...repo, pull_number: number, sha: head }))).toBe(405);
    const ready = await bot.request('PATCH /repos/{owner}/{repo}/pulls/{pull_number}', {
      ...repo,
      pull_number: number,
      draft: false,
    });
    expect((ready.data as { draft: boolean }).draft).toBe(false);

    // A stale head SHA is refused with 409, and nothing moves.
    expect(await statusOf(bot.rest.pulls.merge({ ...repo, pull_number: number, sha: mainTip }))).toBe(409);
    expect(
      await statusOf(
        octokitFor(forge.apiUrl, forge.tokens.mallory).rest.pulls.merge({ ...repo, pull_number: number }),
      ),
    ).toBe(403);

    const merged = await bot.rest.pulls.merge({
      ...repo,
      pull_number: number,
      sha: head,
      merge_method: 'merge',
    });
    expect(merged.data.merged).toBe(true);
    const mergeCommit = await bot.rest.git.getCommit({ ...repo, commit_sha: merged.data.sha });
    expect(mergeCommit.data.parents.map((parent) => parent.sha)).toEqual([mainTip, head]);
    const main = await bot.rest.git.getRef({ ...repo, ref: 'heads/main' });
    expect(main.data.object.sha).toBe(merged.data.sha);

    const content = async (path: string) => {
      const file = await bot.rest.repos.getContent({ ...repo, path, ref: 'main' });
      return decode((file.data as { content: string }).content);
    };
    expect(await content('src/slugify.js')).toContain('slugify');
    expect(await content('NOTES.md')).toBe('notes\n');
    expect(await content('src/index.js')).toBe(SAMPLE_FILES['src/index.js']);

    const pull = await bot.rest.pulls.get({ ...repo, pull_number: number });
    expect(pull.data).toMatchObject({ state: 'closed', merged: true, merge_commit_sha: merged.data.sha });
    expect(pull.data.merged_by?.login).toBe(forge.botLogin);
    // The html_url leads to a readable page.
    const page = await fetch(pull.data.html_url);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/Add a slugify helper[\s\S]*merged/);
    expect(await statusOf(bot.rest.pulls.merge({ ...repo, pull_number: number }))).toBe(405);
    // "Closes #1" in the body closes the issue when merged into the default branch.
    expect((await bot.rest.issues.get({ ...repo, issue_number: 1 })).data.state).toBe('closed');
  });

  it('squash-merges with one parent, refuses conflicts, and closes pull requests', async () => {
    const bot = octokitFor(forge.apiUrl, forge.botToken);
    const head = await forge.actions.pushCommit(
      'bob',
      SAMPLE_OWNER,
      SAMPLE_REPO,
      'squash-me',
      { 'squash.txt': 's\n' },
      'S',
    );
    const squash = await bot.rest.pulls.create({
      ...repo,
      title: 'Squash me',
      head: 'squash-me',
      base: 'main',
    });
    const mainBefore = (await bot.rest.git.getRef({ ...repo, ref: 'heads/main' })).data.object.sha;
    const result = await bot.rest.pulls.merge({
      ...repo,
      pull_number: squash.data.number,
      sha: head,
      merge_method: 'squash',
      commit_title: 'Squash me (#x)',
    });
    const commit = await bot.rest.git.getCommit({ ...repo, commit_sha: result.data.sha });
    expect(commit.data.parents.map((parent) => parent.sha)).toEqual([mainBefore]);
    expect(commit.data.message.split('\n')[0]).toBe('Squash me (#x)');

    // Both sides change the same line: not mergeable (405), and GET reports it.
    await forge.actions.pushCommit(
      'bob',
      SAMPLE_OWNER,
      SAMPLE_REPO,
      'conflict',
      { 'README.md': 'theirs\n' },
      'theirs',
    );
    await forge.actions.pushCommit(
      'alice',
      SAMPLE_OWNER,
      SAMPLE_REPO,
      'main',
      { 'README.md': 'ours\n' },
      'ours',
    );
    const conflicting = await bot.rest.pulls.create({
      ...repo,
      title: 'Conflict',
      head: 'conflict',
      base: 'main',
    });
    expect((await bot.rest.pulls.get({ ...repo, pull_number: conflicting.data.number })).data.mergeable).toBe(
      false,
    );
    expect(await statusOf(bot.rest.pulls.merge({ ...repo, pull_number: conflicting.data.number }))).toBe(405);

    const closed = await bot.rest.pulls.update({
      ...repo,
      pull_number: conflicting.data.number,
      state: 'closed',
    });
    expect(closed.data).toMatchObject({ state: 'closed', merged: false });
  });

  it('records reviews and refuses to let the author request changes on their own pull request', async () => {
    const bot = octokitFor(forge.apiUrl, forge.botToken);
    const alice = octokitFor(forge.apiUrl, forge.tokens.alice);
    const head = await forge.actions.pushCommit(
      forge.botLogin,
      SAMPLE_OWNER,
      SAMPLE_REPO,
      'review-me',
      { 'r.txt': 'r\n' },
      'R',
    );
    const pull = await bot.rest.pulls.create({
      ...repo,
      title: 'Review me',
      head: 'review-me',
      base: 'main',
    });
    const number = pull.data.number;
    expect(
      await statusOf(
        bot.rest.pulls.createReview({ ...repo, pull_number: number, event: 'REQUEST_CHANGES', body: 'no' }),
      ),
    ).toBe(422);
    const comment = await bot.rest.pulls.createReview({
      ...repo,
      pull_number: number,
      event: 'COMMENT',
      body: 'Looks fine',
      commit_id: head,
    });
    expect(comment.data).toMatchObject({ state: 'COMMENTED', commit_id: head });
    const approval = await alice.rest.pulls.createReview({ ...repo, pull_number: number, event: 'APPROVE' });
    expect(approval.data.state).toBe('APPROVED');
    const reviews = await bot.rest.pulls.listReviews({ ...repo, pull_number: number });
    expect(reviews.data.map((review) => review.user?.login)).toEqual([forge.botLogin, 'alice']);
  });
});
