import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulators, type Emulators } from '#bin/local/emulators.ts';
import { localClientConfig } from '#bin/local/target.ts';
import { CALLS_TABLE } from '#contract/resources.ts';

describe('local data kept from an earlier version', () => {
  let dir: string | undefined;
  let emulators: Emulators | undefined;
  afterEach(async () => {
    await emulators?.close();
    emulators = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses a calls table whose indexes sort by startedAt, and says to move the data directory aside', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cv-upgrade-'));
    emulators = await startEmulators({ dataDir: dir });
    const ddb = new DynamoDBClient(localClientConfig(emulators.endpoints.dynamodb));
    // The table as versions before callAt made it.
    await ddb.send(new DeleteTableCommand({ TableName: CALLS_TABLE.name }));
    // Deleting is asynchronous even in dynalite: wait until the name is free.
    for (let i = 0; i < 200; i++) {
      try {
        await ddb.send(new DescribeTableCommand({ TableName: CALLS_TABLE.name }));
        await new Promise((r) => setTimeout(r, 25));
      } catch {
        break;
      }
    }
    await ddb.send(
      new CreateTableCommand({
        TableName: CALLS_TABLE.name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: ['callKey', 'customerNumber', 'day', 'startedAt'].map((AttributeName) => ({
          AttributeName,
          AttributeType: 'S',
        })),
        KeySchema: [{ AttributeName: 'callKey', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byCustomerNumber',
            KeySchema: [
              { AttributeName: 'customerNumber', KeyType: 'HASH' },
              { AttributeName: 'startedAt', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
          {
            IndexName: 'byDay',
            KeySchema: [
              { AttributeName: 'day', KeyType: 'HASH' },
              { AttributeName: 'startedAt', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
    ddb.destroy();
    await emulators.close();
    emulators = undefined;

    await expect(startEmulators({ dataDir: dir })).rejects.toThrow(/earlier CallVault with other indexes.*Move the data directory aside/);
  });

  it('starts again on its own data when the indexes match', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cv-upgrade-'));
    await (await startEmulators({ dataDir: dir })).close();
    emulators = await startEmulators({ dataDir: dir });
    expect(emulators.tables.calls).toBe(CALLS_TABLE.name);
  });
});
