import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type * as z from 'zod';
import { canonicalJson, GENESIS_HASH, hashEvent } from '../domain/audit';
import { Run, type RunStatus, WorkItem } from '../domain/run';
import {
  AlreadyExistsError,
  FactoryError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../errors';
import type {
  ApiKeyRecord,
  ApprovalRecord,
  AuditEventInput,
  Clock,
  ConversationMeta,
  ConversationTurn,
  DeliveryRecord,
  LedgerEntry,
  Page,
  PageRequest,
  PendingWait,
  Store,
  StoredAuditEvent,
  WaitKind,
  WorkspaceFile,
} from '../ports';
import { keys, TABLE_KEYS } from './keys';
import {
  ApiKeyRecordSchema,
  ApprovalRecordSchema,
  type BudgetItem,
  BudgetItemSchema,
  ConversationMetaSchema,
  ConversationTurnSchema,
  DeliveryRecordSchema,
  LedgerEntrySchema,
  PendingWaitSchema,
  StoredAuditEventSchema,
  WorkspaceFileSchema,
} from './records';

/** Largest workspace file content (UTF-8 bytes): keeps the item far below DynamoDB's 400 KB. */
export const MAX_WORKSPACE_FILE_BYTES = 256 * 1024;
/** Largest item the store writes (JSON estimate); DynamoDB refuses items over 400 KB. */
export const MAX_ITEM_BYTES = 350 * 1024;
/** Largest `data` of an audit event (canonical JSON): events hold hashes and ids, not contents. */
export const MAX_EVENT_DATA_BYTES = 16 * 1024;
export const MAX_PAGE_LIMIT = 1000;
/** appendEvent re-reads the chain head and retries this often when another appender wins. */
export const MAX_APPEND_ATTEMPTS = 24;
/** Bound on the pages a "read everything" query follows (turns, files, approvals, ledger). */
const MAX_PAGES = 200;
const MAX_CURSOR_CHARS = 2048;
const MICROS_PER_USD = 1_000_000;

/** Run fields the store owns or that identify the run: never patched through updateRun. */
const IMMUTABLE_RUN_FIELDS = new Set(['runId', 'repo', 'kind', 'workItemKey']);
/** `ledger` is added to only by recordLlmCall (without bumping version); `version` by updateRun. */
const STORE_OWNED_RUN_FIELDS = new Set(['ledger', 'version']);

export interface DynamoStoreOptions {
  /** Create it with `createDocumentClient` (or with `removeUndefinedValues: true` yourself). */
  doc: DynamoDBDocumentClient;
  tableName: string;
  clock: Clock;
}

/** The document client the store expects: undefined optional fields are dropped, not rejected. */
export function createDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

type Item = Record<string, unknown>;

const isConditionFailed = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Builds expression attribute names/values with generated placeholders (every word is safe). */
class Expression {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private counter = 0;
  name(attribute: string): string {
    const placeholder = `#a${this.counter++}`;
    this.names[placeholder] = attribute;
    return placeholder;
  }
  value(value: unknown): string {
    const placeholder = `:v${this.counter++}`;
    this.values[placeholder] = value;
    return placeholder;
  }
  /** For a command input: DynamoDB rejects empty maps. */
  get attributes() {
    return {
      ExpressionAttributeNames: Object.keys(this.names).length > 0 ? this.names : undefined,
      ExpressionAttributeValues: Object.keys(this.values).length > 0 ? this.values : undefined,
    };
  }
}

/**
 * Money in the budget item is integer micro-dollars (1 USD = 1,000,000): DynamoDB adds decimals
 * exactly, but JavaScript floats do not, and the refusal test `available >= amount` must not
 * flip on a rounding error. Converted at this boundary only.
 */
export const usdToMicros = (usd: number): number => {
  if (!Number.isFinite(usd) || usd < 0) throw new ValidationError(`invalid USD amount ${usd}`);
  return Math.round(usd * MICROS_PER_USD);
};
export const microsToUsd = (micros: number): number => micros / MICROS_PER_USD;

/**
 * The Store port over one DynamoDB table (single-table design of store/keys.ts). Rules:
 * every idempotency decision is ONE conditional write (no TransactWriteItems, no read-then-write
 * decisions; a read after a failed condition only explains the outcome); TTL items carry
 * `expiresAt` (epoch seconds) and are filtered on read, because TTL deletion is lazy (and never
 * happens in dynalite); items read back are parsed with zod, which strips the key attributes.
 */
export class DynamoStore implements Store {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly clock: Clock;

  constructor(options: DynamoStoreOptions) {
    this.doc = options.doc;
    this.table = options.tableName;
    this.clock = options.clock;
  }

  // -------------------------------------------------------------------------------------------
  // WorkItems and runs
  // -------------------------------------------------------------------------------------------

  /** PutItem WI#<key>/WI (overwrites: the WorkItem is a pointer record), projected into GSI3. */
  async putWorkItem(item: WorkItem): Promise<void> {
    const parsed = WorkItem.parse(item);
    await this.put({ ...keys.workItem(parsed.key), ...keys.workItemInGsi3(parsed.key), ...parsed });
  }

  /** GetItem WI#<key>/WI. */
  async getWorkItem(key: string): Promise<WorkItem | undefined> {
    const item = await this.get(keys.workItem(key));
    return item ? WorkItem.parse(item) : undefined;
  }

  /**
   * Query GSI3 gsi3pk=WI#<key>, newest first. The WorkItem (gsi3sk "WI") sorts after its runs
   * ("RUN#<ulid>"), so it is the first item of the first page; that page asks for one more item.
   */
  async getWorkItemWithRuns(
    key: string,
    page: PageRequest,
  ): Promise<{ workItem?: WorkItem; runs: Page<Run> }> {
    const gsi = TABLE_KEYS.gsi[2];
    const partition = keys.workItemInGsi3(key).gsi3pk;
    const limit = this.checkLimit(page.limit);
    const firstPage = page.cursor === undefined;
    const result = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: gsi.indexName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': gsi.partitionKey },
        ExpressionAttributeValues: { ':pk': partition },
        ScanIndexForward: false,
        Limit: firstPage ? limit + 1 : limit,
        ExclusiveStartKey: this.decodeCursor(page.cursor, { [gsi.partitionKey]: partition }),
      }),
    );
    let workItem: WorkItem | undefined;
    const runItems: Item[] = [];
    for (const item of result.Items ?? []) {
      if (item[gsi.sortKey] === keys.workItemInGsi3(key).gsi3sk) workItem = WorkItem.parse(item);
      else runItems.push(item);
    }
    // No WorkItem item on the first page: the extra item is a run beyond the limit.
    if (runItems.length > limit) {
      runItems.length = limit;
      const last = runItems[limit - 1] as Item;
      const lastKey = this.keyOf(last, [gsi.partitionKey, gsi.sortKey]);
      return {
        workItem,
        runs: { items: runItems.map((i) => Run.parse(i)), cursor: this.encodeCursor(lastKey) },
      };
    }
    return {
      workItem,
      runs: { items: runItems.map((i) => Run.parse(i)), cursor: this.encodeCursor(result.LastEvaluatedKey) },
    };
  }

  /**
   * PutItem RUN#<id>/RUN if attribute_not_exists(pk), with the GSI projections runs by repo
   * (gsi1), by status (gsi2) and by WorkItem (gsi3). Throws AlreadyExistsError on a duplicate id.
   */
  async createRun(run: Run): Promise<void> {
    const parsed = Run.parse(run);
    try {
      await this.put(
        {
          ...keys.run(parsed.runId),
          ...keys.runByRepo(parsed.repo, parsed.runId),
          ...keys.runByStatus(parsed.status, parsed.runId),
          ...keys.runByWorkItem(parsed.workItemKey, parsed.runId),
          ...parsed,
        },
        'attribute_not_exists(pk)',
      );
    } catch (error) {
      if (isConditionFailed(error)) throw new AlreadyExistsError(`run ${parsed.runId}`);
      throw error;
    }
  }

  /** GetItem RUN#<id>/RUN (consistent). */
  async getRun(runId: string): Promise<Run | undefined> {
    const item = await this.get(keys.run(runId));
    return item ? Run.parse(item) : undefined;
  }

  /**
   * UpdateItem RUN#<id>/RUN if version = expectedVersion: SETs each patched field (an `undefined`
   * value REMOVEs an optional field), version + 1, updatedAt (the patch's or now), and gsi2pk
   * when the status changes; ReturnValues ALL_NEW. runId, repo, kind and workItemKey are the
   * run's identity and `ledger` belongs to recordLlmCall: patching them is a ValidationError.
   * Throws VersionConflictError on a lost race, NotFoundError when the run does not exist.
   */
  async updateRun(runId: string, expectedVersion: number, patch: Partial<Run>): Promise<Run> {
    const expr = new Expression();
    const sets: string[] = [];
    const removes: string[] = [];
    for (const [field, value] of Object.entries(patch)) {
      if (field === 'version') continue;
      if (IMMUTABLE_RUN_FIELDS.has(field) || STORE_OWNED_RUN_FIELDS.has(field)) {
        throw new ValidationError(`run field ${field} cannot be changed by updateRun`);
      }
      const schema = (Run.shape as Record<string, z.ZodType | undefined>)[field];
      if (!schema) throw new ValidationError(`unknown run field ${field}`);
      if (value === undefined) {
        if (!schema.safeParse(undefined).success) throw new ValidationError(`run field ${field} is required`);
        removes.push(expr.name(field));
        continue;
      }
      const checked = schema.safeParse(value);
      if (!checked.success) {
        throw new ValidationError(
          `invalid run field ${field}`,
          checked.error.issues.map((i) => `${[field, ...i.path].join('.')}: ${i.message}`),
        );
      }
      sets.push(`${expr.name(field)} = ${expr.value(checked.data)}`);
    }
    if (patch.updatedAt === undefined) {
      sets.push(`${expr.name('updatedAt')} = ${expr.value(this.isoNow())}`);
    }
    if (patch.status !== undefined) {
      sets.push(`${expr.name('gsi2pk')} = ${expr.value(keys.runByStatus(patch.status, runId).gsi2pk)}`);
    }
    const version = expr.name('version');
    sets.push(`${version} = ${expr.value(expectedVersion + 1)}`);
    const update = `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`;
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.run(runId),
          UpdateExpression: update,
          ConditionExpression: `attribute_exists(pk) AND ${version} = ${expr.value(expectedVersion)}`,
          ...expr.attributes,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Run.parse(result.Attributes);
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      if (!(await this.get(keys.run(runId)))) throw new NotFoundError(`run ${runId}`);
      throw new VersionConflictError(runId, expectedVersion);
    }
  }

  /**
   * Query pk=RUN#<id>, sk BETWEEN "EVT#" AND "RUN", ascending: the events in sequence order and
   * then the run item. The run sorts after its events, so it arrives with the last page; a caller
   * that needs it earlier reads it with getRun.
   */
  async getRunWithEvents(
    runId: string,
    page: PageRequest,
  ): Promise<{ run?: Run; events: Page<StoredAuditEvent> }> {
    const runKey = keys.run(runId);
    const result = await this.queryPage(
      {
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': runKey.pk, ':from': keys.runEventPrefix, ':to': runKey.sk },
      },
      page,
      { pk: runKey.pk },
    );
    let run: Run | undefined;
    const events: StoredAuditEvent[] = [];
    for (const item of result.items) {
      if (item.sk === runKey.sk) run = Run.parse(item);
      else events.push(StoredAuditEventSchema.parse(item));
    }
    return { run, events: { items: events, cursor: result.cursor } };
  }

  /**
   * Query pk=RUN#<id> with a filter that drops the events: the run, its approvals (copies) and its
   * ledger entries in one request (more only if the partition passes 1 MB). What
   * GET /v1/runs/{id} shows.
   */
  async getRunDetail(
    runId: string,
  ): Promise<{ run?: Run; approvals: ApprovalRecord[]; ledger: LedgerEntry[] }> {
    const runKey = keys.run(runId);
    let run: Run | undefined;
    const approvals: ApprovalRecord[] = [];
    const ledger: LedgerEntry[] = [];
    const items = await this.queryEvery({
      KeyConditionExpression: 'pk = :pk',
      // A filter cannot name the sort key; only audit events carry a prevHash.
      FilterExpression: 'attribute_not_exists(#prevHash)',
      ExpressionAttributeNames: { '#prevHash': 'prevHash' },
      ExpressionAttributeValues: { ':pk': runKey.pk },
    });
    for (const item of items) {
      const sk = String(item.sk);
      if (sk === runKey.sk) run = Run.parse(item);
      else if (sk.startsWith(keys.runApprovalPrefix)) approvals.push(ApprovalRecordSchema.parse(item));
      else if (sk.startsWith(keys.runLedgerPrefix)) ledger.push(LedgerEntrySchema.parse(item));
    }
    return { run, approvals, ledger };
  }

  /** Query GSI1 gsi1pk=REPO#<owner/repo>, newest first (gsi1sk RUN#<ulid>). */
  async listRunsByRepo(repo: string, page: PageRequest): Promise<Page<Run>> {
    return this.queryRunIndex(0, keys.runByRepo(repo, '').gsi1pk, page);
  }

  /** Query GSI2 gsi2pk=STATUS#<status>, newest first (gsi2sk RUN#<ulid>). */
  async listRunsByStatus(status: RunStatus, page: PageRequest): Promise<Page<Run>> {
    return this.queryRunIndex(1, keys.runByStatus(status, '').gsi2pk, page);
  }

  // -------------------------------------------------------------------------------------------
  // Audit
  // -------------------------------------------------------------------------------------------

  /**
   * Query pk=RUN#<id> begins_with(sk, "EVT#") descending Limit 1 (the chain head), then PutItem
   * RUN#<id>/EVT#<seq+1> if attribute_not_exists(sk), hashed with hashEvent over the head's hash.
   * A concurrent appender that took the same seq makes the put fail: re-read the head and retry
   * (bounded, with jitter), so concurrent appenders always leave a contiguous, valid chain.
   */
  async appendEvent(runId: string, event: AuditEventInput): Promise<StoredAuditEvent> {
    if (event.data !== undefined && canonicalJson(event.data).length > MAX_EVENT_DATA_BYTES) {
      throw new ValidationError(`audit event data exceeds ${MAX_EVENT_DATA_BYTES} bytes`);
    }
    const pk = keys.run(runId).pk;
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      const head = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :evt)',
          ExpressionAttributeValues: { ':pk': pk, ':evt': keys.runEventPrefix },
          ScanIndexForward: false,
          Limit: 1,
          ConsistentRead: true,
        }),
      );
      const last = head.Items?.[0] ? StoredAuditEventSchema.parse(head.Items[0]) : undefined;
      const seq = last ? last.seq + 1 : 0;
      const prevHash = last ? last.hash : GENESIS_HASH;
      const at = this.isoNow();
      const hash = hashEvent(prevHash, {
        runId,
        seq,
        at,
        type: event.type,
        actor: event.actor,
        data: event.data,
      });
      const stored: StoredAuditEvent = {
        runId,
        seq,
        at,
        type: event.type,
        actor: event.actor,
        ...(event.data === undefined ? {} : { data: event.data }),
        prevHash,
        hash,
      };
      try {
        await this.put({ ...keys.runEvent(runId, seq), ...stored }, 'attribute_not_exists(sk)');
        return stored;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
        await sleep(Math.floor(Math.random() * (5 + attempt * 5)));
      }
    }
    throw new FactoryError(
      'AuditAppendContention',
      `could not append to the audit chain of run ${runId} after ${MAX_APPEND_ATTEMPTS} attempts`,
    );
  }

  /** Query pk=RUN#<id> begins_with(sk, "EVT#"), ascending (sequence order). */
  async listEvents(runId: string, page: PageRequest): Promise<Page<StoredAuditEvent>> {
    const pk = keys.run(runId).pk;
    const result = await this.queryPage(
      {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :evt)',
        ExpressionAttributeValues: { ':pk': pk, ':evt': keys.runEventPrefix },
      },
      page,
      { pk },
    );
    return { items: result.items.map((i) => StoredAuditEventSchema.parse(i)), cursor: result.cursor };
  }

  // -------------------------------------------------------------------------------------------
  // Webhook deliveries
  // -------------------------------------------------------------------------------------------

  /**
   * PutItem DELIVERY#<id> if attribute_not_exists(pk) OR expiresAt <= now (an expired record is
   * as good as absent). On a duplicate, a consistent GetItem returns the first record.
   */
  async recordDelivery(
    record: DeliveryRecord,
    ttlSeconds: number,
  ): Promise<{ first: boolean; existing?: DeliveryRecord }> {
    const parsed = DeliveryRecordSchema.parse(record);
    const key = keys.delivery(parsed.deliveryId);
    const claimed = await this.putIfAbsentOrExpired({
      ...key,
      ...parsed,
      expiresAt: this.expiry(ttlSeconds),
    });
    if (claimed) return { first: true };
    const existing = await this.get(key);
    return { first: false, existing: existing ? DeliveryRecordSchema.parse(existing) : undefined };
  }

  /** UpdateItem DELIVERY#<id> if attribute_exists(pk): SETs the patched fields (not the id). */
  async updateDelivery(deliveryId: string, patch: Partial<DeliveryRecord>): Promise<void> {
    const { deliveryId: _ignored, ...rest } = patch;
    const checked = DeliveryRecordSchema.omit({ deliveryId: true }).partial().safeParse(rest);
    if (!checked.success) throw new ValidationError('invalid delivery patch');
    const fields: Item = checked.data;
    await this.updateFields(keys.delivery(deliveryId), fields, `delivery ${deliveryId}`);
  }

  // -------------------------------------------------------------------------------------------
  // Waits
  // -------------------------------------------------------------------------------------------

  /**
   * PutItem WAIT#<kind>#<key>/WAIT, unconditional: a retried wait step stores its new task token
   * over the old one (the old token belongs to a failed attempt). `expiresAt` is the TTL.
   */
  async putWait(wait: PendingWait): Promise<void> {
    const parsed = PendingWaitSchema.parse(wait);
    await this.put({ ...keys.wait(parsed.kind, parsed.key), ...parsed });
  }

  /** GetItem WAIT#<kind>#<key>/WAIT; an expired wait reads as absent. */
  async getWait(kind: WaitKind, key: string): Promise<PendingWait | undefined> {
    const item = await this.get(keys.wait(kind, key));
    if (!item || !this.isLive(item)) return undefined;
    return PendingWaitSchema.parse(item);
  }

  /**
   * DeleteItem WAIT#<kind>#<key>/WAIT if attribute_exists(pk), ReturnValues ALL_OLD: DynamoDB
   * serialises the deletes, so exactly one concurrent caller receives the wait. An expired wait
   * is deleted and reported as absent.
   */
  async takeWait(kind: WaitKind, key: string): Promise<PendingWait | undefined> {
    try {
      const result = await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: keys.wait(kind, key),
          ConditionExpression: 'attribute_exists(pk)',
          ReturnValues: 'ALL_OLD',
        }),
      );
      const old = result.Attributes;
      if (!old || !this.isLive(old)) return undefined;
      return PendingWaitSchema.parse(old);
    } catch (error) {
      if (isConditionFailed(error)) return undefined;
      throw error;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Approvals
  // -------------------------------------------------------------------------------------------

  /**
   * PutItem APPROVAL#<id>/APPROVAL if attribute_not_exists(pk) (the record of truth, whose
   * `expiresAt` is the TTL), then PutItem RUN#<runId>/APPROVAL#<id> (a copy for the per-run
   * listing). Throws AlreadyExistsError for a duplicate id.
   */
  async putApproval(record: ApprovalRecord): Promise<void> {
    const parsed = ApprovalRecordSchema.parse(record);
    try {
      await this.put({ ...keys.approval(parsed.approvalId), ...parsed }, 'attribute_not_exists(pk)');
    } catch (error) {
      if (isConditionFailed(error)) throw new AlreadyExistsError(`approval ${parsed.approvalId}`);
      throw error;
    }
    await this.put({ ...keys.runApproval(parsed.runId, parsed.approvalId), ...parsed });
  }

  /**
   * GetItem APPROVAL#<id>/APPROVAL. Returned even past `expiresAt` (until TTL deletes it), so
   * the approval page can say "expired" rather than "unknown"; decideApproval refuses it.
   */
  async getApproval(approvalId: string): Promise<ApprovalRecord | undefined> {
    const item = await this.get(keys.approval(approvalId));
    return item ? ApprovalRecordSchema.parse(item) : undefined;
  }

  /**
   * UpdateItem APPROVAL#<id>/APPROVAL if state = PENDING AND expiresAt > now, ReturnValues
   * ALL_NEW; the winner then refreshes the run's copy. true = this call decided it.
   */
  async decideApproval(
    approvalId: string,
    update: Pick<ApprovalRecord, 'state' | 'decidedAt' | 'comment' | 'userAgent'>,
  ): Promise<boolean> {
    if (update.state === 'PENDING') throw new ValidationError('a decision cannot be PENDING');
    const expr = new Expression();
    const state = expr.name('state');
    const sets = Object.entries(update)
      .filter(([, value]) => value !== undefined)
      .map(([field, value]) => `${field === 'state' ? state : expr.name(field)} = ${expr.value(value)}`);
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.approval(approvalId),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: `${state} = ${expr.value('PENDING')} AND ${expr.name(TABLE_KEYS.ttlAttribute)} > ${expr.value(this.nowSeconds())}`,
          ...expr.attributes,
          ReturnValues: 'ALL_NEW',
        }),
      );
      const decided = ApprovalRecordSchema.parse(result.Attributes);
      await this.put({ ...keys.runApproval(decided.runId, decided.approvalId), ...decided });
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /** Query pk=RUN#<id> begins_with(sk, "APPROVAL#") (all pages, bounded). */
  async listApprovalsForRun(runId: string): Promise<ApprovalRecord[]> {
    const items = await this.queryAll(keys.run(runId).pk, keys.runApprovalPrefix);
    return items.map((i) => ApprovalRecordSchema.parse(i));
  }

  // -------------------------------------------------------------------------------------------
  // API keys
  // -------------------------------------------------------------------------------------------

  /** PutItem APIKEY#<sha256>/APIKEY (the raw key is never stored). */
  async putApiKey(record: ApiKeyRecord): Promise<void> {
    const parsed = ApiKeyRecordSchema.parse(record);
    await this.put({ ...keys.apiKey(parsed.keyHash), ...parsed });
  }

  /** GetItem APIKEY#<sha256>/APIKEY. */
  async getApiKey(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const item = await this.get(keys.apiKey(keyHash));
    return item ? ApiKeyRecordSchema.parse(item) : undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Idempotency keys
  // -------------------------------------------------------------------------------------------

  /**
   * PutItem IDEM#<scope>#<key>/IDEM {runId, expiresAt} if attribute_not_exists(pk) OR expired;
   * a later caller gets the stored run id (consistent GetItem).
   */
  async claimIdempotencyKey(
    scope: string,
    key: string,
    runId: string,
    ttlSeconds: number,
    fingerprint?: string,
  ): Promise<{ first: boolean; runId: string; fingerprint?: string }> {
    const itemKey = keys.idempotency(scope, key);
    const claimed = await this.putIfAbsentOrExpired({
      ...itemKey,
      runId,
      ...(fingerprint === undefined ? {} : { fingerprint }),
      expiresAt: this.expiry(ttlSeconds),
    });
    if (claimed) return { first: true, runId, ...(fingerprint === undefined ? {} : { fingerprint }) };
    const existing = await this.get(itemKey);
    if (typeof existing?.runId !== 'string') {
      throw new FactoryError('IdempotencyConflict', 'idempotency key is held but unreadable; retry');
    }
    return {
      first: false,
      runId: existing.runId,
      ...(typeof existing.fingerprint === 'string' ? { fingerprint: existing.fingerprint } : {}),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Conversations
  // -------------------------------------------------------------------------------------------

  /** PutItem CONV#<id>/META if attribute_not_exists(pk): written once, a retried start keeps it. */
  async putConversation(meta: ConversationMeta): Promise<void> {
    const parsed = ConversationMetaSchema.parse(meta);
    try {
      await this.put({ ...keys.conversation(parsed.conversationId), ...parsed }, 'attribute_not_exists(pk)');
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  /** PutItem CONV#<id>/TURN#<n> if attribute_not_exists(pk): first writer wins, others get it. */
  async putTurn(turn: ConversationTurn): Promise<{ first: boolean; existing?: ConversationTurn }> {
    const parsed = ConversationTurnSchema.parse(turn);
    const key = keys.turn(parsed.conversationId, parsed.turn);
    try {
      await this.put({ ...key, ...parsed }, 'attribute_not_exists(pk)');
      return { first: true };
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
    const existing = await this.get(key);
    return { first: false, existing: existing ? ConversationTurnSchema.parse(existing) : undefined };
  }

  /** UpdateItem CONV#<id>/TURN#<n> SET settled = true if the turn exists. */
  async markTurnSettled(conversationId: string, turn: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.turn(conversationId, turn),
          UpdateExpression: 'SET #settled = :true',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#settled': 'settled' },
          ExpressionAttributeValues: { ':true': true },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  /** GetItem CONV#<id>/TURN#<n>. */
  async getTurn(conversationId: string, turn: number): Promise<ConversationTurn | undefined> {
    const item = await this.get(keys.turn(conversationId, turn));
    return item ? ConversationTurnSchema.parse(item) : undefined;
  }

  /** Query pk=CONV#<id> (META sorts before TURN#), ascending, all pages (bounded): one request per page. */
  async getConversationWithTurns(
    conversationId: string,
  ): Promise<{ meta?: ConversationMeta; turns: ConversationTurn[] }> {
    const conversation = keys.conversation(conversationId);
    let meta: ConversationMeta | undefined;
    const turns: ConversationTurn[] = [];
    const items = await this.queryEvery({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': conversation.pk },
    });
    for (const item of items) {
      if (item.sk === conversation.sk) meta = ConversationMetaSchema.parse(item);
      else if (typeof item.sk === 'string' && item.sk.startsWith(keys.turnPrefix)) {
        turns.push(ConversationTurnSchema.parse(item));
      }
    }
    return { ...(meta ? { meta } : {}), turns };
  }

  // -------------------------------------------------------------------------------------------
  // Ledger
  // -------------------------------------------------------------------------------------------

  /**
   * 1. PutItem RUN#<id>/CALL#<conv>#<turn> if attribute_not_exists(pk) (a repeat is ignored);
   * 2. UpdateItem RUN#<id>/RUN if NOT contains(appliedCalls, "<conv>#<turn>"): SET ledger.* =
   *    ledger.* + the entry's counts, ADD the call key to appliedCalls; version is untouched.
   * Each step is idempotent on its own, so calling again after a crash between them is safe.
   */
  async recordLlmCall(entry: LedgerEntry): Promise<void> {
    const parsed = LedgerEntrySchema.parse(entry);
    try {
      await this.put(
        { ...keys.runLedger(parsed.runId, parsed.conversationId, parsed.turn), ...parsed },
        'attribute_not_exists(pk)',
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
    const expr = new Expression();
    const ledger = expr.name('ledger');
    const add = (field: string, amount: number) => {
      const path = `${ledger}.${expr.name(field)}`;
      return `${path} = ${path} + ${expr.value(amount)}`;
    };
    const applied = expr.name('appliedCalls');
    const callKey = `${parsed.conversationId}#${parsed.turn}`;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.run(parsed.runId),
          UpdateExpression: `SET ${[
            add('llmCalls', 1),
            add('inputTokens', parsed.inputTokens),
            add('outputTokens', parsed.outputTokens),
            add('cacheReadTokens', parsed.cacheReadTokens),
            add('cacheWriteTokens', parsed.cacheWriteTokens),
            add('costUsd', parsed.costUsd),
          ].join(', ')} ADD ${applied} ${expr.value(new Set([callKey]))}`,
          ConditionExpression: `attribute_exists(pk) AND NOT contains(${applied}, ${expr.value(callKey)})`,
          ...expr.attributes,
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      if (!(await this.get(keys.run(parsed.runId)))) throw new NotFoundError(`run ${parsed.runId}`);
      // Already applied: the totals count this call once.
    }
  }

  /** Query pk=RUN#<id> begins_with(sk, "CALL#") (all pages, bounded). */
  async listLedger(runId: string): Promise<LedgerEntry[]> {
    const items = await this.queryAll(keys.run(runId).pk, keys.runLedgerPrefix);
    return items.map((i) => LedgerEntrySchema.parse(i));
  }

  // -------------------------------------------------------------------------------------------
  // Budget: one item RUN#<id>/BUDGET, amounts in integer micro-dollars (see usdToMicros).
  // It keeps availableMicros = limit - reserved - spent up to date in every write, because a
  // condition expression cannot do arithmetic; `reservations` and `settled` are maps keyed by
  // reservation id, which make reserve and settle idempotent per id within single-item writes.
  // -------------------------------------------------------------------------------------------

  /**
   * UpdateItem RUN#<id>/BUDGET if the reservation id is new (neither in `reservations` nor in
   * `settled`) AND availableMicros >= amount: SET reservations.<id> = amount, reserved += amount,
   * available -= amount. When the condition fails, a consistent GetItem says why: no item yet →
   * create it with `limitUsd` (PutItem if attribute_not_exists(pk)) and retry; id already seen →
   * true (idempotent); not enough left → false (refused); otherwise the write raced, retry
   * (bounded; fail closed). The caller's limit applies: when the stored one differs (a repo's
   * monthly cap edited mid-month), limit and available are moved together first.
   */
  async reserveBudget(runId: string, reservationId: string, usd: number, limitUsd: number): Promise<boolean> {
    this.checkReservationId(reservationId);
    const amount = usdToMicros(usd);
    const limit = usdToMicros(limitUsd);
    const key = keys.runBudget(runId);
    for (let attempt = 0; attempt < 6; attempt++) {
      const expr = new Expression();
      const reservation = `${expr.name('reservations')}.${expr.name(reservationId)}`;
      const settled = `${expr.name('settled')}.${expr.name(reservationId)}`;
      const reserved = expr.name('reservedMicros');
      const available = expr.name('availableMicros');
      const amountValue = expr.value(amount);
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: key,
            UpdateExpression: `SET ${reservation} = ${amountValue}, ${reserved} = ${reserved} + ${amountValue}, ${available} = ${available} - ${amountValue}`,
            // The stored limit must be the caller's: a changed cap is applied first (below).
            ConditionExpression: `attribute_exists(pk) AND ${expr.name('limitMicros')} = ${expr.value(limit)} AND attribute_not_exists(${reservation}) AND attribute_not_exists(${settled}) AND ${available} >= ${amountValue}`,
            ...expr.attributes,
          }),
        );
        return true;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
      const budget = await this.getBudgetItem(runId);
      if (!budget) {
        const initial: BudgetItem = {
          limitMicros: limit,
          reservedMicros: 0,
          spentMicros: 0,
          availableMicros: limit,
          reservations: {},
          settled: {},
        };
        try {
          await this.put({ ...key, ...initial }, 'attribute_not_exists(pk)');
        } catch (error) {
          if (!isConditionFailed(error)) throw error;
        }
        continue;
      }
      if (reservationId in budget.reservations || reservationId in budget.settled) return true;
      // The limit was changed (a repo's monthly cap edited mid-month): the account follows it.
      if (budget.limitMicros !== limit) {
        await this.changeBudgetLimit(runId, budget.limitMicros, limit);
        continue;
      }
      // Enough left now: the write raced with the item's creation or a settlement; try again.
      if (budget.availableMicros < amount) return false;
    }
    return false;
  }

  /** UpdateItem RUN#<id>/BUDGET: limit and available move together, if the limit is still `from`. */
  private async changeBudgetLimit(runId: string, from: number, to: number): Promise<void> {
    const expr = new Expression();
    const limit = expr.name('limitMicros');
    const available = expr.name('availableMicros');
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.runBudget(runId),
          UpdateExpression: `SET ${limit} = ${expr.value(to)}, ${available} = ${available} + ${expr.value(to - from)}`,
          ConditionExpression: `${limit} = ${expr.value(from)}`,
          ...expr.attributes,
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  /**
   * Consistent GetItem RUN#<id>/BUDGET, then UpdateItem if reservations.<id> = the amount read
   * AND attribute_not_exists(settled.<id>): REMOVE the reservation, SET settled.<id> = actual,
   * reserved -= amount, spent += actual, available += amount - actual. Settling an id twice is a
   * no-op; settling an id that was never reserved records the spend (and 0 without a budget is a
   * no-op). A lost race re-reads (bounded).
   */
  async settleBudget(runId: string, reservationId: string, actualUsd: number): Promise<void> {
    this.checkReservationId(reservationId);
    const actual = usdToMicros(actualUsd);
    for (let attempt = 0; attempt < 8; attempt++) {
      const budget = await this.getBudgetItem(runId);
      if (!budget) {
        if (actual === 0) return;
        throw new NotFoundError(`budget of run ${runId}`);
      }
      if (reservationId in budget.settled) return;
      const held = budget.reservations[reservationId];
      const expr = new Expression();
      const reservation = `${expr.name('reservations')}.${expr.name(reservationId)}`;
      const settled = `${expr.name('settled')}.${expr.name(reservationId)}`;
      const spent = expr.name('spentMicros');
      const available = expr.name('availableMicros');
      const actualValue = expr.value(actual);
      const recordSpend = `${settled} = ${actualValue}, ${spent} = ${spent} + ${actualValue}`;
      let input: { UpdateExpression: string; ConditionExpression: string };
      if (held === undefined) {
        input = {
          UpdateExpression: `SET ${recordSpend}, ${available} = ${available} - ${actualValue}`,
          ConditionExpression: `attribute_not_exists(${reservation}) AND attribute_not_exists(${settled})`,
        };
      } else {
        const reserved = expr.name('reservedMicros');
        const heldValue = expr.value(held);
        input = {
          UpdateExpression: `SET ${recordSpend}, ${reserved} = ${reserved} - ${heldValue}, ${available} = ${available} + ${expr.value(held - actual)} REMOVE ${reservation}`,
          ConditionExpression: `${reservation} = ${heldValue} AND attribute_not_exists(${settled})`,
        };
      }
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.runBudget(runId),
            ...input,
            ...expr.attributes,
          }),
        );
        return;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
    }
    throw new FactoryError('BudgetContention', `could not settle reservation on run ${runId}; retry`);
  }

  /** UpdateItem RUN#<id>/BUDGET REMOVE settled.<id> if present (a no-op otherwise). */
  async forgetSettlement(runId: string, reservationId: string): Promise<void> {
    this.checkReservationId(reservationId);
    const expr = new Expression();
    const settled = `${expr.name('settled')}.${expr.name(reservationId)}`;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.runBudget(runId),
          UpdateExpression: `REMOVE ${settled}`,
          ConditionExpression: `attribute_exists(${settled})`,
          ...expr.attributes,
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  /** GetItem RUN#<id>/BUDGET, converted to USD. */
  async getBudget(
    runId: string,
  ): Promise<{ limitUsd: number; reservedUsd: number; spentUsd: number } | undefined> {
    const budget = await this.getBudgetItem(runId);
    if (!budget) return undefined;
    return {
      limitUsd: microsToUsd(budget.limitMicros),
      reservedUsd: microsToUsd(budget.reservedMicros),
      spentUsd: microsToUsd(budget.spentMicros),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Workspace overlay
  // -------------------------------------------------------------------------------------------

  /**
   * PutItem WS#<runId>/FILE#<path> (overwrites: the latest write is the file). Content is capped
   * at MAX_WORKSPACE_FILE_BYTES (256 KiB of UTF-8) so the item stays well under 400 KB.
   */
  async putWorkspaceFile(runId: string, file: WorkspaceFile): Promise<void> {
    const parsed = WorkspaceFileSchema.parse(file);
    if (parsed.path.length > 1024) throw new ValidationError('workspace path longer than 1024 characters');
    if (
      parsed.content !== undefined &&
      Buffer.byteLength(parsed.content, 'utf8') > MAX_WORKSPACE_FILE_BYTES
    ) {
      throw new ValidationError(`${parsed.path}: file larger than ${MAX_WORKSPACE_FILE_BYTES} bytes`);
    }
    if (parsed.deleted && parsed.content !== undefined) {
      throw new ValidationError(`${parsed.path}: a deletion has no content`);
    }
    await this.put({ ...keys.workspaceFile(runId, parsed.path), ...parsed });
  }

  /** GetItem WS#<runId>/FILE#<path>. */
  async getWorkspaceFile(runId: string, path: string): Promise<WorkspaceFile | undefined> {
    const item = await this.get(keys.workspaceFile(runId, path));
    return item ? WorkspaceFileSchema.parse(item) : undefined;
  }

  /** Query pk=WS#<runId> begins_with(sk, "FILE#") (all pages, bounded), in path order. */
  async listWorkspaceFiles(runId: string): Promise<WorkspaceFile[]> {
    const items = await this.queryAll(keys.workspaceFile(runId, '').pk, keys.workspaceFilePrefix);
    return items.map((i) => WorkspaceFileSchema.parse(i));
  }

  // -------------------------------------------------------------------------------------------
  // Cache
  // -------------------------------------------------------------------------------------------

  /** GetItem CACHE#<key>/CACHE; an expired entry reads as absent. */
  async cacheGet(key: string): Promise<string | undefined> {
    const item = await this.get(keys.cache(key));
    if (!item || !this.isLive(item) || typeof item.value !== 'string') return undefined;
    return item.value;
  }

  /** PutItem CACHE#<key>/CACHE {value, expiresAt = now + ttlSeconds} (overwrites). */
  async cachePut(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.put({ ...keys.cache(key), value, expiresAt: this.expiry(ttlSeconds) });
  }

  // -------------------------------------------------------------------------------------------
  // Helpers
  // -------------------------------------------------------------------------------------------

  private nowSeconds(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  private isoNow(): string {
    return new Date(this.clock.now()).toISOString();
  }

  private expiry(ttlSeconds: number): number {
    if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0)
      throw new ValidationError('ttlSeconds must be positive');
    return this.nowSeconds() + Math.ceil(ttlSeconds);
  }

  /** Live = no TTL, or a TTL still in the future. */
  private isLive(item: Item): boolean {
    const expiresAt = item[TABLE_KEYS.ttlAttribute];
    return typeof expiresAt !== 'number' || expiresAt > this.nowSeconds();
  }

  private checkLimit(limit: number): number {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
      throw new ValidationError(`page limit must be an integer from 1 to ${MAX_PAGE_LIMIT}`);
    }
    return limit;
  }

  private checkReservationId(reservationId: string): void {
    if (reservationId.length === 0 || reservationId.length > 200) {
      throw new ValidationError('reservation id must have 1 to 200 characters');
    }
  }

  private async getBudgetItem(runId: string): Promise<BudgetItem | undefined> {
    const item = await this.get(keys.runBudget(runId));
    return item ? BudgetItemSchema.parse(item) : undefined;
  }

  private async get(key: { pk: string; sk: string }): Promise<Item | undefined> {
    const result = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }),
    );
    return result.Item;
  }

  private async put(item: Item, condition?: string): Promise<void> {
    if (JSON.stringify(item).length > MAX_ITEM_BYTES) {
      throw new ValidationError(
        `item ${String(item.pk)} ${String(item.sk)} is larger than ${MAX_ITEM_BYTES} bytes`,
      );
    }
    await this.doc.send(
      new PutCommand({ TableName: this.table, Item: item, ConditionExpression: condition }),
    );
  }

  /** PutItem LEASE#<key> if absent, expired, or already held by `owner`: one conditional write. */
  async claimLease(key: string, owner: string, ttlSeconds: number): Promise<boolean> {
    const expr = new Expression();
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.lease(key), owner, expiresAt: this.expiry(ttlSeconds) },
          ConditionExpression: `attribute_not_exists(pk) OR ${expr.name(TABLE_KEYS.ttlAttribute)} <= ${expr.value(this.nowSeconds())} OR ${expr.name('owner')} = ${expr.value(owner)}`,
          ...expr.attributes,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /** DeleteItem LEASE#<key> if owner = the given owner. */
  async releaseLease(key: string, owner: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: keys.lease(key),
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  /** One conditional put: true when this call created the item (or replaced an expired one). */
  private async putIfAbsentOrExpired(item: Item): Promise<boolean> {
    const expr = new Expression();
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: `attribute_not_exists(pk) OR ${expr.name(TABLE_KEYS.ttlAttribute)} <= ${expr.value(this.nowSeconds())}`,
          ...expr.attributes,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /** UpdateItem SET of plain fields if attribute_exists(pk); NotFoundError otherwise. */
  private async updateFields(key: { pk: string; sk: string }, fields: Item, what: string): Promise<void> {
    const expr = new Expression();
    const sets = Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([field, value]) => `${expr.name(field)} = ${expr.value(value)}`);
    if (sets.length === 0) return;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_exists(pk)',
          ...expr.attributes,
        }),
      );
    } catch (error) {
      if (isConditionFailed(error)) throw new NotFoundError(what);
      throw error;
    }
  }

  private async queryRunIndex(gsiIndex: 0 | 1, partition: string, page: PageRequest): Promise<Page<Run>> {
    const gsi = TABLE_KEYS.gsi[gsiIndex];
    const result = await this.queryPage(
      {
        IndexName: gsi.indexName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': gsi.partitionKey },
        ExpressionAttributeValues: { ':pk': partition },
        ScanIndexForward: false,
      },
      page,
      { [gsi.partitionKey]: partition },
    );
    return { items: result.items.map((i) => Run.parse(i)), cursor: result.cursor };
  }

  /** One Query page; `partition` pins the cursor to this query's partition. */
  private async queryPage(
    input: Omit<QueryCommandInput, 'TableName' | 'Limit' | 'ExclusiveStartKey'>,
    page: PageRequest,
    partition: Record<string, string>,
  ): Promise<{ items: Item[]; cursor?: string }> {
    const result = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        ...input,
        ConsistentRead: input.IndexName === undefined,
        Limit: this.checkLimit(page.limit),
        ExclusiveStartKey: this.decodeCursor(page.cursor, partition),
      }),
    );
    return { items: result.Items ?? [], cursor: this.encodeCursor(result.LastEvaluatedKey) };
  }

  /** Every item of pk with an sk prefix, ascending, following at most MAX_PAGES pages. */
  private queryAll(pk: string, skPrefix: string): Promise<Item[]> {
    return this.queryEvery({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': pk, ':prefix': skPrefix },
    });
  }

  /** Every item a consistent Query returns, ascending, following at most MAX_PAGES pages. */
  private async queryEvery(
    query: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey' | 'ConsistentRead'>,
  ): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    for (let pageNumber = 0; pageNumber < MAX_PAGES; pageNumber++) {
      const result = await this.doc.send(
        new QueryCommand({
          ...query,
          TableName: this.table,
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(result.Items ?? []));
      startKey = result.LastEvaluatedKey;
      if (!startKey) return items;
    }
    const pk = query.ExpressionAttributeValues?.[':pk'];
    throw new FactoryError('TooManyItems', `${String(pk)}: more than ${MAX_PAGES} pages`);
  }

  private keyOf(item: Item, extra: string[]): Item {
    return Object.fromEntries(
      [TABLE_KEYS.partitionKey, TABLE_KEYS.sortKey, ...extra].map((name) => [name, item[name]]),
    );
  }

  /** Opaque cursor: base64url of the LastEvaluatedKey's JSON (the API layer signs it). */
  private encodeCursor(lastKey: Item | undefined): string | undefined {
    return lastKey ? Buffer.from(JSON.stringify(lastKey), 'utf8').toString('base64url') : undefined;
  }

  /**
   * Rejects anything that is not a key we could have issued for this very query: only key
   * attribute names, string values, and the query's own partition.
   */
  private decodeCursor(cursor: string | undefined, partition: Record<string, string>): Item | undefined {
    if (cursor === undefined) return undefined;
    const malformed = () => new ValidationError('malformed page cursor', ['cursor: malformed']);
    if (cursor.length === 0 || cursor.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
      throw malformed();
    }
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    } catch {
      throw malformed();
    }
    if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) throw malformed();
    const allowed = new Set<string>([
      TABLE_KEYS.partitionKey,
      TABLE_KEYS.sortKey,
      ...TABLE_KEYS.gsi.flatMap((g) => [g.partitionKey, g.sortKey]),
    ]);
    const entries = Object.entries(decoded as Record<string, unknown>);
    if (entries.length === 0) throw malformed();
    for (const [name, value] of entries) {
      if (!allowed.has(name) || typeof value !== 'string' || value.length === 0) throw malformed();
    }
    for (const [name, value] of Object.entries(partition)) {
      if ((decoded as Record<string, unknown>)[name] !== value) throw malformed();
    }
    return decoded as Item;
  }
}
