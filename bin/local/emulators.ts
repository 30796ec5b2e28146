/**
 * The three AWS emulators (dynalite, s3rver, local-aws-sqs) started in this process, with the
 * tables, bucket and queues created from lib/resources.ts: the same definitions the CDK stack deploys.
 * Used by the local stack (npm start), the integration tests and the benchmarks.
 */
import { createServer, type Server } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ENV, QUEUES, TABLES, dlqName, type QueueDefinition, type TableDefinition } from '#lib/resources.ts';
import type { AwsTarget } from '#adapters/aws.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localClientConfig, localTarget } from './target.ts';

export { LOCAL_CREDENTIALS, LOCAL_REGION, localClientConfig } from './target.ts';

const require = createRequire(import.meta.url);
export const LOCAL_BUCKET = 'callvault-archive';

export interface EmulatorOptions {
  /** 0 picks a free port. */
  dynamodbPort?: number;
  s3Port?: number;
  sqsPort?: number;
  /** Keep DynamoDB and S3 data here across restarts; omit for in-memory/temporary state. */
  dataDir?: string;
  host?: string;
  /** Put a fault-injecting TCP proxy in front of DynamoDB, so tests can take the table down and bring it back. */
  faultableDynamo?: boolean;
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

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

function tableInput(def: TableDefinition): CreateTableCommandInput {
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

async function ensureTable(ddb: DynamoDBClient, def: TableDefinition): Promise<void> {
  try {
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: def.name }));
    // Data kept from an earlier version may have other index keys (e.g. before `callAt`): say so, rather than query the wrong index.
    const keysOf = (schema?: { AttributeName?: string; KeyType?: string }[]) => (schema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
    const found = Object.fromEntries((Table?.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, keysOf(i.KeySchema)]));
    const wanted = Object.fromEntries((tableInput(def).GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, keysOf(i.KeySchema)]));
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

async function ensureQueue(sqs: SQSClient, def: QueueDefinition): Promise<{ url: string; dlqUrl: string }> {
  const { QueueUrl: dlqUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: dlqName(def), Attributes: { MessageRetentionPeriod: String(def.dlqRetentionDays * 86400) } }),
  );
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }));
  const { QueueUrl: url } = await sqs.send(
    new CreateQueueCommand({
      QueueName: def.name,
      Attributes: {
        VisibilityTimeout: String(def.visibilityTimeoutSeconds),
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

type KoaMiddleware = (ctx: { method: string; url: string; status: number; body: unknown; type: string }, next: () => Promise<void>) => Promise<void>;

/**
 * s3rver lacks AbortMultipartUpload and ListMultipartUploads (it answers 405/501), which lib-storage
 * needs to clean up after a failed upload and tests need to prove nothing was left open. Both act on
 * s3rver's own uploads directory (`{bucket}/._S3rver_uploads/{uploadId}/key`).
 */
function multipartGaps(dir: string): KoaMiddleware {
  const xml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return async (ctx, next) => {
    const url = new URL(ctx.url, 'http://s3.local');
    const [bucket, ...keyParts] = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const uploads = bucket ? join(dir, bucket, '._S3rver_uploads') : '';
    const uploadId = url.searchParams.get('uploadId') ?? '';
    if (ctx.method === 'DELETE' && bucket && keyParts.length && /^[A-Za-z0-9_-]+$/.test(uploadId)) {
      const { rm, stat } = await import('node:fs/promises');
      const exists = await stat(join(uploads, uploadId)).then(() => true, () => false);
      ctx.type = 'application/xml';
      if (!exists) {
        ctx.status = 404;
        ctx.body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>`;
        return;
      }
      await rm(join(uploads, uploadId), { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = '';
      return;
    }
    if (ctx.method === 'GET' && bucket && !keyParts.length && url.searchParams.has('uploads')) {
      const { readdir, readFile, stat } = await import('node:fs/promises');
      const prefix = url.searchParams.get('prefix') ?? '';
      const entries = [];
      for (const id of await readdir(uploads).catch(() => [] as string[])) {
        const key = await readFile(join(uploads, id, 'key'), 'utf8').catch(() => undefined);
        if (key === undefined || !key.startsWith(prefix)) continue;
        const initiated = (await stat(join(uploads, id))).birthtime.toISOString();
        entries.push(`<Upload><Key>${xml(key)}</Key><UploadId>${xml(id)}</UploadId><Initiated>${initiated}</Initiated></Upload>`);
      }
      ctx.type = 'application/xml';
      ctx.status = 200;
      ctx.body = `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>${xml(bucket)}</Bucket><Prefix>${xml(prefix)}</Prefix><IsTruncated>false</IsTruncated>${entries.join('')}</ListMultipartUploadsResult>`;
      return;
    }
    await next();
  };
}

/** Start dynalite, s3rver and local-aws-sqs, and create every resource from lib/resources.ts. */
export async function startEmulators(opts: EmulatorOptions = {}): Promise<Emulators> {
  const host = opts.host ?? '127.0.0.1';
  const dynalite = require('dynalite') as (o: object) => Server;
  const S3rver = require('s3rver') as new (o: object) => { run(): Promise<AddressInfo>; close(): Promise<void>; middleware: KoaMiddleware[] };
  const { createSqsServer } = require('local-aws-sqs') as { createSqsServer(o: object): Promise<Server> };

  const dynamoPath = opts.dataDir ? join(opts.dataDir, 'dynamodb') : undefined;
  // Without a data dir, S3 objects live in a temporary directory removed on close.
  const tempS3Dir = opts.dataDir ? undefined : await mkdtemp(join(tmpdir(), 'cv-s3-'));
  const s3Dir = tempS3Dir ?? join(opts.dataDir!, 's3');
  if (dynamoPath) await mkdir(dynamoPath, { recursive: true });
  await mkdir(s3Dir, { recursive: true });

  const makeDynamo = () => dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(dynamoPath ? { path: dynamoPath } : {}) });
  const dynamo = makeDynamo();
  const dynamoPort = await listen(dynamo, opts.dynamodbPort ?? 0, host);
  const s3 = new S3rver({ port: opts.s3Port ?? 0, address: host, silent: true, directory: s3Dir, configureBuckets: [{ name: LOCAL_BUCKET }] });
  s3.middleware.unshift(multipartGaps(s3Dir));
  const s3Addr = await s3.run();
  const sqsServer = await createSqsServer({ port: opts.sqsPort ?? 0, hostname: host, emulateQueueCreationLifecycle: false });
  const sqsPort = (sqsServer.address() as AddressInfo).port;

  const endpoints = {
    dynamodb: `http://${host}:${dynamoPort}`,
    s3: `http://${host}:${s3Addr.port}`,
    sqs: `http://${host}:${sqsPort}`,
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
    for (const def of QUEUES) q[def.name] = await ensureQueue(sqs, def);
  } catch (err) {
    // Nothing is left listening when the stack cannot start.
    await Promise.allSettled([closeServer(dynamo), s3.close(), closeServer(sqsServer)]);
    if (tempS3Dir) await rm(tempS3Dir, { recursive: true, force: true });
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
      await Promise.allSettled([proxy?.close(), closeServer(dynamo), s3.close(), closeServer(sqsServer)]);
      if (tempS3Dir) await rm(tempS3Dir, { recursive: true, force: true });
    },
  };
}
