import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { tableDefinition } from '../../functions/shared/store/schema';
import { type Loopback, listenOnLoopback } from './loopback';

/** dynalite ships no types; this is the part of its factory we use. */
type Dynalite = (options: {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
  maxItemSizeKb?: number;
}) => Server;
const dynalite = createRequire(import.meta.url)('dynalite') as Dynalite;

export type DynamoEmulator = Loopback;

/** Credentials dynalite accepts (it checks none); never real ones. */
export const FAKE_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const LOCAL_REGION = 'us-east-1';

/**
 * Starts dynalite on 127.0.0.1 (port 0 = OS-chosen): in memory, or on disk in `dataDir` (LevelDB;
 * data survives a restart with the same dir). Its artificial table-state delays are switched off.
 */
export async function startDynamo(
  options: { dataDir?: string; port?: number } = {},
): Promise<DynamoEmulator> {
  const server = dynalite({
    ...(options.dataDir ? { path: options.dataDir } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  // Its close waits for open sockets and then closes LevelDB (releasing its lock).
  return listenOnLoopback(server, options.port);
}

/**
 * A table kept in a --data-dir from an older version may lack an index added since; dynalite
 * cannot add one to an existing table (it accepts UpdateTable's Create and ignores it), so say so
 * at start rather than fail on the first query that needs it.
 */
function checkIndexes(tableName: string, existing: Array<{ IndexName?: string }> = []): void {
  const have = new Set(existing.map((index) => index.IndexName));
  const missing = (tableDefinition(tableName).GlobalSecondaryIndexes ?? [])
    .map((index) => index.IndexName)
    .filter((name) => !have.has(name));
  if (missing.length > 0) {
    throw new Error(
      `table ${tableName} lacks index ${missing.join(', ')} (it predates them); the local emulator cannot add an index: start with a new --data-dir, or delete its dynamodb folder`,
    );
  }
}

/** Creates the Code Factory table from schema.ts unless it exists (idempotent), and waits for ACTIVE. */
export async function ensureTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: FAKE_CREDENTIALS });
  try {
    try {
      await client.send(new CreateTableCommand(tableDefinition(tableName)));
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ResourceInUseException')) throw error;
    }
    for (let attempt = 0; attempt < 100; attempt++) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      if (Table?.TableStatus === 'ACTIVE') return checkIndexes(tableName, Table.GlobalSecondaryIndexes);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`table ${tableName} did not become ACTIVE`);
  } finally {
    client.destroy();
  }
}
