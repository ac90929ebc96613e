import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../cli/io';
import { main } from '../../../cli/main';
import type { Stack } from '../../../local/stack';
import { api, eventually, SAMPLE, startTestStack } from '../../support/e2e';

/**
 * Newcomer path: `GET /local/info` tells the CLI where the forge is and the sample users' tokens;
 * `code-factory local as USER …` opens an issue, labels it (a run starts), comments, and opens a
 * pull request, each as that user on the forge.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack();
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) };
  const code = await main([...args, '--url', stack.url], io);
  return { code, out: out.join(''), err: err.join('') };
}

async function forge(method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${stack.forge.apiUrl}${path}`, {
    method,
    headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.ok, `${method} ${path}: ${response.status}`).toBe(true);
  return (await response.json()) as Record<string, unknown>;
}

describe('GET /local/info and code-factory local as', () => {
  it('tells a local client the forge and the sample users’ tokens, never the bot’s', async () => {
    const response = await fetch(`${stack.url}/local/info`);
    expect(response.status).toBe(200);
    const { data } = (await response.json()) as {
      data: { forge_api_url: string; users: Array<{ login: string; token: string }> };
    };
    expect(data.forge_api_url).toBe(stack.forge.apiUrl);
    const logins = data.users.map((u) => u.login).sort();
    expect(logins).toEqual(expect.arrayContaining(['alice', 'bob', 'mallory']));
    expect(logins).not.toContain(stack.forge.botLogin);
    expect(data.users.find((u) => u.login === 'bob')?.token).toBe(stack.forge.tokens.bob);
    expect(JSON.stringify(data)).not.toContain(stack.forge.botToken);
    // The REST API itself has no such route: what a deployment would answer.
    expect((await api(stack, 'GET', '/v1/local/info')).status).toBe(404);
  });

  it('opens an issue and labels it as alice (a run starts), comments and opens a PR as bob', async () => {
    const opened = await cli(
      'local',
      'as',
      'alice',
      'issue',
      SAMPLE,
      'Add a --version flag',
      '--body',
      'Print it.',
    );
    expect(opened.code, opened.err).toBe(0);
    const number = Number(/#(\d+)/.exec(opened.out)?.[1]);
    expect(opened.out).toMatch(new RegExp(`^alice opened ${SAMPLE}#${number}`));
    const issue = await forge('GET', `/repos/${SAMPLE}/issues/${number}`, stack.forge.tokens.bob as string);
    expect(issue).toMatchObject({
      title: 'Add a --version flag',
      body: 'Print it.',
      user: { login: 'alice' },
    });

    const labelled = await cli('local', 'as', 'alice', 'label', `${SAMPLE}#${number}`, 'factory');
    expect(labelled.code, labelled.err).toBe(0);
    const workItem = await eventually('a run on the new issue', async () =>
      (await stack.store.getWorkItem(`${SAMPLE}#${number}`))?.latestRunId ? true : undefined,
    );
    expect(workItem).toBe(true);
    const runId = (await stack.store.getWorkItem(`${SAMPLE}#${number}`))?.latestRunId as string;
    expect((await stack.store.getRun(runId))?.trigger.sender).toBe('alice');
    await api(stack, 'POST', `/v1/runs/${runId}/cancel`);

    const commented = await cli('local', 'as', 'bob', 'comment', `${SAMPLE}#${number}`, 'Looks useful');
    expect(commented.code, commented.err).toBe(0);
    const comments = await forge(
      'GET',
      `/repos/${SAMPLE}/issues/${number}/comments`,
      stack.forge.tokens.bob as string,
    );
    expect(comments).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ body: 'Looks useful', user: expect.objectContaining({ login: 'bob' }) }),
      ]),
    );

    // A branch with one commit on it, made as bob through the forge's git API.
    const bob = stack.forge.tokens.bob as string;
    const main = await forge('GET', `/repos/${SAMPLE}/git/ref/heads/main`, bob);
    const baseSha = (main.object as { sha: string }).sha;
    const tree = await forge('POST', `/repos/${SAMPLE}/git/trees`, bob, {
      base_tree: baseSha,
      tree: [{ path: 'NOTES.md', mode: '100644', type: 'blob', content: 'notes\n' }],
    });
    const commit = await forge('POST', `/repos/${SAMPLE}/git/commits`, bob, {
      message: 'Add notes',
      tree: tree.sha,
      parents: [baseSha],
    });
    await forge('POST', `/repos/${SAMPLE}/git/refs`, bob, { ref: 'refs/heads/bob-notes', sha: commit.sha });
    const pr = await cli('local', 'as', 'bob', 'pr', SAMPLE, '--head', 'bob-notes', '--title', 'Add notes');
    expect(pr.code, pr.err).toBe(0);
    const prNumber = Number(/#(\d+)/.exec(pr.out)?.[1]);
    const pull = await forge('GET', `/repos/${SAMPLE}/pulls/${prNumber}`, bob);
    expect(pull).toMatchObject({
      title: 'Add notes',
      user: { login: 'bob' },
      head: { ref: 'bob-notes' },
      base: { ref: 'main' },
    });
  }, 60_000);

  it('exits 2 on usage errors and 3 when the forge refuses', async () => {
    expect((await cli('local', 'as', 'eve', 'issue', SAMPLE, 'x')).code).toBe(2);
    expect((await cli('local', 'as', 'alice', 'frobnicate', SAMPLE)).code).toBe(2);
    expect((await cli('local', 'as', 'alice', 'label', SAMPLE, 'factory')).code).toBe(2);
    expect((await cli('local', 'as', 'bob', 'pr', SAMPLE, '--title', 'no head')).code).toBe(2);
    // mallory only reads: the forge refuses her label, as GitHub would.
    const refused = await cli('local', 'as', 'mallory', 'label', `${SAMPLE}#1`, 'factory');
    expect(refused.code).toBe(3);
    expect(refused.err).toMatch(/403|404/);
  });
});
