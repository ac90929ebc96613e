import { canonicalJson, GENESIS_HASH, hashEvent } from '../../functions/shared/domain/audit';
import { canonicalRepo, Run, type RunStatus, WorkItem } from '../../functions/shared/domain/run';
import {
  AlreadyExistsError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../../functions/shared/errors';
import type { Clock, Store } from '../../functions/shared/ports';
import { ApiKeyRecord } from '../../functions/shared/store/api-keys';
import { ApprovalRecord, type ApprovalUpdate } from '../../functions/shared/store/approvals';
import { Ask, type AskOutcome } from '../../functions/shared/store/asks';
import {
  type BudgetItem,
  checkReservationId,
  usdToMicros,
  newBudgetItem,
} from '../../functions/shared/store/budget';
import { microsToUsd } from '../../functions/shared/domain/ledger';
import { ConversationMeta, ConversationTurn } from '../../functions/shared/store/conversations';
import { DeliveryPatch, DeliveryRecord } from '../../functions/shared/store/deliveries';
import {
  type AuditEventInput,
  type AuditHead,
  MAX_EVENT_DATA_BYTES,
  StoredAuditEvent,
} from '../../functions/shared/store/events';
import { PRIVATE_SOURCE_TTL_SECONDS, pad } from '../../functions/shared/store/keys';
import {
  LedgerEntry,
  type SandboxLedgerEntry,
  sandboxCallKey,
  sandboxLedgerEntry,
} from '../../functions/shared/store/ledger';
import { checkRunPatch, monthBefore, RECENT_MONTHS } from '../../functions/shared/store/runs';
import { checkLimit, expiryOf, type Page, type PageRequest } from '../../functions/shared/store/table';
import { PendingWait, type WaitKind } from '../../functions/shared/store/waits';
import { checkWorkspaceFile, type WorkspaceFile } from '../../functions/shared/store/workspace';

/**
 * An in-memory Store for unit tests, held to the DynamoDB slices by
 * test/integration/store/contract.test.ts: the same validation, conditions, ordering, expiry and
 * paging (a full page carries a cursor, as DynamoDB's Limit does). Every method yields to the event
 * loop before and after deciding, so concurrent callers interleave as they would over the network,
 * and each decision itself is atomic, as a single conditional write is.
 *
 * `calls` lists every method invoked, `writes` only the mutating ones (tests assert on both); the
 * maps are public so a test can look at or arrange what is stored.
 */
const WRITE_METHODS = new Set([
  'putWorkItem',
  'createRun',
  'updateRun',
  'appendEvent',
  'recordDelivery',
  'updateDelivery',
  'putWait',
  'takeWait',
  'putApproval',
  'decideApproval',
  'putApiKey',
  'claimIdempotencyKey',
  'claimLease',
  'releaseLease',
  'putConversation',
  'putTurn',
  'markTurnSettled',
  'recordLlmCall',
  'recordSandboxRun',
  'reserveBudget',
  'settleBudget',
  'forgetSettlement',
  'putWorkspaceFile',
  'deleteWorkspaceFile',
  'cachePut',
  'putAsk',
  'finishAsk',
]);

type Expiring<T> = T & { expiresAt: number };

export class FakeStore implements Store {
  readonly calls: string[] = [];
  readonly workItems = new Map<string, WorkItem>();
  readonly runs = new Map<string, Run>();
  readonly events = new Map<string, StoredAuditEvent[]>();
  /** The chain head recorded on each run item (raised by appendEvent when the run exists). */
  readonly heads = new Map<string, AuditHead>();
  readonly deliveries = new Map<string, { record: DeliveryRecord; expiresAt: number }>();
  readonly waits = new Map<string, PendingWait>();
  readonly approvals = new Map<string, ApprovalRecord>();
  readonly apiKeys = new Map<string, ApiKeyRecord>();
  readonly asks = new Map<string, Ask>();
  readonly idempotency = new Map<string, Expiring<{ runId: string; fingerprint?: string }>>();
  readonly leases = new Map<string, Expiring<{ owner: string }>>();
  readonly conversations = new Map<string, ConversationMeta>();
  /** By conversation id, then turn number. */
  readonly turns = new Map<string, Map<number, ConversationTurn>>();
  /** By `<runId>#<conversationId>#<turn>`; `appliedCalls` by run, as on the run item. */
  readonly ledger = new Map<string, LedgerEntry>();
  readonly appliedCalls = new Map<string, Set<string>>();
  readonly budgets = new Map<string, BudgetItem>();
  /** By run id, then path. */
  readonly workspace = new Map<string, Map<string, WorkspaceFile>>();
  /** When each stored conversation, turn and workspace file expires (PRIVATE_SOURCE_TTL_SECONDS). */
  private readonly expiries = new WeakMap<object, number>();
  readonly cache = new Map<string, { value: string; expiresAt: number }>();
  /** Set to make the next call of a method throw (one shot). */
  readonly failNext = new Map<string, Error>();

  constructor(private readonly clock: Clock = { now: () => Date.now() }) {}

  get writes(): string[] {
    return this.calls.filter((name) => WRITE_METHODS.has(name));
  }

  private async enter(method: string): Promise<void> {
    this.calls.push(method);
    await new Promise<void>((resolve) => setImmediate(resolve));
    const failure = this.failNext.get(method);
    if (failure) {
      this.failNext.delete(method);
      throw failure;
    }
  }
  private async leave(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  private nowSeconds(): number {
    return Math.floor(this.clock.now() / 1000);
  }
  private isoNow(): string {
    return new Date(this.clock.now()).toISOString();
  }
  private clone<T>(value: T): T {
    return structuredClone(value);
  }

  /**
   * One page of `items`, already in query order by `sortKey`, after the cursor's key. The cursor
   * names its query, so one from another listing is refused, as the table refuses another partition.
   */
  private page<T>(
    query: string,
    items: T[],
    sortKey: (item: T) => string,
    page: PageRequest,
    options: { descending?: boolean } = {},
  ): Page<T> {
    const limit = checkLimit(page.limit);
    let rest = items;
    if (page.cursor !== undefined) {
      const after = this.decodeCursor(query, page.cursor);
      rest = items.filter((i) => (options.descending ? sortKey(i) < after : sortKey(i) > after));
    }
    const taken = rest.slice(0, limit);
    const last = taken.at(-1);
    if (taken.length < limit || last === undefined) return { items: taken };
    const cursor = Buffer.from(JSON.stringify({ q: query, k: sortKey(last) })).toString('base64url');
    return { items: taken, cursor };
  }
  private decodeCursor(query: string, cursor: string): string {
    try {
      const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as {
        q?: unknown;
        k?: unknown;
      };
      if (decoded.q === query && typeof decoded.k === 'string') return decoded.k;
    } catch {}
    throw new ValidationError('malformed page cursor', ['cursor: malformed']);
  }

  // Runs ----------------------------------------------------------------------------------
  async putWorkItem(item: WorkItem): Promise<void> {
    await this.enter('putWorkItem');
    const parsed = WorkItem.parse(item);
    this.workItems.set(parsed.key, parsed);
    await this.leave();
  }
  async getWorkItem(key: string): Promise<WorkItem | undefined> {
    await this.enter('getWorkItem');
    const item = this.workItems.get(key);
    return item ? this.clone(item) : undefined;
  }
  async getWorkItemWithRuns(
    key: string,
    page: PageRequest,
  ): Promise<{ workItem?: WorkItem; runs: Page<Run> }> {
    await this.enter('getWorkItemWithRuns');
    // As on GSI3, where the WorkItem sorts before its runs: it comes with the first page only.
    const workItem = page.cursor === undefined ? this.workItems.get(key) : undefined;
    const runs = this.runsWhere((run) => run.workItemKey === key);
    const found = this.page(`wi:${key}`, runs, (run) => run.runId, page, { descending: true });
    return { ...(workItem ? { workItem: this.clone(workItem) } : {}), runs: this.clonePage(found) };
  }
  async createRun(run: Run): Promise<void> {
    await this.enter('createRun');
    const parsed = Run.parse(run);
    if (this.runs.has(parsed.runId)) throw new AlreadyExistsError(`run ${parsed.runId}`);
    this.runs.set(parsed.runId, parsed);
    await this.leave();
  }
  async getRun(runId: string): Promise<Run | undefined> {
    await this.enter('getRun');
    const run = this.runs.get(runId);
    return run ? this.clone(run) : undefined;
  }
  async updateRun(runId: string, expectedVersion: number, patch: Partial<Run>): Promise<Run> {
    await this.enter('updateRun');
    const checked = checkRunPatch(patch);
    const run = this.runs.get(runId);
    if (!run) throw new NotFoundError(`run ${runId}`);
    if (run.version !== expectedVersion) throw new VersionConflictError(runId, expectedVersion);
    const updated: Record<string, unknown> = { ...run, updatedAt: this.isoNow() };
    for (const [field, value] of checked) {
      if (value === undefined) delete updated[field];
      else updated[field] = this.clone(value);
    }
    const stored = Run.parse({ ...updated, version: expectedVersion + 1 });
    this.runs.set(runId, stored);
    await this.leave();
    return this.clone(stored);
  }
  async listRunsByRepo(repo: string, page: PageRequest): Promise<Page<Run>> {
    await this.enter('listRunsByRepo');
    const runs = this.runsWhere((run) => canonicalRepo(run.repo) === canonicalRepo(repo));
    return this.clonePage(
      this.page(`repo:${canonicalRepo(repo)}`, runs, (r) => r.runId, page, { descending: true }),
    );
  }
  async listRunsByStatus(status: RunStatus, page: PageRequest): Promise<Page<Run>> {
    await this.enter('listRunsByStatus');
    const runs = this.runsWhere((run) => run.status === status);
    return this.clonePage(this.page(`status:${status}`, runs, (r) => r.runId, page, { descending: true }));
  }
  /** Runs created this month or in the RECENT_MONTHS - 1 before it (UTC), newest first. */
  async listRecentRuns(page: PageRequest): Promise<Page<Run>> {
    await this.enter('listRecentRuns');
    const oldest = monthBefore(this.clock.now(), RECENT_MONTHS - 1);
    const runs = this.runsWhere((run) => run.createdAt.slice(0, 7) >= oldest);
    return this.clonePage(this.page('recent', runs, (r) => r.runId, page, { descending: true }));
  }
  /** Newest first (run ids are ULIDs), as the run indexes are. */
  private runsWhere(test: (run: Run) => boolean): Run[] {
    return [...this.runs.values()].filter(test).sort((a, b) => (a.runId < b.runId ? 1 : -1));
  }
  private clonePage<T>(page: Page<T>): Page<T> {
    return { ...page, items: page.items.map((item) => this.clone(item)) };
  }

  // Run views -----------------------------------------------------------------------------
  /** As the partition sorts: the events (EVT#…) and then the run (RUN), so the run ends the last page. */
  async getRunWithEvents(runId: string, page: PageRequest, after?: number) {
    await this.enter('getRunWithEvents');
    const run = this.runs.get(runId);
    const newer = (this.events.get(runId) ?? []).filter((e) => after === undefined || e.seq > after);
    const items: Array<StoredAuditEvent | Run> = [...newer, ...(run ? [run] : [])];
    const sortKey = (item: StoredAuditEvent | Run) => ('prevHash' in item ? `EVT#${pad(item.seq)}` : 'RUN');
    const found = this.page(`run:${runId}`, items, sortKey, page);
    const events = found.items.filter((i): i is StoredAuditEvent => 'prevHash' in i);
    const withRun = found.items.find((i): i is Run => !('prevHash' in i));
    const head = withRun ? this.heads.get(runId) : undefined;
    return {
      ...(withRun ? { run: this.clone(withRun) } : {}),
      ...(head ? { head: { ...head } } : {}),
      events: { items: events.map((e) => this.clone(e)), cursor: found.cursor },
    };
  }
  async getRunDetail(runId: string) {
    await this.enter('getRunDetail');
    const run = this.runs.get(runId);
    return {
      ...(run ? { run: this.clone(run) } : {}),
      approvals: this.approvalsOf(runId),
      ledger: this.ledgerOf(runId),
    };
  }

  // Events --------------------------------------------------------------------------------
  async appendEvent(runId: string, event: AuditEventInput): Promise<StoredAuditEvent> {
    await this.enter('appendEvent');
    if (event.data !== undefined && canonicalJson(event.data).length > MAX_EVENT_DATA_BYTES) {
      throw new ValidationError(`audit event data exceeds ${MAX_EVENT_DATA_BYTES} bytes`);
    }
    const list = this.events.get(runId) ?? [];
    const previous = list.at(-1);
    const body = {
      runId,
      seq: list.length,
      at: this.isoNow(),
      type: event.type,
      actor: event.actor,
      ...(event.data === undefined ? {} : { data: this.clone(event.data) }),
    };
    const prevHash = previous?.hash ?? GENESIS_HASH;
    const stored = StoredAuditEvent.parse({ ...body, prevHash, hash: hashEvent(prevHash, body) });
    list.push(stored);
    this.events.set(runId, list);
    if (this.runs.has(runId)) this.heads.set(runId, { seq: stored.seq, hash: stored.hash });
    await this.leave();
    return this.clone(stored);
  }
  async listEvents(runId: string, page: PageRequest): Promise<Page<StoredAuditEvent>> {
    await this.enter('listEvents');
    const events = this.events.get(runId) ?? [];
    return this.clonePage(this.page(`events:${runId}`, events, (e) => pad(e.seq), page));
  }

  // Deliveries ----------------------------------------------------------------------------
  async recordDelivery(
    record: DeliveryRecord,
    ttlSeconds: number,
  ): Promise<{ first: boolean; existing?: DeliveryRecord }> {
    await this.enter('recordDelivery');
    const parsed = DeliveryRecord.parse(record);
    const expiresAt = expiryOf(this.nowSeconds(), ttlSeconds);
    const existing = this.deliveries.get(parsed.deliveryId);
    if (existing && existing.expiresAt > this.nowSeconds()) {
      await this.leave();
      return { first: false, existing: this.clone(existing.record) };
    }
    this.deliveries.set(parsed.deliveryId, { record: parsed, expiresAt });
    await this.leave();
    return { first: true };
  }
  async updateDelivery(deliveryId: string, patch: Partial<DeliveryRecord>): Promise<void> {
    await this.enter('updateDelivery');
    const { deliveryId: _ignored, ...rest } = patch;
    const checked = DeliveryPatch.safeParse(rest);
    if (!checked.success) throw new ValidationError('invalid delivery patch');
    const existing = this.deliveries.get(deliveryId);
    if (!existing) throw new NotFoundError(`delivery ${deliveryId}`);
    const fields = Object.entries(checked.data).filter(([, value]) => value !== undefined);
    existing.record = { ...existing.record, ...Object.fromEntries(fields) };
    await this.leave();
  }
  delivery(deliveryId: string): DeliveryRecord | undefined {
    return this.deliveries.get(deliveryId)?.record;
  }

  // Waits ---------------------------------------------------------------------------------
  private waitKey(kind: WaitKind, key: string): string {
    return `${kind}#${key}`;
  }
  async putWait(wait: PendingWait): Promise<void> {
    await this.enter('putWait');
    const parsed = PendingWait.parse(wait);
    this.waits.set(this.waitKey(parsed.kind, parsed.key), parsed);
    await this.leave();
  }
  async getWait(kind: WaitKind, key: string): Promise<PendingWait | undefined> {
    await this.enter('getWait');
    const wait = this.waits.get(this.waitKey(kind, key));
    return wait && wait.expiresAt > this.nowSeconds() ? this.clone(wait) : undefined;
  }
  async takeWait(kind: WaitKind, key: string): Promise<PendingWait | undefined> {
    await this.enter('takeWait');
    const wait = this.waits.get(this.waitKey(kind, key));
    this.waits.delete(this.waitKey(kind, key));
    await this.leave();
    return wait && wait.expiresAt > this.nowSeconds() ? wait : undefined;
  }

  // Approvals -----------------------------------------------------------------------------
  async putApproval(record: ApprovalRecord): Promise<void> {
    await this.enter('putApproval');
    const parsed = ApprovalRecord.parse(record);
    if (this.approvals.has(parsed.approvalId)) throw new AlreadyExistsError(`approval ${parsed.approvalId}`);
    this.approvals.set(parsed.approvalId, parsed);
    await this.leave();
  }
  async getApproval(approvalId: string): Promise<ApprovalRecord | undefined> {
    await this.enter('getApproval');
    const record = this.approvals.get(approvalId);
    return record ? this.clone(record) : undefined;
  }
  async decideApproval(approvalId: string, update: ApprovalUpdate): Promise<boolean> {
    await this.enter('decideApproval');
    if (update.state === 'PENDING') throw new ValidationError('a decision cannot be PENDING');
    const record = this.approvals.get(approvalId);
    if (record?.state !== 'PENDING' || record.expiresAt <= this.nowSeconds()) return false;
    const fields = Object.entries(update).filter(([, value]) => value !== undefined);
    this.approvals.set(approvalId, ApprovalRecord.parse({ ...record, ...Object.fromEntries(fields) }));
    await this.leave();
    return true;
  }
  async listApprovalsForRun(runId: string): Promise<ApprovalRecord[]> {
    await this.enter('listApprovalsForRun');
    return this.approvalsOf(runId);
  }
  /** In approval id order, as the run's APPROVAL#<id> copies sort. */
  private approvalsOf(runId: string): ApprovalRecord[] {
    return [...this.approvals.values()]
      .filter((r) => r.runId === runId)
      .sort((a, b) => (a.approvalId < b.approvalId ? -1 : 1))
      .map((r) => this.clone(r));
  }

  // API keys ------------------------------------------------------------------------------
  async putApiKey(record: ApiKeyRecord): Promise<void> {
    await this.enter('putApiKey');
    const parsed = ApiKeyRecord.parse(record);
    this.apiKeys.set(parsed.keyHash, parsed);
    await this.leave();
  }
  async getApiKey(keyHash: string): Promise<ApiKeyRecord | undefined> {
    await this.enter('getApiKey');
    const record = this.apiKeys.get(keyHash);
    return record ? this.clone(record) : undefined;
  }

  // Asks ----------------------------------------------------------------------------------
  async putAsk(ask: Ask): Promise<void> {
    await this.enter('putAsk');
    const parsed = Ask.parse(ask);
    if (this.asks.has(parsed.askId)) throw new Error(`ask ${parsed.askId} exists`);
    this.asks.set(parsed.askId, parsed);
    await this.leave();
  }
  async getAsk(askId: string): Promise<Ask | undefined> {
    await this.enter('getAsk');
    const ask = this.asks.get(askId);
    return ask ? this.clone(ask) : undefined;
  }
  async finishAsk(askId: string, outcome: AskOutcome): Promise<boolean> {
    await this.enter('finishAsk');
    const ask = this.asks.get(askId);
    if (ask?.status !== 'PENDING') return false;
    this.asks.set(askId, { ...ask, ...outcome, updatedAt: this.isoNow() } as Ask);
    await this.leave();
    return true;
  }

  // Claims --------------------------------------------------------------------------------
  async claimIdempotencyKey(
    scope: string,
    key: string,
    runId: string,
    ttlSeconds: number,
    fingerprint?: string,
  ): Promise<{ first: boolean; runId: string; fingerprint?: string }> {
    await this.enter('claimIdempotencyKey');
    const expiresAt = expiryOf(this.nowSeconds(), ttlSeconds);
    const itemKey = `${scope}#${key}`;
    const existing = this.idempotency.get(itemKey);
    if (existing && existing.expiresAt > this.nowSeconds()) {
      await this.leave();
      return {
        first: false,
        runId: existing.runId,
        ...(existing.fingerprint === undefined ? {} : { fingerprint: existing.fingerprint }),
      };
    }
    const claim = { runId, ...(fingerprint === undefined ? {} : { fingerprint }) };
    this.idempotency.set(itemKey, { ...claim, expiresAt });
    await this.leave();
    return { first: true, ...claim };
  }
  async claimLease(key: string, owner: string, ttlSeconds: number): Promise<boolean> {
    await this.enter('claimLease');
    const expiresAt = expiryOf(this.nowSeconds(), ttlSeconds);
    const held = this.leases.get(key);
    if (held && held.expiresAt > this.nowSeconds() && held.owner !== owner) return false;
    this.leases.set(key, { owner, expiresAt });
    await this.leave();
    return true;
  }
  async releaseLease(key: string, owner: string): Promise<void> {
    await this.enter('releaseLease');
    if (this.leases.get(key)?.owner === owner) this.leases.delete(key);
    await this.leave();
  }

  private expiring<T extends object>(record: T): T {
    this.expiries.set(record, expiryOf(this.nowSeconds(), PRIVATE_SOURCE_TTL_SECONDS));
    return record;
  }
  private live<T extends object>(record: T | undefined): T | undefined {
    return record && (this.expiries.get(record) ?? Number.POSITIVE_INFINITY) > this.nowSeconds()
      ? record
      : undefined;
  }

  // Conversations -------------------------------------------------------------------------
  async putConversation(meta: ConversationMeta): Promise<void> {
    await this.enter('putConversation');
    const parsed = ConversationMeta.parse(meta);
    if (!this.conversations.has(parsed.conversationId))
      this.conversations.set(parsed.conversationId, this.expiring(parsed));
    await this.leave();
  }
  async getConversationWithTurns(
    conversationId: string,
  ): Promise<{ meta?: ConversationMeta; turns: ConversationTurn[] }> {
    await this.enter('getConversationWithTurns');
    const meta = this.live(this.conversations.get(conversationId));
    const turns = [...(this.turns.get(conversationId)?.values() ?? [])]
      .filter((t) => this.live(t))
      .sort((a, b) => a.turn - b.turn);
    return { ...(meta ? { meta: this.clone(meta) } : {}), turns: turns.map((t) => this.clone(t)) };
  }
  async putTurn(turn: ConversationTurn): Promise<{ first: boolean; existing?: ConversationTurn }> {
    await this.enter('putTurn');
    const parsed = ConversationTurn.parse(turn);
    const turns = this.turns.get(parsed.conversationId) ?? new Map<number, ConversationTurn>();
    const existing = turns.get(parsed.turn);
    if (existing) return { first: false, existing: this.clone(existing) };
    turns.set(parsed.turn, this.expiring(parsed));
    this.turns.set(parsed.conversationId, turns);
    await this.leave();
    return { first: true };
  }
  async markTurnSettled(conversationId: string, turn: number): Promise<void> {
    await this.enter('markTurnSettled');
    const stored = this.turns.get(conversationId)?.get(turn);
    if (stored) stored.settled = true;
    await this.leave();
  }
  async getTurn(conversationId: string, turn: number): Promise<ConversationTurn | undefined> {
    await this.enter('getTurn');
    const stored = this.live(this.turns.get(conversationId)?.get(turn));
    return stored ? this.clone(stored) : undefined;
  }

  // Ledger --------------------------------------------------------------------------------
  /** The entry first, then the run's totals once per call (as the two idempotent writes do). */
  async recordLlmCall(entry: LedgerEntry): Promise<void> {
    await this.enter('recordLlmCall');
    const parsed = LedgerEntry.parse(entry);
    const callKey = `${parsed.conversationId}#${parsed.turn}`;
    const entryKey = `${parsed.runId}#${parsed.conversationId}#${pad(parsed.turn, 5)}`;
    if (!this.ledger.has(entryKey)) this.ledger.set(entryKey, parsed);
    // A copilot ask's calls add to the ask's totals (store/asks.ts), a run's to the run's.
    const owner = parsed.account === 'ask' ? this.asks.get(parsed.runId) : this.runs.get(parsed.runId);
    if (!owner) throw new NotFoundError(`${parsed.account ?? 'run'} ${parsed.runId}`);
    const applied = this.appliedCalls.get(parsed.runId) ?? new Set<string>();
    if (!applied.has(callKey)) {
      applied.add(callKey);
      this.appliedCalls.set(parsed.runId, applied);
      const totals = owner.ledger;
      totals.llmCalls += 1;
      totals.inputTokens += parsed.inputTokens;
      totals.outputTokens += parsed.outputTokens;
      totals.cacheReadTokens += parsed.cacheReadTokens;
      totals.cacheWriteTokens += parsed.cacheWriteTokens;
      totals.costUsd += parsed.costUsd;
    }
    await this.leave();
  }
  async recordSandboxRun(entry: SandboxLedgerEntry): Promise<void> {
    await this.enter('recordSandboxRun');
    const parsed = sandboxLedgerEntry(entry);
    const entryKey = `${parsed.runId}#${parsed.conversationId}#${pad(parsed.turn, 5)}#sandbox`;
    if (!this.ledger.has(entryKey)) this.ledger.set(entryKey, parsed);
    const run = this.runs.get(parsed.runId);
    if (!run) throw new NotFoundError(`run ${parsed.runId}`);
    const applied = this.appliedCalls.get(parsed.runId) ?? new Set<string>();
    const callKey = sandboxCallKey(parsed.conversationId, parsed.turn);
    if (!applied.has(callKey)) {
      applied.add(callKey);
      this.appliedCalls.set(parsed.runId, applied);
      run.ledger.costUsd += parsed.costUsd;
      run.ledger.sandboxSeconds = (run.ledger.sandboxSeconds ?? 0) + entry.sandboxSeconds;
    }
    await this.leave();
  }
  async listLedger(runId: string): Promise<LedgerEntry[]> {
    await this.enter('listLedger');
    return this.ledgerOf(runId);
  }
  /** In CALL#<conversation>#<turn> order, as the run's partition sorts. */
  private ledgerOf(runId: string): LedgerEntry[] {
    return [...this.ledger.entries()]
      .filter(([, entry]) => entry.runId === runId)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, entry]) => this.clone(entry));
  }

  // Budget (integer micro-dollars, as the budget item keeps them) ---------------------------
  async reserveBudget(runId: string, reservationId: string, usd: number, limitUsd: number): Promise<boolean> {
    await this.enter('reserveBudget');
    checkReservationId(reservationId);
    const amount = usdToMicros(usd);
    const limit = usdToMicros(limitUsd);
    const budget = this.budgets.get(runId) ?? newBudgetItem(limit);
    this.budgets.set(runId, budget);
    if (reservationId in budget.reservations || reservationId in budget.settled) return true;
    // The caller's limit applies: a cap edited mid-month moves limit and available together.
    budget.availableMicros += limit - budget.limitMicros;
    budget.limitMicros = limit;
    if (budget.availableMicros < amount) return false;
    budget.reservations[reservationId] = amount;
    budget.reservedMicros += amount;
    budget.availableMicros -= amount;
    await this.leave();
    return true;
  }
  async settleBudget(runId: string, reservationId: string, actualUsd: number): Promise<void> {
    await this.enter('settleBudget');
    checkReservationId(reservationId);
    const actual = usdToMicros(actualUsd);
    const budget = this.budgets.get(runId);
    if (!budget) {
      if (actual === 0) return;
      throw new NotFoundError(`budget of run ${runId}`);
    }
    if (reservationId in budget.settled) return;
    const held = budget.reservations[reservationId] ?? 0;
    delete budget.reservations[reservationId];
    budget.settled[reservationId] = actual;
    budget.spentMicros += actual;
    budget.reservedMicros -= held;
    budget.availableMicros += held - actual;
    await this.leave();
  }
  async forgetSettlement(runId: string, reservationId: string): Promise<void> {
    await this.enter('forgetSettlement');
    checkReservationId(reservationId);
    const budget = this.budgets.get(runId);
    if (budget) delete budget.settled[reservationId];
    await this.leave();
  }
  async getBudget(runId: string) {
    await this.enter('getBudget');
    const budget = this.budgets.get(runId);
    if (!budget) return undefined;
    return {
      limitUsd: microsToUsd(budget.limitMicros),
      reservedUsd: microsToUsd(budget.reservedMicros),
      spentUsd: microsToUsd(budget.spentMicros),
    };
  }

  // Workspace -----------------------------------------------------------------------------
  async putWorkspaceFile(runId: string, file: WorkspaceFile): Promise<void> {
    await this.enter('putWorkspaceFile');
    const parsed = checkWorkspaceFile(file);
    const files = this.workspace.get(runId) ?? new Map<string, WorkspaceFile>();
    files.set(parsed.path, this.expiring(parsed));
    this.workspace.set(runId, files);
    await this.leave();
  }
  async getWorkspaceFile(runId: string, path: string): Promise<WorkspaceFile | undefined> {
    await this.enter('getWorkspaceFile');
    const file = this.live(this.workspace.get(runId)?.get(path));
    return file ? this.clone(file) : undefined;
  }
  async deleteWorkspaceFile(runId: string, path: string): Promise<void> {
    await this.enter('deleteWorkspaceFile');
    this.workspace.get(runId)?.delete(path);
    await this.leave();
  }
  /** In path order, as FILE#<path> sorts. */
  async listWorkspaceFiles(runId: string): Promise<WorkspaceFile[]> {
    await this.enter('listWorkspaceFiles');
    return [...(this.workspace.get(runId)?.values() ?? [])]
      .filter((f) => this.live(f))
      .sort((a, b) => (a.path < b.path ? -1 : 1))
      .map((f) => this.clone(f));
  }

  // Cache ---------------------------------------------------------------------------------
  async cacheGet(key: string): Promise<string | undefined> {
    await this.enter('cacheGet');
    const hit = this.cache.get(key);
    return hit && hit.expiresAt > this.nowSeconds() ? hit.value : undefined;
  }
  async cachePut(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.enter('cachePut');
    this.cache.set(key, { value, expiresAt: expiryOf(this.nowSeconds(), ttlSeconds) });
    await this.leave();
  }
}
