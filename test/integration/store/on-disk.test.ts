import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { tableDefinition } from '../../../functions/shared/store/schema';
import { TABLE_KEYS } from '../../../functions/shared/store/keys';
import { ensureTable, startDynamo } from '../../../local/emulators/dynamodb';
import { localClient, startTestDynamo } from '../../support/dynamodb';
import { makeRun } from './fixtures';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('dynalite on disk', () => {
  it('keeps the table and its data across close and restart with the same directory', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cf-dynalite-'));
    dirs.push(dataDir);
    const run = makeRun();

    const first = await startTestDynamo({ dataDir });
    try {
      await first.store.createRun(run);
      await first.store.appendEvent(run.runId, { type: 'run.created', actor: 'test' });
    } finally {
      await first.close();
    }

    const second = await startTestDynamo({ dataDir });
    try {
      // ensureTable is idempotent: the table already exists.
      await ensureTable(second.emulator.endpoint, second.tableName);
      const read = await second.store.getRunWithEvents(run.runId, { limit: 10 });
      expect(read.run?.runId).toBe(run.runId);
      expect(read.events.items.map((e) => e.type)).toEqual(['run.created']);
    } finally {
      await second.close();
    }
  });

  it('starts empty in memory, with the table derived from TABLE_KEYS', async () => {
    const db = await startTestDynamo();
    try {
      const { Table } = await db.client.send(new DescribeTableCommand({ TableName: db.tableName }));
      expect(Table?.KeySchema?.map((k) => k.AttributeName)).toEqual([
        TABLE_KEYS.partitionKey,
        TABLE_KEYS.sortKey,
      ]);
      expect(
        Table?.GlobalSecondaryIndexes?.map((g) => [
          g.IndexName,
          g.KeySchema?.map((k) => k.AttributeName),
          g.Projection?.ProjectionType,
        ]).sort(),
      ).toEqual(TABLE_KEYS.gsi.map((g) => [g.indexName, [g.partitionKey, g.sortKey], 'ALL']));
      expect(await db.store.getRun(makeRun().runId)).toBeUndefined();
      expect(db.emulator.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await db.close();
    }
  });

  it('refuses, naming the fix, a kept table that lacks an index added since', async () => {
    const emulator = await startDynamo();
    const client = localClient(emulator.endpoint);
    try {
      const current = tableDefinition('old-table');
      const older = {
        ...current,
        GlobalSecondaryIndexes: current.GlobalSecondaryIndexes?.filter((g) => g.IndexName !== 'gsi4'),
        AttributeDefinitions: current.AttributeDefinitions?.filter(
          (a) => !a.AttributeName?.startsWith('gsi4'),
        ),
      };
      await client.send(new CreateTableCommand(older));
      await expect(ensureTable(emulator.endpoint, 'old-table')).rejects.toThrow(
        /lacks index gsi4.*--data-dir/,
      );
    } finally {
      client.destroy();
      await emulator.close();
    }
  });
});
