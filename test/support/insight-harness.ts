/**
 * Integration harness for the insight worker: the three emulators, the stand-in Hipcall API and a
 * fake CRM on real local HTTP servers, the real handler built through its composition root, and
 * readers for what it did. Every server is closed by `close()`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Message } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { localClientConfig, startEmulators, type Emulators } from '#bin/local/emulators.ts';
import { createHipcallMock, type HipcallMock } from '#bin/local/hipcall-mock.ts';
import { fakeContext, toSqsRecord } from '#bin/local/poller.ts';
import { ENV } from '#contract/resources.ts';
import { ContactsTable } from '#adapters/contacts-table.ts';
import { insightDeps } from '#functions/insight/deps.ts';
import { createInsightHandler } from '#functions/insight/handler.ts';
import { strictAwsTarget } from '#bin/aws-fidelity/aws-contract.ts';
import type { Contact } from '#core/contact.ts';
import { insightJobOf } from '#core/insight.ts';
import { normaliseDelivery } from '#core/providers/index.ts';
import type { InsightJob } from '#core/types.ts';

export const API_TOKEN = 'test-hipcall-api-token-5f2b9c';
export const CRM_SECRET = 'test-crm-key-0a1b2c';
export const MOCK_PATH = '/_local/hipcall/api/v3';

/** What the fake CRM answers for a number (E.164): a JSON body, or a status, optionally after a delay. */
export type CrmBehaviour = { json?: unknown; status?: number; delayMs?: number };

export interface InsightHarness {
  emulators: Emulators;
  mock: HipcallMock;
  /** Base URL of the stand-in Hipcall API. */
  apiBase: string;
  crmBase: string;
  /** Fake CRM answers by number; requests it received (number and the auth header). */
  crm: { answers: Map<string, CrmBehaviour>; requests: { phone: string; apiKey: string | undefined }[] };
  contacts: ContactsTable;
  handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
  /** Run the handler on a batch of jobs (or raw bodies) as one SQS event. */
  run(jobs: (InsightJob | string)[]): Promise<SQSBatchResponse>;
  item(callKey: string): Promise<Record<string, unknown> | undefined>;
  /** Everything the handler's logger wrote so far. */
  logs(): string;
  /** The handler's EMF metric lines (one invocation's are there when `run` resolves). */
  metrics(): string;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

/** A job as the ingest would enqueue it for a Hipcall call_init received `ageMs` ago. */
export function jobOf(patch: Partial<InsightJob> & { callId: string }, ageMs = 0): InsightJob {
  const at = new Date(Date.now() - ageMs).toISOString();
  return {
    provider: 'hipcall',
    source: 'hipcall',
    direction: 'inbound',
    fromNumber: '+442045205757',
    toNumber: '+441234567890',
    occurredAt: at,
    receivedAt: at,
    ...patch,
  };
}

/**
 * The job the ingest queues for a Hipcall call_init from `callerNumber` as the provider wrote it: the
 * delivery through the Hipcall adapter (which normalises numbers with `defaultCountry`) and the ingest's
 * own job builder, as a deployed call_init reaches the worker.
 */
export function jobFromCallInit(o: { callId: string; callerNumber: string; source?: string; defaultCountry: string }): InsightJob {
  const at = new Date().toISOString();
  const result = normaliseDelivery(
    'hipcall',
    {
      event: 'call_init',
      data: { uuid: o.callId, direction: 'inbound', caller_number: o.callerNumber, callee_number: '+441234567890', started_at: at },
    },
    { defaultCountry: o.defaultCountry, receivedAt: at },
  );
  if (result.outcome !== 'events' || !result.events[0])
    throw new Error(`the Hipcall adapter made no call event of this call_init (${result.outcome})`);
  return insightJobOf(o.source ?? 'hipcall', result.events[0], at);
}

export async function startInsightHarness(
  rawConfig: (urls: { crmBase: string }) => unknown,
  contacts: Contact[],
  extraEnv: Record<string, string> = {},
): Promise<InsightHarness> {
  const emulators = await startEmulators();
  const mock = createHipcallMock({ token: API_TOKEN });
  const mockServer = createServer((req, res) => {
    void mock.handle(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  const apiBase = `${await listen(mockServer)}${MOCK_PATH}`;

  const crm = { answers: new Map<string, CrmBehaviour>(), requests: [] as { phone: string; apiKey: string | undefined }[] };
  const crmServer = createServer((req: IncomingMessage, res: ServerResponse) => {
    const phone = new URL(req.url ?? '/', 'http://x').searchParams.get('phone') ?? '';
    const apiKey = req.headers['x-api-key'] as string | undefined;
    crm.requests.push({ phone, apiKey });
    const answer =
      apiKey === CRM_SECRET
        ? (crm.answers.get(phone) ?? { status: 404, json: { message: 'no such contact' } })
        : { status: 401, json: { message: 'bad key' } };
    setTimeout(() => {
      if (res.destroyed) return;
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' }).end(JSON.stringify(answer.json ?? {}));
    }, answer.delayMs ?? 0);
  });
  const crmBase = await listen(crmServer);

  const config = rawConfig({ crmBase }) as { sources: { id: string; provider: string }[] };
  const hipcallSources = config.sources.filter((s) => s.provider === 'hipcall').map((s) => s.id);
  const env = { ...emulators.env, [ENV.config]: JSON.stringify(config), POWERTOOLS_LOG_LEVEL: 'INFO', ...extraEnv };
  const hipcall = {
    baseUrls: Object.fromEntries(hipcallSources.map((id) => [id, apiBase])),
    secrets: Object.fromEntries(hipcallSources.map((id) => [id, { token: API_TOKEN, crmAuthorization: CRM_SECRET }])),
  };

  const doc = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(emulators.endpoints.dynamodb)));
  const table = new ContactsTable(doc, emulators.tables.contacts);
  await table.putAll(contacts);

  // Capture what the handler logs (powertools writes JSON lines: INFO to stdout, WARN and ERROR to stderr).
  let logged = '';
  const streams = [process.stdout, process.stderr] as const;
  const writes = streams.map((stream) => stream.write);
  for (const stream of streams) {
    const original = stream.write.bind(stream);
    stream.write = (chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      if (!text.startsWith('{"level"')) return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
      logged += text; // kept for the assertions, not echoed: the test output stays readable
      return true;
    };
  }

  // Only the function's clients are strict and recorded; the harness's own setup and readers stay plain.
  const emf: string[] = [];
  const handler = createInsightHandler(
    insightDeps(env, { target: strictAwsTarget(emulators.target, 'insight'), hipcall, metricsOut: (line) => emf.push(line) }),
  );
  const arn = 'arn:aws:sqs:us-east-1:000000000000:insight';
  let n = 0;
  return {
    emulators,
    mock,
    apiBase,
    crmBase,
    crm,
    contacts: table,
    handler,
    run(jobs) {
      const records = jobs.map((job) => {
        const id = `m-${++n}`;
        const message: Message = { MessageId: id, ReceiptHandle: `rh-${id}`, Body: typeof job === 'string' ? job : JSON.stringify(job) };
        return toSqsRecord(message, arn, 'us-east-1');
      });
      return handler({ Records: records }, fakeContext('callvault-insight', 10_000));
    },
    async item(callKey) {
      const { Item } = await doc.send(new GetCommand({ TableName: emulators.tables.calls, Key: { callKey }, ConsistentRead: true }));
      return Item;
    },
    logs: () => logged,
    metrics: () => emf.join('\n'),
    async close() {
      streams.forEach((stream, i) => (stream.write = writes[i]!));
      doc.destroy();
      await Promise.allSettled([closeServer(mockServer), closeServer(crmServer), emulators.close()]);
    },
  };
}
