import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OctokitGitHub } from '../../../functions/shared/adapters/github';
import {
  type Forge,
  SAMPLE_FILES,
  SAMPLE_REPO_FILES,
  SAMPLE_ISSUE,
  SAMPLE_OWNER,
  SAMPLE_REPO,
  SAMPLE_USERS,
  startForge,
} from '../../../local/forge';
import { WEBHOOK_SECRET } from './support';

const repo = { owner: SAMPLE_OWNER, repo: SAMPLE_REPO };

/** The factory's own GitHub port, pointed at the forge: the calls the pipeline makes, end to end. */
describe('the factory GitHub adapter against the forge', () => {
  let forge: Forge;
  let github: OctokitGitHub;

  beforeAll(async () => {
    forge = await startForge({ webhookSecret: WEBHOOK_SECRET, ciTimeoutMs: 20_000 });
    await forge.seedSample();
    github = new OctokitGitHub({
      baseUrl: forge.apiUrl,
      credentials: { kind: 'token', token: forge.botToken },
      pacing: { writeIntervalMs: 0, notificationIntervalMs: 0 },
      retries: 0,
    });
  });

  afterAll(async () => {
    await forge?.close();
  });

  it('reads permissions, the default branch, files and the issue', async () => {
    expect(await github.getPermission(repo, SAMPLE_USERS.admin)).toBe('admin');
    expect(await github.getPermission(repo, SAMPLE_USERS.writer)).toBe('write');
    expect(await github.getPermission(repo, SAMPLE_USERS.reader)).toBe('read');
    expect(await github.getPermission(repo, 'stranger')).toBe('none');
    const main = await github.getDefaultBranch(repo);
    expect(main.name).toBe('main');
    expect((await github.getFile(repo, 'src/index.js', main.sha))?.content).toBe(
      SAMPLE_FILES['src/index.js'],
    );
    expect(await github.getFile(repo, 'src/missing.js', main.sha)).toBeUndefined();
    expect((await github.listFiles(repo, main.sha)).sort()).toEqual(Object.keys(SAMPLE_REPO_FILES).sort());
    const issue = await github.getIssue(repo, SAMPLE_ISSUE.number);
    expect(issue).toMatchObject({ title: SAMPLE_ISSUE.title, author: SAMPLE_ISSUE.author, state: 'open' });
  });

  it("reads the whole repository at a SHA as one tarball, through GitHub's redirect", async () => {
    const main = await github.getDefaultBranch(repo);
    const tarball = await github.getTarball(repo, main.sha);
    const entries: string[] = [];
    await pipeline(
      Readable.from([tarball]),
      tar.t({ onReadEntry: (entry) => void entries.push(entry.path) }),
    );
    const top = `${SAMPLE_OWNER}-${SAMPLE_REPO}-${main.sha.slice(0, 7)}/`;
    expect(entries.filter((p) => !p.endsWith('/')).sort()).toEqual(
      Object.keys(SAMPLE_REPO_FILES)
        .map((p) => top + p)
        .sort(),
    );
    // GitHub's shape: a 302 to a codeload URL with a short-lived token, which alone serves the file.
    const redirect = await fetch(`${forge.apiUrl}/repos/${SAMPLE_OWNER}/${SAMPLE_REPO}/tarball/${main.sha}`, {
      headers: { authorization: `token ${forge.botToken}` },
      redirect: 'manual',
    });
    expect(redirect.status).toBe(302);
    const location = new URL(redirect.headers.get('location') ?? '');
    expect(location.searchParams.get('token')).toMatch(/^[0-9a-f]{32}$/);
    location.searchParams.set('token', '0'.repeat(32));
    expect((await fetch(location)).status).toBe(404);
    await expect(github.getTarball(repo, 'no-such-branch')).rejects.toThrow();
  });

  it('publishes, verifies and merges a change the way the pipeline does', async () => {
    const main = await github.getDefaultBranch(repo);
    const baseTree = await github.getCommitTree(repo, main.sha);
    const tree = await github.createTree(repo, baseTree, [
      { path: 'src/slugify.js', mode: '100644', type: 'blob', content: 'export const slugify = (t) => t;\n' },
    ]);
    const commit = await github.createCommit(repo, 'Add slugify', tree, [main.sha]);
    expect(await github.getRef(repo, 'heads/factory/1-add-a-slugify-helper')).toBeUndefined();
    await github.createRef(repo, 'refs/heads/factory/1-add-a-slugify-helper', commit);
    expect(await github.getRef(repo, 'refs/heads/factory/1-add-a-slugify-helper')).toBe(commit);

    const pull = await github.createPull(repo, {
      title: 'Add a slugify helper',
      body: 'Closes #1',
      head: 'factory/1-add-a-slugify-helper',
      base: 'main',
      draft: true,
    });
    expect(pull).toMatchObject({ headSha: commit, draft: true, state: 'open', merged: false });
    // head.repo.full_name: the repository the branch lives in (a rescue refuses another one's).
    expect((await github.getPull(repo, pull.number)).headRepo).toBe('acme/widgets');
    expect((await github.findOpenPull(repo, 'factory/1-add-a-slugify-helper'))?.number).toBe(pull.number);
    expect((await github.getChecks(repo, commit)).state).toMatch(/pending|success/);
    await forge.waitForIdle();
    const checks = await github.getChecks(repo, commit);
    expect(checks.state).toBe('success');

    await github.markReadyForReview(repo, pull.number);
    expect((await github.getPull(repo, pull.number)).draft).toBe(false);
    const comment = await github.createComment(repo, SAMPLE_ISSUE.number, 'Ready for approval');
    await github.updateComment(repo, comment.id, 'Approved');
    expect(await github.getComment(repo, comment.id)).toMatchObject({
      body: 'Approved',
      author: forge.botLogin,
    });

    expect(await github.mergePull(repo, pull.number, main.sha, 'Wrong head')).toEqual({ merged: false });
    const merged = await github.mergePull(
      repo,
      pull.number,
      commit,
      'Add a slugify helper (#2)\n\nCloses #1',
    );
    expect(merged.merged).toBe(true);
    const after = await github.getPull(repo, pull.number);
    expect(after).toMatchObject({ merged: true, state: 'closed', mergeCommitSha: merged.sha });
    expect((await github.getDefaultBranch(repo)).sha).toBe(merged.sha);
    await github.deleteRef(repo, 'heads/factory/1-add-a-slugify-helper');
    await github.deleteRef(repo, 'heads/factory/1-add-a-slugify-helper'); // idempotent for cleanup
    expect(await github.getRef(repo, 'heads/factory/1-add-a-slugify-helper')).toBeUndefined();
  });
});
