import { DEFAULT_SANDBOX_PRICE_PER_SECOND_USD } from '../../../functions/shared/domain/sandbox-price';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { monotonicFactory } from 'ulid';
import { type ApprovalsPorts, createApprovalsHandler } from '../../../functions/approvals/app';
import { approvalKey, csrfHashOf, formToken, signLink } from '../../../functions/shared/approval-links';
import { parseModelConfig } from '../../../functions/shared/domain/models';
import type { Run } from '../../../functions/shared/domain/run';
import type {
  ApprovalRecord,
  Clock,
  GitHub,
  Ids,
  Log,
  MailMessage,
  Mailer,
  PullInfo,
  RepoRef,
  Secrets,
  StartRunResult,
  Store,
  Workflow,
} from '../../../functions/shared/ports';
import { contractOf, type RunContract, repoOf } from '../../../functions/shared/run-contract';
import type { StagePorts } from '../../../functions/stages/deps';
import { FakeStore } from '../../support/fake-store';
import { MemoryBlobs } from '../../support/memory-blobs';
import { tarballOf } from '../../support/tarball';
import { lambdaContext } from '../webhook/helpers';

export const KEY_SECRET_ID = 'factory/approval-key';
export const SIGNING_KEY = 'approval-signing-key-for-tests-0123456789abcdef';
export const BASE_URL = 'https://factory.example.test';
export const HEAD_SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
export const NEW_HEAD_SHA = 'ffffffffffffffffffffffffffffffffffffffff';
export const TASK_TOKEN = 'TASK-TOKEN-secret-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

export interface MovableClock extends Clock {
  advance(ms: number): void;
}

export class MutableClock implements MovableClock {
  constructor(public current = Date.parse('2025-03-01T12:00:00Z')) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

/** Records every task-token call; a token answers once, like Step Functions. */
export class RecordingWorkflow implements Workflow {
  readonly successes: Array<{ token: string; output: unknown }> = [];
  readonly failures: Array<{ token: string; error: string; cause: string }> = [];
  readonly liveTokens = new Set<string>();

  get calls(): number {
    return this.successes.length + this.failures.length;
  }
  async startRun(): Promise<StartRunResult> {
    throw new Error('not used');
  }
  async stopRun(): Promise<void> {}
  async sendTaskSuccess(token: string, output: unknown): Promise<boolean> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.successes.push({ token, output });
    return this.liveTokens.delete(token);
  }
  async sendTaskFailure(token: string, error: string, cause: string): Promise<boolean> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.failures.push({ token, error, cause });
    return this.liveTokens.delete(token);
  }
  async sendTaskHeartbeat(): Promise<boolean> {
    return true;
  }
}

/** The GitHub calls the approval stage and the approvals handler make. */
export class ApprovalGitHub {
  readonly comments: Array<{ number: number; body: string }> = [];
  readonly readied: number[] = [];
  head = HEAD_SHA;
  pullState: 'open' | 'closed' = 'open';

  async getPull(_repo: RepoRef, number: number): Promise<PullInfo> {
    return {
      number,
      url: `https://github.test/acme/widgets/pull/${number}`,
      headSha: this.head,
      headRef: 'factory/7-thing',
      baseRef: 'main',
      state: this.pullState,
      merged: false,
      draft: false,
    };
  }
  /** The base commit's files (for the email's diff stat): empty, so every change is an addition. */
  async listFiles(): Promise<string[]> {
    return [];
  }
  /** An empty repository at the base: every pending file is new (as listFiles and getFile say). */
  async getTarball(): Promise<Uint8Array> {
    return tarballOf({});
  }
  async getFile(): Promise<undefined> {
    return undefined;
  }
  async markReadyForReview(_repo: RepoRef, number: number): Promise<void> {
    this.readied.push(number);
  }
  async createComment(_repo: RepoRef, number: number, body: string): Promise<{ id: number }> {
    this.comments.push({ number, body });
    return { id: this.comments.length };
  }
  async updateComment(): Promise<void> {}
}

export class CapturingMailer implements Mailer {
  readonly sent: MailMessage[] = [];
  failFor = new Set<string>();
  async send(message: MailMessage): Promise<{ messageId: string }> {
    if (message.to.some((to) => this.failFor.has(to))) throw new Error('mail refused');
    this.sent.push(structuredClone(message));
    return { messageId: `m-${this.sent.length}` };
  }
}

export const staticSecrets = (value = SIGNING_KEY): Secrets => ({
  async get(secretId: string) {
    if (secretId !== KEY_SECRET_ID) throw new Error(`unexpected secret ${secretId}`);
    return value;
  },
});

export const APPROVERS = [
  { login: 'alice', email: 'alice@example.test' },
  { login: 'bob', email: 'bob@example.test' },
];

export function runContract(overrides: Partial<RunContract> = {}): RunContract {
  const models = ['claude-sonnet-4-5'];
  return {
    policy: {},
    models: { planner: models, coder: models, reviewer: models, fast: models },
    budgetUsd: 5,
    maxFixAttempts: 2,
    environment: { setup: [], checks: [], network: false, checkAttempts: 2, maxRunSeconds: 600 },
    turns: { plan: 30, implement: 60, review: 20 },
    ciLogSummaryChars: 20_000,
    approvers: APPROVERS,
    requiredChecks: [],
    riskyPermissions: [],
    timeouts: {
      llmTurnSeconds: 900,
      clarifySeconds: 3600,
      checksSeconds: 3600,
      checksRecheckSeconds: 300,
      approvalSeconds: 86_400,
    },
    ...overrides,
  };
}

const nextUlid = monotonicFactory();

export function reviewedRun(overrides: Partial<Run> = {}, contract = runContract()): Run {
  return {
    runId: nextUlid(),
    kind: 'change',
    repo: 'acme/widgets',
    issueNumber: 7,
    workItemKey: 'acme/widgets#7',
    issueTitle: 'Add a greeting',
    status: 'REVIEWING',
    stage: 'review',
    version: 3,
    createdAt: '2025-03-01T11:00:00.000Z',
    updatedAt: '2025-03-01T11:00:00.000Z',
    trigger: { source: 'label', sender: 'octocat' },
    stages: [],
    baseSha: '0000000000000000000000000000000000000001',
    headSha: HEAD_SHA,
    branch: 'factory/7-add-a-greeting',
    prNumber: 12,
    prUrl: 'https://github.test/acme/widgets/pull/12',
    fixAttempts: 0,
    ledger: {
      llmCalls: 4,
      inputTokens: 1,
      outputTokens: 1,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      costUsd: 0.42,
    },
    transitions: 0,
    contract: contract as unknown as Record<string, unknown>,
    planSummary: 'Add hello() to src/greet.ts and a test.',
    checksConclusion: 'success',
    reviewSummary: 'No blocking findings.',
    failureSignatures: [],
    clarifyRounds: 0,
    questions: [],
    answers: [],
    conversations: [],
    warnings: [],
    checksRounds: 0,
    ...overrides,
  } as Run;
}

let secretCounter = 0;
export const testIds: Ids = {
  ulid: () => nextUlid(),
  // Unique, 22 base64url chars like ids.secret(16).
  secret: () => `id${String(++secretCounter).padStart(6, '0')}${'x'.repeat(14)}`.slice(0, 22),
};

export interface World {
  clock: MovableClock;
  store: Store;
  github: ApprovalGitHub;
  workflow: RecordingWorkflow;
  mailer: CapturingMailer;
  stagePorts: StagePorts;
  approvalsPorts: ApprovalsPorts;
}

export function makeWorld(
  options: { store?: Store; clock?: MovableClock; ids?: Ids; mailer?: Mailer } = {},
): World {
  const clock = options.clock ?? new MutableClock();
  const store = options.store ?? new FakeStore(clock);
  const github = new ApprovalGitHub();
  const workflow = new RecordingWorkflow();
  const mailer = new CapturingMailer();
  const secrets = staticSecrets();
  const sender = options.mailer ?? mailer;
  const stagePorts: StagePorts = {
    store,
    github: github as unknown as GitHub,
    blobs: new MemoryBlobs(),
    workflow,
    mailer: sender,
    secrets,
    ids: options.ids ?? testIds,
    clock,
    log: silentLog,
    settings: {
      publicBaseUrl: BASE_URL,
      mailFrom: 'factory@example.test',
      botLogin: 'code-factory[bot]',
      approvalKeySecretId: KEY_SECRET_ID,
      defaultApprovers: [],
      models: parseModelConfig(undefined),
      maxActiveRunsPerRepo: 3,
      llmTurnSeconds: 900,
      sandboxPricePerSecondUsd: DEFAULT_SANDBOX_PRICE_PER_SECOND_USD,
    },
    now: () => new Date(clock.now()).toISOString(),
    repoOf,
    contractOf,
  };
  const approvalsPorts: ApprovalsPorts = {
    store,
    github: github as unknown as GitHub,
    workflow,
    secrets,
    clock,
    log: silentLog,
    settings: { approvalKeySecretId: KEY_SECRET_ID, publicBaseUrl: BASE_URL, defaultApprovers: [] },
  };
  return { clock, store, github, workflow, mailer, stagePorts, approvalsPorts };
}

/**
 * An approval record as the approval stage stores it, signed with SIGNING_KEY, with its link token
 * and the form tokens of its confirmation page.
 */
export function signedApproval(overrides: Partial<ApprovalRecord> = {}) {
  const key = approvalKey(SIGNING_KEY);
  const claims = {
    approvalId: 'aliceAliceAliceAlice00',
    runId: '01JABCDEFGHJKMNPQRSTVWXYZ0',
    approver: 'alice',
    headSha: HEAD_SHA,
    expiresAt: Math.floor(Date.parse('2025-03-02T12:00:00Z') / 1000),
    ...overrides,
  };
  const token = signLink(key, claims);
  const record: ApprovalRecord = {
    email: `${claims.approver}@example.test`,
    state: 'PENDING',
    csrfHash: csrfHashOf(key, claims.approvalId, token),
    ...claims,
    ...overrides,
  };
  return {
    key,
    record,
    token,
    csrf: {
      approve: formToken(key, claims.approvalId, token, 'approve'),
      reject: formToken(key, claims.approvalId, token, 'reject'),
    },
  };
}

/** The approve/reject links of an email's text part. */
export function linksOf(message: MailMessage): { approve: URL; reject: URL } {
  const approve = /^Approve: (\S+)$/m.exec(message.text)?.[1];
  const reject = /^Reject: +(\S+)$/m.exec(message.text)?.[1];
  if (!approve || !reject) throw new Error('no links in the email');
  return { approve: new URL(approve), reject: new URL(reject) };
}

/** The hidden fields of the form that submits `decision` on a confirmation page. */
export function formOf(
  html: string,
  decision: 'approve' | 'reject',
): { action: string; fields: Record<string, string> } {
  const form = new RegExp(
    `<form class="${decision}" method="post" action="([^"]*)">([\\s\\S]*?)</form>`,
  ).exec(html);
  if (!form) throw new Error(`no ${decision} form on the page`);
  const fields: Record<string, string> = {};
  for (const match of (form[2] ?? '').matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[match[1] ?? ''] = match[2] ?? '';
  }
  return { action: form[1] ?? '', fields };
}

export type HttpOut = APIGatewayProxyStructuredResultV2 & {
  statusCode: number;
  body: string;
  headers: Record<string, string>;
};

export function approvalEvent(
  method: string,
  approvalId: string,
  options: { query?: Record<string, string>; body?: string; headers?: Record<string, string> } = {},
): APIGatewayProxyEventV2 {
  const rawQueryString = new URLSearchParams(options.query ?? {}).toString();
  return {
    version: '2.0',
    routeKey: `${method} /approvals/{id}`,
    rawPath: `/approvals/${approvalId}`,
    rawQueryString,
    headers: {
      'user-agent': 'TestBrowser/1.0',
      ...(options.body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      ...options.headers,
    },
    ...(options.query ? { queryStringParameters: options.query } : {}),
    pathParameters: { id: approvalId },
    requestContext: {
      accountId: '0',
      apiId: 'local',
      domainName: 'factory.example.test',
      domainPrefix: 'factory',
      http: {
        method,
        path: `/approvals/${approvalId}`,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'TestBrowser/1.0',
      },
      requestId: `req-${Math.random().toString(36).slice(2)}`,
      routeKey: `${method} /approvals/{id}`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    ...(options.body !== undefined ? { body: options.body } : {}),
    isBase64Encoded: false,
  };
}

export function invoker(deps: ApprovalsPorts) {
  const handler = createApprovalsHandler(deps);
  return async (event: APIGatewayProxyEventV2): Promise<HttpOut> =>
    (await handler(event, lambdaContext('approvals'))) as HttpOut;
}
