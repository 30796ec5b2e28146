/**
 * The load benchmark: Hipcall `call_hangup` deliveries against the running local stack, as a
 * provider sends them in a busy hour: 2,000 deliveries for 1,600 calls (20% are repeats of a delivery
 * already sent, in a shuffled order so a repeat may race its first copy), at 16 and at 64 concurrent
 * keep-alive connections. Each delivery's record_url points at the stack's demo media server.
 *
 * It reports throughput and p50/p99 of the acknowledgement, then checks the stack did the work: every
 * call in the table, completed, its recording stored once with the demo server's bytes, each delivery
 * applied once, and none answered through the replay fallback (202s, and the EMF metrics log).
 *
 * The load generator is node:http with one keep-alive socket per connection: it keeps each delivery's
 * own status and latency, which autocannon's aggregate histogram does not.
 */
import { request, Agent } from 'node:http';
import { createHash } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { localClientConfig } from '#bin/local/target.ts';
import { demoMediaBytes } from '#bin/local/demo-media.ts';
import { METRICS_LOG, type Endpoints } from '#bin/local/stack.ts';
import { METRIC } from '#core/metrics.ts';
import { readEmfFile } from '#test/support/emf.ts';
import { hipcallHangup } from '#test/support/ingest-harness.ts';
import { join } from 'node:path';
import { percentile, type BenchRow } from './stats.ts';

/** Hipcall's own demo receiver's best, sending the same workload one at a time on a 2-core machine. */
export const DEMO_SEQUENTIAL_BEST_PER_SECOND = 556;
const GOAL_P99_MS = 100;

export interface LoadWorkloadOptions {
  /** Distinguishes the call ids of one run from every other run against the same stack. */
  runId: string;
  deliveries?: number;
  calls?: number;
  /** The stack's demo media server, e.g. http://127.0.0.1:41234. */
  demoMedia: string;
  /** Size of each recording the demo server serves. */
  recordingKb?: number;
  /** Deliveries without a recording (the warm-up: its media jobs would be counted with the measured run's). */
  withoutRecordings?: boolean;
}

export interface LoadDelivery {
  callId: string;
  body: string;
}

/** A small deterministic PRNG (mulberry32): the same run id always yields the same order. */
function prng(seed: string): () => number {
  let a = createHash('sha256').update(seed).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const loadCallId = (runId: string, i: number) => `load-${runId}-${String(i).padStart(5, '0')}`;

/** The recording URL of a call: a path on the demo media server, so the stored bytes can be checked. */
export const recordingPath = (callId: string, kb: number) => `/recordings/${callId}.mp3?kb=${kb}`;

/** A Hipcall call_hangup as the provider sends it (fixture shape), for a 45 s answered call. */
export const hangupBody = (callId: string, recordUrl: string | null): string => hipcallHangup(callId, recordUrl);

/**
 * Every call once, then repeats (the same bytes again, as a provider repeats a delivery) of calls spread
 * evenly over the run, all shuffled.
 */
export function loadWorkload(opts: LoadWorkloadOptions): LoadDelivery[] {
  const deliveries = opts.deliveries ?? 2000;
  const calls = opts.calls ?? 1600;
  if (calls > deliveries || calls < 1)
    throw new Error(`A load workload needs 1..deliveries calls (got ${calls} calls for ${deliveries} deliveries).`);
  const kb = opts.recordingKb ?? 32;
  const once = Array.from({ length: calls }, (_, i) => {
    const callId = loadCallId(opts.runId, i);
    return { callId, body: hangupBody(callId, opts.withoutRecordings ? null : `${opts.demoMedia}${recordingPath(callId, kb)}`) };
  });
  const repeats = Array.from({ length: deliveries - calls }, (_, j) => once[Math.floor((j * calls) / (deliveries - calls)) % calls]!);
  const all = [...once, ...repeats];
  const rand = prng(opts.runId);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all;
}

export interface Sent {
  /** Deliveries per second over the whole run (first request sent to last answer). */
  throughput: number;
  p50: number;
  p99: number;
  max: number;
  /** Answers by HTTP status (0: no answer). */
  statuses: Record<string, number>;
  /** Answers by the body's `status` field (stored, duplicate, queued, ...). */
  outcomes: Record<string, number>;
  elapsedMs: number;
}

/** POST every delivery through `connections` keep-alive sockets, each sending its next one when answered. */
export async function sendDeliveries(url: string, deliveries: readonly LoadDelivery[], connections: number): Promise<Sent> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const outcomes: Record<string, number> = {};
  const post = (body: string) =>
    new Promise<{ status: number; text: string }>((resolve) => {
      const req = request(
        url,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', () => resolve({ status: 0, text: '' }));
        },
      );
      req.on('error', () => resolve({ status: 0, text: '' }));
      req.end(body);
    });
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < deliveries.length) {
      const d = deliveries[next++]!;
      const t = performance.now();
      const { status, text } = await post(d.body);
      latencies.push(performance.now() - t);
      statuses[status] = (statuses[status] ?? 0) + 1;
      let outcome = 'unreadable';
      try {
        outcome = String((JSON.parse(text) as { status?: unknown }).status ?? 'none');
      } catch {
        // counted as unreadable
      }
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(connections, deliveries.length) }, worker));
  const elapsedMs = performance.now() - started;
  agent.destroy();
  return {
    throughput: deliveries.length / (elapsedMs / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: Math.max(...latencies),
    statuses,
    outcomes,
    elapsedMs,
  };
}

/** What the table and bucket hold for one run's calls, once the pipeline has settled. */
export interface Verified {
  calls: number;
  /** Calls not in the table at all. */
  lost: number;
  /** Calls in the table but not completed, or whose recording is not stored. */
  wrongState: number;
  /** Items with a delivery applied more than once, or with more than one delivery key (each call had one distinct delivery). */
  doubleApplied: number;
  /** Recording objects whose size or SHA-256 differs from the demo server's bytes. */
  badRecordings: number;
  /** Recording objects in S3 for this run, at the keys the items name (one per call when all is well). */
  recordingObjects: number;
  /** Recordings uploaded more than once (MediaStored beyond one per call, from the EMF metrics log). */
  duplicateMedia: number;
  /** Deliveries that went to the replay queue (DeliveryQueuedForReplay + DeliveryUnapplied in the metrics log). */
  replayFallbacks: number;
  /** How long the media pipeline took to store every recording after the last answer. */
  settleMs: number;
}

interface Item {
  callKey: string;
  status?: string;
  durationSec?: number;
  events?: string[] | Set<string>;
  recording?: { state?: string; bytes?: number; sha256?: string; s3Key?: string };
}

export interface LoadStack {
  endpoints: Endpoints;
  dataDir: string;
}

/** Totals of the pipeline's counters in the stack's EMF log (lines without a source are the per-total copies, skipped). */
function countersOf(dataDir: string): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const m of readEmfFile(join(dataDir, METRICS_LOG))) {
    if (m.unit !== 'Count' || typeof m.fields.source !== 'string') continue;
    totals[m.name] = (totals[m.name] ?? 0) + m.values.reduce((a, b) => a + b, 0);
  }
  return totals;
}

async function readItems(doc: DynamoDBDocumentClient, table: string, callIds: readonly string[]): Promise<Map<string, Item>> {
  const items = new Map<string, Item>();
  for (let i = 0; i < callIds.length; i += 100) {
    let keys: Record<string, unknown>[] = callIds.slice(i, i + 100).map((id) => ({ callKey: `hipcall#${id}` }));
    while (keys.length) {
      const out = await doc.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }));
      for (const it of (out.Responses?.[table] ?? []) as Item[]) items.set(it.callKey, it);
      keys = (out.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, unknown>[];
    }
  }
  return items;
}

const settled = (it: Item | undefined) => it?.status === 'completed' && it.recording?.state === 'stored';

/**
 * Wait (up to `timeoutMs`) for every call's recording to be stored and the replay queue to be empty, then
 * check everything. `before` are the metric totals taken before the run.
 */
export async function verifyRun(
  stack: LoadStack,
  runId: string,
  calls: number,
  recordingKb: number,
  before: Record<string, number>,
  timeoutMs = 300_000,
): Promise<Verified> {
  const e = stack.endpoints;
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(e.dynamodb)));
  const s3 = new S3Client(localClientConfig(e.s3));
  const sqs = new SQSClient(localClientConfig(e.sqs));
  const ids = Array.from({ length: calls }, (_, i) => loadCallId(runId, i));
  const started = Date.now();
  const finished = (totals: Record<string, number>) =>
    [METRIC.mediaStored, METRIC.mediaFailed, METRIC.mediaExpired, METRIC.mediaRejected].reduce(
      (n, m) => n + (totals[m] ?? 0) - (before[m] ?? 0),
      0,
    );
  try {
    // Wait on the metrics log (cheap to read), not the table: polling 1,600 items would load the emulator being measured.
    for (;;) {
      const { Attributes: a } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: e.queues.replay,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      const replayPending = Number(a?.ApproximateNumberOfMessages ?? 0) + Number(a?.ApproximateNumberOfMessagesNotVisible ?? 0);
      if ((finished(countersOf(stack.dataDir)) >= calls && replayPending === 0) || Date.now() - started > timeoutMs) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const settleMs = Date.now() - started;
    const items = await readItems(doc, e.tables.calls, ids);
    const expected = demoMediaBytes(recordingPath(ids[0]!, recordingKb))!.body.length;
    let lost = 0;
    let wrongState = 0;
    let doubleApplied = 0;
    let badRecordings = 0;
    let recordingObjects = 0;
    const heads: Promise<void>[] = [];
    for (const id of ids) {
      const it = items.get(`hipcall#${id}`);
      if (!it) {
        lost++;
        continue;
      }
      if (!settled(it) || it.durationSec !== 45) wrongState++;
      // lib-dynamodb reads a list as an array and a string set as a Set: count either.
      const applied = it.events instanceof Set ? it.events.size : (it.events ?? []).length;
      if (applied !== 1) doubleApplied++;
      const want = createHash('sha256')
        .update(demoMediaBytes(recordingPath(id, recordingKb))!.body)
        .digest('hex');
      if (it.recording?.state === 'stored' && (it.recording.bytes !== expected || it.recording.sha256 !== want)) badRecordings++;
      const key = it.recording?.s3Key;
      // s3rver answers ListObjectsV2 with a 500 here, so each object is checked by HEAD.
      if (key)
        heads.push(
          s3.send(new HeadObjectCommand({ Bucket: e.bucket, Key: key })).then(
            (h) => {
              recordingObjects++;
              if (h.ContentLength !== expected) badRecordings++;
            },
            () => undefined,
          ),
        );
      if (heads.length >= 16) await Promise.all(heads.splice(0));
    }
    await Promise.all(heads);
    // The metrics file is appended by the stack's process: give its last lines a moment.
    await new Promise((r) => setTimeout(r, 300));
    const after = countersOf(stack.dataDir);
    const delta = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
    return {
      calls,
      lost,
      wrongState,
      doubleApplied,
      badRecordings,
      recordingObjects,
      duplicateMedia: Math.max(0, delta(METRIC.mediaStored) - (calls - lost)),
      replayFallbacks: delta(METRIC.deliveryQueuedForReplay) + delta(METRIC.deliveryUnapplied),
      settleMs,
    };
  } finally {
    doc.destroy();
    s3.destroy();
    sqs.destroy();
  }
}

export interface LoadRun {
  connections: number;
  deliveries: number;
  calls: number;
  sent: Sent;
  verified: Verified;
}

/** The floor's run (bench/load-floor.ts): the same workload, answered after the delivery's AWS requests alone. */
export interface FloorRun {
  connections: number;
  deliveries: number;
  sent: Sent;
  /** The same workload answered after the raw/ copy alone (PutObject), the one request no design can skip. */
  rawOnly: Sent;
  /** The stack's throughput at the same concurrency over the floor's. */
  stackShare: number;
}

export interface LoadBenchOptions {
  connections?: number[];
  deliveries?: number;
  calls?: number;
  recordingKb?: number;
  /** Deliveries sent first and not measured, so JIT and sockets are warm as in a busy hour. */
  warmup?: number;
  /** Also measure the floor (bench/load-floor.ts) at the first connection count. @default true */
  floor?: boolean;
  log?: (line: string) => void;
}

/** Run the workload once per connection count against `stack`, each run with its own calls, verified before the next. */
export async function runLoadBench(
  stack: LoadStack,
  opts: LoadBenchOptions = {},
): Promise<{ rows: BenchRow[]; runs: LoadRun[]; floor?: FloorRun }> {
  const log = opts.log ?? (() => undefined);
  const hipcall = stack.endpoints.sources.find((s) => s.provider === 'hipcall');
  if (!hipcall)
    throw new Error('The local stack has no hipcall source: the load benchmark needs one (check the callvault config in cdk.json).');
  const kb = opts.recordingKb ?? 32;
  const stamp = Date.now().toString(36);
  const warm = loadWorkload({
    runId: `${stamp}w`,
    deliveries: opts.warmup ?? 200,
    calls: opts.warmup ?? 200,
    demoMedia: stack.endpoints.demoMedia,
    withoutRecordings: true,
  });
  await sendDeliveries(hipcall.url, warm, 8);
  const runs: LoadRun[] = [];
  const rows: BenchRow[] = [];
  for (const connections of opts.connections ?? [16, 64]) {
    const runId = `${stamp}c${connections}`;
    const deliveries = loadWorkload({
      runId,
      deliveries: opts.deliveries,
      calls: opts.calls,
      demoMedia: stack.endpoints.demoMedia,
      recordingKb: kb,
    });
    const calls = new Set(deliveries.map((d) => d.callId)).size;
    const before = countersOf(stack.dataDir);
    log(`load: ${deliveries.length} deliveries for ${calls} calls at ${connections} concurrent...`);
    const sent = await sendDeliveries(hipcall.url, deliveries, connections);
    log(
      `load: ${sent.throughput.toFixed(0)}/s, p50 ${sent.p50.toFixed(1)} ms, p99 ${sent.p99.toFixed(1)} ms; waiting for the recordings...`,
    );
    const verified = await verifyRun(stack, runId, calls, kb, before);
    runs.push({ connections, deliveries: deliveries.length, calls, sent, verified });
    const c = `${connections} concurrent`;
    const answered2xx = Object.entries(sent.statuses)
      .filter(([s]) => /^2/.test(s))
      .reduce((n, [, v]) => n + v, 0);
    const strict = connections <= 16;
    rows.push(
      {
        name: `load ${c}: throughput`,
        value: sent.throughput,
        unit: '/s',
        goal: strict ? `>= ${DEMO_SEQUENTIAL_BEST_PER_SECOND}` : '',
        pass: !strict || sent.throughput >= DEMO_SEQUENTIAL_BEST_PER_SECOND,
      },
      { name: `load ${c}: ack p50`, value: sent.p50, unit: 'ms', goal: '', pass: true },
      {
        name: `load ${c}: ack p99`,
        value: sent.p99,
        unit: 'ms',
        goal: strict ? `< ${GOAL_P99_MS}` : '',
        pass: !strict || sent.p99 < GOAL_P99_MS,
      },
      {
        name: `load ${c}: answered 2xx`,
        value: answered2xx,
        unit: `of ${deliveries.length}`,
        goal: `= ${deliveries.length}`,
        pass: answered2xx === deliveries.length,
      },
      { name: `load ${c}: calls lost`, value: verified.lost, unit: `of ${calls}`, goal: '= 0', pass: verified.lost === 0 },
      {
        name: `load ${c}: calls in a wrong state`,
        value: verified.wrongState,
        unit: `of ${calls}`,
        goal: '= 0',
        pass: verified.wrongState === 0,
      },
      {
        name: `load ${c}: recordings stored`,
        value: verified.recordingObjects,
        unit: `of ${calls}`,
        goal: `= ${calls}`,
        pass: verified.recordingObjects === calls && verified.badRecordings === 0,
      },
      {
        name: `load ${c}: duplicates`,
        value: verified.doubleApplied + verified.duplicateMedia,
        unit: '',
        goal: strict ? '= 0' : '',
        pass: !strict || verified.doubleApplied + verified.duplicateMedia === 0,
      },
      {
        name: `load ${c}: fell back to replay`,
        value: verified.replayFallbacks,
        unit: '',
        goal: strict ? '= 0' : '',
        pass: !strict || verified.replayFallbacks === 0,
      },
    );
  }
  let floor: FloorRun | undefined;
  if (opts.floor ?? true) {
    const first = runs[0]!;
    const { startFloor } = await import('./load-floor.ts');
    const server = await startFloor(stack.endpoints);
    try {
      const deliveries = loadWorkload({
        runId: `${stamp}floor`,
        deliveries: opts.deliveries,
        calls: opts.calls,
        demoMedia: stack.endpoints.demoMedia,
        recordingKb: kb,
      });
      await sendDeliveries(
        server.url,
        loadWorkload({
          runId: `${stamp}floorw`,
          deliveries: opts.warmup ?? 200,
          calls: opts.warmup ?? 200,
          demoMedia: stack.endpoints.demoMedia,
        }),
        8,
      );
      log(`load floor: the same workload, answered after the delivery's AWS requests alone, at ${first.connections} concurrent...`);
      const sent = await sendDeliveries(server.url, deliveries, first.connections);
      const rawOnly = await sendDeliveries(
        `${server.url}raw`,
        loadWorkload({
          runId: `${stamp}floorraw`,
          deliveries: opts.deliveries,
          calls: opts.calls,
          demoMedia: stack.endpoints.demoMedia,
          recordingKb: kb,
        }),
        first.connections,
      );
      floor = {
        connections: first.connections,
        deliveries: deliveries.length,
        sent,
        rawOnly,
        stackShare: first.sent.throughput / sent.throughput,
      };
    } finally {
      await server.close();
    }
    const c = `${floor.connections} concurrent`;
    const ok = floor.sent.statuses['200'] ?? 0;
    rows.push(
      {
        name: `load floor ${c}: answered (AWS requests only)`,
        value: ok,
        unit: `of ${floor.deliveries}`,
        goal: `= ${floor.deliveries}`,
        pass: ok === floor.deliveries,
      },
      { name: `load floor ${c}: throughput (AWS requests only)`, value: floor.sent.throughput, unit: '/s', goal: '', pass: true },
      { name: `load floor ${c}: ack p99 (AWS requests only)`, value: floor.sent.p99, unit: 'ms', goal: '', pass: true },
      { name: `load floor ${c}: throughput, raw/ copy alone`, value: floor.rawOnly.throughput, unit: '/s', goal: '', pass: true },
      { name: `load floor ${c}: ack p99, raw/ copy alone`, value: floor.rawOnly.p99, unit: 'ms', goal: '', pass: true },
      { name: `load ${c}: stack throughput / floor`, value: floor.stackShare, unit: 'x', goal: '', pass: true },
    );
    if (floor.sent.throughput < DEMO_SEQUENTIAL_BEST_PER_SECOND) {
      log(
        `load floor: ${floor.sent.throughput.toFixed(0)}/s (p99 ${floor.sent.p99.toFixed(0)} ms) with no handler at all, only the AWS requests a delivery must make against the emulators: ` +
          `the ${DEMO_SEQUENTIAL_BEST_PER_SECOND}/s goal is above what this machine can do with them (the raw/ copy alone: ${floor.rawOnly.throughput.toFixed(0)}/s, p99 ${floor.rawOnly.p99.toFixed(0)} ms). The stack reaches ${(floor.stackShare * 100).toFixed(0)}% of the floor.`,
      );
    }
  }
  return { rows, runs, ...(floor ? { floor } : {}) };
}

/**
 * `npm run bench -- load`: start the local stack as `npm start` runs it (a child process, free ports, a
 * temporary data dir), run the workload, stop it, and write the numbers to `.callvault/bench/load.json`.
 * With `--running`, measure the stack already running from `CALLVAULT_DATA_DIR` (default .callvault)
 * instead, e.g. one started with `node --cpu-prof --import tsx bin/local.ts` to profile it.
 */
export async function runLoadGroup(argv: readonly string[] = process.argv.slice(2)): Promise<BenchRow[]> {
  const log = (line: string) => console.error(line);
  let stack: LoadStack;
  let stop = async () => undefined as void;
  if (argv.includes('--running')) {
    const { readFile } = await import('node:fs/promises');
    const dataDir = process.env.CALLVAULT_DATA_DIR || '.callvault';
    const endpoints = JSON.parse(
      await readFile(join(dataDir, 'endpoints.json'), 'utf8').catch(() => {
        throw new Error(
          `No running local stack found (${join(dataDir, 'endpoints.json')} is missing): start it with npm start, or drop --running.`,
        );
      }),
    ) as Endpoints;
    stack = { endpoints, dataDir };
  } else {
    const { startLocalStackProcess } = await import('#test/support/local-stack-process.ts');
    const child = await startLocalStackProcess();
    stack = child;
    stop = child.stop;
  }
  try {
    const { rows, runs, floor } = await runLoadBench(stack, { log });
    const { writeBenchJson } = await import('./stats.ts');
    const { cpus } = await import('node:os');
    const file = await writeBenchJson('load', {
      cores: cpus().length,
      node: process.version,
      goals: { throughputPerSecond: DEMO_SEQUENTIAL_BEST_PER_SECOND, p99Ms: GOAL_P99_MS },
      runs,
      floor,
    });
    log(`load: numbers written to ${file}`);
    return rows;
  } finally {
    await stop();
  }
}
