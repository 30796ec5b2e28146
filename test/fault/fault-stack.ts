/**
 * The stack the fault scenarios break: DynamoDB (dynalite) and S3 (s3rver) each in a child process of
 * its own (test/support/emulator-process.ts), so stopping one is a real outage with the data kept;
 * SQS (local-aws-sqs) in this process, since no scenario stops it. Tables, bucket and queues come from
 * functions/contract/resources.ts, as deployed. Readers here use plain clients; the functions get the strict AWS layer.
 */
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, type BatchGetCommandOutput } from '@aws-sdk/lib-dynamodb';
import { GetObjectCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ENV, QUEUES, TABLES } from '#contract/resources.ts';
import { ensureQueue, tableInput } from '#bin/local/emulators.ts';
import { localClientConfig, localTarget, LOCAL_CREDENTIALS, LOCAL_REGION } from '#bin/local/target.ts';
import type { AwsTarget } from '#adapters/aws.ts';
import { startEmulatorProcess, type EmulatorProcess } from '#test/support/emulator-process.ts';

export const BUCKET = 'callvault-archive';

export type QueueName = 'media' | 'insight' | 'replay';

export interface FaultStackOptions {
  /**
   * Visibility timeouts (s) to use instead of the deployed ones: time compressed, so a redelivery the
   * deployed queue makes after 90 minutes happens within a test.
   */
  visibilitySeconds?: Partial<Record<QueueName, number>>;
}

export interface FaultStack {
  dynamo: EmulatorProcess;
  s3: EmulatorProcess;
  endpoints: { dynamodb: string; s3: string; sqs: string };
  queues: Record<QueueName | `${QueueName}Dlq`, string>;
  /** The functions' environment (resource names, region, credentials, endpoints), as the stack sets it. */
  env: Record<string, string>;
  /** Where the composition roots point their clients. */
  target: AwsTarget;
  /** Plain reader clients (never broken by the test's instruments). */
  sqs: SQSClient;
  doc: DynamoDBDocumentClient;
  s3c: S3Client;
  /** The calls table items for `callKeys` that exist (BatchGet, consistent). */
  items(callKeys: string[]): Promise<Map<string, Record<string, unknown>>>;
  objectBytes(key: string): Promise<Buffer>;
  /** Keys of the multipart uploads left open in the bucket. */
  openUploads(): Promise<string[]>;
  /** Messages on a queue: visible, delayed and in flight. */
  depth(queue: keyof FaultStack['queues']): Promise<number>;
  close(): Promise<void>;
}

/** Start the stack; `close()` stops every process and server it started and removes its data. */
export async function startFaultStack(options: FaultStackOptions = {}): Promise<FaultStack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'callvault-fault-'));
  const require = createRequire(import.meta.url);
  const { createSqsServer } = require('local-aws-sqs') as { createSqsServer: (o: object) => Promise<Server> };
  const [dynamo, s3, sqsServer] = await Promise.all([
    startEmulatorProcess('dynamodb', { dataDir }),
    startEmulatorProcess('s3', { dataDir, buckets: [BUCKET] }),
    createSqsServer({ port: 0, hostname: '127.0.0.1', emulateQueueCreationLifecycle: false }),
  ]);
  const endpoints = { dynamodb: dynamo.endpoint, s3: s3.endpoint, sqs: `http://127.0.0.1:${(sqsServer.address() as AddressInfo).port}` };
  const ddb = new DynamoDBClient(localClientConfig(endpoints.dynamodb));
  const doc = DynamoDBDocumentClient.from(ddb);
  const s3c = new S3Client(localClientConfig(endpoints.s3));
  const sqs = new SQSClient(localClientConfig(endpoints.sqs));
  const closeAll = async () => {
    doc.destroy();
    s3c.destroy();
    sqs.destroy();
    await Promise.allSettled([
      dynamo.close(),
      s3.close(),
      new Promise<void>((resolve) => (sqsServer.close(() => resolve()), sqsServer.closeAllConnections?.())),
    ]);
    await rm(dataDir, { recursive: true, force: true });
  };
  const q: Partial<Record<string, string>> = {};
  try {
    await Promise.all(TABLES.map((t) => ddb.send(new CreateTableCommand(tableInput(t)))));
    for (const def of QUEUES) {
      const { url, dlqUrl } = await ensureQueue(
        sqs,
        def,
        options.visibilitySeconds?.[def.name as QueueName] ?? def.visibilityTimeoutSeconds,
      );
      q[def.name] = url;
      q[`${def.name}Dlq`] = dlqUrl;
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  const queues = q as FaultStack['queues'];
  const env: Record<string, string> = {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    [ENV.callsTable]: 'calls',
    [ENV.contactsTable]: 'contacts',
    [ENV.bucket]: BUCKET,
    [ENV.mediaQueueUrl]: queues.media,
    [ENV.insightQueueUrl]: queues.insight,
    [ENV.replayQueueUrl]: queues.replay,
    POWERTOOLS_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'SILENT',
  };

  return {
    dynamo,
    s3,
    endpoints,
    queues,
    env,
    target: localTarget(endpoints),
    sqs,
    doc,
    s3c,
    async items(callKeys) {
      const found = new Map<string, Record<string, unknown>>();
      for (let i = 0; i < callKeys.length; i += 100) {
        let keys: Record<string, unknown>[] | undefined = callKeys.slice(i, i + 100).map((callKey) => ({ callKey }));
        while (keys?.length) {
          const res: BatchGetCommandOutput = await doc.send(
            new BatchGetCommand({ RequestItems: { calls: { Keys: keys, ConsistentRead: true } } }),
          );
          for (const item of res.Responses?.calls ?? []) found.set(item.callKey as string, item);
          keys = res.UnprocessedKeys?.calls?.Keys;
        }
      }
      return found;
    },
    async objectBytes(key) {
      const res = await s3c.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      return Buffer.from(await res.Body!.transformToByteArray());
    },
    async openUploads() {
      const res = await s3c.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
      return (res.Uploads ?? []).map((u) => u.Key!);
    },
    async depth(queue) {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queues[queue],
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return (
        Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(Attributes?.ApproximateNumberOfMessagesDelayed ?? 0) +
        Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
      );
    },
    close: closeAll,
  };
}

/** Poll `check` until it returns a value, or throw `message` (with the last error `check` threw) after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  message: (lastError: string | undefined) => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = String(err);
    }
    if (Date.now() > deadline) throw new Error(message(last));
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A scenario's whole result, for an assertion's message: a failure says what was seen. */
export const seen = (result: unknown): string => `seen: ${JSON.stringify(result)}`;
