/**
 * Fault: the Hipcall API down while call_init deliveries come in. The real ingest queues insight jobs;
 * the real insight handler, fed by the insight queue, looks the caller up (a match) and posts the card
 * to an API that either resets every connection or answers 503. Every request to it is counted.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { fakeContext, startPoller } from '#bin/local/poller.ts';
import { parseConfig } from '#contract/config-schema.ts';
import { ContactsTable } from '#adapters/contacts-table.ts';
import { StaticWebhookTokens } from '#bin/local/local-secrets.ts';
import { parseContactsCsv } from '#core/contacts-csv.ts';
import { CARD_RETRY } from '#core/insight.ts';
import { ingestDeps } from '#functions/ingest/deps.ts';
import { createIngestHandler } from '#functions/ingest/handler.ts';
import { insightDeps } from '#functions/insight/deps.ts';
import { createInsightHandler } from '#functions/insight/handler.ts';
import { apiEvent, TOKEN } from '#test/support/ingest-harness.ts';
import { strictAwsTarget } from '#bin/aws-fidelity/aws-contract.ts';
import { startFaultStack, waitFor, type FaultStack } from './fault-stack.ts';

export type ApiDown = 'reset' | '503';

export interface HipcallDownResult {
  mode: ApiDown;
  calls: number;
  /** Insight outcomes on the items. */
  outcomes: string[];
  /** Connections (reset) or requests (503) the API received, all calls together. */
  requests: number;
  /** The most the retry policy allows: CARD_RETRY.maxAttempts per call. */
  allowed: number;
  /** From the first call_init to every outcome recorded. */
  settleMs: number;
  insightLeft: number;
  insightDlq: number;
}

/** An API that is down: a TCP server that resets every connection, or an HTTP server that answers 503. Counts what reaches it. */
async function downApi(mode: ApiDown): Promise<{ base: string; count: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server: Server | NetServer =
    mode === 'reset'
      ? createNetServer((socket) => (n++, socket.resetAndDestroy()))
      : createHttpServer((req, res) => {
          n++;
          req.resume();
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"service unavailable"}');
        });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}/api/v3`,
    count: () => n,
    close: () => new Promise<void>((ok) => (server.close(() => ok()), 'closeAllConnections' in server && server.closeAllConnections())),
  };
}

export interface HipcallDownOptions {
  calls?: number;
  /**
   * A stack to run on (the caller closes it), so both modes can share one: each run leaves the insight
   * queue empty and counts only its own calls. Default: a stack of its own.
   */
  stack?: FaultStack;
}

export async function runHipcallDown(mode: ApiDown, options: HipcallDownOptions = {}): Promise<HipcallDownResult> {
  const api = await downApi(mode);
  let own: FaultStack | undefined;
  try {
    const stack = options.stack ?? (own = await startFaultStack());
    return await againstDownApi(stack, api, mode, options.calls ?? 3);
  } finally {
    await own?.close();
    await api.close();
  }
}

async function againstDownApi(
  stack: FaultStack,
  api: Awaited<ReturnType<typeof downApi>>,
  mode: ApiDown,
  calls: number,
): Promise<HipcallDownResult> {
  const config = parseConfig({ defaultCountry: 'GB' });
  const env = stack.env;
  const { contacts } = parseContactsCsv('phone,name,company\n+44 20 4520 5757,Jane Smith,Acme Corp\n', { defaultCountry: 'GB' });
  await new ContactsTable(stack.doc, 'contacts').putAll(contacts);
  const ingest = createIngestHandler(
    ingestDeps(env, { config, target: stack.target, tokens: new StaticWebhookTokens(TOKEN), metricsOut: () => undefined }),
  );
  const hipcallSources = config.sources.filter((s) => s.provider === 'hipcall').map((s) => s.id);
  const insight = createInsightHandler(
    insightDeps(env, {
      config,
      target: strictAwsTarget(stack.target, 'insight'),
      hipcall: {
        baseUrls: Object.fromEntries(hipcallSources.map((id) => [id, api.base])),
        secrets: Object.fromEntries(hipcallSources.map((id) => [id, { token: 'fault-api-token-0123456789' }])),
      },
      metricsOut: () => undefined,
    }),
  );
  // A shared stack may hold an earlier run's dead letters: count only this run's.
  const dlqBefore = await stack.depth('insightDlq');
  const stop = startPoller({
    sqs: stack.sqs,
    queueUrl: stack.queues.insight,
    handler: insight,
    name: 'callvault-insight',
    batchSize: 10,
    timeoutMs: 10_000,
    waitTimeSeconds: 1,
    concurrency: 2,
  });
  try {
    const started = Date.now();
    const keys: string[] = [];
    for (let i = 0; i < calls; i++) {
      const uuid = `fault-insight-${mode}-${i}-${crypto.randomUUID()}`;
      const init = JSON.stringify({
        event: 'call_init',
        data: {
          uuid,
          direction: 'inbound',
          caller_number: '+442045205757',
          callee_number: '+441234567890',
          started_at: new Date().toISOString(),
        },
      });
      const res = (await ingest(apiEvent('hipcall', init), fakeContext('callvault-ingest', 6000))) as APIGatewayProxyStructuredResultV2;
      if (res.statusCode !== 200)
        throw new Error(`the ingest answered ${res.statusCode} ${res.body}: the fault stack is not healthy before the fault`);
      keys.push(`hipcall#${uuid}`);
    }
    let outcomes: string[] = [];
    // Bounded; on timeout the outcomes stay as last read and the caller judges them.
    await waitFor(
      async () => {
        const items = await stack.items(keys);
        outcomes = keys.map((k) => String((items.get(k)?.insight as { state?: string } | undefined)?.state));
        return outcomes.every((o) => o !== 'undefined' && o !== 'pending') ? true : undefined;
      },
      30_000,
      () => `insight outcomes not recorded: ${outcomes.join(', ')}`,
    ).catch(() => undefined);
    const settleMs = Date.now() - started;
    // Anything still to come (a redelivery) would show here: wait for the queue to empty first.
    await waitFor(
      async () => ((await stack.depth('insight')) === 0 ? true : undefined),
      15_000,
      () => 'insight queue not drained',
    ).catch(() => undefined);
    return {
      mode,
      calls,
      outcomes,
      requests: api.count(),
      allowed: calls * CARD_RETRY.maxAttempts,
      settleMs,
      insightLeft: await stack.depth('insight'),
      insightDlq: (await stack.depth('insightDlq')) - dlqBefore,
    };
  } finally {
    await stop();
  }
}
