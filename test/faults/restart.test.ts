import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_CREDENTIALS, LOCAL_REGION } from '../../local/emulators/dynamodb';
import { eventually } from '../support/e2e';

/**
 * Fault suite: the embedded stack (`local/start.ts`, a child process) is SIGKILLed while a run
 * waits for approval, then started again on the same data dir. Nothing may be silently lost: the
 * run, its audit events and its PR are still there, and the run no longer claims to be waiting.
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

/** `node --import tsx local/start.ts`: one process, so SIGKILL takes the whole stack down. */
async function startChild(dir: string): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', '--data-dir', dir], {
    cwd: ROOT,
    env: { ...process.env, FACTORY_WEBHOOK_SECRET: 'restart-test-webhook-secret' },
    stdio: ['ignore', 'pipe', 'pipe'],
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
  child.kill('SIGKILL');
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

async function forgeGet(ready: Ready, route: string): Promise<Json> {
  const secrets = new SecretsManagerClient({
    endpoint: ready.endpoints.secretsmanager,
    region: LOCAL_REGION,
    credentials: FAKE_CREDENTIALS,
  });
  try {
    const secret = await secrets.send(new GetSecretValueCommand({ SecretId: 'code-factory/github' }));
    const { token } = JSON.parse(secret.SecretString ?? '{}') as { token: string };
    const response = await fetch(`${ready.forgeUrl}/api/v3${route}`, {
      headers: { authorization: `token ${token}`, accept: 'application/vnd.github+json' },
    });
    if (!response.ok) throw new Error(`forge GET ${route}: ${response.status}`);
    return response.json();
  } finally {
    secrets.destroy();
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'cf-restart-'));
});

afterAll(async () => {
  for (const child of [...children]) await kill(child);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('the embedded stack killed mid-run', () => {
  it('keeps the run, its events and its PR, and ends the waiting run FAILED LocalEngineRestarted', async () => {
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

    await kill(first.child);

    const second = await startChild(dataDir);
    const ended = await eventually(
      'the interrupted run to end',
      async () => {
        const { json } = await api(second.ready, 'GET', `/v1/runs/${runId}`);
        return json.data && json.data.status !== 'AWAITING_APPROVAL' ? json.data : undefined;
      },
      20_000,
      200,
    ).catch(async (error: Error) => {
      const { json } = await api(second.ready, 'GET', `/v1/runs/${runId}`);
      throw new Error(`${error.message}; the run still says ${json.data?.status} at ${json.data?.stage}`);
    });
    expect(ended.status).toBe('FAILED');
    expect(ended.error?.class).toBe('LocalEngineRestarted');
    expect(ended.ended_at).toBeTruthy();
    // No stage of an ended run is still running.
    expect(ended.stages.map((s: Json) => s.status)).not.toContain('RUNNING');
    expect(ended.stages.every((s: Json) => s.ended_at)).toBe(true);
    expect(ended.ledger.llm_calls).toBe(waiting.ledger.llm_calls);

    const eventsAfter: Json[] = (await api(second.ready, 'GET', `/v1/runs/${runId}/events?limit=100`)).json
      .data;
    expect(eventsAfter.slice(0, eventsBefore.length).map((e: Json) => e.hash)).toEqual(
      eventsBefore.map((e: Json) => e.hash),
    );

    const pull = await forgeGet(second.ready, `/repos/acme/widgets/pulls/${prNumber}`);
    expect(pull.number).toBe(prNumber);
    expect(pull.head.sha).toBe(waiting.pull_request.head_sha);
    await kill(second.child);
  }, 150_000);
});
