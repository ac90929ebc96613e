import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Forge, SAMPLE_ISSUE, SAMPLE_OWNER, SAMPLE_REPO, startForge } from '../../../local/forge';
import { octokitFor, WEBHOOK_SECRET } from './support';

const repo = { owner: SAMPLE_OWNER, repo: SAMPLE_REPO };

describe('forge data dir', () => {
  const started: Forge[] = [];
  let dataDir = '';

  afterAll(async () => {
    for (const forge of started) await forge.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps repositories, issues, pull requests and tokens across a restart', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'forge-data-'));
    const first = await startForge({ webhookSecret: WEBHOOK_SECRET, dataDir });
    started.push(first);
    await first.seedSample();
    first.actions.setCiCommand(SAMPLE_OWNER, SAMPLE_REPO, null);
    const comment = await first.actions.comment(
      'bob',
      SAMPLE_OWNER,
      SAMPLE_REPO,
      SAMPLE_ISSUE.number,
      'Kept?',
    );
    const head = await first.actions.pushCommit(
      'bob',
      SAMPLE_OWNER,
      SAMPLE_REPO,
      'kept',
      { 'k.txt': 'k\n' },
      'K',
    );
    const pull = await octokitFor(first.apiUrl, first.tokens.bob).rest.pulls.create({
      ...repo,
      title: 'Kept',
      head: 'kept',
      base: 'main',
    });
    const tokens = first.tokens;
    await first.close();
    expect(JSON.parse(await readFile(path.join(dataDir, 'forge-state.json'), 'utf8')).repos).toHaveProperty(
      'acme/widgets',
    );

    const second = await startForge({ webhookSecret: WEBHOOK_SECRET, dataDir });
    started.push(second);
    await second.seedSample(); // idempotent: nothing is created twice
    expect(second.tokens).toEqual(tokens);
    const octokit = octokitFor(second.apiUrl, second.tokens.alice);
    const issues = await octokit.rest.issues.listForRepo({ ...repo, state: 'all' });
    expect(issues.data.map((issue) => issue.number).sort()).toEqual([SAMPLE_ISSUE.number, pull.data.number]);
    const comments = await octokit.rest.issues.listComments({ ...repo, issue_number: SAMPLE_ISSUE.number });
    expect(comments.data.map((entry) => [entry.id, entry.body])).toEqual([[comment.id, 'Kept?']]);
    const reread = await octokit.rest.pulls.get({ ...repo, pull_number: pull.data.number });
    expect(reread.data.head.sha).toBe(head);
    // URLs follow the new port.
    expect(reread.data.url.startsWith(second.apiUrl)).toBe(true);
  });
});
