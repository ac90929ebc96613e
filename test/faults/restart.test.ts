import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_CREDENTIALS, LOCAL_REGION } from '../../local/emulators/dynamodb';
import { eventually } from '../support/e2e';

/**
 * Fault suite: the embedded stack (`local/start.ts`, a child process in its own process group) is
 * SIGKILLed while one run waits for approval and another implements, then started again on the
 * same data dir. Nothing may be silently lost (runs, audit events), and GitHub must tell the truth:
 * both runs FAILED with the reason, the waiting run's PR closed and its branch deleted, and both
 * issues' status comments saying what happened and how to retry.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Ready {
  url: string;
  forgeUrl: string;
  apiKey: string;
  endpoints: { secretsmanager: string };
}

interface Started {
  child: ChildProcess;
  ready: Ready;
  stderr: string[];
}

const children = new Set<ChildProcess>();
let dataDir: string;
let modelScript: string;
/** How long the second run's first implement turn keeps it implementing (a `run` in the sandbox). */
const IMPLEMENT_SLEEP_SECONDS = 60;

/** `node --import tsx local/start.ts`: one process group, so SIGKILL takes the whole stack down. */
async function startChild(dir: string): Promise<Started> {
  const args = ['--import', 'tsx', 'local/start.ts', '--data-dir', dir, '--model-script', modelScript];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, FACTORY_WEBHOOK_SECRET: 'restart-test-webhook-secret' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so the kill takes its sandbox commands down with it.
    detached: true,
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const stderr: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
    if (stderr.length < 200) stderr.push(line);
  });
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in 60 s: ${stderr.join('\n')}`)), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the stack exited (${code}) before it was ready: ${stderr.join('\n')}`));
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as Ready & { event?: string };
        if (parsed.event === 'ready') {
          clearTimeout(timer);
          resolve(parsed);
        }
      } catch {
        // Log lines are not the ready line.
      }
    });
  });
  return { child, ready, stderr };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-(child.pid as number), 'SIGKILL');
  await exited;
}

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary fields of API responses
type Json = any;

async function api(
  ready: Ready,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${ready.url}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${ready.apiKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : {} };
}

async function forge(
  ready: Ready,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; json: Json }> {
  const secrets = new SecretsManagerClient({
    endpoint: ready.endpoints.secretsmanager,
    region: LOCAL_REGION,
    credentials: FAKE_CREDENTIALS,
  });
  try {
    const secret = await secrets.send(new GetSecretValueCommand({ SecretId: 'code-factory/github' }));
    const { token } = JSON.parse(secret.SecretString ?? '{}') as { token: string };
    const response = await fetch(`${ready.forgeUrl}/api/v3${route}`, {
      method,
      headers: {
        authorization: `token ${token}`,
        accept: 'application/vnd.github+json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : {} };
  } finally {
    secrets.destroy();
  }
}

async function forgeGet(ready: Ready, route: string): Promise<Json> {
  const { status, json } = await forge(ready, 'GET', route);
  if (status >= 300) throw new Error(`forge GET ${route}: ${status}`);
  return json;
}

/** The factory's status comment on an issue (one per run, updated in place). */
async function statusComment(ready: Ready, issue: number, runId: string): Promise<string> {
  const comments: Json[] = await forgeGet(ready, `/repos/acme/widgets/issues/${issue}/comments?per_page=100`);
  const found = comments.find(
    (c) => c.body.includes('<!-- code-factory:status -->') && c.body.includes(runId),
  );
  return found?.body ?? '';
}

/**
 * The sample's model conversation written down, with the second implement conversation (the
 * second run's) starting with a long command in the sandbox, so that run is caught implementing.
 */
async function writeModelScript(file: string): Promise<void> {
  const script = JSON.parse(await readFile(path.join(ROOT, 'local/model/examples/slugify.json'), 'utf8'));
  script.stages['implement#2'] = [
    [{ type: 'tool_use', name: 'run', input: { command: `sleep ${IMPLEMENT_SLEEP_SECONDS}` } }],
    ...script.stages.implement,
  ];
  await writeFile(file, JSON.stringify(script));
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'cf-restart-'));
  modelScript = path.join(dataDir, 'model-script.json');
  await writeModelScript(modelScript);
});

afterAll(async () => {
  for (const child of [...children]) await kill(child);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('the embedded stack killed mid-run', () => {
  it('fails the waiting and the implementing run with the reason, closes what they opened and says how to retry', async () => {
    const first = await startChild(dataDir);
    const created = await api(first.ready, 'POST', '/v1/runs', { repo: 'acme/widgets', issue: 1 });
    expect(created.status).toBeLessThan(300);
    const runId: string = created.json.data.id;
    const waiting = await eventually(
      'the run to wait for approval',
      async () => {
        const { json } = await api(first.ready, 'GET', `/v1/runs/${runId}`);
        if (json.data?.status === 'FAILED') throw new Error(`run failed: ${JSON.stringify(json.data.error)}`);
        return json.data?.status === 'AWAITING_APPROVAL' ? json.data : undefined;
      },
      60_000,
      100,
    );
    const eventsBefore: Json[] = (await api(first.ready, 'GET', `/v1/runs/${runId}/events?limit=100`)).json
      .data;
    expect(eventsBefore.length).toBeGreaterThan(0);
    const prNumber: number = waiting.pull_request.number;
    const branch: string = waiting.pull_request.branch;
    expect(branch).toMatch(/^factory\//);
    expect((await forgeGet(first.ready, `/repos/acme/widgets/pulls/${prNumber}`)).state).toBe('open');

    // A second issue like the first, and a run on it caught implementing.
    const sample = await forgeGet(first.ready, '/repos/acme/widgets/issues/1');
    const issue2 = await forge(first.ready, 'POST', '/repos/acme/widgets/issues', {
      title: sample.title,
      body: sample.body,
    });
    expect(issue2.status).toBe(201);
    const second = await api(first.ready, 'POST', '/v1/runs', {
      repo: 'acme/widgets',
      issue: issue2.json.number,
    });
    expect(second.status).toBeLessThan(300);
    const implementingId: string = second.json.data.id;
    await eventually(
      'the second run to implement',
      async () => {
        const { json } = await api(first.ready, 'GET', `/v1/runs/${implementingId}`);
        if (json.data?.status === 'FAILED') throw new Error(`run failed: ${JSON.stringify(json.data.error)}`);
        return json.data?.status === 'IMPLEMENTING' ? json.data : undefined;
      },
      60_000,
      100,
    );

    await kill(first.child);

    const restarted = await startChild(dataDir);
    const ended = async (id: string, was: string) =>
      eventually(
        `the interrupted run ${id} to end`,
        async () => {
          const { json } = await api(restarted.ready, 'GET', `/v1/runs/${id}`);
          return json.data && json.data.status !== was ? json.data : undefined;
        },
        20_000,
        200,
      );
    const awaited = await ended(runId, 'AWAITING_APPROVAL');
    const implementing = await ended(implementingId, 'IMPLEMENTING');
    for (const run of [awaited, implementing]) {
      expect(run.status).toBe('FAILED');
      expect(run.error?.class).toBe('LocalEngineRestarted');
      expect(run.ended_at).toBeTruthy();
      // No stage of an ended run is still running.
      expect(run.stages.map((s: Json) => s.status)).not.toContain('RUNNING');
      expect(run.stages.every((s: Json) => s.ended_at)).toBe(true);
    }
    expect(awaited.ledger.llm_calls).toBe(waiting.ledger.llm_calls);

    const eventsAfter: Json[] = (await api(restarted.ready, 'GET', `/v1/runs/${runId}/events?limit=100`)).json
      .data;
    expect(eventsAfter.slice(0, eventsBefore.length).map((e: Json) => e.hash)).toEqual(
      eventsBefore.map((e: Json) => e.hash),
    );
    expect(eventsAfter.find((e: Json) => e.type === 'run.finished')?.data).toMatchObject({
      status: 'FAILED',
      prClosed: prNumber,
      branchDeleted: branch,
    });

    // GitHub tells the truth: the waiting run's PR closed, its branch gone.
    const pull = await forgeGet(restarted.ready, `/repos/acme/widgets/pulls/${prNumber}`);
    expect(pull.state).toBe('closed');
    expect(pull.merged).toBe(false);
    expect((await forge(restarted.ready, 'GET', `/repos/acme/widgets/git/ref/heads/${branch}`)).status).toBe(
      404,
    );

    // Both issues' status comments say what happened and how to retry.
    for (const [issue, id] of [
      [1, runId],
      [issue2.json.number as number, implementingId],
    ] as const) {
      const body = await statusComment(restarted.ready, issue, id);
      expect(body).toContain(': failed');
      expect(body).toContain('LocalEngineRestarted');
      expect(body).toContain('/factory retry');
      expect(body).not.toContain('waiting for approval');
    }
    expect(await statusComment(restarted.ready, 1, runId)).toContain(
      'The pull request was closed and its branch deleted.',
    );
    await kill(restarted.child);
  }, 240_000);
});

describe('the embedded stack killed mid-run, on a repository whose factory.yml says on_failure: draft', () => {
  it('fails the waiting run and leaves its PR open as a draft with its branch, saying so', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cf-restart-draft-'));
    try {
      const first = await startChild(dir);
      const current = await forgeGet(first.ready, '/repos/acme/widgets/contents/.github/factory.yml');
      const yml = `${Buffer.from(current.content, 'base64').toString('utf8')}on_failure: draft\n`;
      // Committed through the git data API, as the GitHub App would: tree, commit, ref.
      const main = await forgeGet(first.ready, '/repos/acme/widgets/git/ref/heads/main');
      const head = await forgeGet(first.ready, `/repos/acme/widgets/git/commits/${main.object.sha}`);
      const tree = await forge(first.ready, 'POST', '/repos/acme/widgets/git/trees', {
        base_tree: head.tree.sha,
        tree: [{ path: '.github/factory.yml', mode: '100644', type: 'blob', content: yml }],
      });
      const commit = await forge(first.ready, 'POST', '/repos/acme/widgets/git/commits', {
        message: 'Keep failed runs as drafts',
        tree: tree.json.sha,
        parents: [main.object.sha],
      });
      const moved = await forge(first.ready, 'PATCH', '/repos/acme/widgets/git/refs/heads/main', {
        sha: commit.json.sha,
      });
      expect([tree.status, commit.status, moved.status]).toEqual([201, 201, 200]);
      const created = await api(first.ready, 'POST', '/v1/runs', { repo: 'acme/widgets', issue: 1 });
      expect(created.status).toBeLessThan(300);
      const runId: string = created.json.data.id;
      const waiting = await eventually(
        'the run to wait for approval',
        async () => {
          const { json } = await api(first.ready, 'GET', `/v1/runs/${runId}`);
          if (json.data?.status === 'FAILED')
            throw new Error(`run failed: ${JSON.stringify(json.data.error)}`);
          return json.data?.status === 'AWAITING_APPROVAL' ? json.data : undefined;
        },
        60_000,
        100,
      );
      const prNumber: number = waiting.pull_request.number;
      const branch: string = waiting.pull_request.branch;
      // The factory's PRs are drafts until approved; a failed run's is normally closed.
      expect((await forgeGet(first.ready, `/repos/acme/widgets/pulls/${prNumber}`)).state).toBe('open');

      await kill(first.child);
      const restarted = await startChild(dir);
      const ended = await eventually(
        'the interrupted run to end',
        async () => {
          const { json } = await api(restarted.ready, 'GET', `/v1/runs/${runId}`);
          return json.data && json.data.status !== 'AWAITING_APPROVAL' ? json.data : undefined;
        },
        20_000,
        200,
      );
      expect(ended.status).toBe('FAILED');
      const events: Json[] = (await api(restarted.ready, 'GET', `/v1/runs/${runId}/events?limit=100`)).json
        .data;
      const finished = events.find((e: Json) => e.type === 'run.finished')?.data;
      expect(finished).toMatchObject({ status: 'FAILED', prDrafted: prNumber });
      expect(finished.prClosed).toBeUndefined();
      expect(finished.branchDeleted).toBeUndefined();

      // The PR stays open, now a draft, its branch and head untouched.
      const pull = await forgeGet(restarted.ready, `/repos/acme/widgets/pulls/${prNumber}`);
      expect(pull.state).toBe('open');
      expect(pull.draft).toBe(true);
      const ref = await forge(restarted.ready, 'GET', `/repos/acme/widgets/git/ref/heads/${branch}`);
      expect(ref.status).toBe(200);
      expect(ref.json.object.sha).toBe(pull.head.sha);
      const body = await statusComment(restarted.ready, 1, runId);
      expect(body).toContain('LocalEngineRestarted');
      expect(body).toContain('/factory retry');
      expect(body).toMatch(/draft/i);
      await kill(restarted.child);
    } finally {
      for (const child of [...children]) await kill(child);
      await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    }
  }, 240_000);
});
