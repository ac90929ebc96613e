import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../local/stack';
import { api, eventually, startTestStack } from '../support/e2e';
import { cli, git, makeRepository } from '../support/local-repo';

/**
 * Issue 21's "try it on your own code" at size: a generated 5,000-file repository imported with
 * `code-factory local import` in under a minute; alice opens and labels an issue on it with
 * `code-factory local as` and a run starts; bob pushes a branch with plain `git push` and opens a
 * pull request with `code-factory local as bob pr`.
 */

const FILES = 5_000;
let stack: Stack;
let scratch: string;

beforeAll(async () => {
  stack = await startTestStack();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'local-import-heavy-'));
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function generatedFiles(): Record<string, string> {
  const files: Record<string, string> = {
    'package.json': `${JSON.stringify({ name: 'big', type: 'module', scripts: { test: 'node --test' } })}\n`,
  };
  for (let i = 0; i < FILES - 1; i += 1) {
    const id = String(i).padStart(4, '0');
    files[`src/m${id.slice(0, 2)}/f${id}.js`] =
      `export const value${id} = ${i};\n${'// filler\n'.repeat(20)}`;
  }
  return files;
}

describe('code-factory local import of a 5,000-file repository', () => {
  it('imports it in under a minute; alice labels an issue (a run starts), bob pushes and opens a PR', async () => {
    const dir = path.join(scratch, 'big');
    const head = await makeRepository(dir, generatedFiles());

    const started = Date.now();
    const imported = await cli(stack.url, 'local', 'import', dir, '--name', 'acme/big', '--json');
    const seconds = (Date.now() - started) / 1000;
    expect(imported.code, imported.err).toBe(0);
    expect(seconds).toBeLessThan(60);
    const result = JSON.parse(imported.out) as { html_url: string; files: number; ci_command: string };
    expect(result).toMatchObject({
      html_url: `${stack.forgeUrl}/acme/big`,
      files: FILES,
      ci_command: 'npm test',
    });
    const repo = stack.forge.service.repos.get('acme', 'big');
    const forgeGit = stack.forge.service.repos.git(repo);
    expect(await forgeGit.resolveRef('refs/heads/main')).toBe(head);
    const { entries } = await forgeGit.readTreeRecursive(head);
    expect(entries.filter((entry) => entry.type === 'blob')).toHaveLength(FILES);
    console.log(`imported ${FILES} files in ${seconds.toFixed(1)} s`);

    const opened = await cli(stack.url, 'local', 'as', 'alice', 'issue', 'acme/big', 'Add a sum helper');
    expect(opened.code, opened.err).toBe(0);
    const number = Number(/#(\d+)/.exec(opened.out)?.[1]);
    const labelled = await cli(stack.url, 'local', 'as', 'alice', 'label', `acme/big#${number}`, 'factory');
    expect(labelled.code, labelled.err).toBe(0);
    const runId = await eventually(
      'a run on the imported repository',
      async () => (await stack.store.getWorkItem(`acme/big#${number}`))?.latestRunId,
    );
    expect((await stack.store.getRun(runId))?.trigger.sender).toBe('alice');
    await api(stack, 'POST', `/v1/runs/${runId}/cancel`);

    const remote = new URL(`${stack.forgeUrl}/acme/big.git`);
    remote.username = 'bob';
    remote.password = stack.forge.tokens.bob as string;
    await git(dir, 'checkout', '-q', '-b', 'bob/sum');
    await writeFile(path.join(dir, 'src/sum.js'), 'export const sum = (a, b) => a + b;\n');
    await git(dir, 'add', 'src/sum.js');
    await git(dir, 'commit', '-q', '-m', 'Add sum');
    const pushed = await git(dir, 'push', remote.toString(), 'bob/sum');
    expect(pushed.code, pushed.stderr).toBe(0);
    const pr = await cli(
      stack.url,
      'local',
      'as',
      'bob',
      'pr',
      'acme/big',
      '--head',
      'bob/sum',
      '--title',
      'Sum',
    );
    expect(pr.code, pr.err).toBe(0);
    const prNumber = Number(/#(\d+)/.exec(pr.out)?.[1]);
    expect(repo.pulls.find((pull) => pull.number === prNumber)).toMatchObject({
      headRef: 'bob/sum',
      headSha: (await git(dir, 'rev-parse', 'HEAD')).stdout.trim(),
    });
    expect(repo.issues.find((issue) => issue.number === prNumber)?.author).toBe('bob');
  });
});
