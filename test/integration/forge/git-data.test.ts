import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Forge,
  SAMPLE_FILES,
  SAMPLE_REPO_FILES,
  SAMPLE_OWNER,
  SAMPLE_REPO,
  startForge,
} from '../../../local/forge';
import { octokitFor, statusOf, systemGit, WEBHOOK_SECRET } from './support';

const repo = { owner: SAMPLE_OWNER, repo: SAMPLE_REPO };

describe('forge git data over the GitHub REST API', () => {
  let forge: Forge;
  let scratch: string;

  beforeAll(async () => {
    forge = await startForge({ webhookSecret: WEBHOOK_SECRET });
    await forge.seedSample();
    scratch = await mkdtemp(path.join(os.tmpdir(), 'forge-git-test-'));
  });

  afterAll(async () => {
    await forge?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('creates a blob, tree, commit and ref and reads them back with real git ids', async () => {
    const octokit = octokitFor(forge.apiUrl, forge.botToken);
    const content = 'export const answer = 42;\n';

    const blob = await octokit.rest.git.createBlob({ ...repo, content, encoding: 'utf-8' });
    expect(blob.status).toBe(201);
    // The blob id is what `git hash-object` computes for the same bytes.
    const expected = (await systemGit(['hash-object', '--stdin'], { input: content })).trim();
    expect(blob.data.sha).toBe(expected);
    const readBack = await octokit.rest.git.getBlob({ ...repo, file_sha: blob.data.sha });
    expect(Buffer.from(readBack.data.content, 'base64').toString('utf8')).toBe(content);

    const main = await octokit.rest.git.getRef({ ...repo, ref: 'heads/main' });
    const base = await octokit.rest.git.getCommit({ ...repo, commit_sha: main.data.object.sha });
    const tree = await octokit.rest.git.createTree({
      ...repo,
      base_tree: base.data.tree.sha,
      tree: [
        { path: 'src/answer.js', mode: '100644', type: 'blob', sha: blob.data.sha },
        { path: 'docs/notes/usage.md', mode: '100644', type: 'blob', content: '# Usage\n' },
      ],
    });
    expect(tree.status).toBe(201);
    const commit = await octokit.rest.git.createCommit({
      ...repo,
      message: 'Add the answer',
      tree: tree.data.sha,
      parents: [main.data.object.sha],
    });
    expect(commit.data.parents.map((parent) => parent.sha)).toEqual([main.data.object.sha]);
    expect(commit.data.author.name).toBe(forge.botLogin);

    const created = await octokit.rest.git.createRef({
      ...repo,
      ref: 'refs/heads/feature/answer',
      sha: commit.data.sha,
    });
    expect(created.status).toBe(201);
    // Octokit sends the ref URL-encoded (heads%2Ffeature%2Fanswer): the forge decodes it.
    const ref = await octokit.rest.git.getRef({ ...repo, ref: 'heads/feature/answer' });
    expect(ref.data.object.sha).toBe(commit.data.sha);
    const matching = await octokit.rest.git.listMatchingRefs({ ...repo, ref: 'heads/feature' });
    expect(matching.data.map((entry) => entry.ref)).toEqual(['refs/heads/feature/answer']);

    const listing = await octokit.rest.git.getTree({ ...repo, tree_sha: commit.data.sha, recursive: '1' });
    const paths = listing.data.tree.filter((entry) => entry.type === 'blob').map((entry) => entry.path);
    expect(paths).toEqual(
      [...Object.keys(SAMPLE_REPO_FILES), 'src/answer.js', 'docs/notes/usage.md'].sort((a, b) =>
        a < b ? -1 : 1,
      ),
    );
    const file = await octokit.rest.repos.getContent({
      ...repo,
      path: 'docs/notes/usage.md',
      ref: 'feature/answer',
    });
    const data = file.data as { content: string; encoding: string; sha: string };
    expect(data.encoding).toBe('base64');
    expect(Buffer.from(data.content, 'base64').toString('utf8')).toBe('# Usage\n');
    expect(
      await statusOf(octokit.rest.repos.getContent({ ...repo, path: 'docs/notes/usage.md', ref: 'main' })),
    ).toBe(404);

    // The commit object itself is what the system git computes from the same tree, parent, people and message.
    const commitText = await systemGit(['cat-file', '-p', commit.data.sha], {
      cwd: path.join(forgeRepoDir(forge), `${SAMPLE_REPO}.git`),
    });
    expect(commitText).toContain(`tree ${tree.data.sha}`);
    expect(commitText).toContain(`parent ${main.data.object.sha}`);
    expect((await systemGit(['hash-object', '-t', 'commit', '--stdin'], { input: commitText })).trim()).toBe(
      commit.data.sha,
    );
    // And the whole object store passes git's own integrity check.
    await systemGit(['fsck', '--strict', '--no-progress'], {
      cwd: path.join(forgeRepoDir(forge), `${SAMPLE_REPO}.git`),
    });
  });

  it('deletes paths with sha null and drops directories left empty', async () => {
    const octokit = octokitFor(forge.apiUrl, forge.botToken);
    const main = await octokit.rest.git.getRef({ ...repo, ref: 'heads/main' });
    const base = await octokit.rest.git.getCommit({ ...repo, commit_sha: main.data.object.sha });
    const tree = await octokit.rest.git.createTree({
      ...repo,
      base_tree: base.data.tree.sha,
      tree: [
        { path: 'test/index.test.js', mode: '100644', type: 'blob', sha: null },
        { path: 'README.md', mode: '100644', type: 'blob', content: 'changed\n' },
      ],
    });
    const listing = await octokit.rest.git.getTree({ ...repo, tree_sha: tree.data.sha, recursive: 'true' });
    const paths = listing.data.tree.map((entry) => entry.path);
    expect(paths).not.toContain('test/index.test.js');
    expect(paths).not.toContain('test');
    expect(paths).toContain('src/index.js');
    const readme = listing.data.tree.find((entry) => entry.path === 'README.md');
    expect(readme?.sha).toBe((await systemGit(['hash-object', '--stdin'], { input: 'changed\n' })).trim());
  });

  it('checks symlinks out as symlinks (the CI checkout and the tarball), unless they lead outside', async () => {
    // commander.js's fixtures: tests/fixtures/pmlink -> ./pm, a double link, run by its tests.
    const octokit = octokitFor(forge.apiUrl, forge.botToken);
    const main = await octokit.rest.git.getRef({ ...repo, ref: 'heads/main' });
    const base = await octokit.rest.git.getCommit({ ...repo, commit_sha: main.data.object.sha });
    const link = (at: string, to: string) => ({
      path: at,
      mode: '120000' as const,
      type: 'blob' as const,
      content: to,
    });
    const tree = await octokit.rest.git.createTree({
      ...repo,
      base_tree: base.data.tree.sha,
      tree: [
        { path: 'fixtures/pm', mode: '100755', type: 'blob', content: '#!/bin/sh\necho pm\n' },
        link('fixtures/pmlink', './pm'),
        link('fixtures/other/pm', '../pmlink'),
        link('fixtures/dir', '.'),
        link('fixtures/dangling', 'nothing-here'),
        link('abs', '/etc/passwd'),
        link('up', '../outside'),
        // Lexically inside (fixtures/dir/../.. is the root), followed it is the root's parent.
        link('fixtures/sneaky', 'dir/../..'),
      ],
    });
    const dir = path.join(scratch, 'links');
    await forge.service.repos
      .git(forge.service.repos.get(SAMPLE_OWNER, SAMPLE_REPO))
      .checkout(tree.data.sha, dir);
    const { lstat, readlink } = await import('node:fs/promises');
    expect(await readlink(path.join(dir, 'fixtures/pmlink'))).toBe('./pm');
    expect(await readlink(path.join(dir, 'fixtures/other/pm'))).toBe('../pmlink');
    expect(await readFile(path.join(dir, 'fixtures/other/pm'), 'utf8')).toBe('#!/bin/sh\necho pm\n');
    expect(await readlink(path.join(dir, 'fixtures/dir'))).toBe('.');
    expect(await readlink(path.join(dir, 'fixtures/dangling'))).toBe('nothing-here');
    for (const [file, text] of [
      ['abs', '/etc/passwd'],
      ['up', '../outside'],
      ['fixtures/sneaky', 'dir/../..'],
    ] as const) {
      expect((await lstat(path.join(dir, file))).isFile(), file).toBe(true);
      expect(await readFile(path.join(dir, file), 'utf8')).toBe(text);
    }
  });

  it('moves refs fast-forward only unless forced, and deletes them', async () => {
    const octokit = octokitFor(forge.apiUrl, forge.botToken);
    const first = await forge.actions.pushCommit(
      'bob',
      SAMPLE_OWNER,
      SAMPLE_REPO,
      'refs-test',
      { 'a.txt': 'a\n' },
      'a',
    );
    const second = await forge.actions.pushCommit(
      'bob',
      SAMPLE_OWNER,
      SAMPLE_REPO,
      'refs-test',
      { 'b.txt': 'b\n' },
      'b',
    );

    // Back to the parent is not a fast-forward.
    expect(await statusOf(octokit.rest.git.updateRef({ ...repo, ref: 'heads/refs-test', sha: first }))).toBe(
      422,
    );
    const forced = await octokit.rest.git.updateRef({
      ...repo,
      ref: 'heads/refs-test',
      sha: first,
      force: true,
    });
    expect(forced.data.object.sha).toBe(first);
    const forward = await octokit.rest.git.updateRef({ ...repo, ref: 'heads/refs-test', sha: second });
    expect(forward.data.object.sha).toBe(second);

    expect(
      await statusOf(octokit.rest.git.createRef({ ...repo, ref: 'refs/heads/refs-test', sha: first })),
    ).toBe(422);
    expect((await octokit.rest.git.deleteRef({ ...repo, ref: 'heads/refs-test' })).status).toBe(204);
    expect(await statusOf(octokit.rest.git.getRef({ ...repo, ref: 'heads/refs-test' }))).toBe(404);
    expect(await statusOf(octokit.rest.git.deleteRef({ ...repo, ref: 'heads/refs-test' }))).toBe(422);
  });

  it('refuses writes without a token and from read-only users', async () => {
    const anonymous = octokitFor(forge.apiUrl);
    const reader = octokitFor(forge.apiUrl, forge.tokens.mallory);
    expect(await statusOf(anonymous.rest.git.createBlob({ ...repo, content: 'x' }))).toBe(401);
    expect(await statusOf(reader.rest.git.createBlob({ ...repo, content: 'x' }))).toBe(403);
    expect(await statusOf(octokitFor(forge.apiUrl, 'not-a-token').rest.repos.get(repo))).toBe(401);
    // Reads of the public sample need no token.
    expect((await anonymous.rest.repos.get(repo)).data.default_branch).toBe('main');
  });

  it('serves git clone and fetch over smart HTTP', async () => {
    const dir = path.join(scratch, 'clone');
    await systemGit(['clone', '--quiet', `${forge.url}/${SAMPLE_OWNER}/${SAMPLE_REPO}.git`, dir]);
    const octokit = octokitFor(forge.apiUrl, forge.botToken);
    const main = await octokit.rest.git.getRef({ ...repo, ref: 'heads/main' });
    expect((await systemGit(['rev-parse', 'HEAD'], { cwd: dir })).trim()).toBe(main.data.object.sha);
    expect(await readFile(path.join(dir, 'src/index.js'), 'utf8')).toBe(SAMPLE_FILES['src/index.js']);

    const next = await forge.actions.pushCommit(
      'alice',
      SAMPLE_OWNER,
      SAMPLE_REPO,
      'main',
      { 'CHANGELOG.md': '# 1.1\n' },
      'Changelog',
    );
    await systemGit(['fetch', '--quiet', 'origin'], { cwd: dir });
    expect((await systemGit(['rev-parse', 'origin/main'], { cwd: dir })).trim()).toBe(next);
    await systemGit(['fsck', '--no-progress'], { cwd: dir });
  });
});

/** Where the forge keeps the sample's bare repositories (its temp data dir). */
function forgeRepoDir(forge: Forge): string {
  return path.dirname(forge.service.repos.git(forge.service.repos.get(SAMPLE_OWNER, SAMPLE_REPO)).gitdir);
}
