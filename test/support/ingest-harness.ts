/**
 * Integration harness for the ingest handler: the three emulators (DynamoDB behind a fault proxy),
 * the real handler built through its composition root, and readers for what it wrote.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { localClientConfig, startEmulators, type Emulators } from '#bin/local/emulators.ts';
import { fakeContext } from '#bin/local/poller.ts';
import type { CallVaultConfig } from '#contract/config.ts';
import { parseConfig } from '#contract/config-schema.ts';
import { ENV } from '#contract/resources.ts';
import { StaticWebhookTokens } from '#bin/local/local-secrets.ts';
import { ingestDeps, type IngestLocal } from '#functions/ingest/deps.ts';
import { createIngestHandler } from '#functions/ingest/handler.ts';
import { envSink, strictAwsTarget, teeSink, type CallSink } from '#bin/aws-fidelity/aws-contract.ts';

export const TOKEN = 'test-token-0123456789abcdef';
export const fixturesDir = new URL('../fixtures/', import.meta.url).pathname;
export const fixture = (path: string): string => readFileSync(join(fixturesDir, path), 'utf8');

/** A realistic answered inbound Hipcall call_hangup with a recording URL (seeds 000 and 001). */
/** A Hipcall call_hangup (fixture shape) for a 45 s answered call; its recording at `recordUrl` (null: none). */
export function hipcallHangup(
  uuid: string,
  recordUrl: string | null = `https://storage.example.com/recordings/${uuid}.mp3?X-Amz-Expires=604800&token=abc`,
): string {
  return JSON.stringify({
    event: 'call_hangup',
    data: {
      uuid,
      hangup_by: 'user',
      call_flow: [
        { action: 'hangup', detail: { hangup_by: 'user' }, timestamp: 1775124045 },
        { action: 'init', detail: { id: null, type: 'contact' }, timestamp: 1775124000 },
      ],
      direction: 'inbound',
      caller_number: '+442045205757',
      callee_number: '+441234567890',
      call_duration: 45,
      started_at: '2026-04-02T10:00:00Z',
      answered_at: '2026-04-02T10:00:03Z',
      ended_at: '2026-04-02T10:00:45Z',
      record_url: recordUrl,
      user_id: 1121,
      missing_call: false,
    },
  });
}

export interface IngestHarness {
  emulators: Emulators;
  config: CallVaultConfig;
  handler: (event: APIGatewayProxyEventV2 | SQSEvent, context: Context) => Promise<APIGatewayProxyStructuredResultV2 | SQSBatchResponse>;
  post(source: string, body: string | Buffer | undefined, options?: PostOptions): Promise<Answer>;
  item(callKey: string): Promise<Record<string, unknown> | undefined>;
  objects(prefix: string): Promise<string[]>;
  object(key: string): Promise<string>;
  receive(queue: keyof Emulators['queues'], max?: number): Promise<Message[]>;
  depth(queue: keyof Emulators['queues']): Promise<number>;
  close(): Promise<void>;
}

export interface PostOptions {
  token?: string;
  contentType?: string | null;
  base64?: boolean;
  rawBase64?: string;
  method?: string;
  sourceIp?: string;
  /** More request headers (e.g. a signature's), as the sender sets them. */
  headers?: Record<string, string>;
}

export interface Answer {
  status: number;
  json: Record<string, unknown>;
}

export function apiEvent(
  source: string,
  body: string | undefined,
  options: PostOptions & { isBase64Encoded?: boolean } = {},
): APIGatewayProxyEventV2 {
  const method = options.method ?? 'POST';
  const headers: Record<string, string> = {};
  if (options.contentType !== null) headers['content-type'] = options.contentType ?? 'application/json';
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  return {
    version: '2.0',
    routeKey: `${method} /webhooks/{source}/{token}`,
    rawPath: `/webhooks/${source}/${options.token ?? TOKEN}`,
    rawQueryString: '',
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: 'test',
      domainName: 'localhost',
      domainPrefix: 'test',
      http: { method, path: `/webhooks/${source}/x`, protocol: 'HTTP/1.1', sourceIp: options.sourceIp ?? '203.0.113.9', userAgent: 'test' },
      requestId: crypto.randomUUID(),
      routeKey: `${method} /webhooks/{source}/{token}`,
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    pathParameters: { source, token: options.token ?? TOKEN },
    body,
    isBase64Encoded: options.isBase64Encoded ?? false,
  };
}

export interface IngestHarnessOptions {
  /** Added to the function's environment (e.g. POWERTOOLS_LOG_LEVEL). */
  env?: Record<string, string>;
  /** What the local stack would pass (e.g. a media delay). */
  local?: Omit<IngestLocal, 'target' | 'tokens'>;
  /**
   * Read the webhook tokens from Secrets Manager at this endpoint, as deployed (the names derived from
   * `secretPrefix`, or WEBHOOK_SECRETS mapping each source to `secretArns[source]`), instead of the local
   * stack's one static token.
   */
  secretsManager?: { endpoint: string; secretArns?: Record<string, string>; secretPrefix?: string };
  /** Also gets every AWS call the function makes (they always go to the run's call log too). */
  calls?: CallSink;
}

/** Start emulators and build the ingest handler against them through its composition root. */
export async function startIngestHarness(rawConfig: unknown = {}, options: IngestHarnessOptions = {}): Promise<IngestHarness> {
  const emulators = await startEmulators({ faultableDynamo: true });
  const config = parseConfig(rawConfig);
  const sm = options.secretsManager;
  const env = {
    ...emulators.env,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    ...(sm?.secretArns ? { [ENV.webhookSecrets]: JSON.stringify(sm.secretArns) } : {}),
    ...(sm?.secretPrefix ? { [ENV.secretPrefix]: sm.secretPrefix } : {}),
    ...options.env,
  };
  // The function's own clients are held to AWS's limits and its role (recorded for the contract test);
  // the harness's readers below stay plain, so the contract judges the function, not the test.
  const base = sm ? { ...emulators.target, endpoints: { ...emulators.target.endpoints, secretsmanager: sm.endpoint } } : emulators.target;
  const target = strictAwsTarget(base, 'ingest', options.calls ? teeSink(options.calls, envSink()) : envSink());
  const handler = createIngestHandler(
    ingestDeps(env, { config, ...options.local, target, ...(sm ? {} : { tokens: new StaticWebhookTokens(TOKEN) }) }),
  );
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(emulators.endpoints.dynamodb)));
  const s3 = new S3Client(localClientConfig(emulators.endpoints.s3));
  const sqs = new SQSClient(localClientConfig(emulators.endpoints.sqs));

  return {
    emulators,
    config,
    handler,
    async post(source, body, options = {}) {
      let text: string | undefined;
      let isBase64Encoded = false;
      if (options.rawBase64 !== undefined) {
        text = options.rawBase64;
        isBase64Encoded = true;
      } else if (Buffer.isBuffer(body) || options.base64) {
        text = Buffer.from(body ?? '').toString('base64');
        isBase64Encoded = true;
      } else text = body;
      const res = (await handler(
        apiEvent(source, text, { ...options, isBase64Encoded }),
        fakeContext('ingest', 6000),
      )) as APIGatewayProxyStructuredResultV2;
      return { status: res.statusCode ?? 0, json: JSON.parse(res.body ?? '{}') as Record<string, unknown> };
    },
    async item(callKey) {
      const { Item } = await doc.send(new GetCommand({ TableName: emulators.tables.calls, Key: { callKey }, ConsistentRead: true }));
      return Item;
    },
    async objects(prefix) {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const res = await s3.send(new ListObjectsV2Command({ Bucket: emulators.bucket, Prefix: prefix, ContinuationToken: token }));
        out.push(...(res.Contents ?? []).map((o) => o.Key!));
        token = res.NextContinuationToken;
      } while (token);
      return out.sort();
    },
    async object(key) {
      const res = await s3.send(new GetObjectCommand({ Bucket: emulators.bucket, Key: key }));
      return res.Body!.transformToString();
    },
    async receive(queue, max = 10) {
      const all: Message[] = [];
      for (;;) {
        const { Messages } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: emulators.queues[queue],
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            VisibilityTimeout: 60,
            MessageSystemAttributeNames: ['All'],
          }),
        );
        if (!Messages?.length || all.length >= max) return all;
        all.push(...Messages);
        if (Messages.length < 10) return all;
      }
    },
    async depth(queue) {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: emulators.queues[queue],
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return (
        Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(Attributes?.ApproximateNumberOfMessagesDelayed ?? 0) +
        Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
      );
    },
    async close() {
      doc.destroy();
      s3.destroy();
      sqs.destroy();
      await emulators.close();
    },
  };
}
