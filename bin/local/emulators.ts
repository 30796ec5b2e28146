/**
 * The three AWS emulators (dynalite, s3rver, local-aws-sqs), started in this process or each in a child
 * process of its own (`processes`), with the tables, bucket and queues created from functions/contract/resources.ts:
 * the same definitions the CDK stack deploys.
 * Used by the local stack (npm start), the integration tests and the benchmarks.
 */
import { createServer } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ENV, QUEUES, TABLES, dlqName, type QueueDefinition, type TableDefinition } from '#contract/resources.ts';
import type { AwsTarget } from '#adapters/aws.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localClientConfig, localTarget } from './target.ts';
import { startEmulatorServer, type EmulatorServer } from './emulator-servers.ts';
import { forkEmulatorServer } from './emulator-child.ts';

export { LOCAL_CREDENTIALS, LOCAL_REGION, localClientConfig } from './target.ts';

export const LOCAL_BUCKET = 'callvault-archive';

export interface EmulatorOptions {
  /** 0 picks a free port. */
  dynamodbPort?: number;
  s3Port?: number;
  sqsPort?: number;
  /** Keep DynamoDB and S3 data here across restarts; omit for in-memory/temporary state. */
  dataDir?: string;
  host?: string;
  /**
   * Run each emulator in a child process of its own, so the emulators use other cores than the caller
   * (the local stack does; a test that starts its own emulators needs no more than one core).
   * @default false
   */
  processes?: boolean;
  /** Put a fault-injecting TCP proxy in front of DynamoDB, so tests can take the table down and bring it back. */
  faultableDynamo?: boolean;
  /** Visibility timeouts (seconds) instead of the deployed ones, by queue name (CALLVAULT_REPLAY_RETRY_SECONDS). */
  visibility?: Partial<Record<string, number>>;
}

export interface QueueUrls {
  media: string;
  mediaDlq: string;
  insight: string;
  insightDlq: string;
  replay: string;
  replayDlq: string;
}

export interface Emulators {
  endpoints: { dynamodb: string; s3: string; sqs: string };
  region: string;
  tables: { calls: string; contacts: string };
  bucket: string;
  queues: QueueUrls;
  /** The functions' resource environment (table, bucket and queue names), as the stack sets it; plus AWS_* for child processes. */
  env: Record<string, string>;
  /** Where the composition roots point their clients (the emulators). */
  target: AwsTarget;
  /** With `faultableDynamo`: refuse and reset every DynamoDB connection until `restoreDynamo`; the data survives. */
  breakDynamo(mode?: 'reset' | 'hang'): void;
  restoreDynamo(): void;
  close(): Promise<void>;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, host, resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** The CreateTable input for one of the stack's tables (functions/contract/resources.ts), as the stack defines it. */
export function tableInput(def: TableDefinition): CreateTableCommandInput {
  const attrs = new Map<string, 'S' | 'N'>();
  const add = (a?: { name: string; type: 'S' | 'N' }) => a && attrs.set(a.name, a.type);
  add(def.partitionKey);
  add(def.sortKey);
  def.indexes.forEach((i) => (add(i.partitionKey), add(i.sortKey)));
  const keySchema = (pk: { name: string }, sk?: { name: string }) => [
    { AttributeName: pk.name, KeyType: 'HASH' as const },
    ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' as const }] : []),
  ];
  return {
    TableName: def.name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attrs].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    KeySchema: keySchema(def.partitionKey, def.sortKey),
    ...(def.indexes.length
      ? {
          GlobalSecondaryIndexes: def.indexes.map((i) => ({
            IndexName: i.indexName,
            KeySchema: keySchema(i.partitionKey, i.sortKey),
            Projection: { ProjectionType: 'ALL' as const },
          })),
        }
      : {}),
  };
}

/** A table from its definition, once ACTIVE; one kept from an earlier run is checked, not created again. */
export async function ensureTable(ddb: DynamoDBClient, def: TableDefinition): Promise<void> {
  try {
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: def.name }));
    // Data kept from an earlier version may have other index keys (e.g. before `callAt`): say so, rather than query the wrong index.
    const keysOf = (schema?: { AttributeName?: string; KeyType?: string }[]) =>
      (schema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
    const found = Object.fromEntries((Table?.GlobalSecondaryIndexes ?? []).map((i) => [String(i.IndexName), keysOf(i.KeySchema)]));
    const wanted = Object.fromEntries(
      (tableInput(def).GlobalSecondaryIndexes ?? []).map((i) => [String(i.IndexName), keysOf(i.KeySchema)]),
    );
    if (JSON.stringify(found, Object.keys(found).sort()) !== JSON.stringify(wanted, Object.keys(wanted).sort())) {
      throw new Error(
        `The local "${def.name}" table in the data directory was made by an earlier CallVault with other indexes (${JSON.stringify(found)}; this version needs ${JSON.stringify(wanted)}). Move the data directory aside (CALLVAULT_DATA_DIR, default .callvault) and start again.`,
      );
    }
    return;
  } catch (err) {
    if ((err as Error).name !== 'ResourceNotFoundException') throw err;
  }
  await ddb.send(new CreateTableCommand(tableInput(def)));
  for (let i = 0; i < 100; i++) {
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: def.name }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`table ${def.name} did not become ACTIVE`);
}

/** One of the stack's queues and its DLQ with the redrive policy; `visibilitySeconds` overrides the deployed one (fault tests). */
export async function ensureQueue(
  sqs: SQSClient,
  def: QueueDefinition,
  visibilitySeconds = def.visibilityTimeoutSeconds,
): Promise<{ url: string; dlqUrl: string }> {
  const { QueueUrl: dlqUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: dlqName(def), Attributes: { MessageRetentionPeriod: String(def.dlqRetentionDays * 86400) } }),
  );
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }));
  const { QueueUrl: url } = await sqs.send(
    new CreateQueueCommand({
      QueueName: def.name,
      Attributes: {
        VisibilityTimeout: String(visibilitySeconds),
        MessageRetentionPeriod: String(def.retentionDays * 86400),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount: def.maxReceiveCount }),
      },
    }),
  );
  return { url: url!, dlqUrl: dlqUrl! };
}

/** A TCP pass-through that can reset every connection on demand: a DynamoDB outage without losing the data. */
async function startFaultProxy(targetPort: number, host: string) {
  const sockets = new Set<Socket>();
  let down: false | 'reset' | 'hang' = false;
  const server = createNetServer((client) => {
    if (down === 'reset') return client.destroy();
    if (down === 'hang') {
      // Accept and never answer: the worst kind of outage, where only the caller's own timeouts help.
      sockets.add(client);
      client.on('error', () => sockets.delete(client)).on('close', () => sockets.delete(client));
      client.resume();
      return;
    }
    const upstream = connect(targetPort, host);
    sockets.add(client).add(upstream);
    const drop = () => (client.destroy(), upstream.destroy(), sockets.delete(client), sockets.delete(upstream));
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  const port = await new Promise<number>((resolve) => server.listen(0, host, () => resolve((server.address() as AddressInfo).port)));
  return {
    port,
    setDown(value: false | 'reset' | 'hang') {
      down = value;
      if (value) for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Start dynalite, s3rver and local-aws-sqs, and create every resource from functions/contract/resources.ts. */
export async function startEmulators(opts: EmulatorOptions = {}): Promise<Emulators> {
  const host = opts.host ?? '127.0.0.1';
  const dynamoPath = opts.dataDir ? join(opts.dataDir, 'dynamodb') : undefined;
  // Without a data dir, S3 objects live in a temporary directory removed on close.
  const tempS3Dir = opts.dataDir ? undefined : await mkdtemp(join(tmpdir(), 'cv-s3-'));
  const s3Dir = tempS3Dir ?? join(opts.dataDir!, 's3');
  if (dynamoPath) await mkdir(dynamoPath, { recursive: true });
  await mkdir(s3Dir, { recursive: true });

  const start = opts.processes ? forkEmulatorServer : startEmulatorServer;
  const started = await Promise.allSettled([
    start({ kind: 'dynamodb', port: opts.dynamodbPort ?? 0, host, ...(dynamoPath ? { dir: dynamoPath } : {}) }),
    start({ kind: 's3', port: opts.s3Port ?? 0, host, dir: s3Dir, bucket: LOCAL_BUCKET }),
    start({ kind: 'sqs', port: opts.sqsPort ?? 0, host }),
  ]);
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const closeServers = async () => {
    await Promise.allSettled(servers.map((srv) => srv.close()));
    if (tempS3Dir) await rm(tempS3Dir, { recursive: true, force: true });
  };
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await closeServers();
    throw failed.reason;
  }
  const [dynamo, s3, sqsServer] = servers as [EmulatorServer, EmulatorServer, EmulatorServer];
  const dynamoPort = dynamo.port;

  const endpoints = {
    dynamodb: `http://${host}:${dynamoPort}`,
    s3: `http://${host}:${s3.port}`,
    sqs: `http://${host}:${sqsServer.port}`,
  };
  const ddb = new DynamoDBClient(localClientConfig(endpoints.dynamodb));
  const s3c = new S3Client(localClientConfig(endpoints.s3));
  const sqs = new SQSClient(localClientConfig(endpoints.sqs));
  const q: Record<string, { url: string; dlqUrl: string }> = {};
  try {
    for (const t of TABLES) await ensureTable(ddb, t);
    try {
      await s3c.send(new HeadBucketCommand({ Bucket: LOCAL_BUCKET }));
    } catch {
      await s3c.send(new CreateBucketCommand({ Bucket: LOCAL_BUCKET }));
    }
    for (const def of QUEUES) q[def.name] = await ensureQueue(sqs, def, opts.visibility?.[def.name] ?? def.visibilityTimeoutSeconds);
  } catch (err) {
    // Nothing is left listening when the stack cannot start.
    await closeServers();
    throw err;
  } finally {
    ddb.destroy();
    s3c.destroy();
    sqs.destroy();
  }

  const queues: QueueUrls = {
    media: q.media!.url,
    mediaDlq: q.media!.dlqUrl,
    insight: q.insight!.url,
    insightDlq: q.insight!.dlqUrl,
    replay: q.replay!.url,
    replayDlq: q.replay!.dlqUrl,
  };
  const tables = { calls: 'calls', contacts: 'contacts' };
  const env: Record<string, string> = {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    [ENV.callsTable]: tables.calls,
    [ENV.contactsTable]: tables.contacts,
    [ENV.bucket]: LOCAL_BUCKET,
    [ENV.mediaQueueUrl]: queues.media,
    [ENV.insightQueueUrl]: queues.insight,
    [ENV.replayQueueUrl]: queues.replay,
  };

  const proxy = opts.faultableDynamo ? await startFaultProxy(dynamoPort, host) : undefined;
  if (proxy) env.AWS_ENDPOINT_URL_DYNAMODB = `http://${host}:${proxy.port}`;
  return {
    endpoints,
    region: LOCAL_REGION,
    tables,
    bucket: LOCAL_BUCKET,
    queues,
    env,
    target: localTarget({ ...endpoints, dynamodb: env.AWS_ENDPOINT_URL_DYNAMODB! }),
    breakDynamo(mode = 'reset') {
      if (!proxy) throw new Error('startEmulators({ faultableDynamo: true }) is needed to break DynamoDB');
      proxy.setDown(mode);
    },
    restoreDynamo() {
      proxy?.setDown(false);
    },
    async close() {
      await proxy?.close();
      await closeServers();
    },
  };
}
