import { createRequire } from 'node:module';
import { sign } from '@octokit/webhooks-methods';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Forge,
  SAMPLE_CI_COMMAND,
  SAMPLE_ISSUE,
  SAMPLE_LABEL,
  SAMPLE_OWNER,
  SAMPLE_REPO,
  startForge,
} from '../../../local/forge';
import { octokitFor, type Receiver, startReceiver, WEBHOOK_SECRET, waitFor } from './support';

const repo = { owner: SAMPLE_OWNER, repo: SAMPLE_REPO };
const webhookExamples = createRequire(import.meta.url)('@octokit/webhooks-examples') as Array<{
  name: string;
  examples: Array<Record<string, unknown>>;
}>;

/** Keys of `expected` (to `depth` levels) that `actual` lacks; URL template fields aside. */
function missingKeys(
  expected: Record<string, unknown>,
  actual: Record<string, unknown>,
  prefix: string,
  depth: number,
): string[] {
  return Object.keys(expected).flatMap((key) => {
    if (key.endsWith('_url')) return [];
    if (!(key in actual)) return [`${prefix}${key}`];
    const [a, b] = [expected[key], actual[key]];
    const nested = (value: unknown) => value !== null && typeof value === 'object' && !Array.isArray(value);
    return depth > 0 && nested(a) && nested(b)
      ? missingKeys(a as Record<string, unknown>, b as Record<string, unknown>, `${prefix}${key}.`, depth - 1)
      : [];
  });
}

/** A workflow job's log, as the factory reads it: GET …/actions/jobs/{id}/logs, a redirect to text. */
async function jobLog(
  client: { request: (route: string, params: Record<string, unknown>) => Promise<{ data: unknown }> },
  where: { owner: string; repo: string },
  jobId: number,
): Promise<string> {
  const { data } = await client.request('GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs', {
    ...where,
    job_id: jobId,
  });
  return typeof data === 'string' ? data : new TextDecoder().decode(data as ArrayBuffer);
}

describe('forge webhooks and local CI', () => {
  let forge: Forge;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver();
    forge = await startForge({
      webhookSecret: WEBHOOK_SECRET,
      webhookUrl: receiver.url,
      ciTimeoutMs: 20_000,
      // This suite also checks the sender's bounded retries, which GitHub itself never makes.
      webhookMaxAttempts: 3,
      webhookRetryDelaysMs: [20],
    });
    await forge.seedSample();
    await forge.waitForIdle();
  });

  afterAll(async () => {
    await forge?.close();
    await receiver?.close();
  });

  const hooksFor = (event: string, action?: string) =>
    receiver.hooks.filter((hook) => hook.event === event && (!action || hook.payload.action === action));

  it('signs every delivery over the raw body with the configured secret', async () => {
    const opened = await waitFor(() => hooksFor('issues', 'opened')[0], 10_000, 'issues.opened');
    expect(opened.verified).toBe(true);
    expect(opened.signature).toBe(await sign(WEBHOOK_SECRET, opened.body));
    expect(opened.userAgent).toBe('GitHub-Hookshot/forge');
    expect(opened.contentType).toBe('application/json');
    expect(opened.hookId).toBe('1');
    expect(opened.delivery).toMatch(/^[0-9a-f-]{36}$/);
    expect(opened.payload).toMatchObject({
      action: 'opened',
      issue: { number: SAMPLE_ISSUE.number, title: SAMPLE_ISSUE.title, user: { login: SAMPLE_ISSUE.author } },
      repository: { name: SAMPLE_REPO, full_name: `${SAMPLE_OWNER}/${SAMPLE_REPO}`, default_branch: 'main' },
      sender: { login: SAMPLE_ISSUE.author, type: 'User' },
      installation: { id: 1 },
    });
  });

  it('sends issues.labeled and issue_comment events, retries failures and redelivers with the same id', async () => {
    receiver.failNext(1);
    await forge.actions.labelIssue('bob', SAMPLE_OWNER, SAMPLE_REPO, SAMPLE_ISSUE.number, SAMPLE_LABEL);
    const labeled = await waitFor(() => hooksFor('issues', 'labeled')[0], 10_000, 'issues.labeled');
    expect(labeled.payload).toMatchObject({ label: { name: SAMPLE_LABEL }, sender: { login: 'bob' } });
    // The receiver sees the body before the forge sees the answer: let the delivery settle.
    await forge.waitForIdle();
    const record = forge.deliveries().find((delivery) => delivery.id === labeled.delivery);
    expect(record?.status).toBe('delivered');
    expect(record?.attempts.map((attempt) => attempt.statusCode)).toEqual([500, 202]);

    const redelivered = await forge.redeliver(labeled.delivery);
    expect(redelivered.redelivery).toBe(true);
    const copies = receiver.hooks.filter((hook) => hook.delivery === labeled.delivery);
    expect(copies).toHaveLength(2);
    expect(copies[1]?.body).toBe(labeled.body);

    const bot = octokitFor(forge.apiUrl, forge.botToken);
    const comment = await bot.rest.issues.createComment({ ...repo, issue_number: 1, body: 'Planning…' });
    await bot.rest.issues.updateComment({ ...repo, comment_id: comment.data.id, body: 'Planned.' });
    const edited = await waitFor(
      () => hooksFor('issue_comment', 'edited')[0],
      10_000,
      'issue_comment.edited',
    );
    expect(edited.payload).toMatchObject({
      comment: { id: comment.data.id, body: 'Planned.', user: { login: forge.botLogin } },
      changes: { body: { from: 'Planning…' } },
      sender: { login: forge.botLogin, type: 'Bot' },
    });
    expect(hooksFor('issue_comment', 'created').map((hook) => hook.payload.comment)).toContainEqual(
      expect.objectContaining({ id: comment.data.id }),
    );
  });

  it('runs the check command on a new PR head and reports success with check and workflow webhooks', async () => {
    const bot = octokitFor(forge.apiUrl, forge.botToken);
    const head = await forge.actions.pushCommit(
      forge.botLogin,
      SAMPLE_OWNER,
      SAMPLE_REPO,
      'factory/1-green',
      { 'src/extra.js': 'export const extra = true;\n' },
      'Add extra',
    );
    const pull = await bot.rest.pulls.create({
      ...repo,
      title: 'Green',
      head: 'factory/1-green',
      base: 'main',
      draft: true,
    });
    // The suite exists (queued or running) as soon as the PR does.
    const pending = await bot.rest.checks.listForRef({ ...repo, ref: head });
    expect(pending.data.check_runs).toHaveLength(1);
    expect(pending.data.check_runs[0]?.status).not.toBe('completed');

    const suiteHook = await waitFor(
      () =>
        hooksFor('check_suite', 'completed').find(
          (hook) => (hook.payload.check_suite as { head_sha: string }).head_sha === head,
        ),
      30_000,
      'check_suite.completed',
    );
    expect(suiteHook.verified).toBe(true);
    expect(suiteHook.payload.check_suite).toMatchObject({
      head_sha: head,
      head_branch: 'factory/1-green',
      status: 'completed',
      conclusion: 'success',
      pull_requests: [{ number: pull.data.number, head: { ref: 'factory/1-green', sha: head } }],
    });
    await forge.waitForIdle();
    expect(
      hooksFor('check_run', 'completed').some(
        (hook) => (hook.payload.check_run as { head_sha: string }).head_sha === head,
      ),
    ).toBe(true);
    const workflow = hooksFor('workflow_run', 'completed').find(
      (hook) => (hook.payload.workflow_run as { head_sha: string }).head_sha === head,
    );
    expect(workflow?.payload.workflow_run).toMatchObject({
      conclusion: 'success',
      status: 'completed',
      event: 'pull_request',
    });

    const runs = await bot.rest.checks.listForRef({ ...repo, ref: head });
    const run = runs.data.check_runs[0];
    expect(run).toMatchObject({ status: 'completed', conclusion: 'success' });
    // As on GitHub Actions: the check run's output is empty; the log is the job's.
    expect(run?.output).toMatchObject({ title: null, summary: null, text: null });
    const passLog = await jobLog(bot, repo, run?.id as number);
    expect(passLog).toContain(`##[group]Run ${SAMPLE_CI_COMMAND}`);
    expect(passLog).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z .*# pass 2$/m);
    const single = await bot.rest.checks.get({ ...repo, check_run_id: run?.id as number });
    expect(single.data.id).toBe(run?.id);
    const suites = await bot.rest.checks.listSuitesForRef({ ...repo, ref: head });
    expect(suites.data.check_suites[0]).toMatchObject({ conclusion: 'success', head_sha: head });

    // The PR webhooks around it: opened, then ready_for_review through the GraphQL mutation.
    expect(
      hooksFor('pull_request', 'opened').some(
        (hook) => (hook.payload.pull_request as { number: number }).number === pull.data.number,
      ),
    ).toBe(true);
    await bot.graphql(
      'mutation($id: ID!) { markPullRequestReadyForReview(input: {pullRequestId: $id}) { pullRequest { isDraft } } }',
      { id: pull.data.node_id },
    );
    const ready = await waitFor(
      () => hooksFor('pull_request', 'ready_for_review')[0],
      10_000,
      'ready_for_review',
    );
    expect(ready.payload.pull_request).toMatchObject({ number: pull.data.number, draft: false });
  });

  it('reports a failing check when a pushed head breaks a test, after a synchronize', async () => {
    const bot = octokitFor(forge.apiUrl, forge.botToken);
    const first = await forge.actions.pushCommit(
      forge.botLogin,
      SAMPLE_OWNER,
      SAMPLE_REPO,
      'factory/1-red',
      { 'docs.md': 'd\n' },
      'Docs',
    );
    const pull = await bot.rest.pulls.create({ ...repo, title: 'Red', head: 'factory/1-red', base: 'main' });
    await waitFor(
      () =>
        hooksFor('check_suite', 'completed').find(
          (hook) => (hook.payload.check_suite as { head_sha: string }).head_sha === first,
        ),
      30_000,
      'first suite',
    );

    // Through the git data API, as the factory publishes: capitalize now lower-cases.
    const main = await bot.rest.git.getCommit({ ...repo, commit_sha: first });
    const tree = await bot.rest.git.createTree({
      ...repo,
      base_tree: main.data.tree.sha,
      tree: [
        {
          path: 'src/index.js',
          mode: '100644',
          type: 'blob',
          content:
            'export const capitalize = (text) => String(text).toLowerCase();\nexport const truncate = (text) => text;\n',
        },
      ],
    });
    const commit = await bot.rest.git.createCommit({
      ...repo,
      message: 'Break it',
      tree: tree.data.sha,
      parents: [first],
    });
    await bot.rest.git.updateRef({ ...repo, ref: 'heads/factory/1-red', sha: commit.data.sha });

    const sync = await waitFor(() => hooksFor('pull_request', 'synchronize')[0], 10_000, 'synchronize');
    expect(sync.payload).toMatchObject({ before: first, after: commit.data.sha, number: pull.data.number });
    const failed = await waitFor(
      () =>
        hooksFor('check_suite', 'completed').find(
          (hook) => (hook.payload.check_suite as { head_sha: string }).head_sha === commit.data.sha,
        ),
      30_000,
      'failing suite',
    );
    expect(failed.payload.check_suite).toMatchObject({ conclusion: 'failure', before: first });
    const runs = await bot.rest.checks.listForRef({ ...repo, ref: commit.data.sha });
    const run = runs.data.check_runs[0];
    expect(run?.conclusion).toBe('failure');
    expect(run?.output.text).toBeNull();
    const failLog = await jobLog(bot, repo, run?.id as number);
    expect(failLog).toMatch(/# fail [1-9]/);
    expect(failLog).toContain('capitalize');
    expect(failLog).toMatch(/##\[error\]Process completed with exit code 1\.\n$/);
    // Only through the redirect's short-lived URL: a guessed token gets nothing.
    const redirect = await fetch(
      `${forge.apiUrl}/repos/${repo.owner}/${repo.repo}/actions/jobs/${run?.id}/logs`,
      {
        headers: { authorization: `token ${forge.botToken}` },
        redirect: 'manual',
      },
    );
    expect(redirect.status).toBe(302);
    const location = new URL(redirect.headers.get('location') ?? '');
    location.searchParams.set('token', 'f'.repeat(32));
    expect((await fetch(location)).status).toBe(404);
  });

  it('sends payloads with the fields of the @octokit/webhooks-examples fixtures', async () => {
    await forge.waitForIdle();
    const checked: string[] = [];
    for (const [event, action] of [
      ['issues', 'labeled'],
      ['issue_comment', 'created'],
      ['pull_request', 'opened'],
      ['pull_request', 'synchronize'],
      ['check_suite', 'completed'],
      ['check_run', 'completed'],
      ['workflow_run', 'completed'],
    ] as const) {
      const fixture = webhookExamples
        .find((entry) => entry.name === event)
        ?.examples.find((example) => example.action === action);
      const ours = hooksFor(event, action)[0]?.payload;
      expect(fixture, `${event}.${action} fixture`).toBeDefined();
      expect(ours, `${event}.${action} delivery`).toBeDefined();
      if (!fixture || !ours) continue;
      const missing = missingKeys(fixture, ours, '', 2).filter(
        (key) => !/\.(owner|user|sender|app|organization)\b/.test(key),
      );
      // organization: the sample owner is a plain account in the forge, as on a personal repo.
      expect(
        missing.filter((key) => key !== 'organization'),
        `${event}.${action}`,
      ).toEqual([]);
      checked.push(`${event}.${action}`);
    }
    expect(checked).toHaveLength(7);
  });

  it('keeps a long job log whole: a failure 300 KB before the end is still in it', async () => {
    // node --test's TAP for commander.js's 1,400 tests: `not ok` lines far above `# fail 2`.
    const long = await startForge({ webhookSecret: WEBHOOK_SECRET, ciTimeoutMs: 20_000 });
    try {
      await long.actions.createRepo({
        owner: 'acme',
        name: 'long',
        files: { 'README.md': 'z\n' },
        roles: { [long.botLogin]: 'write' },
        ciCommand:
          "echo 'not ok 7 - when --hepl then suggests --help'; yes 'ok 8 - fine' | head -c 300000; echo '# fail 1'; exit 1",
      });
      const head = await long.actions.pushCommit(
        long.botLogin,
        'acme',
        'long',
        'branch',
        { 'a.txt': 'a\n' },
        'A',
      );
      const client = octokitFor(long.apiUrl, long.botToken);
      await client.rest.pulls.create({
        owner: 'acme',
        repo: 'long',
        title: 'Long',
        head: 'branch',
        base: 'main',
      });
      await long.waitForIdle(15_000);
      const runs = await client.rest.checks.listForRef({ owner: 'acme', repo: 'long', ref: head });
      expect(runs.data.check_runs[0]).toMatchObject({ status: 'completed', conclusion: 'failure' });
      const log = await jobLog(
        client,
        { owner: 'acme', repo: 'long' },
        runs.data.check_runs[0]?.id as number,
      );
      expect(log).toContain('not ok 7 - when --hepl then suggests --help');
      expect(log).toContain('# fail 1');
      expect(log).not.toContain('[output truncated');
    } finally {
      await long.close();
    }
  });

  it('times a hanging check command out and reports timed_out', async () => {
    // A separate forge with a short CI limit; no webhook URL, so deliveries are only recorded.
    const sleepy = await startForge({ webhookSecret: WEBHOOK_SECRET, ciTimeoutMs: 500 });
    try {
      await sleepy.actions.createRepo({
        owner: 'acme',
        name: 'sleepy',
        files: { 'README.md': 'z\n' },
        roles: { [sleepy.botLogin]: 'write' },
        ciCommand: 'echo started; sleep 30',
      });
      const head = await sleepy.actions.pushCommit(
        sleepy.botLogin,
        'acme',
        'sleepy',
        'slow',
        { 'a.txt': 'a\n' },
        'A',
      );
      const client = octokitFor(sleepy.apiUrl, sleepy.botToken);
      await client.rest.pulls.create({
        owner: 'acme',
        repo: 'sleepy',
        title: 'Slow',
        head: 'slow',
        base: 'main',
      });
      await sleepy.waitForIdle(15_000);
      const runs = await client.rest.checks.listForRef({ owner: 'acme', repo: 'sleepy', ref: head });
      expect(runs.data.check_runs[0]).toMatchObject({ status: 'completed', conclusion: 'timed_out' });
      expect(
        await jobLog(client, { owner: 'acme', repo: 'sleepy' }, runs.data.check_runs[0]?.id as number),
      ).toContain('started');
      const suite = sleepy.deliveries().find((delivery) => delivery.event === 'check_suite');
      expect(suite?.status).toBe('no_url');
      expect(JSON.parse(suite?.body ?? '{}').check_suite.conclusion).toBe('failure');
    } finally {
      await sleepy.close();
    }
  });
});
