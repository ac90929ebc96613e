import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../local/stack';
import { api, eventually, startTestStack } from '../../support/e2e';
import { cli, git, makeRepository } from '../../support/local-repo';

/**
 * Try it on your own code: `code-factory local import` brings a local repository into the
 * embedded stack's forge (a small one here; the 5,000-file one is in test/heavy/local-import.test.ts),
 * the sample users work on it with `code-factory local as`, and bob pushes a branch with plain git.
 */
let stack: Stack;
let scratch: string;

beforeAll(async () => {
  stack = await startTestStack();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'local-import-'));
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('code-factory local import', () => {
  it('imports a repository with its CI command detected; the sample users work on it with git and the CLI', async () => {
    const dir = path.join(scratch, 'tools');
    const head = await makeRepository(dir, {
      'package.json': `${JSON.stringify({ name: 'tools', scripts: { test: 'node --test' } })}\n`,
      'src/index.js': 'export const one = 1;\n',
      'test/index.test.js': "import test from 'node:test';\ntest('one', () => {});\n",
    });
    const imported = await cli(stack.url, 'local', 'import', dir, '--name', 'acme/tools');
    expect(imported.code, imported.err).toBe(0);
    expect(imported.out).toContain(`as acme/tools: ${stack.forgeUrl}/acme/tools`);
    expect(imported.out).toContain('CI command: npm test');
    const repo = stack.forge.service.repos.get('acme', 'tools');
    expect(repo.ciCommand).toBe('npm test');
    expect(repo.roles).toMatchObject({ alice: 'admin', bob: 'write', mallory: 'read' });
    expect(await stack.forge.service.repos.git(repo).resolveRef('refs/heads/main')).toBe(head);

    // alice opens and labels an issue on it: a run starts.
    const opened = await cli(stack.url, 'local', 'as', 'alice', 'issue', 'acme/tools', 'Add two');
    expect(opened.code, opened.err).toBe(0);
    const number = Number(/#(\d+)/.exec(opened.out)?.[1]);
    const labelled = await cli(stack.url, 'local', 'as', 'alice', 'label', `acme/tools#${number}`, 'factory');
    expect(labelled.code, labelled.err).toBe(0);
    const runId = await eventually(
      'a run on the imported repository',
      async () => (await stack.store.getWorkItem(`acme/tools#${number}`))?.latestRunId,
    );
    expect((await stack.store.getRun(runId))?.repo).toBe('acme/tools');
    await api(stack, 'POST', `/v1/runs/${runId}/cancel`);

    // bob pushes a branch with plain git and opens a pull request with the CLI.
    const bobToken = stack.forge.tokens.bob as string;
    const remote = new URL(`${stack.forgeUrl}/acme/tools.git`);
    remote.username = 'bob';
    remote.password = bobToken;
    await git(dir, 'checkout', '-q', '-b', 'bob/two');
    await writeFile(path.join(dir, 'src/two.js'), 'export const two = 2;\n');
    await git(dir, 'add', 'src/two.js');
    await git(dir, 'commit', '-q', '-m', 'Add two');
    const pushed = await git(dir, 'push', remote.toString(), 'bob/two');
    expect(pushed.code, pushed.stderr).toBe(0);
    const pr = await cli(
      stack.url,
      'local',
      'as',
      'bob',
      'pr',
      'acme/tools',
      '--head',
      'bob/two',
      '--title',
      'Two',
    );
    expect(pr.code, pr.err).toBe(0);
    const prNumber = Number(/#(\d+)/.exec(pr.out)?.[1]);
    const pull = repo.pulls.find((p) => p.number === prNumber);
    expect(pull).toMatchObject({ headRef: 'bob/two', baseRef: 'main' });
    expect(pull?.headSha).toBe((await git(dir, 'rev-parse', 'HEAD')).stdout.trim());
    // The forge's CI ran the detected command on it.
    const suite = await eventually('CI on the pull request', async () =>
      repo.checkSuites.find((s) => s.headSha === pull?.headSha && s.status === 'completed'),
    );
    expect(suite.conclusion).toBe('success');

    // A force-push to the default branch is refused; the forge keeps its history.
    await git(dir, 'checkout', '-q', 'main');
    await git(dir, 'commit', '-q', '--amend', '-m', 'Rewritten');
    remote.username = 'alice';
    remote.password = stack.forge.tokens.alice as string;
    const forced = await git(dir, 'push', '--force', remote.toString(), 'main');
    expect(forced.code).not.toBe(0);
    expect(forced.stderr).toContain('(non-fast-forward)');
    expect(await stack.forge.service.repos.git(repo).resolveRef('refs/heads/main')).toBe(head);
  }, 90_000);

  it('refuses a symlink that leaves the tree, a taken name, and what is not a repository', async () => {
    const dir = path.join(scratch, 'linky');
    await mkdir(dir, { recursive: true });
    await symlink('../../etc/passwd', path.join(dir, 'passwd'));
    await makeRepository(dir, { 'README.md': '# linky\n', 'docs/inside.md': 'in\n' });
    const refused = await cli(stack.url, 'local', 'import', dir);
    expect(refused.code).toBe(3);
    expect(refused.err).toContain('refusing symlinks that leave the repository: passwd -> ../../etc/passwd');
    expect(stack.forge.service.repos.has('acme', 'linky')).toBe(false);

    // Lexically `a/b/s/../../..` is the root; followed (s is a/b itself) it is the root's parent.
    const sneaky = path.join(scratch, 'sneaky');
    await mkdir(path.join(sneaky, 'a/b'), { recursive: true });
    await symlink('.', path.join(sneaky, 'a/b/s'));
    await symlink('s/../../..', path.join(sneaky, 'a/b/t'));
    await makeRepository(sneaky, { 'README.md': '# sneaky\n' });
    const followed = await cli(stack.url, 'local', 'import', sneaky);
    expect(followed.code).toBe(3);
    expect(followed.err).toContain('a/b/t -> s/../../..');
    expect(followed.err).not.toContain('a/b/s ->');

    // A link that stays inside is fine.
    await git(dir, 'rm', '-q', 'passwd');
    await symlink('docs/inside.md', path.join(dir, 'inside'));
    await git(dir, 'add', 'inside');
    await git(dir, 'commit', '-q', '-m', 'Inside link');
    const ok = await cli(stack.url, 'local', 'import', dir, '--ci-command', 'true');
    expect(ok.code, ok.err).toBe(0);
    expect(stack.forge.service.repos.get('acme', 'linky').ciCommand).toBe('true');

    const again = await cli(stack.url, 'local', 'import', dir);
    expect(again.code).toBe(3);
    expect(again.err).toContain('409');
    expect((await cli(stack.url, 'local', 'import', path.join(scratch, 'nowhere'))).code).toBe(2);
    expect((await cli(stack.url, 'local', 'import', dir, '--name', 'no-slash')).code).toBe(2);
  });

  it('answers POST /local/repos only to a local JSON request without an Origin', async () => {
    const body = JSON.stringify({ owner: 'acme', name: 'web', default_branch: 'main', ci_command: null });
    const fromPage = await fetch(`${stack.url}/local/repos`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'http://evil.example' },
      body,
    });
    expect(fromPage.status).toBe(403);
    const notJson = await fetch(`${stack.url}/local/repos`, { method: 'POST', body });
    expect(notJson.status).toBe(415);
    expect(stack.forge.service.repos.has('acme', 'web')).toBe(false);
  });
});
