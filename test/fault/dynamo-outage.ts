/**
 * Fault: the DynamoDB emulator killed during a burst of Hipcall call_hangup deliveries, and started
 * again on the same port with the same data. The real ingest handler answers every delivery (falling
 * back to the replay queue while the table is gone); the same handler, fed by the replay queue, applies
 * them once the table is back. Returns what happened; the test and the benchmark judge it.
 */
import type { APIGatewayProxyStructuredResultV2, SQSBatchResponse } from 'aws-lambda';
import { fakeContext, startPoller } from '#bin/local/poller.ts';
import { parseConfig } from '#contract/config-schema.ts';
import { StaticWebhookTokens } from '#bin/local/local-secrets.ts';
import { ingestDeps } from '#functions/ingest/deps.ts';
import { createIngestHandler } from '#functions/ingest/handler.ts';
import { apiEvent, hipcallHangup, TOKEN } from '#test/support/ingest-harness.ts';
import { strictAwsTarget } from '#bin/aws-fidelity/aws-contract.ts';
import { startFaultStack, waitFor } from './fault-stack.ts';

export interface DynamoOutageResult {
  deliveries: number;
  /** Deliveries answered 2xx, and by status (`stored`, `duplicate`, `queued`...). */
  answered2xx: number;
  byStatus: Record<string, number>;
  /** Calls in the table with their hangup applied, once the replays ran. */
  applied: number;
  calls: number;
  /** From DynamoDB answering again to every call applied. */
  recoverMs: number;
  /** Longest time any delivery waited for its answer (the ingest's budget is 3 s). */
  maxAnswerMs: number;
  replayLeft: number;
  replayDlq: number;
  /** Wall time of each stage (start, burst before/after the kill, restart, recovery). */
  phases: Record<string, number>;
}

export interface DynamoOutageOptions {
  /** Distinct calls in the burst; every fifth is delivered twice, as providers repeat. */
  calls?: number;
  concurrency?: number;
  /** Bounded wait for the replays to apply everything. */
  recoverTimeoutMs?: number;
}

/** Send `bodies` `concurrency` at a time through `send`; `onAnswer(n)` sees the running count. */
async function burst<T>(
  bodies: string[],
  concurrency: number,
  send: (body: string) => Promise<T>,
  onAnswer: (n: number) => void = () => undefined,
): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  let answered = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        out.push(await send(body));
        onAnswer(++answered);
      }
    }),
  );
  return out;
}

export async function runDynamoOutage(options: DynamoOutageOptions = {}): Promise<DynamoOutageResult> {
  const calls = options.calls ?? 60;
  const concurrency = options.concurrency ?? 8;
  // A replay that fails while the table is gone comes back after the visibility timeout: 60 s deployed,
  // 2 s here, so the retries of the outage fit in a test.
  const t0 = Date.now();
  const stack = await startFaultStack({ visibilitySeconds: { replay: 2 } });
  const phases: Record<string, number> = { startMs: Date.now() - t0 };
  let mark = Date.now();
  const lap = (name: string) => ((phases[name] = Date.now() - mark), (mark = Date.now()));
  const config = parseConfig({});
  const handler = createIngestHandler(
    ingestDeps(stack.env, {
      config,
      target: strictAwsTarget(stack.target, 'ingest'),
      tokens: new StaticWebhookTokens(TOKEN),
      mediaDelaySeconds: 0,
      metricsOut: () => undefined,
    }),
  );
  const stopReplays = startPoller({
    sqs: stack.sqs,
    queueUrl: stack.queues.replay,
    handler: (e, c) => handler(e, c) as Promise<SQSBatchResponse>,
    name: 'callvault-ingest',
    batchSize: 5,
    timeoutMs: 6000,
    waitTimeSeconds: 1,
    concurrency: 2,
  });
  try {
    const uuids = Array.from({ length: calls }, (_, i) => `fault-ddb-${i}-${crypto.randomUUID()}`);
    const bodies = uuids.flatMap((uuid, i) => (i % 5 === 4 ? [hipcallHangup(uuid), hipcallHangup(uuid)] : [hipcallHangup(uuid)]));
    const third = Math.ceil(bodies.length / 3);
    let maxAnswerMs = 0;
    const send = async (body: string) => {
      const started = Date.now();
      const res = (await handler(apiEvent('hipcall', body), fakeContext('callvault-ingest', 6000))) as APIGatewayProxyStructuredResultV2;
      maxAnswerMs = Math.max(maxAnswerMs, Date.now() - started);
      return { status: res.statusCode ?? 0, json: JSON.parse(res.body ?? '{}') as { status?: string } };
    };

    // Killed while the first third is in flight; the second third arrives with no table at all; the
    // last third once it is back. (Not while it boots: on a loaded 2-core machine a booting emulator
    // starves everything else, and the answers would measure the machine, not the fallback.)
    let killed: Promise<void> | undefined;
    const answers = await burst(bodies.slice(0, third), concurrency, send, (n) => {
      if (n === Math.floor(third / 2)) killed = stack.dynamo.stop('SIGKILL');
    });
    await killed;
    lap('beforeKillMs');
    answers.push(...(await burst(bodies.slice(third, 2 * third), concurrency, send)));
    lap('outageMs');
    await stack.dynamo.start();
    const backAt = Date.now();
    lap('restartMs');
    answers.push(...(await burst(bodies.slice(2 * third), concurrency, send)));
    lap('afterRestartMs');

    const callKeys = uuids.map((u) => `hipcall#${u}`);
    const isApplied = (item: Record<string, unknown> | undefined) =>
      item?.status === 'completed' && item.endedAt === '2026-04-02T10:00:45.000Z';
    let applied = 0;
    await waitFor(
      async () => {
        const items = await stack.items(callKeys);
        applied = callKeys.filter((k) => isApplied(items.get(k))).length;
        return applied === calls ? true : undefined;
      },
      options.recoverTimeoutMs ?? 30_000,
      (err) =>
        `only ${applied} of ${calls} calls were applied after DynamoDB came back (replay queue: see its DLQ)${err ? `; last error: ${err}` : ''}`,
    ).catch(() => undefined);
    const recoverMs = Date.now() - backAt;
    lap('recoverMs');
    // Replays that failed during the outage come back once more (as duplicates): wait for the queue to empty.
    await waitFor(
      async () => ((await stack.depth('replay')) === 0 ? true : undefined),
      15_000,
      () => 'the replay queue did not drain',
    ).catch(() => undefined);
    lap('drainMs');

    const byStatus: Record<string, number> = {};
    for (const a of answers)
      byStatus[`${a.status} ${a.json.status ?? ''}`.trim()] = (byStatus[`${a.status} ${a.json.status ?? ''}`.trim()] ?? 0) + 1;
    return {
      deliveries: bodies.length,
      answered2xx: answers.filter((a) => a.status >= 200 && a.status < 300).length,
      byStatus,
      applied,
      calls,
      recoverMs,
      maxAnswerMs,
      replayLeft: await stack.depth('replay'),
      replayDlq: await stack.depth('replayDlq'),
      phases,
    };
  } finally {
    await stopReplays();
    await stack.close();
  }
}
