/**
 * Ports: the small interfaces every handler receives its dependencies through (SPEC §6).
 * AWS adapters in `adapters/` implement them for both runtimes (the embedded stack reaches the
 * same adapters through AWS_ENDPOINT_URL_<SERVICE>, Anthropic baseURL and Octokit baseUrl).
 * Unit tests pass fakes. Nothing here knows whether it runs locally.
 */
import type { SetupCredentials } from './domain/registries';
import type { ApiKeyStore } from './store/api-keys';
import type { ApprovalStore } from './store/approvals';
import type { AskStore } from './store/asks';
import type { BudgetStore } from './store/budget';
import type { CacheStore } from './store/cache';
import type { ClaimStore } from './store/claims';
import type { ConversationStore } from './store/conversations';
import type { DeliveryStore } from './store/deliveries';
import type { EventStore } from './store/events';
import type { LedgerStore } from './store/ledger';
import type { RunViewStore } from './store/run-views';
import type { RunStore } from './store/runs';
import type { WaitStore } from './store/waits';
import type { WorkspaceStore } from './store/workspace';

// ---------------------------------------------------------------------------------------------
// Clock and ids
// ---------------------------------------------------------------------------------------------
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export interface Ids {
  /** A new ULID (run ids, conversation ids, approval ids). */
  ulid(): string;
  /** `bytes` of CSPRNG output, base64url. For API keys, CSRF tokens, approval ids. */
  secret(bytes?: number): string;
}

// ---------------------------------------------------------------------------------------------
// Workflow (Step Functions)
// ---------------------------------------------------------------------------------------------
export interface StartRunResult {
  executionArn: string;
  /** false when an execution with this name already existed (a retried start). */
  started: boolean;
}

export interface Workflow {
  /** StartExecution with name = runId: idempotent, so a retried start never makes a second run. */
  startRun(runId: string, input: Record<string, unknown>): Promise<StartRunResult>;
  stopRun(runId: string, error: string, cause: string): Promise<void>;
  /** Resolves false (never throws) when the token is unknown, expired or already used. */
  sendTaskSuccess(taskToken: string, output: unknown): Promise<boolean>;
  sendTaskFailure(taskToken: string, error: string, cause: string): Promise<boolean>;
  sendTaskHeartbeat(taskToken: string): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------
// Queue (SQS), mail (SES v2), secrets (Secrets Manager)
// ---------------------------------------------------------------------------------------------
export interface Queue {
  send(body: unknown, options?: { delaySeconds?: number }): Promise<void>;
  /** Delay a received message's next delivery (429 retry-after without sleeping). */
  changeVisibility(receiptHandle: string, visibilityTimeoutSeconds: number): Promise<void>;
}

export interface MailMessage {
  from: string;
  to: string[];
  subject: string;
  html: string;
  text: string;
}
export interface Mailer {
  send(message: MailMessage): Promise<{ messageId: string }>;
}

export interface Secrets {
  /** The secret's string value; cached by the adapter for a short time. */
  get(secretId: string): Promise<string>;
}

/** Objects too large for the table (workspace snapshots, CI logs), kept by key in one bucket. */
export interface Blobs {
  put(key: string, body: Uint8Array, contentType?: string): Promise<void>;
  /** undefined when no object has the key. */
  get(key: string): Promise<Uint8Array | undefined>;
  exists(key: string): Promise<boolean>;
  /** A URL that reads (GET) or writes (PUT) this one key until it expires: the sandbox's only access. */
  presign(key: string, method: 'GET' | 'PUT', expiresSeconds: number): Promise<string>;
}

// ---------------------------------------------------------------------------------------------
// Store (DynamoDB single table): one slice per aggregate under store/, each holding its record
// schemas and operations; store/keys.ts has every key and the access patterns.
// ---------------------------------------------------------------------------------------------
export type { ApiKeyRecord, ApiKeyStore } from './store/api-keys';
export type { ApprovalRecord, ApprovalStore, ApprovalUpdate } from './store/approvals';
export type { BudgetStore } from './store/budget';
export type { Ask, AskOutcome, AskStore, Proposal } from './store/asks';
export type { CacheStore } from './store/cache';
export type { ClaimStore } from './store/claims';
export type { ConversationMeta, ConversationStore, ConversationTurn } from './store/conversations';
export type { DeliveryRecord, DeliveryState, DeliveryStore } from './store/deliveries';
export type { AuditEventInput, EventStore, StoredAuditEvent } from './store/events';
export type { LedgerEntry, LedgerStore } from './store/ledger';
export type { RunViewStore } from './store/run-views';
export type { RunStore } from './store/runs';
export type { Page, PageRequest } from './store/table';
export type { PendingWait, WaitKind, WaitStore } from './store/waits';
export type { WorkspaceFile, WorkspaceStore } from './store/workspace';

/** What an approval link decides (the record's state is APPROVED or REJECTED). */
export type ApprovalDecision = 'approve' | 'reject';

/** Every slice: what the composed DynamoDB store implements. Handlers ask for the slices they use. */
export interface Store
  extends RunStore,
    RunViewStore,
    EventStore,
    DeliveryStore,
    WaitStore,
    ApprovalStore,
    ApiKeyStore,
    ClaimStore,
    ConversationStore,
    LedgerStore,
    BudgetStore,
    WorkspaceStore,
    CacheStore,
    AskStore {}

// ---------------------------------------------------------------------------------------------
// GitHub (Octokit adapter; the embedded stack's forge answers the same REST calls)
// ---------------------------------------------------------------------------------------------
export type Permission = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';

export interface RepoRef {
  owner: string;
  repo: string;
}
export interface IssueInfo {
  number: number;
  title: string;
  body: string;
  author: string;
  state: 'open' | 'closed';
  labels: string[];
}
export interface PullInfo {
  number: number;
  url: string;
  headSha: string;
  headRef: string;
  /**
   * The repository the head branch lives in (`head.repo.full_name`): another one for a PR from a
   * fork; absent when GitHub no longer knows it (a deleted fork).
   */
  headRepo?: string;
  baseRef: string;
  state: 'open' | 'closed';
  merged: boolean;
  draft: boolean;
  mergeCommitSha?: string;
}
/** A check run's annotation (`GET /repos/{owner}/{repo}/check-runs/{id}/annotations`). */
export interface CheckAnnotation {
  path: string;
  line: number;
  /** `notice`, `warning` or `failure`. */
  level: string;
  title?: string;
  message: string;
}
/** One check run, or one commit status (a CI that is not a GitHub App reports those). */
export interface CheckRunInfo {
  name: string;
  conclusion?: string;
  status: string;
  /** The check run's id (an Actions job's id is its check run's); absent for commit statuses. */
  id?: number;
  /** A check run's output (empty for Actions), or a commit status's description as `summary`. */
  title?: string;
  summary?: string;
  text?: string;
  /** The details page: a check run's `details_url`, a commit status's `target_url`. */
  url?: string;
  /** A failed Actions job's log, its last MAX_JOB_LOG_CHARS with a marker when cut. */
  log?: string;
  /** A failed check run's annotations (at most MAX_ANNOTATIONS). */
  annotations?: CheckAnnotation[];
}
export interface CheckSummary {
  /** 'none' when the repo has no CI for this SHA. */
  state: 'pending' | 'success' | 'failure' | 'none';
  runs: CheckRunInfo[];
}
export interface TreeEntry {
  path: string;
  mode: '100644' | '100755' | '040000' | '160000' | '120000';
  type: 'blob' | 'tree' | 'commit';
  /** null deletes the path from base_tree. */
  sha?: string | null;
  content?: string;
}

/** An inline review comment on a line of the PR's diff (`side` RIGHT: the head's line numbers). */
export interface ReviewComment {
  path: string;
  line: number;
  side: 'LEFT' | 'RIGHT';
  body: string;
}
/** A submitted review's inline comment as read back: `line` 0 when GitHub no longer places it. */
export interface PostedReviewComment {
  path: string;
  line: number;
  body: string;
}
export interface NewReview {
  body: string;
  event: 'COMMENT' | 'REQUEST_CHANGES' | 'APPROVE';
  commitSha: string;
  comments?: ReviewComment[];
}
/** One file of `GET /pulls/{n}/files`; `patch` is absent for binary or very large files. */
export interface PullFile {
  path: string;
  status: string;
  additions: number;
  deletions: number;
  previousPath?: string;
  patch?: string;
}

export interface GitHub {
  getPermission(repo: RepoRef, username: string): Promise<Permission>;
  getDefaultBranch(repo: RepoRef): Promise<{ name: string; sha: string }>;
  /** File text at a ref, or undefined when absent. */
  getFile(repo: RepoRef, path: string, ref: string): Promise<{ content: string; sha: string } | undefined>;
  /** All blob paths at a commit (recursive tree). */
  listFiles(repo: RepoRef, ref: string): Promise<string[]>;
  /** The repository at `ref` as a gzipped tarball (one call; GitHub answers with a redirect). */
  getTarball(repo: RepoRef, ref: string): Promise<Uint8Array>;
  getIssue(repo: RepoRef, issueNumber: number): Promise<IssueInfo>;
  createComment(repo: RepoRef, issueNumber: number, body: string): Promise<{ id: number }>;
  /** `issueNumber` is the issue or pull request the comment is on (from its `issue_url`). */
  getComment(
    repo: RepoRef,
    commentId: number,
  ): Promise<{ id: number; body: string; author: string; issueNumber: number }>;
  updateComment(repo: RepoRef, commentId: number, body: string): Promise<void>;

  // git data
  createTree(repo: RepoRef, baseTree: string, entries: TreeEntry[]): Promise<string>;
  createCommit(repo: RepoRef, message: string, tree: string, parents: string[]): Promise<string>;
  getCommitTree(repo: RepoRef, commitSha: string): Promise<string>;
  getRef(repo: RepoRef, ref: string): Promise<string | undefined>;
  createRef(repo: RepoRef, ref: string, sha: string): Promise<void>;
  updateRef(repo: RepoRef, ref: string, sha: string, force: boolean): Promise<void>;
  deleteRef(repo: RepoRef, ref: string): Promise<void>;

  // pull requests
  findOpenPull(repo: RepoRef, headBranch: string): Promise<PullInfo | undefined>;
  createPull(
    repo: RepoRef,
    pull: { title: string; body: string; head: string; base: string; draft: boolean },
  ): Promise<PullInfo>;
  updatePull(
    repo: RepoRef,
    number: number,
    patch: { title?: string; body?: string; state?: 'open' | 'closed' },
  ): Promise<PullInfo>;
  getPull(repo: RepoRef, number: number): Promise<PullInfo>;
  markReadyForReview(repo: RepoRef, number: number): Promise<void>;
  /** Back to draft (an open PR a failed run leaves for a person, `on_failure: draft`). */
  convertToDraft(repo: RepoRef, number: number): Promise<void>;
  /** Merges only if the PR head equals `sha` (GitHub's `sha` parameter). */
  mergePull(
    repo: RepoRef,
    number: number,
    sha: string,
    message: string,
  ): Promise<{ merged: boolean; sha?: string }>;
  /** One review, posted at once with its inline comments (all or nothing, as GitHub does). */
  createReview(repo: RepoRef, number: number, review: NewReview): Promise<{ id: number }>;
  /** The PR's changed files against its merge base (GitHub's three-dot diff), with patches. */
  listPullFiles(repo: RepoRef, number: number): Promise<PullFile[]>;
  /** A submitted review's inline comments (`GET …/pulls/{n}/reviews/{id}/comments`, first page). */
  listReviewComments(repo: RepoRef, number: number, reviewId: number): Promise<PostedReviewComment[]>;
  getChecks(repo: RepoRef, sha: string): Promise<CheckSummary>;
}

// ---------------------------------------------------------------------------------------------
// LLM (Anthropic Messages API through @anthropic-ai/sdk)
// ---------------------------------------------------------------------------------------------
export interface LlmRequest {
  model: string;
  system: string;
  tools: Array<{ name: string; description: string; input_schema: Record<string, unknown> }>;
  messages: Array<{ role: 'user' | 'assistant'; content: unknown }>;
  /** Output tokens of the call, thinking included. */
  maxTokens: number;
  /**
   * Extended thinking, within maxTokens: the model thinks first and its thinking blocks (with
   * their signatures) must come back unchanged in the next request of the tool loop. Providers
   * without it ignore it.
   */
  thinking?: { budgetTokens: number };
}
export interface LlmUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
}
/** The requests window the API reported (`anthropic-ratelimit-requests-*` headers). */
export interface LlmRateLimit {
  /** Requests left in the window when the API answered. */
  remaining: number;
  /** Epoch ms when the window frees a request slot. */
  resetAt: number;
  /** Requests allowed per minute, when reported. */
  limit?: number;
}
export interface LlmResponse {
  model: string;
  /** Which provider answered (anthropic, bedrock, openai-compatible), when the adapter knows. */
  provider?: string;
  content: unknown[];
  stopReason: string;
  usage: LlmUsage;
  /** Absent when the API sent no rate-limit headers. */
  rateLimit?: LlmRateLimit;
}
export interface Llm {
  /** Throws LlmError (see errors.ts) with a classification the worker acts on. */
  createMessage(request: LlmRequest): Promise<LlmResponse>;
  /** Input token count for budget reservation (may be estimated). */
  countTokens(request: LlmRequest): Promise<number>;
}

// ---------------------------------------------------------------------------------------------
// Logger (Powertools Logger satisfies this)
// ---------------------------------------------------------------------------------------------
export interface Log {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown> | Error): void;
}

/** The ports of a function that answers an HTTP request (webhook, REST API). */
export interface RequestPorts {
  store: Store;
  workflow: Workflow;
  github: GitHub;
  secrets: Secrets;
  clock: Clock;
  ids: Ids;
  log: Log;
}

// ---------------------------------------------------------------------------------------------
// Sandbox (the agent's `run` tool and the checks: a command on a throwaway copy of the workspace)
// ---------------------------------------------------------------------------------------------
/** The workspace a command sees: a base tree with the pending change laid over it. */
export interface SandboxWorkspace {
  /** A directory holding the base tree; never changed (the command works on a copy). */
  baseDir?: string;
  /** Files written over the base (changed or added), repository-relative POSIX paths. */
  files?: Array<{ path: string; content: string | Uint8Array }>;
  /** Paths the pending change deletes. */
  deleted?: string[];
  /** Directories laid over the base before the pending change (the cached setup output). */
  layers?: string[];
}
export interface SandboxRequest {
  workspace: SandboxWorkspace;
  /** Run as `bash -c command` in the workspace copy's root. */
  command: string;
  timeoutSeconds: number;
  /** False: no network at all (the default for `run` and the checks). */
  network: boolean;
  /** After the command, what it created in the workspace (paths the copy did not hold) is moved here. */
  collectInto?: string;
  /** Registry tokens: given to `environment.setup` commands only (domain/registries.ts). */
  credentials?: Pick<SetupCredentials, 'env' | 'homeFiles'>;
}
export interface SandboxResult {
  /** The command's exit status; 124 on a timeout, 128 + N when killed by signal N. */
  exitCode: number;
  timedOut: boolean;
  /**
   * Combined stdout and stderr, bounded: the whole output when `omittedChars` is 0, otherwise
   * `head` is its start and `tail` its end with `omittedChars` characters between them dropped.
   */
  head: string;
  tail: string;
  omittedChars: number;
  /** Lines of the omitted part that look like test failures (`not ok …`, `--- FAIL`, …), if any. */
  omittedFailures?: string;
  durationMs: number;
  /** Set when the command ran without isolation (an operator's explicit choice). */
  warning?: string;
}
export interface Sandbox {
  /** Throws when no isolated runner is available and running unisolated was not allowed. */
  run(request: SandboxRequest): Promise<SandboxResult>;
}
