import { AlreadyExistsError, NotFoundError, VersionConflictError } from '../../functions/shared/errors';
import type { Run, RunStatus, WorkItem } from '../../functions/shared/domain/run';
import type {
  AuditEventInput,
  Clock,
  DeliveryRecord,
  Page,
  PageRequest,
  PendingWait,
  Store,
  StoredAuditEvent,
  WaitKind,
} from '../../functions/shared/ports';

/**
 * An in-memory Store for unit tests that honours the conditional semantics of the real one:
 * every method yields to the event loop before and after deciding (so concurrent callers
 * interleave as they would over the network), and each decision itself is atomic, as a single
 * DynamoDB conditional write is. Expired items (ttl) are filtered on read, like DynamoStore.
 *
 * Implements the methods the webhook, API and approvals handlers use; the others throw.
 * `calls` lists every method invoked, `writes` only the mutating ones (tests assert on both).
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
  'claimIdempotencyKey',
  'cachePut',
]);

export class FakeStore implements Store {
  readonly calls: string[] = [];
  readonly workItems = new Map<string, WorkItem>();
  readonly runs = new Map<string, Run>();
  readonly events = new Map<string, StoredAuditEvent[]>();
  readonly deliveries = new Map<string, { record: DeliveryRecord; expiresAt: number }>();
  readonly waits = new Map<string, PendingWait>();
  readonly idempotency = new Map<string, { runId: string; expiresAt: number; fingerprint?: string }>();
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
  private clone<T>(value: T): T {
    return structuredClone(value);
  }

  // WorkItems and runs --------------------------------------------------------------------
  async putWorkItem(item: WorkItem): Promise<void> {
    await this.enter('putWorkItem');
    this.workItems.set(item.key, this.clone(item));
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
    const runs = [...this.runs.values()]
      .filter((run) => run.workItemKey === key)
      .sort((a, b) => (a.runId < b.runId ? 1 : -1))
      .slice(0, page.limit)
      .map((run) => this.clone(run));
    const workItem = this.workItems.get(key);
    return { ...(workItem ? { workItem: this.clone(workItem) } : {}), runs: { items: runs } };
  }
  async createRun(run: Run): Promise<void> {
    await this.enter('createRun');
    if (this.runs.has(run.runId)) throw new AlreadyExistsError(`run ${run.runId}`);
    this.runs.set(run.runId, this.clone(run));
    await this.leave();
  }
  async getRun(runId: string): Promise<Run | undefined> {
    await this.enter('getRun');
    const run = this.runs.get(runId);
    return run ? this.clone(run) : undefined;
  }
  async updateRun(runId: string, expectedVersion: number, patch: Partial<Run>): Promise<Run> {
    await this.enter('updateRun');
    const run = this.runs.get(runId);
    if (!run) throw new NotFoundError(`run ${runId}`);
    if (run.version !== expectedVersion) throw new VersionConflictError(runId, expectedVersion);
    const updated = { ...run, ...this.clone(patch), runId, version: run.version + 1 };
    this.runs.set(runId, updated);
    await this.leave();
    return this.clone(updated);
  }
  async getRunWithEvents(runId: string, page: PageRequest) {
    const run = await this.getRun(runId);
    return { ...(run ? { run } : {}), events: await this.listEvents(runId, page) };
  }
  async getRunDetail(runId: string) {
    const run = await this.getRun(runId);
    return { ...(run ? { run } : {}), approvals: await this.listApprovalsForRun(), ledger: [] };
  }
  async listRunsByRepo(repo: string, page: PageRequest): Promise<Page<Run>> {
    await this.enter('listRunsByRepo');
    const items = [...this.runs.values()]
      .filter((run) => run.repo === repo)
      .sort((a, b) => (a.runId < b.runId ? 1 : -1))
      .slice(0, page.limit);
    return { items: items.map((run) => this.clone(run)) };
  }
  async listRunsByStatus(status: RunStatus, page: PageRequest): Promise<Page<Run>> {
    await this.enter('listRunsByStatus');
    const items = [...this.runs.values()]
      .filter((run) => run.status === status)
      .sort((a, b) => (a.runId < b.runId ? 1 : -1))
      .slice(0, page.limit);
    return { items: items.map((run) => this.clone(run)) };
  }

  // Audit ---------------------------------------------------------------------------------
  async appendEvent(runId: string, event: AuditEventInput): Promise<StoredAuditEvent> {
    await this.enter('appendEvent');
    const list = this.events.get(runId) ?? [];
    const previous = list.at(-1);
    const stored: StoredAuditEvent = {
      ...this.clone(event),
      runId,
      seq: list.length,
      at: new Date(this.clock.now()).toISOString(),
      prevHash: previous?.hash ?? 'genesis',
      hash: `h${list.length}`,
    };
    list.push(stored);
    this.events.set(runId, list);
    await this.leave();
    return this.clone(stored);
  }
  async listEvents(runId: string, page: PageRequest): Promise<Page<StoredAuditEvent>> {
    await this.enter('listEvents');
    return { items: (this.events.get(runId) ?? []).slice(0, page.limit).map((e) => this.clone(e)) };
  }

  // Deliveries ----------------------------------------------------------------------------
  async recordDelivery(
    record: DeliveryRecord,
    ttlSeconds: number,
  ): Promise<{ first: boolean; existing?: DeliveryRecord }> {
    await this.enter('recordDelivery');
    const existing = this.deliveries.get(record.deliveryId);
    if (existing && existing.expiresAt > this.nowSeconds()) {
      await this.leave();
      return { first: false, existing: this.clone(existing.record) };
    }
    this.deliveries.set(record.deliveryId, {
      record: this.clone(record),
      expiresAt: this.nowSeconds() + ttlSeconds,
    });
    await this.leave();
    return { first: true };
  }
  async updateDelivery(deliveryId: string, patch: Partial<DeliveryRecord>): Promise<void> {
    await this.enter('updateDelivery');
    const existing = this.deliveries.get(deliveryId);
    if (!existing) throw new NotFoundError(`delivery ${deliveryId}`);
    existing.record = { ...existing.record, ...this.clone(patch), deliveryId };
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
    this.waits.set(this.waitKey(wait.kind, wait.key), this.clone(wait));
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

  // Idempotency and cache -----------------------------------------------------------------
  async claimIdempotencyKey(
    scope: string,
    key: string,
    runId: string,
    ttlSeconds: number,
    fingerprint?: string,
  ): Promise<{ first: boolean; runId: string; fingerprint?: string }> {
    await this.enter('claimIdempotencyKey');
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
    this.idempotency.set(itemKey, {
      runId,
      expiresAt: this.nowSeconds() + ttlSeconds,
      ...(fingerprint === undefined ? {} : { fingerprint }),
    });
    await this.leave();
    return { first: true, runId };
  }
  async cacheGet(key: string): Promise<string | undefined> {
    await this.enter('cacheGet');
    const hit = this.cache.get(key);
    return hit && hit.expiresAt > this.nowSeconds() ? hit.value : undefined;
  }
  async cachePut(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.enter('cachePut');
    this.cache.set(key, { value, expiresAt: this.nowSeconds() + ttlSeconds });
    await this.leave();
  }

  // Not used by the HTTP handlers ---------------------------------------------------------
  private unsupported(name: string): never {
    throw new Error(`FakeStore.${name} is not implemented`);
  }
  putApproval(): Promise<void> {
    return this.unsupported('putApproval');
  }
  releaseLease(): Promise<void> {
    return this.unsupported('releaseLease');
  }
  markTurnSettled(): Promise<void> {
    return this.unsupported('markTurnSettled');
  }
  forgetSettlement(): Promise<void> {
    return this.unsupported('forgetSettlement');
  }
  claimLease(): Promise<boolean> {
    return this.unsupported('claimLease');
  }
  getConversationWithTurns(): Promise<never> {
    return this.unsupported('getConversationWithTurns');
  }
  getApproval(): Promise<undefined> {
    return this.unsupported('getApproval');
  }
  decideApproval(): Promise<boolean> {
    return this.unsupported('decideApproval');
  }
  /** The fake holds no approvals (putApproval is unsupported), so every run has none. */
  async listApprovalsForRun(): Promise<never[]> {
    await this.enter('listApprovalsForRun');
    await this.leave();
    return [];
  }
  putApiKey(): Promise<void> {
    return this.unsupported('putApiKey');
  }
  getApiKey(): Promise<undefined> {
    return this.unsupported('getApiKey');
  }
  putConversation(): Promise<void> {
    return this.unsupported('putConversation');
  }
  putTurn(): Promise<{ first: boolean }> {
    return this.unsupported('putTurn');
  }
  getTurn(): Promise<undefined> {
    return this.unsupported('getTurn');
  }
  recordLlmCall(): Promise<void> {
    return this.unsupported('recordLlmCall');
  }
  listLedger(): Promise<never[]> {
    return this.unsupported('listLedger');
  }
  reserveBudget(): Promise<boolean> {
    return this.unsupported('reserveBudget');
  }
  settleBudget(): Promise<void> {
    return this.unsupported('settleBudget');
  }
  getBudget(): Promise<undefined> {
    return this.unsupported('getBudget');
  }
  putWorkspaceFile(): Promise<void> {
    return this.unsupported('putWorkspaceFile');
  }
  getWorkspaceFile(): Promise<undefined> {
    return this.unsupported('getWorkspaceFile');
  }
  listWorkspaceFiles(): Promise<never[]> {
    return this.unsupported('listWorkspaceFiles');
  }
}
