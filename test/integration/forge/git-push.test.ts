import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Forge, SAMPLE_OWNER, SAMPLE_REPO, startForge } from '../../../local/forge';
import { octokitFor, WEBHOOK_SECRET } from './support';

const repo = { owner: SAMPLE_OWNER, repo: SAMPLE_REPO };

/** The system git, asynchronously (the forge runs in this process); never throws. */
function git(args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'git',
      args,
      {
        cwd,
        timeout: 30_000,
        env: {
          ...process.env,
          GIT_TERMINAL_PROMPT: '0',
          GIT_AUTHOR_NAME: 'Bob',
          GIT_AUTHOR_EMAIL: 'bob@acme.test',
          GIT_COMMITTER_NAME: 'Bob',
          GIT_COMMITTER_EMAIL: 'bob@acme.test',
        },
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('git push over smart HTTP to the forge', () => {
  let forge: Forge;
  let scratch: string;
  let work: string;
  const remote = (login: string, token: string) => {
    const url = new URL(`${forge.url}/${SAMPLE_OWNER}/${SAMPLE_REPO}.git`);
    url.username = login;
    url.password = token;
    return url.toString();
  };
  const forgeRef = async (ref: string) => {
    const sha = await forge.service.repos
      .git(forge.service.repos.get(SAMPLE_OWNER, SAMPLE_REPO))
      .resolveRef(ref);
    return sha;
  };
  const commitFile = async (name: string, content: string, message: string) => {
    await writeFile(path.join(work, name), content);
    expect((await git(['add', name], work)).code).toBe(0);
    expect((await git(['commit', '-q', '-m', message], work)).code).toBe(0);
    return (await git(['rev-parse', 'HEAD'], work)).stdout.trim();
  };

  beforeAll(async () => {
    forge = await startForge({ webhookSecret: WEBHOOK_SECRET, ciTimeoutMs: 20_000 });
    await forge.seedSample();
    scratch = await mkdtemp(path.join(os.tmpdir(), 'forge-push-test-'));
    work = path.join(scratch, 'work');
    const bob = forge.tokens.bob as string;
    expect((await git(['clone', '-q', remote('bob', bob), work])).code).toBe(0);
  });

  afterAll(async () => {
    await forge?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('takes a new branch from bob, then a fast-forward that synchronises its pull request', async () => {
    const bob = forge.tokens.bob as string;
    await git(['checkout', '-q', '-b', 'feature/push'], work);
    const first = await commitFile('PUSHED.md', '# pushed\n', 'Pushed with git');
    const pushed = await git(['push', '-u', 'origin', 'feature/push'], work);
    expect(pushed.stderr).toContain('* [new branch]      feature/push -> feature/push');
    expect(pushed.code).toBe(0);
    expect(await forgeRef('refs/heads/feature/push')).toBe(first);

    const octokit = octokitFor(forge.apiUrl, bob);
    const pull = await octokit.rest.pulls.create({
      ...repo,
      title: 'Pushed',
      head: 'feature/push',
      base: 'main',
    });
    expect(pull.data.head.sha).toBe(first);
    const second = await commitFile('PUSHED.md', '# pushed twice\n', 'Again');
    expect((await git(['push', 'origin', 'feature/push'], work)).code).toBe(0);
    const after = await octokit.rest.pulls.get({ ...repo, pull_number: pull.data.number });
    expect(after.data.head.sha).toBe(second);
    const file = await octokit.rest.repos.getContent({ ...repo, path: 'PUSHED.md', ref: 'feature/push' });
    expect(Buffer.from((file.data as { content: string }).content, 'base64').toString()).toBe(
      '# pushed twice\n',
    );
    await forge.waitForIdle();
    const synchronize = forge
      .deliveries()
      .find((d) => d.event === 'pull_request' && d.action === 'synchronize' && d.body.includes(second));
    expect(synchronize).toBeDefined();
    // GitHub's push and create webhooks, as for a REST ref change.
    const payloads = (event: string) =>
      forge
        .deliveries()
        .filter((d) => d.event === event)
        .map((d) => JSON.parse(d.body) as Record<string, unknown>);
    const created = payloads('push').find((p) => p.ref === 'refs/heads/feature/push' && p.created === true);
    expect(created).toMatchObject({ before: '0'.repeat(40), after: first, deleted: false, forced: false });
    expect(
      (created?.commits as Array<{ id: string; added: string[] }> | undefined)?.map((c) => [c.id, c.added]),
    ).toEqual([[first, ['PUSHED.md']]]);
    expect((created?.pusher as { name: string } | undefined)?.name).toBe('bob');
    expect(payloads('create').some((p) => p.ref === 'feature/push' && p.ref_type === 'branch')).toBe(true);
    const moved = payloads('push').find((p) => p.after === second);
    expect(moved).toMatchObject({ before: first, created: false });
    expect((moved?.head_commit as { modified: string[] } | undefined)?.modified).toEqual(['PUSHED.md']);
    // A clone of what was pushed is complete.
    const check = path.join(scratch, 'check');
    expect((await git(['clone', '-q', '-b', 'feature/push', remote('bob', bob), check])).code).toBe(0);
    expect((await git(['fsck', '--no-progress'], check)).code).toBe(0);
  });

  it('takes a push larger than git posts in one buffer (a probe, then a chunked body)', async () => {
    await git(['checkout', '-q', '-B', 'big', 'origin/main'], work);
    const { randomBytes } = await import('node:crypto');
    await writeFile(path.join(work, 'random.bin'), randomBytes(3 * 1024 * 1024));
    expect((await git(['add', 'random.bin'], work)).code).toBe(0);
    expect((await git(['commit', '-q', '-m', 'Big'], work)).code).toBe(0);
    const sha = (await git(['rev-parse', 'HEAD'], work)).stdout.trim();
    const pushed = await git(['push', 'origin', 'big'], work);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(await forgeRef('refs/heads/big')).toBe(sha);
  });

  it('refuses a force-push to the default branch and allows one to another branch', async () => {
    const main = await forgeRef('refs/heads/main');
    await git(['checkout', '-q', '-B', 'main', 'origin/main'], work);
    await git(['commit', '-q', '--amend', '-m', 'Rewritten history'], work);
    const forced = await git(['push', '--force', 'origin', 'main'], work);
    expect(forced.code).not.toBe(0);
    expect(forced.stderr).toContain('! [remote rejected] main -> main (non-fast-forward)');
    expect(await forgeRef('refs/heads/main')).toBe(main);

    await git(['checkout', '-q', 'feature/push'], work);
    await git(['commit', '-q', '--amend', '-m', 'Reworded'], work);
    const rewritten = (await git(['rev-parse', 'HEAD'], work)).stdout.trim();
    expect((await git(['push', '--force', 'origin', 'feature/push'], work)).code).toBe(0);
    expect(await forgeRef('refs/heads/feature/push')).toBe(rewritten);
  });

  it('refuses deleting the default branch and tags; deletes another branch', async () => {
    const deleteMain = await git(['push', 'origin', ':main'], work);
    expect(deleteMain.code).not.toBe(0);
    expect(deleteMain.stderr).toContain('(deletion of the current branch prohibited)');
    await git(['tag', 'v9', 'HEAD'], work);
    const tag = await git(['push', 'origin', 'v9'], work);
    expect(tag.stderr).toContain('(the forge accepts branches only)');
    expect(await forgeRef('refs/tags/v9')).toBeUndefined();

    await git(['push', 'origin', 'HEAD:refs/heads/short-lived'], work);
    expect(await forgeRef('refs/heads/short-lived')).toBeDefined();
    expect((await git(['push', 'origin', '--delete', 'short-lived'], work)).code).toBe(0);
    expect(await forgeRef('refs/heads/short-lived')).toBeUndefined();
    await forge.waitForIdle();
    const deleted = forge.deliveries().find((d) => d.event === 'delete' && d.body.includes('"short-lived"'));
    expect(deleted).toBeDefined();
  });

  it('answers 401 to a wrong or missing token and 403 to a reader', async () => {
    const wrong = await git(['push', remote('bob', 'ghp_not-a-token'), 'HEAD:refs/heads/intruder'], work);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('Authentication failed');
    expect(await forgeRef('refs/heads/intruder')).toBeUndefined();

    const advert = `${forge.url}/${SAMPLE_OWNER}/${SAMPLE_REPO}.git/info/refs?service=git-receive-pack`;
    const anonymous = await fetch(advert);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic /);
    const bad = await fetch(advert, {
      headers: { authorization: `Basic ${Buffer.from('bob:nope').toString('base64')}` },
    });
    expect(bad.status).toBe(401);
    const post = await fetch(`${forge.url}/${SAMPLE_OWNER}/${SAMPLE_REPO}.git/git-receive-pack`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('bob:nope').toString('base64')}` },
      body: '0000',
    });
    expect(post.status).toBe(401);

    const reader = await git(
      ['push', remote('mallory', forge.tokens.mallory as string), 'HEAD:refs/heads/intruder'],
      work,
    );
    expect(reader.code).not.toBe(0);
    expect(reader.stderr).toContain('403');
    expect(await forgeRef('refs/heads/intruder')).toBeUndefined();
  });

  /** POST git-receive-pack as bob with one command and `pack`; the report-status text. */
  const receive = async (command: string, pack: Buffer) => {
    const line = Buffer.concat([
      Buffer.from((command.length + 4).toString(16).padStart(4, '0')),
      Buffer.from(command),
    ]);
    const answer = await fetch(`${forge.url}/${SAMPLE_OWNER}/${SAMPLE_REPO}.git/git-receive-pack`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`bob:${forge.tokens.bob}`).toString('base64')}`,
        'content-type': 'application/x-git-receive-pack-request',
      },
      body: Buffer.concat([line, Buffer.from('0000'), pack]),
    });
    return answer.text();
  };
  const packOf = (oids: string[]) =>
    new Promise<Buffer>((resolve, reject) => {
      const child = execFile(
        'git',
        ['pack-objects', '--stdout', '-q'],
        { cwd: work, encoding: 'buffer', maxBuffer: 1 << 26 },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      );
      child.stdin?.end(oids.map((oid) => `${oid}\n`).join(''));
    });

  it('refuses a pack carrying objects no pushed ref reaches, and takes it without them', async () => {
    const main = (await forgeRef('refs/heads/main')) as string;
    const tree = (await git(['rev-parse', `${main}^{tree}`], work)).stdout.trim();
    const commit = (await git(['commit-tree', '-p', main, '-m', 'Same tree', tree], work)).stdout.trim();
    await writeFile(path.join(scratch, 'stray.txt'), 'stray\n');
    const stray = (await git(['hash-object', '-w', path.join(scratch, 'stray.txt')], work)).stdout.trim();
    const command = `${'0'.repeat(40)} ${commit} refs/heads/same-tree\0report-status\n`;
    const withStray = await receive(command, await packOf([commit, stray]));
    expect(withStray).toContain('unpack pack has objects no pushed ref reaches');
    expect(await forgeRef('refs/heads/same-tree')).toBeUndefined();
    const clean = await receive(command, await packOf([commit]));
    expect(clean).toContain('unpack ok');
    expect(clean).toContain('ok refs/heads/same-tree');
    expect(await forgeRef('refs/heads/same-tree')).toBe(commit);
  });

  it('refuses a pack that does not hold what the pushed commit needs', async () => {
    const main = (await forgeRef('refs/heads/main')) as string;
    // A commit the forge has never seen, announced with an empty pack.
    const orphan = (await git(['commit-tree', '-m', 'orphan', `${main}^{tree}`], work)).stdout.trim();
    const text = await receive(
      `${'0'.repeat(40)} ${orphan} refs/heads/orphan\0report-status\n`,
      await packOf([]),
    );
    expect(text).toContain('unpack missing necessary objects');
    expect(text).toContain('ng refs/heads/orphan unpacker error');
    expect(await forgeRef('refs/heads/orphan')).toBeUndefined();
  });
});
