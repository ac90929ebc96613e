import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DeleteCommandInput,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { FactoryError, NotFoundError, ValidationError } from '../errors';
import type { Clock } from '../ports';
import { type Key, TABLE_KEYS } from './keys';

/**
 * What every store slice works over: the document client, the table and the clock, with the
 * few requests and checks they share. Rules for all slices: every idempotency decision is ONE
 * conditional write (no TransactWriteItems, no read-then-write decisions; a read after a failed
 * condition only explains the outcome); TTL items carry `expiresAt` (epoch seconds) and are
 * filtered on read, because TTL deletion is lazy (and never happens in dynalite); items read back
 * are parsed with zod, whose z.object strips the key attributes.
 */

export interface Page<T> {
  items: T[];
  /** Opaque to callers above the store; the API signs it before handing it out. */
  cursor?: string;
}
export interface PageRequest {
  limit: number;
  cursor?: string;
}

export type Item = Record<string, unknown>;

/** Largest item the store writes (JSON estimate); DynamoDB refuses items over 400 KB. */
export const MAX_ITEM_BYTES = 350 * 1024;
export const MAX_PAGE_LIMIT = 1000;
/** Bound on the pages a "read everything" query follows (turns, files, approvals, ledger). */
const MAX_PAGES = 200;
const MAX_CURSOR_CHARS = 2048;

export interface TableOptions {
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

/** Awaits a conditional write: its output, or undefined when its condition failed (nothing written). */
export async function conditional<T extends object>(write: Promise<T>): Promise<T | undefined> {
  try {
    return await write;
  } catch (error) {
    if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return undefined;
    throw error;
  }
}

/** Builds expression attribute names/values with generated placeholders (every word is safe). */
export class Expression {
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

export class Table {
  constructor(
    readonly doc: DynamoDBDocumentClient,
    readonly name: string,
    private readonly clock: Clock,
  ) {}

  nowMs(): number {
    return this.clock.now();
  }

  nowSeconds(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  isoNow(): string {
    return new Date(this.clock.now()).toISOString();
  }

  expiry(ttlSeconds: number): number {
    return expiryOf(this.nowSeconds(), ttlSeconds);
  }

  /** Live = no TTL, or a TTL still in the future. */
  isLive(item: Item): boolean {
    const expiresAt = item[TABLE_KEYS.ttlAttribute];
    return typeof expiresAt !== 'number' || expiresAt > this.nowSeconds();
  }

  /** Consistent GetItem. */
  async get(key: Key): Promise<Item | undefined> {
    const result = await this.doc.send(
      new GetCommand({ TableName: this.name, Key: key, ConsistentRead: true }),
    );
    return result.Item;
  }

  /** PutItem, refused above MAX_ITEM_BYTES; `condition` may use the placeholders of `expr`. */
  async put(item: Item, condition?: string, expr?: Expression) {
    if (JSON.stringify(item).length > MAX_ITEM_BYTES) {
      throw new ValidationError(
        `item ${String(item.pk)} ${String(item.sk)} is larger than ${MAX_ITEM_BYTES} bytes`,
      );
    }
    return this.doc.send(
      new PutCommand({
        TableName: this.name,
        Item: item,
        ConditionExpression: condition,
        ...expr?.attributes,
      }),
    );
  }

  update(input: Omit<UpdateCommandInput, 'TableName'>) {
    return this.doc.send(new UpdateCommand({ TableName: this.name, ...input }));
  }

  delete(input: Omit<DeleteCommandInput, 'TableName'>) {
    return this.doc.send(new DeleteCommand({ TableName: this.name, ...input }));
  }

  /** One conditional put: true when this call created the item (or replaced an expired one). */
  async putIfAbsentOrExpired(item: Item): Promise<boolean> {
    const expr = new Expression();
    const expired = `${expr.name(TABLE_KEYS.ttlAttribute)} <= ${expr.value(this.nowSeconds())}`;
    return Boolean(await conditional(this.put(item, `attribute_not_exists(pk) OR ${expired}`, expr)));
  }

  /** UpdateItem SET of plain fields if attribute_exists(pk); NotFoundError otherwise. */
  async updateFields(key: Key, fields: Item, what: string): Promise<void> {
    const expr = new Expression();
    const sets = Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([field, value]) => `${expr.name(field)} = ${expr.value(value)}`);
    if (sets.length === 0) return;
    const updated = await conditional(
      this.update({
        Key: key,
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_exists(pk)',
        ...expr.attributes,
      }),
    );
    if (!updated) throw new NotFoundError(what);
  }

  /** One Query page; `partition` pins the cursor to this query's partition. */
  async queryPage(
    input: Omit<QueryCommandInput, 'TableName' | 'Limit' | 'ExclusiveStartKey'>,
    page: PageRequest,
    partition: Record<string, string>,
  ): Promise<{ items: Item[]; cursor?: string }> {
    const result = await this.doc.send(
      new QueryCommand({
        TableName: this.name,
        ...input,
        ConsistentRead: input.IndexName === undefined,
        Limit: checkLimit(page.limit),
        ExclusiveStartKey: decodeCursor(page.cursor, partition),
      }),
    );
    return { items: result.Items ?? [], cursor: encodeCursor(result.LastEvaluatedKey) };
  }

  /** Every item of pk with an sk prefix, ascending, following at most MAX_PAGES pages. */
  queryAll(pk: string, skPrefix: string): Promise<Item[]> {
    return this.queryEvery({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': pk, ':prefix': skPrefix },
    });
  }

  /** Every item a consistent Query returns, ascending, following at most MAX_PAGES pages. */
  async queryEvery(
    query: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey' | 'ConsistentRead'>,
  ): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    for (let pageNumber = 0; pageNumber < MAX_PAGES; pageNumber++) {
      const result = await this.doc.send(
        new QueryCommand({
          ...query,
          TableName: this.name,
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
}

/** The `expiresAt` (epoch seconds) of an item that lives `ttlSeconds` from `nowSeconds`. */
export function expiryOf(nowSeconds: number, ttlSeconds: number): number {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0)
    throw new ValidationError('ttlSeconds must be positive');
  return nowSeconds + Math.ceil(ttlSeconds);
}

export function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new ValidationError(`page limit must be an integer from 1 to ${MAX_PAGE_LIMIT}`);
  }
  return limit;
}

/** The table key of an item (pk, sk and the named index attributes): what a cursor holds. */
export function keyOf(item: Item, extra: string[]): Item {
  return Object.fromEntries(
    [TABLE_KEYS.partitionKey, TABLE_KEYS.sortKey, ...extra].map((name) => [name, item[name]]),
  );
}

/** Opaque cursor: base64url of the LastEvaluatedKey's JSON (the API layer signs it). */
export function encodeCursor(lastKey: Item | undefined): string | undefined {
  return lastKey ? Buffer.from(JSON.stringify(lastKey), 'utf8').toString('base64url') : undefined;
}

/**
 * Rejects anything that is not a key we could have issued for this very query: only key
 * attribute names, string values, and the query's own partition.
 */
export function decodeCursor(
  cursor: string | undefined,
  partition: Record<string, string>,
): Item | undefined {
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
