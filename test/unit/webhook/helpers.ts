import { sign } from '@octokit/webhooks-methods';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { ulid } from 'ulid';
import type {
  GitHub,
  Log,
  Permission,
  PullInfo,
  RepoRef,
  Secrets,
  StartRunResult,
  Workflow,
} from '../../../functions/shared/ports';
import { createWebhookHandler, type WebhookConfig, type WebhookPorts } from '../../../functions/webhook/app';
import { webhookContext } from '../../../functions/webhook/context';
import { FakeStore } from '../../support/fake-store';

export const TEST_SECRET = 'test-webhook-secret';
export const SECRET_ID = 'factory/webhook';
export const FACTORY_LOGIN = 'code-factory[bot]';

export class MutableClock {
  constructor(public current = Date.parse('2025-03-01T12:00:00Z')) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

export class FakeWorkflow implements Workflow {
  readonly starts: Array<{ runId: string; input: Record<string, unknown> }> = [];
  readonly executions = new Set<string>();
  readonly stops: Array<{ runId: string; error: string; cause: string }> = [];
  readonly successes: Array<{ token: string; output: unknown }> = [];
  readonly failures: Array<{ token: string; error: string; cause: string }> = [];
  readonly liveTokens = new Set<string>();
  failNextStart?: Error;

  async startRun(runId: string, input: Record<string, unknown>): Promise<StartRunResult> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.starts.push({ runId, input });
    if (this.failNextStart) {
      const failure = this.failNextStart;
      this.failNextStart = undefined;
      throw failure;
    }
    const started = !this.executions.has(runId);
    this.executions.add(runId);
    return { executionArn: `arn:aws:states:local:0:execution:pipeline:${runId}`, started };
  }
  async stopRun(runId: string, error: string, cause: string): Promise<void> {
    this.stops.push({ runId, error, cause });
  }
  async sendTaskSuccess(token: string, output: unknown): Promise<boolean> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (!this.liveTokens.delete(token)) return false;
    this.successes.push({ token, output });
    return true;
  }
  async sendTaskFailure(token: string, error: string, cause: string): Promise<boolean> {
    this.failures.push({ token, error, cause });
    return true;
  }
  async sendTaskHeartbeat(): Promise<boolean> {
    return true;
  }
}

/** Only the calls the webhook makes; anything else fails the test loudly. */
export class FakeGitHub {
  readonly permissions = new Map<string, Permission>();
  readonly permissionCalls: string[] = [];
  readonly comments: Array<{ repo: string; issueNumber: number; body: string }> = [];
  /** Pull requests by number (a follow-up reads the PR's branch and state). */
  readonly pulls = new Map<number, PullInfo>();

  async getPermission(repo: RepoRef, username: string): Promise<Permission> {
    this.permissionCalls.push(`${repo.owner}/${repo.repo}:${username}`);
    return this.permissions.get(username) ?? 'none';
  }
  async getPull(_repo: RepoRef, number: number): Promise<PullInfo> {
    const pull = this.pulls.get(number);
    if (!pull) throw Object.assign(new Error('Not Found'), { name: 'HttpError', status: 404 });
    return pull;
  }
  async createComment(repo: RepoRef, issueNumber: number, body: string): Promise<{ id: number }> {
    this.comments.push({ repo: `${repo.owner}/${repo.repo}`, issueNumber, body });
    return { id: this.comments.length };
  }
}

export class CountingSecrets implements Secrets {
  reads = 0;
  constructor(private readonly value = TEST_SECRET) {}
  async get(secretId: string): Promise<string> {
    this.reads++;
    if (secretId !== SECRET_ID) throw new Error(`unexpected secret ${secretId}`);
    return this.value;
  }
}

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** The webhook's ports over fakes: alice is an admin, bob a writer, mallory a reader. */
export function makeWebhookPorts(overrides: Partial<WebhookConfig> = {}) {
  const clock = new MutableClock();
  const store = new FakeStore(clock);
  const workflow = new FakeWorkflow();
  const github = new FakeGitHub();
  github.permissions.set('alice', 'admin');
  github.permissions.set('bob', 'write');
  github.permissions.set('mallory', 'read');
  const secrets = new CountingSecrets();
  const ports: WebhookPorts = {
    store,
    workflow,
    github: github as unknown as GitHub,
    secrets,
    clock,
    ids: { ulid: () => ulid(clock.now()), secret: () => 'not-used' },
    log: silentLog,
    config: { webhookSecretId: SECRET_ID, factoryLogin: FACTORY_LOGIN, ...overrides },
  };
  return { clock, store, workflow, github, secrets, ports };
}

/** The context the webhook's modules take, for testing one module on its own. */
export function makeWebhookContext(overrides: Partial<WebhookConfig> = {}) {
  const fakes = makeWebhookPorts(overrides);
  return { ...fakes, ctx: webhookContext(fakes.ports) };
}

export function makeWebhook(overrides: Partial<WebhookConfig> = {}) {
  const { clock, store, workflow, github, secrets, ports } = makeWebhookPorts(overrides);
  const handler = createWebhookHandler(ports);
  let requests = 0;
  const invoke = async (event: APIGatewayProxyEventV2) =>
    (await handler(event, lambdaContext(`req-${++requests}`))) as APIGatewayProxyStructuredResultV2 & {
      statusCode: number;
      body: string;
      headers: Record<string, string>;
    };
  return { clock, store, workflow, github, secrets, handler, invoke };
}

export function lambdaContext(requestId: string, timeoutMs = 10_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'webhook',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:0:function:webhook',
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/webhook',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {},
    fail() {},
    succeed() {},
  };
}

export function apiEvent(
  body: string | undefined,
  headers: Record<string, string>,
  options: { base64?: boolean; requestId?: string } = {},
): APIGatewayProxyEventV2 {
  const requestId = options.requestId ?? `api-${Math.random().toString(36).slice(2)}`;
  return {
    version: '2.0',
    routeKey: 'POST /v1/webhooks/github',
    rawPath: '/v1/webhooks/github',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...headers },
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: '127.0.0.1',
      domainPrefix: '127',
      http: {
        method: 'POST',
        path: '/v1/webhooks/github',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'GitHub-Hookshot/test',
      },
      requestId,
      routeKey: 'POST /v1/webhooks/github',
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    ...(body === undefined
      ? {}
      : { body: options.base64 ? Buffer.from(body, 'utf8').toString('base64') : body }),
    isBase64Encoded: options.base64 ?? false,
  };
}

let deliveries = 0;
export const newDeliveryId = () => `d-${Date.now().toString(36)}-${++deliveries}`;

/** A delivery signed like GitHub signs it. */
export async function signedEvent(
  eventName: string,
  payload: unknown,
  options: { deliveryId?: string; secret?: string; base64?: boolean } = {},
): Promise<APIGatewayProxyEventV2> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const signature = await sign(options.secret ?? TEST_SECRET, body);
  return apiEvent(
    body,
    {
      'x-github-event': eventName,
      'x-github-delivery': options.deliveryId ?? newDeliveryId(),
      'x-hub-signature-256': signature,
    },
    { base64: options.base64 ?? false },
  );
}

// ---------------------------------------------------------------------------------------------
// payload builders (the fields GitHub sends that the handler reads, plus some noise)
// ---------------------------------------------------------------------------------------------
const repository = { id: 1, name: 'widgets', full_name: 'acme/widgets', owner: { login: 'acme' } };
const user = (login: string, type = 'User') => ({ login, id: login.length, type });

export function labeledPayload(sender: string, label = 'factory', issueNumber = 1, senderType = 'User') {
  return {
    action: 'labeled',
    issue: {
      number: issueNumber,
      title: 'Add a clamp() helper',
      user: user('alice'),
      labels: [{ name: label }],
    },
    label: { name: label, color: 'ededed' },
    repository,
    sender: user(sender, senderType),
  };
}

export function commentPayload(
  sender: string,
  body: string,
  options: {
    issueNumber?: number;
    pull?: boolean;
    author?: string;
    action?: string;
    commentId?: number;
  } = {},
) {
  return {
    action: options.action ?? 'created',
    issue: {
      number: options.issueNumber ?? 1,
      title: 'Add a clamp() helper',
      user: user(options.author ?? 'alice'),
      ...(options.pull ? { pull_request: { url: 'https://example.test/pulls/1' } } : {}),
    },
    comment: { id: options.commentId ?? 9001, body, user: user(sender) },
    repository,
    sender: user(sender, sender.endsWith('[bot]') ? 'Bot' : 'User'),
  };
}

export function checkSuitePayload(sha: string, conclusion = 'success') {
  return {
    action: 'completed',
    check_suite: { id: 5, head_sha: sha, status: 'completed', conclusion },
    repository,
    sender: user('github-actions[bot]', 'Bot'),
  };
}

export function workflowRunPayload(sha: string, conclusion = 'failure') {
  return {
    action: 'completed',
    workflow_run: { id: 6, head_sha: sha, status: 'completed', conclusion },
    repository,
    sender: user('github-actions[bot]', 'Bot'),
  };
}

export const parseBody = (response: { body: string }) =>
  JSON.parse(response.body) as { data?: Record<string, unknown>; error?: Record<string, unknown> };
