/**
 * Ingest benchmarks.
 * 1. Latency against the emulators: the real handler vs the same writes issued bare with the SDK, in
 *    parallel (conditional create of the item, raw/ put, media job), for new calls. Ratio of medians.
 * 2. CPU per delivery with I/O stubbed: the handler's own work (auth, parse, normalise, merge, keys).
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { startEmulators } from '#bin/local/emulators.ts';
import { fakeContext } from '#bin/local/poller.ts';
import { parseConfig } from '#contract/config-schema.ts';
import { FAST, dynamoDocument, s3Client, sqsClient } from '#adapters/aws.ts';
import { deliveryKey, mergeDelivery, type StoredCallRecord } from '#core/call-record.ts';
import type { CallRecords, CallWrite, WriteResult } from '#core/ports/calls-store.ts';
import { normaliseDelivery } from '#core/providers/index.ts';
import { sha256Hex } from '#core/request.ts';
import { DynamoCallsStore as CallsTableImpl } from '#adapters/calls-store.ts';
import { S3_KEYS } from '#contract/resources.ts';
import { handleWebhook, type IngestDeps } from '#functions/ingest/process.ts';
import { StaticWebhookTokens } from '#bin/local/local-secrets.ts';
import type { DeliveryArchive } from '#core/ports/delivery-archive.ts';
import type { JobQueues } from '#core/ports/job-queues.ts';
import { S3DeliveryArchive } from '#adapters/delivery-archive.ts';
import { SqsJobQueues } from '#adapters/job-queues.ts';
import { ingestDeps } from '#functions/ingest/deps.ts';
import { createIngestHandler } from '#functions/ingest/handler.ts';
import { apiEvent, hipcallHangup as hangup } from '#test/support/ingest-harness.ts';
import { median, type BenchRow } from './stats.ts';

const TOKEN = 'bench-token-0123456789';

const event = (body: string): APIGatewayProxyEventV2 => ({ ...apiEvent('hipcall', body, { token: TOKEN }) });

export async function runIngestLatencyBench(n = 300): Promise<BenchRow[]> {
  const emulators = await startEmulators();
  const config = parseConfig({});
  const env = { ...emulators.env, POWERTOOLS_LOG_LEVEL: 'SILENT' };
  const handler = createIngestHandler(ingestDeps(env, { config, target: emulators.target, tokens: new StaticWebhookTokens(TOKEN) }));
  const doc = dynamoDocument(FAST, emulators.target);
  const s3 = s3Client(FAST, emulators.target);
  const sqs = sqsClient(FAST, emulators.target);

  const config0 = config;
  const table = new CallsTableImpl(doc, emulators.tables.calls);
  /** Exactly the writes the handler makes for a new call, prepared outside the timing. */
  const prepareBare = (uuid: string, body: string) => {
    const receivedAt = new Date().toISOString();
    const sha = sha256Hex(body);
    const result = normaliseDelivery('hipcall', JSON.parse(body), { defaultCountry: config0.defaultCountry, receivedAt });
    if (result.outcome !== 'events') throw new Error('bench body must be a call event');
    const ev = result.events[0]!;
    const { record } = mergeDelivery(undefined, {
      source: 'hipcall',
      event: ev,
      deliveryKey: deliveryKey(result.eventType, sha),
      now: receivedAt,
    });
    const update = table.upsertCommand(
      record,
      undefined,
      ev.media.map((m) => m.media),
      receivedAt,
    );
    const put = new PutObjectCommand({
      Bucket: emulators.bucket,
      Key: S3_KEYS.raw('hipcall', ev.fields.startedAt ?? receivedAt, uuid, receivedAt, `${result.eventType}-${sha.slice(0, 16)}`),
      Body: Buffer.from(body),
      ContentType: 'application/json',
      Metadata: { source: 'hipcall', 'received-at': receivedAt, 'sent-content-type': 'application/json' },
    });
    const job = { provider: 'hipcall', source: 'hipcall', callId: uuid, media: 'recording', url: ev.media[0]!.url, queuedAt: receivedAt };
    const send = new SendMessageBatchCommand({
      QueueUrl: emulators.queues.media,
      Entries: [{ Id: '0', MessageBody: JSON.stringify(job), DelaySeconds: 10 }],
    });
    return () => Promise.all([doc.send(update), s3.send(put), sqs.send(send)]);
  };
  const bare = async (uuid: string, body: string) => {
    const run = prepareBare(uuid, body);
    const t = performance.now();
    await run();
    return performance.now() - t;
  };
  const handlerRun = async (_uuid: string, body: string) => {
    const res = (await handler(event(body), fakeContext('ingest', 6000))) as { statusCode: number };
    if (res.statusCode !== 200) throw new Error(`handler answered ${res.statusCode}`);
  };

  // Warm both paths (connections, JIT), then interleave so drift hits both equally.
  for (let i = 0; i < 30; i++) {
    await bare(`warm-bare-${i}`, hangup(`warm-bare-${i}`));
    await handlerRun(`warm-h-${i}`, hangup(`warm-h-${i}`));
  }
  const tHandler: number[] = [];
  const tBare: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = `bench-h-${i}`;
    const b = `bench-b-${i}`;
    const bodyA = hangup(a);
    const bodyB = hangup(b);
    const t = performance.now();
    await handlerRun(a, bodyA);
    tHandler.push(performance.now() - t);
    tBare.push(await bare(b, bodyB));
  }
  doc.destroy();
  s3.destroy();
  sqs.destroy();
  await emulators.close();
  const mh = median(tHandler);
  const mb = median(tBare);
  return [
    { name: 'ingest median latency (handler, emulators)', value: mh, unit: 'ms', goal: '', pass: true },
    { name: 'same SDK calls bare, in parallel', value: mb, unit: 'ms', goal: '', pass: true },
    { name: 'ingest latency ratio handler / bare', value: mh / mb, unit: 'x', goal: '<= 1.15', pass: mh / mb <= 1.15 },
  ];
}

/** The handler with every I/O port answered in memory: what remains is its own CPU work. */
export async function runIngestCpuBench(n = 20_000): Promise<BenchRow[]> {
  // The cheapest store that keeps items: the test fake's DynamoDB write rules would be its own cost, not the handler's.
  const items = new Map<string, StoredCallRecord>();
  const keep = (write: CallWrite) => (items.set(write.record.callKey, write.record), Promise.resolve<WriteResult>('written'));
  const calls: CallRecords = { get: (callKey) => Promise.resolve(items.get(callKey)), create: keep, putIfVersion: keep };
  const done = () => Promise.resolve();
  const archive = { putRaw: done, putQuarantine: done } as unknown as DeliveryArchive;
  const queues = {
    sendMedia: done,
    sendInsight: done,
    sendReplay: done,
  } as unknown as JobQueues;
  const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const deps: IngestDeps = {
    config: parseConfig({}),
    tokens: new StaticWebhookTokens(TOKEN),
    calls,
    archive,
    queues,
    log: silent,
    metrics: { count: () => undefined, measure: () => undefined },
  };
  const bodies = Array.from({ length: n }, (_, i) => event(hangup(`cpu-${i}`)));
  for (let i = 0; i < 2000; i++) await handleWebhook(event(hangup(`cpu-warm-${i}`)), deps);
  const samples: number[] = [];
  for (const e of bodies) {
    const c = process.cpuUsage();
    const res = await handleWebhook(e, deps);
    const d = process.cpuUsage(c);
    if (res.statusCode !== 200) throw new Error(`stubbed handler answered ${res.statusCode}`);
    samples.push((d.user + d.system) / 1000);
  }
  const m = median(samples);
  return [{ name: 'ingest CPU per delivery, I/O stubbed (median)', value: m, unit: 'ms', goal: '< 0.3', pass: m < 0.3 }];
}

/** The 3 s promise: answer time while DynamoDB accepts connections and never answers (worst case of n). */
export async function runIngestOutageBench(n = 20): Promise<BenchRow[]> {
  const emulators = await startEmulators({ faultableDynamo: true });
  const handle = handleWebhook;
  const t = emulators.target;
  const deps: IngestDeps = {
    config: parseConfig({}),
    tokens: new StaticWebhookTokens(TOKEN),
    calls: new CallsTableImpl(dynamoDocument(FAST, t), emulators.tables.calls),
    archive: new S3DeliveryArchive(s3Client(FAST, t), emulators.bucket),
    queues: new SqsJobQueues(sqsClient(FAST, t), emulators.queues),
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    metrics: { count: () => undefined, measure: () => undefined },
  };
  emulators.breakDynamo('hang');
  const times: number[] = [];
  let accepted = 0;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await handle(event(hangup(`outage-${i}`)), deps);
    times.push(performance.now() - t);
    if (res.statusCode === 202) accepted++;
  }
  emulators.restoreDynamo();
  await emulators.close();
  const worst = Math.max(...times);
  return [
    { name: 'ingest answer with DynamoDB hanging (worst of 20)', value: worst, unit: 'ms', goal: '< 3000', pass: worst < 3000 },
    { name: 'deliveries queued for replay during the outage', value: accepted, unit: `of ${n}`, goal: `= ${n}`, pass: accepted === n },
  ];
}
