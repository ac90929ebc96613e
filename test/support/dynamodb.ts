import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock, Store } from '../../functions/shared/ports';
import { createDocumentClient, createDynamoStore } from '../../functions/shared/store/dynamo-store';
import {
  type DynamoEmulator,
  ensureTable,
  FAKE_CREDENTIALS,
  LOCAL_REGION,
  startDynamo,
} from '../../local/emulators/dynamodb';

/** A clock tests can move; starts at a fixed instant. */
export class TestClock implements Clock {
  constructor(private current = Date.parse('2025-01-01T00:00:00Z')) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

export interface TestDynamo {
  emulator: DynamoEmulator;
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  tableName: string;
  clock: TestClock;
  store: Store;
  close(): Promise<void>;
}

export function localClient(endpoint: string): DynamoDBClient {
  // Endpoint passed explicitly: tests never depend on AWS_* variables or a real account.
  return new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: FAKE_CREDENTIALS,
    maxAttempts: 2,
  });
}

/** In-memory dynalite (or on disk with dataDir) + the table + the DynamoDB store over the real SDK. */
export async function startTestDynamo(
  options: { dataDir?: string; tableName?: string; clock?: TestClock } = {},
): Promise<TestDynamo> {
  const emulator = await startDynamo({ dataDir: options.dataDir });
  const tableName = options.tableName ?? 'code-factory-test';
  await ensureTable(emulator.endpoint, tableName);
  const client = localClient(emulator.endpoint);
  const doc = createDocumentClient(client);
  const clock = options.clock ?? new TestClock();
  const store = createDynamoStore({ doc, tableName, clock });
  return {
    emulator,
    client,
    doc,
    tableName,
    clock,
    store,
    async close() {
      client.destroy();
      await emulator.close();
    },
  };
}
