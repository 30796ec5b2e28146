/**
 * Insight card latency in the running local stack: from the 2xx on a Hipcall call_init to the card's
 * arrival at the stand-in Hipcall API. Goals: p50 < 250 ms, p99 < 600 ms over 500 calls.
 *
 * It imports one contact per call first (fictional +44 20 7946 xxxx numbers), then POSTs the call_init
 * deliveries at a steady rate, as a telephony system would, and reads `GET {hipcallMock}/_cards`.
 * Both timestamps come from this machine's clock (the stack runs here), in milliseconds.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ContactsTable } from '#adapters/contacts-table.ts';
import type { Contact } from '#core/contact.ts';
import { percentile, type BenchRow } from './stats.ts';

/** The parts of the local stack's endpoints.json the benchmark uses. */
export interface InsightBenchEndpoints {
  dynamodb: string;
  region: string;
  tables: { contacts: string; calls?: string };
  hipcallMock: string;
  token: string;
  api: string;
  sources: { id: string; provider: string; url?: string }[] | string[];
}

export interface InsightBenchOptions {
  calls?: number;
  /** call_init deliveries per second. */
  ratePerSecond?: number;
  /** Calls sent (and not measured) first, so the measured ones see warm connections. */
  warmup?: number;
  /** How long to wait for the last cards after the last call. */
  settleMs?: number;
  log?: (line: string) => void;
}

const GOAL_P50 = 250;
const GOAL_P99 = 600;

/** A Hipcall call_init as the provider sends it (seed 001), for an inbound call from `caller`, starting now. */
export function callInit(uuid: string, caller: string): string {
  return JSON.stringify({
    event: 'call_init',
    data: {
      uuid,
      direction: 'inbound',
      caller_number: caller,
      callee_number: '+442045205700',
      started_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      call_flow: [{ action: 'init', detail: { id: null, type: 'contact' }, timestamp: Math.floor(Date.now() / 1000) }],
      callee_type: 'contact',
      channel_type: 'number',
      hangup_by: null,
      answered_at: null,
      ended_at: null,
      user_id: null,
      record_url: null,
    },
  });
}

function webhookUrl(endpoints: InsightBenchEndpoints): string {
  for (const s of endpoints.sources) {
    if (typeof s === 'string') {
      if (s === 'hipcall') return `${endpoints.api}/webhooks/hipcall/${endpoints.token}`;
    } else if (s.provider === 'hipcall') return s.url ?? `${endpoints.api}/webhooks/${s.id}/${endpoints.token}`;
  }
  throw new Error('The local stack has no Hipcall source: add one to the callvault config in cdk.json.');
}

/** Run the benchmark against a running local stack (its endpoints.json). */
export async function runInsightBench(endpoints: InsightBenchEndpoints, options: InsightBenchOptions = {}): Promise<BenchRow[]> {
  const calls = options.calls ?? 500;
  const warmup = options.warmup ?? 10;
  const rate = options.ratePerSecond ?? 25;
  const log = options.log ?? (() => undefined);
  const url = webhookUrl(endpoints);
  const run = `${Date.now().toString(36)}`;

  const total = warmup + calls;
  if (total > 10_000) throw new Error('at most 10000 calls (one fictional number each)');
  const contacts: Contact[] = Array.from({ length: total }, (_, i) => ({
    // +44 20 7946 0000-0999 are Ofcom's drama numbers; beyond them, still well-formed London numbers.
    phone: `+44207946${String(i).padStart(4, '0')}`,
    name: `Bench Caller ${i}`,
    company: 'Bench Ltd',
    balance: 1000 + i,
  }));
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: endpoints.dynamodb,
      region: endpoints.region,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    }),
  );
  try {
    await new ContactsTable(doc, endpoints.tables.contacts).putAll(contacts);
  } catch (err) {
    doc.destroy();
    throw err;
  }
  log(`insight bench: ${total} contacts imported; sending ${total} call_init at ${rate}/s`);

  const acked = new Map<string, number>();
  const failures: string[] = [];
  const inflight: Promise<void>[] = [];
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const uuid = `bench-${run}-${i}`;
    inflight.push(
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: callInit(uuid, contacts[i]!.phone) })
        .then(async (res) => {
          await res.arrayBuffer();
          if (res.status >= 200 && res.status < 300) {
            if (i >= warmup) acked.set(uuid, Date.now());
          } else failures.push(`${uuid}: HTTP ${res.status}`);
        })
        .catch((err: unknown) => void failures.push(`${uuid}: ${(err as Error).message}`)),
    );
  }
  await Promise.all(inflight);

  const arrived = new Map<string, number>();
  const deadline = Date.now() + (options.settleMs ?? 10_000);
  while (Date.now() < deadline) {
    const res = await fetch(`${endpoints.hipcallMock}/_cards`);
    const cards = (await res.json()) as { callId: string; receivedAt: string }[];
    for (const c of cards) if (acked.has(c.callId) && !arrived.has(c.callId)) arrived.set(c.callId, Date.parse(c.receivedAt));
    if (arrived.size >= acked.size) break;
    await new Promise((r) => setTimeout(r, 200));
  }

  const latencies = [...arrived].map(([id, at]) => at - acked.get(id)!);
  if (failures.length) log(`insight bench: ${failures.length} deliveries failed, e.g. ${failures[0]}`);
  const missing = [...acked.keys()].filter((id) => !arrived.has(id));
  if (missing.length)
    log(
      `insight bench: ${missing.length} card(s) missing; their insight outcomes: ${JSON.stringify(await outcomesOf(doc, endpoints.tables.calls ?? 'calls', missing))}`,
    );
  doc.destroy();
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  return [
    { name: `insight card latency p50 (2xx → card, ${calls} calls)`, value: p50, unit: 'ms', goal: `< ${GOAL_P50}`, pass: p50 < GOAL_P50 },
    { name: 'insight card latency p99', value: p99, unit: 'ms', goal: `< ${GOAL_P99}`, pass: p99 < GOAL_P99 },
    { name: 'insight card latency max', value: latencies.length ? Math.max(...latencies) : NaN, unit: 'ms', goal: '', pass: true },
    {
      name: 'insight cards delivered',
      value: arrived.size,
      unit: `of ${calls}`,
      goal: `= ${calls}`,
      pass: arrived.size === calls && failures.length === 0,
    },
  ];
}

/** How many of (the first 100 of) the calls ended in each insight state (`none`: the worker recorded nothing). */
async function outcomesOf(doc: DynamoDBDocumentClient, table: string, callIds: string[]): Promise<Record<string, number>> {
  const keys = callIds.slice(0, 100).map((id) => ({ callKey: `hipcall#${id}` }));
  const out = await doc.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ProjectionExpression: 'insight' } } }));
  const found = out.Responses?.[table] ?? [];
  const counts: Record<string, number> = { none: keys.length - found.length };
  for (const item of found) {
    const state = String((item.insight as { state?: string } | undefined)?.state ?? 'none');
    counts[state] = (counts[state] ?? 0) + 1;
  }
  return counts;
}
