/**
 * `callvault reconcile hipcall --local` against the local stack (in-process, as `npm
 * start` runs it) pointed by CALLVAULT_HIPCALL_API at a Hipcall-shaped server of this test: 250 calls in
 * Hipcall, 17 of them missing from the archive and 5 archived without their recording. A dry run lists
 * exactly those 22 and changes nothing; a run backfills the 17 (through the webhook adapter and merge),
 * and the local media worker stores all 22 recordings from fresh links; a second run changes nothing.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '#bin/cli/context.ts';
import { reconcileCommand } from '#bin/cli/reconcile.ts';
import { hipcallApiOverride, startLocalStack, type LocalStack } from '#bin/local/stack.ts';
import { localClientConfig } from '#bin/local/target.ts';
import { DynamoCallsStore } from '#adapters/calls-store.ts';
import { applyDelivery } from '#core/apply-delivery.ts';
import { parseConfig } from '#contract/config-schema.ts';
import { deliveryKey } from '#core/call-record.ts';
import { normaliseDelivery } from '#core/providers/index.ts';
import type { ReconcileSummary } from '#core/reconcile.ts';
import type { CallRecord } from '#core/types.ts';
import { match } from '#test/support/match.ts';

const rawConfig = {
  defaultCountry: 'GB',
  sources: [
    {
      id: 'hipcall',
      provider: 'hipcall',
      hipcallApiBaseUrl: 'https://use.hipcall.com/api/v3',
      reconcile: { everyMinutes: 60, lookBackHours: 24 },
    },
  ],
};
const TOTAL = 250;
const uuidOf = (i: number) => `rc-${String(i).padStart(3, '0')}-0b6f1c2e`;
/** Indexes of the calls the archive lacks (17) and of those archived without their recording (5). */
const MISSING = Array.from({ length: 17 }, (_, k) => 3 + k * 14);
const NO_RECORDING = [10, 60, 110, 160, 210];

/** A call as Hipcall's REST API describes it: integer enums, space-separated times. */
function apiCall(i: number): Record<string, unknown> {
  const start = new Date(Date.UTC(2026, 2, 10, 8, 0, 0) + i * 60_000);
  const at = (ms: number) => new Date(start.getTime() + ms).toISOString().replace('T', ' ').slice(0, 19);
  return {
    uuid: uuidOf(i),
    direction: i % 2 ? 1 : 2,
    hangup_by: 1,
    caller_number: i % 2 ? `+4420718${String(38000 + i).padStart(5, '0')}` : '+442045205757',
    callee_number: i % 2 ? '+442045205757' : `+4420718${String(38000 + i).padStart(5, '0')}`,
    started_at: at(0),
    answered_at: at(4000),
    ended_at: at(40_000),
    call_duration: 36,
    missing_call: false,
    user_id: 1121,
  };
}

/** A Hipcall-shaped API: a Laravel-style paged calls list, GET /calls/{uuid} with a fresh signed link, and the files. */
function startHipcallLike(): Promise<{ server: Server; base: string; requests: string[]; throttleNext: () => void }> {
  const requests: string[] = [];
  let throttle = 0;
  let signature = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const media = /^\/files\/([^/]+)\.mp3$/.exec(url.pathname);
    if (media) {
      res.writeHead(200, { 'content-type': 'audio/mpeg' });
      res.end(Buffer.concat([Buffer.from('ID3'), Buffer.alloc(2048, media[1])]));
      return;
    }
    if (req.headers.authorization !== 'Bearer local-hipcall-api-token') return json(401, { message: 'Unauthenticated.' });
    if (url.pathname === '/api/v3/calls') {
      if (throttle > 0) {
        throttle--;
        return json(429, { message: 'Too Many Attempts.' }, { 'retry-after': '0' });
      }
      const gte = Date.parse(url.searchParams.get('started_at[gte]') ?? '');
      const lte = Date.parse(url.searchParams.get('started_at[lte]') ?? '');
      const limit = Number(url.searchParams.get('limit'));
      const offset = Number(url.searchParams.get('offset'));
      const all = Array.from({ length: TOTAL }, (_, i): Record<string, unknown> => ({
        ...apiCall(i),
        record_url: `https://hipcall-records.example/${uuidOf(i)}.mp3?X-Amz-Expires=3600`,
      })).filter((c) => {
        const t = Date.parse(`${String(c.started_at).replace(' ', 'T')}Z`);
        return t >= gte && t <= lte;
      });
      return json(200, {
        data: all.slice(offset, offset + limit),
        links: {},
        meta: { current_page: offset / limit + 1, per_page: limit, total: all.length },
      });
    }
    const one = /^\/api\/v3\/calls\/([^/]+)$/.exec(url.pathname);
    const i = one ? Array.from({ length: TOTAL }, (_, k) => k).find((k) => uuidOf(k) === decodeURIComponent(one[1]!)) : undefined;
    if (i === undefined) return json(404, { message: 'Not found.' });
    json(200, {
      data: {
        ...apiCall(i),
        record_url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/files/${uuidOf(i)}.mp3?sig=${++signature}`,
      },
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({ server, base: `http://127.0.0.1:${port}/api/v3`, requests, throttleNext: () => void (throttle = 1) });
    }),
  );
}

let stack: LocalStack;
let hipcall: Awaited<ReturnType<typeof startHipcallLike>>;
let dataDir: string;
let doc: DynamoDBDocumentClient;
let env: NodeJS.ProcessEnv;

async function scanAll(): Promise<CallRecord[]> {
  const items: CallRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({ TableName: stack.endpoints.tables.calls, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    items.push(...((page.Items ?? []) as CallRecord[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** What a run could change on an item: its version, last update and media maps. */
const snapshot = async () =>
  Object.fromEntries((await scanAll()).map((r) => [r.callKey, JSON.stringify([r.version, r.updatedAt, r.recording, r.events])]));

async function reconcile(...args: string[]): Promise<{ code: number; summary: ReconcileSummary }> {
  const lines: string[] = [];
  const code = await reconcileCommand(
    ['hipcall', '--source', 'hipcall', '--since', '2026-03-10', '--until', '2026-03-10', '--local', '--json', ...args],
    (l) => void lines.push(l),
    env,
  );
  return { code, summary: JSON.parse(lines.join('\n')) as ReconcileSummary };
}

beforeAll(async () => {
  hipcall = await startHipcallLike();
  dataDir = await mkdtemp(join(tmpdir(), 'callvault-reconcile-'));
  // As `npm start` reads it from CALLVAULT_HIPCALL_API.
  const hipcallApi = hipcallApiOverride(hipcall.base);
  stack = await startLocalStack({
    dataDir,
    config: parseConfig(rawConfig),
    hipcallApi,
    fetchAllow: [new URL(hipcall.base).host],
    mediaDelaySeconds: 0,
    token: 'reconcile-token-0123456789',
  });
  env = { CALLVAULT_DATA_DIR: dataDir, CALLVAULT_CONFIG: JSON.stringify(rawConfig) };
  doc = documentClient({ local: stack.endpoints });

  // The archive as webhooks left it: 233 calls through the real adapter and merge, 228 with their recording stored.
  const calls = new DynamoCallsStore(doc, stack.endpoints.tables.calls);
  const present = Array.from({ length: TOTAL }, (_, i) => i).filter((i) => !MISSING.includes(i));
  for (let k = 0; k < present.length; k += 25) {
    await Promise.all(
      present.slice(k, k + 25).map(async (i) => {
        const body = JSON.stringify({
          event: 'call_hangup',
          data: {
            ...apiCall(i),
            direction: i % 2 ? 'inbound' : 'outbound',
            started_at: `${String(apiCall(i).started_at).replace(' ', 'T')}Z`,
          },
        });
        const result = normaliseDelivery('hipcall', JSON.parse(body), { defaultCountry: 'GB', receivedAt: '2026-03-10T13:00:00.000Z' });
        if (result.outcome !== 'events') throw new Error('seed did not normalise');
        const event = result.events[0]!;
        await applyDelivery(calls, {
          source: 'hipcall',
          event,
          deliveryKey: deliveryKey('call_hangup', createHash('sha256').update(body).digest('hex')),
          now: '2026-03-10T13:00:00.000Z',
        });
        if (!NO_RECORDING.includes(i))
          await calls.setMedia(`hipcall#${event.callId}`, 'recording', {
            state: 'stored',
            s3Key: `recordings/hipcall/2026/03/10/${event.callId}.mp3`,
            bytes: 2051,
            sha256: 'seeded',
            contentType: 'audio/mpeg',
          });
      }),
    );
  }
});

afterAll(async () => {
  doc?.destroy();
  await stack?.close();
  await new Promise<void>((ok) => (hipcall ? hipcall.server.close(() => ok()) : ok()));
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('callvault reconcile hipcall --local against a Hipcall-shaped server', () => {
  it('on --dry-run lists exactly the 17 missing calls and the 22 recordings a run will fetch (5 of archived calls), and changes nothing', async () => {
    const before = await snapshot();
    const { code, summary } = await reconcile('--dry-run');
    expect(code).toBe(0);
    expect(summary).toMatchObject({
      dryRun: true,
      seen: 250,
      present: 233,
      missing: 17,
      recordingsMissing: 22,
      backfilled: 0,
      recordingsQueued: 0,
      errors: 0,
    });
    expect(summary.callIds.missing).toEqual(MISSING.map(uuidOf));
    expect(summary.callIds.recordingsMissing).toEqual([...NO_RECORDING, ...MISSING].map(uuidOf));
    expect(await snapshot()).toEqual(before);
    expect(hipcall.requests.filter((r) => /^GET \/api\/v3\/calls\//.test(r))).toEqual([]);
    // Paged as Hipcall pages: the day's window, 100 at a time.
    expect(
      hipcall.requests
        .filter((r) => r.startsWith('GET /api/v3/calls?'))
        .map((r) => new URL(r.slice(4), 'http://x').searchParams.get('offset')),
    ).toEqual(['0', '100', '200']);
  });

  it('backfills the 17 through the webhook path, and every one of the 250 recordings ends up stored', async () => {
    hipcall.throttleNext(); // The first page answers 429 once: the run backs off and goes on.
    const { code, summary } = await reconcile();
    expect(summary.callIds.errors).toEqual([]);
    expect(code).toBe(0);
    expect(summary).toMatchObject({
      seen: 250,
      present: 233,
      missing: 17,
      backfilled: 17,
      recordingsMissing: 22,
      recordingsQueued: 22,
      errors: 0,
    });
    expect(hipcall.requests.filter((r) => r.startsWith('GET /api/v3/calls?')).length).toBe(3 + 4);

    // The local media worker downloads the 22 from their fresh links.
    let items: CallRecord[] = [];
    for (let tries = 0; tries < 160; tries++) {
      items = await scanAll();
      if (items.length === TOTAL && items.every((r) => r.recording?.state === 'stored')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(items).toHaveLength(TOTAL);
    expect(items.filter((r) => r.recording?.state !== 'stored').map((r) => r.callId)).toEqual([]);

    const backfilled = items.find((r) => r.callId === uuidOf(MISSING[0]!))!;
    expect(backfilled.events).toEqual([match.stringMatching(/^reconcile#[0-9a-f]{16}$/)]);
    expect(backfilled).toMatchObject({
      source: 'hipcall',
      direction: 'inbound',
      status: 'completed',
      startedAt: '2026-03-10T08:03:00.000Z',
      day: '2026-03-10',
      customerNumber: match.stringMatching(/^\+44/),
    });
    expect(backfilled.recording).toMatchObject({ state: 'stored', bytes: 2051, contentType: 'audio/mpeg' });
    const raw = await new S3Client(localClientConfig(stack.endpoints.s3)).send(
      new ListObjectsV2Command({ Bucket: stack.endpoints.bucket, Prefix: `raw/hipcall/2026/03/10/${uuidOf(MISSING[0]!)}/` }),
    );
    expect((raw.Contents ?? []).map((o) => o.Key)).toEqual([match.stringMatching(/-reconcile-[0-9a-f]{16}\.json$/)]);
  });

  it('changes nothing on a second run', async () => {
    const before = await snapshot();
    const gets = hipcall.requests.length;
    const { code, summary } = await reconcile();
    expect(code).toBe(0);
    expect(summary).toMatchObject({
      seen: 250,
      present: 250,
      missing: 0,
      backfilled: 0,
      recordingsMissing: 0,
      recordingsQueued: 0,
      errors: 0,
    });
    expect(await snapshot()).toEqual(before);
    expect(hipcall.requests.slice(gets).every((r) => r.startsWith('GET /api/v3/calls?'))).toBe(true);
  });
});
