import type { Store } from '../ports';
import { dynamoApiKeys } from './api-keys';
import { dynamoApprovals } from './approvals';
import { dynamoAsks } from './asks';
import { dynamoBudget } from './budget';
import { dynamoCache } from './cache';
import { dynamoClaims } from './claims';
import { dynamoConversations } from './conversations';
import { dynamoDeliveries } from './deliveries';
import { dynamoEvents } from './events';
import { dynamoLedger } from './ledger';
import { dynamoRunViews } from './run-views';
import { dynamoRuns } from './runs';
import { Table, type TableOptions } from './table';
import { dynamoWaits } from './waits';
import { dynamoWorkspace } from './workspace';

export { createDocumentClient } from './table';
export type DynamoStoreOptions = TableOptions;

/** The whole Store port over one table (store/keys.ts): every slice over the same Table. */
export function createDynamoStore(options: DynamoStoreOptions): Store {
  const table = new Table(options.doc, options.tableName, options.clock);
  return {
    ...dynamoRuns(table),
    ...dynamoRunViews(table),
    ...dynamoEvents(table),
    ...dynamoDeliveries(table),
    ...dynamoWaits(table),
    ...dynamoApprovals(table),
    ...dynamoApiKeys(table),
    ...dynamoClaims(table),
    ...dynamoConversations(table),
    ...dynamoLedger(table),
    ...dynamoBudget(table),
    ...dynamoWorkspace(table),
    ...dynamoCache(table),
    ...dynamoAsks(table),
  };
}
