import { ulid } from 'ulid';
import { createApiHandler } from '../../../functions/api/app';
import { createApiKey, type Scope } from '../../../functions/api/auth';
import { Run } from '../../../functions/shared/domain/run';
import type { GitHub, PullInfo, RepoRef, Secrets } from '../../../functions/shared/ports';
import { type Gateway, startGateway } from '../../../local/gateway';
import { startTestDynamo, type TestDynamo } from '../../support/dynamodb';
import { FakeWorkflow, silentLog } from '../../unit/webhook/helpers';

export const PAGE_KEY_SECRET_ID = 'factory/approval-key';

/** Only what cancel calls: getPull and updatePull on a map of PRs. */
export class PullsGitHub {
  readonly pulls = new Map<number, PullInfo>();
  readonly closed: number[] = [];
  async getPull(_repo: RepoRef, number: number): Promise<PullInfo> {
    const pull = this.pulls.get(number);
    if (!pull) throw Object.assign(new Error('Not Found'), { name: 'HttpError', status: 404 });
    return pull;
  }
  async updatePull(_repo: RepoRef, number: number, patch: { state?: 'open' | 'closed' }): Promise<PullInfo> {
    const pull = await this.getPull(_repo, number);
    if (patch.state === 'closed') this.closed.push(number);
    const updated = { ...pull, ...(patch.state ? { state: patch.state } : {}) };
    this.pulls.set(number, updated);
    return updated;
  }
}

export class StaticSecrets implements Secrets {
  constructor(private readonly values: Record<string, string>) {}
  async get(secretId: string): Promise<string> {
    const value = this.values[secretId];
    if (value === undefined) throw new Error(`unexpected secret ${secretId}`);
    return value;
  }
}

export interface ApiHarness {
  dynamo: TestDynamo;
  gateway: Gateway;
  workflow: FakeWorkflow;
  /** The copilot's state machine (POST /v1/asks starts one execution per ask). */
  asks: FakeWorkflow;
  github: PullsGitHub;
  key(scopes: Scope[], repoPatterns: string[], name?: string): Promise<string>;
  call(
    method: string,
    path: string,
    options?: { key?: string; body?: unknown; headers?: Record<string, string> },
    // biome-ignore lint/suspicious/noExplicitAny: tests read response fields directly and assert each one
  ): Promise<{ status: number; headers: Headers; json: any; text: string }>;
  seedRun(overrides: Partial<Run> & { repo: string }): Promise<Run>;
  close(): Promise<void>;
}

/** dynalite + the API handler behind the local API Gateway on 127.0.0.1:0, a fake Workflow. */
export async function startApiHarness(): Promise<ApiHarness> {
  const dynamo = await startTestDynamo();
  const workflow = new FakeWorkflow();
  const asks = new FakeWorkflow();
  const github = new PullsGitHub();
  const handler = createApiHandler({
    store: dynamo.store,
    workflow,
    github: github as unknown as GitHub,
    secrets: new StaticSecrets({ [PAGE_KEY_SECRET_ID]: 'k'.repeat(48) }),
    clock: dynamo.clock,
    ids: { ulid: () => ulid(), secret: () => 'unused' },
    log: silentLog,
    config: { pageKeySecretId: PAGE_KEY_SECRET_ID },
    asks,
  });
  const gateway = await startGateway({
    routes: [{ method: 'ANY', path: '/v1/{proxy+}', handler }],
    timeoutMs: 10_000,
  });
  let seeded = 0;
  return {
    dynamo,
    gateway,
    workflow,
    asks,
    github,
    async key(scopes, repoPatterns, name = 'test-key') {
      return (await createApiKey(dynamo.store, { name, scopes, repoPatterns })).apiKey;
    },
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...(options.headers ?? {}) };
      if (options.key) headers.authorization = `Bearer ${options.key}`;
      if (options.body !== undefined) headers['content-type'] ??= 'application/json';
      const response = await fetch(`${gateway.url}${path}`, {
        method,
        headers,
        ...(options.body === undefined
          ? {}
          : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers, json, text };
    },
    async seedRun(overrides) {
      // Distinct, increasing ULID times so newest-first order is well defined.
      const at = Date.parse('2025-01-01T00:00:00Z') + ++seeded * 1000;
      const runId = overrides.runId ?? ulid(at);
      const iso = new Date(at).toISOString();
      // Everything not given takes its schema default (empty timeline, zero ledger, no attempts).
      const run = Run.parse({
        runId,
        kind: 'change',
        workItemKey: `${overrides.repo}#${overrides.issueNumber ?? 1}`,
        issueNumber: 1,
        status: 'PLANNING',
        version: 0,
        createdAt: iso,
        updatedAt: iso,
        trigger: { source: 'label', sender: 'alice' },
        ...overrides,
      });
      await dynamo.store.createRun(run);
      return run;
    },
    async close() {
      await gateway.close();
      await dynamo.close();
    },
  };
}
