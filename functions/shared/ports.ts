/**
 * Ports: the small interfaces every handler receives its dependencies through (SPEC §6).
 * AWS adapters in `adapters/` implement them for both runtimes (the embedded stack reaches the
 * same adapters through AWS_ENDPOINT_URL_<SERVICE>, Anthropic baseURL and Octokit baseUrl).
 * Unit tests pass fakes. Nothing here knows whether it runs locally.
 */
import type { Run, RunStatus, WorkItem } from './domain/run';

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
}

// ---------------------------------------------------------------------------------------------
// Store (DynamoDB single table; see store/keys.ts for the access patterns)
// ---------------------------------------------------------------------------------------------
export interface Page<T> {
  items: T[];
  /** Opaque to callers above the store; the API signs it before handing it out. */
  cursor?: string;
}
export interface PageRequest {
  limit: number;
  cursor?: string;
}

export interface AuditEventInput {
  type: string;
  actor: string;
  /** Small JSON-safe details: hashes and ids, never secrets or file contents. */
  data?: Record<string, unknown>;
}
export interface StoredAuditEvent extends AuditEventInput {
  runId: string;
  seq: number;
  at: string;
  prevHash: string;
  hash: string;
}

export type DeliveryState = 'RECORDED' | 'STARTED' | 'IGNORED' | 'REFUSED' | 'RESUMED';
export interface DeliveryRecord {
  deliveryId: string;
  event: string;
  state: DeliveryState;
  runId?: string;
  reason?: string;
  receivedAt: string;
}

export type WaitKind = 'clarify' | 'checks' | 'approval';
export interface PendingWait {
  kind: WaitKind;
  /** clarify: `owner/repo#issue`; checks: `owner/repo@sha`; approval: run id. */
  key: string;
  runId: string;
  taskToken: string;
  createdAt: string;
  expiresAt: number;
}

export type ApprovalDecision = 'approve' | 'reject';
export interface ApprovalRecord {
  approvalId: string;
  runId: string;
  approver: string;
  email: string;
  headSha: string;
  expiresAt: number;
  state: 'PENDING' | 'APPROVED' | 'REJECTED' | 'SUPERSEDED';
  csrfHash: string;
  decidedAt?: string;
  comment?: string;
  userAgent?: string;
}

export interface ApiKeyRecord {
  keyHash: string;
  name: string;
  scopes: Array<'runs:read' | 'runs:write'>;
  repoPatterns: string[];
  createdAt: string;
  revoked?: boolean;
}

export interface ConversationTurn {
  conversationId: string;
  turn: number;
  runId: string;
  stage: string;
  role: 'user' | 'assistant';
  /** Anthropic content blocks; large tool outputs truncated with a marker before storing. */
  content: unknown;
  model?: string;
  stopReason?: string;
  usage?: Record<string, number>;
  costUsd?: number;
  /** On a tool-result turn: what the stage runner decided from it (lets a retried step answer alike). */
  outcome?: string;
  /** Set once the turn's cost is settled on every budget account (see forgetSettlement). */
  settled?: boolean;
  createdAt: string;
}

/** A conversation's stable prefix, written once when an agent loop starts. */
export interface ConversationMeta {
  conversationId: string;
  runId: string;
  stage: string;
  modelAlias: 'planner' | 'coder' | 'reviewer' | 'fast';
  system: string;
  tools: Array<{ name: string; description: string; input_schema: Record<string, unknown> }>;
  maxTokens: number;
  /** Model ids for the alias, resolved by the stage runner from the repo's contract: first is preferred. */
  models: string[];
  /** The run's budget in USD; the worker reserves against it before every call. */
  budgetUsd: number;
  /** The repo's monthly cap, if its contract sets one: reserved too, per calendar month (UTC). */
  monthlyBudget?: { repo: string; limitUsd: number };
  createdAt: string;
}

/** One model call as billed: the ledger's source of truth (one item per conversation turn). */
export interface LedgerEntry {
  runId: string;
  stage: string;
  conversationId: string;
  turn: number;
  model: string;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** The cache writes split by lifetime (they are priced differently); they sum to cacheWriteTokens. */
  cacheWrite5mTokens?: number;
  cacheWrite1hTokens?: number;
  costUsd: number;
  latencyMs: number;
  at: string;
}

export interface WorkspaceFile {
  path: string;
  /** undefined with deleted=true for a deletion. */
  content?: string;
  deleted: boolean;
  updatedAt: string;
}

export interface Store {
  // WorkItems and runs
  putWorkItem(item: WorkItem): Promise<void>;
  getWorkItem(key: string): Promise<WorkItem | undefined>;
  /** One Query: the WorkItem and its runs, newest first. */
  getWorkItemWithRuns(key: string, page: PageRequest): Promise<{ workItem?: WorkItem; runs: Page<Run> }>;
  /** Conditional put: throws AlreadyExistsError when the run id exists. */
  createRun(run: Run): Promise<void>;
  getRun(runId: string): Promise<Run | undefined>;
  /**
   * Optimistic lock: applies `patch` only if the stored version equals `expectedVersion`,
   * increments it and returns the new run; throws VersionConflictError otherwise.
   */
  updateRun(runId: string, expectedVersion: number, patch: Partial<Run>): Promise<Run>;
  /** One Query: the run item and its audit events in order. */
  getRunWithEvents(runId: string, page: PageRequest): Promise<{ run?: Run; events: Page<StoredAuditEvent> }>;
  /** The run with its approvals and ledger entries, in one Query. */
  getRunDetail(runId: string): Promise<{ run?: Run; approvals: ApprovalRecord[]; ledger: LedgerEntry[] }>;
  listRunsByRepo(repo: string, page: PageRequest): Promise<Page<Run>>;
  listRunsByStatus(status: RunStatus, page: PageRequest): Promise<Page<Run>>;

  // Audit (append-only, hash-chained; conditional put on the next sequence number)
  appendEvent(runId: string, event: AuditEventInput): Promise<StoredAuditEvent>;
  listEvents(runId: string, page: PageRequest): Promise<Page<StoredAuditEvent>>;

  // Webhook delivery dedupe: true when this call recorded it first.
  recordDelivery(
    record: DeliveryRecord,
    ttlSeconds: number,
  ): Promise<{ first: boolean; existing?: DeliveryRecord }>;
  updateDelivery(deliveryId: string, patch: Partial<DeliveryRecord>): Promise<void>;

  // Waits (task tokens for clarify / checks / approval)
  putWait(wait: PendingWait): Promise<void>;
  getWait(kind: WaitKind, key: string): Promise<PendingWait | undefined>;
  /** Conditional delete returning the wait: exactly one caller ever receives it. */
  takeWait(kind: WaitKind, key: string): Promise<PendingWait | undefined>;

  // Approvals
  putApproval(record: ApprovalRecord): Promise<void>;
  getApproval(approvalId: string): Promise<ApprovalRecord | undefined>;
  /** Conditional on state PENDING: true if this call decided it. */
  decideApproval(
    approvalId: string,
    update: Pick<ApprovalRecord, 'state' | 'decidedAt' | 'comment' | 'userAgent'>,
  ): Promise<boolean>;
  listApprovalsForRun(runId: string): Promise<ApprovalRecord[]>;

  // API keys (stored by hash only)
  putApiKey(record: ApiKeyRecord): Promise<void>;
  getApiKey(keyHash: string): Promise<ApiKeyRecord | undefined>;

  // Idempotency-Key for POST /v1/runs: first writer wins, later callers get the stored run id and
  // the fingerprint of the first request (so a different request under the same key is refused).
  claimIdempotencyKey(
    scope: string,
    key: string,
    runId: string,
    ttlSeconds: number,
    fingerprint?: string,
  ): Promise<{ first: boolean; runId: string; fingerprint?: string }>;

  // Conversations (LLM turns), stored turn by turn
  putConversation(meta: ConversationMeta): Promise<void>;
  /** One Query of the conversation's partition: its meta and every turn, in order. */
  getConversationWithTurns(
    conversationId: string,
  ): Promise<{ meta?: ConversationMeta; turns: ConversationTurn[] }>;
  putTurn(turn: ConversationTurn): Promise<{ first: boolean; existing?: ConversationTurn }>;
  /** UpdateItem: the turn's cost is settled on every budget account. */
  markTurnSettled(conversationId: string, turn: number): Promise<void>;
  getTurn(conversationId: string, turn: number): Promise<ConversationTurn | undefined>;

  /**
   * Exactly once per (conversationId, turn): a conditional put of the ledger entry and a
   * conditional ADD to the run's totals (guarded by a set of applied call keys on the run item,
   * without bumping `version`). Safe to call again after a crash between the two.
   */
  recordLlmCall(entry: LedgerEntry): Promise<void>;
  listLedger(runId: string): Promise<LedgerEntry[]>;

  // Budget (per run; conditional writes, fail closed)
  /** Reserves `usd` if reserved + spent + usd <= limit. false = refused. */
  reserveBudget(runId: string, reservationId: string, usd: number, limitUsd: number): Promise<boolean>;
  /** Replaces a reservation by the actual cost (idempotent per reservationId). */
  settleBudget(runId: string, reservationId: string, actualUsd: number): Promise<void>;
  /**
   * Drops the settled marker of a reservation once its turn is marked settled (markTurnSettled):
   * the marker only has to outlive the window in which a redelivery could settle again, so a
   * month's account never grows with every call.
   */
  forgetSettlement(runId: string, reservationId: string): Promise<void>;
  getBudget(runId: string): Promise<{ limitUsd: number; reservedUsd: number; spentUsd: number } | undefined>;

  // Workspace overlay (pending change of a run)
  putWorkspaceFile(runId: string, file: WorkspaceFile): Promise<void>;
  getWorkspaceFile(runId: string, path: string): Promise<WorkspaceFile | undefined>;
  listWorkspaceFiles(runId: string): Promise<WorkspaceFile[]>;

  /**
   * A lease: acquired when absent, expired, or already held by `owner` (re-entrant). One owner at
   * a time until `ttlSeconds` pass; used so concurrent copies of one queue message never both act.
   */
  claimLease(key: string, owner: string, ttlSeconds: number): Promise<boolean>;
  /** Deletes the lease if `owner` still holds it. */
  releaseLease(key: string, owner: string): Promise<void>;

  // Short-lived cache (collaborator permissions, installation tokens metadata)
  cacheGet(key: string): Promise<string | undefined>;
  cachePut(key: string, value: string, ttlSeconds: number): Promise<void>;
}

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
  baseRef: string;
  state: 'open' | 'closed';
  merged: boolean;
  draft: boolean;
  mergeCommitSha?: string;
}
export interface CheckSummary {
  /** 'none' when the repo has no CI for this SHA. */
  state: 'pending' | 'success' | 'failure' | 'none';
  runs: Array<{ name: string; conclusion?: string; status: string; summary?: string; text?: string }>;
}
export interface TreeEntry {
  path: string;
  mode: '100644' | '100755' | '040000' | '160000' | '120000';
  type: 'blob' | 'tree' | 'commit';
  /** null deletes the path from base_tree. */
  sha?: string | null;
  content?: string;
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
  /** Merges only if the PR head equals `sha` (GitHub's `sha` parameter). */
  mergePull(
    repo: RepoRef,
    number: number,
    sha: string,
    message: string,
  ): Promise<{ merged: boolean; sha?: string }>;
  createReview(
    repo: RepoRef,
    number: number,
    review: { body: string; event: 'COMMENT' | 'REQUEST_CHANGES' | 'APPROVE'; commitSha: string },
  ): Promise<void>;
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
  maxTokens: number;
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
