import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type * as z from 'zod';
import { Run, type RunStatus, WorkItem } from '../domain/run';
import { AlreadyExistsError, NotFoundError, ValidationError, VersionConflictError } from '../errors';
import { keys, TABLE_KEYS } from './keys';
import {
  checkLimit,
  conditional,
  decodeCursor,
  Expression,
  encodeCursor,
  type Item,
  keyOf,
  type Page,
  type PageRequest,
  type Table,
} from './table';

/**
 * Runs and the WorkItems they work on (an issue, or a free-text task). The Run and WorkItem
 * schemas live in domain/run.ts: the pipeline reasons about them beyond storage.
 */
export interface RunStore {
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
  listRunsByRepo(repo: string, page: PageRequest): Promise<Page<Run>>;
  listRunsByStatus(status: RunStatus, page: PageRequest): Promise<Page<Run>>;
  /**
   * Runs of every repository created in the last RECENT_MONTHS calendar months (UTC), newest
   * first: what an API key without a filter sees (it keeps the runs of its own repositories).
   */
  listRecentRuns(page: PageRequest): Promise<Page<Run>>;
}

/** The current calendar month and the ones before it that "recent" covers. */
export const RECENT_MONTHS = 3;

/** yyyy-mm of the month `back` months before the one of `nowMs` (UTC). */
export function monthBefore(nowMs: number, back: number): string {
  const now = new Date(nowMs);
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1)).toISOString().slice(0, 7);
}

/** Run fields the store owns or that identify the run: never patched through updateRun. */
const IMMUTABLE_RUN_FIELDS = new Set(['runId', 'repo', 'kind', 'workItemKey']);
/** `ledger` is added to only by recordLlmCall (without bumping version); `version` by updateRun. */
const STORE_OWNED_RUN_FIELDS = new Set(['ledger', 'version']);

/**
 * An updateRun patch checked field by field against the Run schema, in the patch's order:
 * `undefined` removes an optional field, `version` is skipped (the store sets it), and the run's
 * identity and `ledger` are refused with a ValidationError.
 */
export function checkRunPatch(patch: Partial<Run>): Array<[field: string, value: unknown]> {
  const checked: Array<[string, unknown]> = [];
  for (const [field, value] of Object.entries(patch)) {
    if (field === 'version') continue;
    if (IMMUTABLE_RUN_FIELDS.has(field) || STORE_OWNED_RUN_FIELDS.has(field)) {
      throw new ValidationError(`run field ${field} cannot be changed by updateRun`);
    }
    const schema = (Run.shape as Record<string, z.ZodType | undefined>)[field];
    if (!schema) throw new ValidationError(`unknown run field ${field}`);
    const parsed = schema.safeParse(value);
    if (!parsed.success && value === undefined) throw new ValidationError(`run field ${field} is required`);
    if (!parsed.success) {
      throw new ValidationError(
        `invalid run field ${field}`,
        parsed.error.issues.map((i) => `${[field, ...i.path].join('.')}: ${i.message}`),
      );
    }
    checked.push([field, value === undefined ? undefined : parsed.data]);
  }
  return checked;
}

export function dynamoRuns(t: Table): RunStore {
  const queryRunIndex = async (
    gsiIndex: 0 | 1 | 3,
    partition: string,
    page: PageRequest,
  ): Promise<Page<Run>> => {
    const gsi = TABLE_KEYS.gsi[gsiIndex];
    const result = await t.queryPage(
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
  };

  return {
    /** PutItem WI#<key>/WI (overwrites: the WorkItem is a pointer record), projected into GSI3. */
    async putWorkItem(item) {
      const parsed = WorkItem.parse(item);
      await t.put({ ...keys.workItem(parsed.key), ...keys.workItemInGsi3(parsed.key), ...parsed });
    },

    /** GetItem WI#<key>/WI. */
    async getWorkItem(key) {
      const item = await t.get(keys.workItem(key));
      return item ? WorkItem.parse(item) : undefined;
    },

    /**
     * Query GSI3 gsi3pk=WI#<key>, newest first. The WorkItem (gsi3sk "WI") sorts after its runs
     * ("RUN#<ulid>"), so it is the first item of the first page; that page asks for one more item.
     */
    async getWorkItemWithRuns(key, page) {
      const gsi = TABLE_KEYS.gsi[2];
      const partition = keys.workItemInGsi3(key).gsi3pk;
      const limit = checkLimit(page.limit);
      const firstPage = page.cursor === undefined;
      const result = await t.doc.send(
        new QueryCommand({
          TableName: t.name,
          IndexName: gsi.indexName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': gsi.partitionKey },
          ExpressionAttributeValues: { ':pk': partition },
          ScanIndexForward: false,
          Limit: firstPage ? limit + 1 : limit,
          ExclusiveStartKey: decodeCursor(page.cursor, { [gsi.partitionKey]: partition }),
        }),
      );
      let workItem: WorkItem | undefined;
      const runItems: Item[] = [];
      for (const item of result.Items ?? []) {
        if (item[gsi.sortKey] === keys.workItemInGsi3(key).gsi3sk) workItem = WorkItem.parse(item);
        else runItems.push(item);
      }
      // No WorkItem item on the first page: the extra item is a run beyond the limit.
      const beyond = runItems.length > limit;
      if (beyond) runItems.length = limit;
      const lastKey = beyond
        ? keyOf(runItems[limit - 1] as Item, [gsi.partitionKey, gsi.sortKey])
        : result.LastEvaluatedKey;
      return { workItem, runs: { items: runItems.map((i) => Run.parse(i)), cursor: encodeCursor(lastKey) } };
    },

    /**
     * PutItem RUN#<id>/RUN if attribute_not_exists(pk), with the GSI projections runs by repo
     * (gsi1), by status (gsi2), by WorkItem (gsi3) and by month (gsi4). Throws AlreadyExistsError
     * on a duplicate id.
     */
    async createRun(run) {
      const parsed = Run.parse(run);
      const item = {
        ...keys.run(parsed.runId),
        ...keys.runByRepo(parsed.repo, parsed.runId),
        ...keys.runByStatus(parsed.status, parsed.runId),
        ...keys.runByWorkItem(parsed.workItemKey, parsed.runId),
        ...keys.runByMonth(parsed.createdAt, parsed.runId),
        ...parsed,
      };
      if (!(await conditional(t.put(item, 'attribute_not_exists(pk)')))) {
        throw new AlreadyExistsError(`run ${parsed.runId}`);
      }
    },

    /** GetItem RUN#<id>/RUN (consistent). */
    async getRun(runId) {
      const item = await t.get(keys.run(runId));
      return item ? Run.parse(item) : undefined;
    },

    /**
     * UpdateItem RUN#<id>/RUN if version = expectedVersion: SETs each patched field (an `undefined`
     * value REMOVEs an optional field), version + 1, updatedAt (the patch's or now), and gsi2pk
     * when the status changes; ReturnValues ALL_NEW (see checkRunPatch for what a patch may hold).
     * Throws VersionConflictError on a lost race, NotFoundError when the run does not exist.
     */
    async updateRun(runId, expectedVersion, patch) {
      const expr = new Expression();
      const sets: string[] = [];
      const removes: string[] = [];
      for (const [field, value] of checkRunPatch(patch)) {
        if (value === undefined) removes.push(expr.name(field));
        else sets.push(`${expr.name(field)} = ${expr.value(value)}`);
      }
      if (patch.updatedAt === undefined) {
        sets.push(`${expr.name('updatedAt')} = ${expr.value(t.isoNow())}`);
      }
      if (patch.status !== undefined) {
        sets.push(`${expr.name('gsi2pk')} = ${expr.value(keys.runByStatus(patch.status, runId).gsi2pk)}`);
      }
      const version = expr.name('version');
      sets.push(`${version} = ${expr.value(expectedVersion + 1)}`);
      const update = `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`;
      const result = await conditional(
        t.update({
          Key: keys.run(runId),
          UpdateExpression: update,
          ConditionExpression: `attribute_exists(pk) AND ${version} = ${expr.value(expectedVersion)}`,
          ...expr.attributes,
          ReturnValues: 'ALL_NEW',
        }),
      );
      if (result) return Run.parse(result.Attributes);
      if (!(await t.get(keys.run(runId)))) throw new NotFoundError(`run ${runId}`);
      throw new VersionConflictError(runId, expectedVersion);
    },

    /** Query GSI1 gsi1pk=REPO#<owner/repo>, newest first (gsi1sk RUN#<ulid>). */
    async listRunsByRepo(repo, page) {
      return queryRunIndex(0, keys.runByRepo(repo, '').gsi1pk, page);
    },

    /** Query GSI2 gsi2pk=STATUS#<status>, newest first (gsi2sk RUN#<ulid>). */
    async listRunsByStatus(status, page) {
      return queryRunIndex(1, keys.runByStatus(status, '').gsi2pk, page);
    },

    /**
     * Query GSI4 gsi4pk=MONTH#<yyyy-mm>, newest first, this month and then the earlier recent
     * ones while the page has room: at most RECENT_MONTHS Queries. The cursor is
     * "<yyyy-mm>.<that month's cursor>", the month a next page starts in (an empty inner cursor:
     * from its newest run); a month outside the recent window is refused like any bad cursor.
     */
    async listRecentRuns(page) {
      const limit = checkLimit(page.limit);
      const months = Array.from({ length: RECENT_MONTHS }, (_, back) => monthBefore(t.nowMs(), back));
      let start = 0;
      let inner: string | undefined;
      if (page.cursor !== undefined) {
        const match = /^(\d{4}-\d{2})\.([A-Za-z0-9_-]*)$/.exec(page.cursor);
        start = match ? months.indexOf(match[1] as string) : -1;
        if (start < 0) throw new ValidationError('malformed page cursor', ['cursor: malformed']);
        inner = match?.[2] || undefined;
      }
      const items: Run[] = [];
      for (let index = start; index < months.length; index++) {
        const month = months[index] as string;
        const result = await queryRunIndex(3, keys.runByMonth(month, '').gsi4pk, {
          limit: limit - items.length,
          ...(inner === undefined ? {} : { cursor: inner }),
        });
        inner = undefined;
        items.push(...result.items);
        if (result.cursor !== undefined) return { items, cursor: `${month}.${result.cursor}` };
        const older = months[index + 1];
        if (items.length >= limit) return { items, ...(older ? { cursor: `${older}.` } : {}) };
      }
      return { items };
    },
  };
}
