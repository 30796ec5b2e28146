/**
 * Reconciliation's pure parts (gap rule, reading Hipcall's list, API call → webhook delivery) and the
 * process against in-memory ports: dry run writes nothing, a run closes every gap, a second run does nothing.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#contract/config-schema.ts';
import type { HipcallCalls } from '#core/ports/hipcall-calls.ts';
import { normaliseDelivery } from '#core/providers/index.ts';
import {
  backoffMs,
  callOfAnswer,
  callsOfPage,
  deliveryOfApiCall,
  gapOf,
  isoTime,
  listedCallOf,
  stableJson,
  type ListedCall,
} from '#core/reconcile.ts';
import type { CallRecord, MediaJob } from '#core/types.ts';
import type { Context } from 'aws-lambda';
import { powertoolsLog } from '#adapters/log.ts';
import { EmfMetrics } from '#adapters/metrics.ts';
import { reconcileDeps } from '#functions/reconcile/deps.ts';
import { METRIC } from '#core/metrics.ts';
import { MemoryMetrics } from '#test/support/memory-metrics.ts';
import { createReconcileHandler } from '#functions/reconcile/handler.ts';
import { reconcileScheduled, reconcileSource, type ReconcileDeps } from '#functions/reconcile/process.ts';
import { match } from '#test/support/match.ts';
import { MemoryCallsStore } from '#test/support/memory-calls-store.ts';

const listed = (over: Partial<ListedCall> = {}): ListedCall => ({ uuid: 'c1', recording: 'yes', raw: {}, ...over });
const ctx = { sourceId: 'hipcall', nowMs: Date.parse('2026-04-02T12:00:00Z') };

describe('gapOf', () => {
  it('calls a call the archive has no item for missing', () => {
    expect(gapOf(listed(), undefined, ctx)).toBe('missing');
  });
  it('finds no gap when the recording is stored', () => {
    expect(gapOf(listed(), { source: 'hipcall', recording: { state: 'stored' } }, ctx)).toBeUndefined();
  });
  it('finds a recording gap when Hipcall has a recording and the item has none, or a failed one', () => {
    expect(gapOf(listed(), { source: 'hipcall' }, ctx)).toBe('recording');
    expect(gapOf(listed(), { source: 'hipcall', recording: { state: 'failed' } }, ctx)).toBe('recording');
    expect(gapOf(listed(), { source: 'hipcall', recording: { state: 'expired' } }, ctx)).toBe('recording');
  });
  it('leaves a recording queued within the last hour alone: the media worker is still on it', () => {
    expect(gapOf(listed(), { source: 'hipcall', recording: { state: 'queued', queuedAt: '2026-04-02T11:30:00Z' } }, ctx)).toBeUndefined();
    expect(gapOf(listed(), { source: 'hipcall', recording: { state: 'queued', queuedAt: '2026-04-02T10:00:00Z' } }, ctx)).toBe('recording');
  });
  it('finds no recording gap for a call Hipcall says has no recording', () => {
    expect(gapOf(listed({ recording: 'no' }), { source: 'hipcall' }, ctx)).toBeUndefined();
  });
  it('when the list does not say, expects a recording only if the item has a recording map', () => {
    expect(gapOf(listed({ recording: 'unknown' }), { source: 'hipcall' }, ctx)).toBeUndefined();
    expect(gapOf(listed({ recording: 'unknown' }), { source: 'hipcall', recording: { state: 'failed' } }, ctx)).toBe('recording');
  });
  it("leaves a call another source owns alone: it is that source's to fill", () => {
    expect(gapOf(listed(), { source: 'hipcall-eu' }, ctx)).toBeUndefined();
  });
});

describe("reading Hipcall's calls list", () => {
  it('accepts a bare array, a {data: [...]} envelope and {data: {calls}}; anything else is no calls', () => {
    expect(callsOfPage([{ uuid: 'a' }])).toEqual([{ uuid: 'a' }]);
    expect(callsOfPage({ data: [{ uuid: 'a' }], meta: { total: 1 } })).toEqual([{ uuid: 'a' }]);
    expect(callsOfPage({ data: { calls: [{ uuid: 'a' }] } })).toEqual([{ uuid: 'a' }]);
    expect(callsOfPage({ message: 'oops' })).toEqual([]);
    expect(callsOfPage('text')).toEqual([]);
  });
  it('finds the call of GET /calls/{uuid} under data.call, data, or at the top', () => {
    expect(callOfAnswer({ data: { call: { uuid: 'a' } } })).toEqual({ uuid: 'a' });
    expect(callOfAnswer({ data: { uuid: 'a' } })).toEqual({ uuid: 'a' });
    expect(callOfAnswer({ uuid: 'a' })).toEqual({ uuid: 'a' });
    expect(callOfAnswer({ data: null })).toBeUndefined();
  });
  it('reads whether a call has a recording from record_url, or a boolean flag, else unknown', () => {
    expect(listedCallOf({ uuid: 'a', record_url: 'https://x/y.mp3' })?.recording).toBe('yes');
    expect(listedCallOf({ uuid: 'a', record_url: null })?.recording).toBe('no');
    expect(listedCallOf({ uuid: 'a', has_record: true })?.recording).toBe('yes');
    expect(listedCallOf({ uuid: 'a' })?.recording).toBe('unknown');
  });
  it('skips an item without a uuid: it cannot be looked up', () => {
    expect(listedCallOf({ record_url: 'x' })).toBeUndefined();
    expect(listedCallOf({ uuid: '  ' })).toBeUndefined();
  });
  it('reads ISO times, space-separated UTC times and epoch seconds', () => {
    expect(isoTime('2026-04-02T09:00:00Z')).toBe('2026-04-02T09:00:00.000Z');
    expect(isoTime('2026-04-02 09:00:00')).toBe('2026-04-02T09:00:00.000Z');
    expect(isoTime(1775120400)).toBe('2026-04-02T09:00:00.000Z');
    expect(isoTime('soon')).toBeUndefined();
  });
});

describe('deliveryOfApiCall', () => {
  const apiCall = {
    uuid: 'api-1',
    direction: 1,
    hangup_by: 2,
    caller_type: 1,
    callee_type: 4,
    started_at: '2026-04-02 09:00:00',
    answered_at: '2026-04-02 09:00:05',
    ended_at: '2026-04-02 09:01:00',
    call_duration: 55,
    caller_number: '+442071838750',
    callee_number: '+442079460000',
    record_url: 'https://files.example/r.mp3?X-Amz-Signature=abc',
    voicemail_url: null,
  };

  it("turns the REST API's integer enums into the webhooks' strings and leaves the short-lived links out", () => {
    const { event, data } = deliveryOfApiCall(apiCall);
    expect(event).toBe('call_hangup');
    expect(data).toMatchObject({
      direction: 'inbound',
      hangup_by: 'contact',
      caller_type: 'contact',
      callee_type: 'team',
      started_at: '2026-04-02T09:00:00.000Z',
    });
    expect(data).not.toHaveProperty('record_url');
    expect(data).not.toHaveProperty('voicemail_url');
  });

  it('reads through the Hipcall webhook adapter as a completed inbound call', () => {
    const result = normaliseDelivery('hipcall', deliveryOfApiCall(apiCall), { defaultCountry: 'GB', receivedAt: '2026-04-03T00:00:00Z' });
    expect(result.outcome).toBe('events');
    const event = result.outcome === 'events' ? result.events[0]! : undefined;
    expect(event?.fields).toMatchObject({
      direction: 'inbound',
      status: 'completed',
      customerNumber: '+442071838750',
      startedAt: '2026-04-02T09:00:00.000Z',
      durationSec: 55,
    });
    expect(event?.media).toEqual([]);
  });

  it('keeps string enums as they are and the body hashes the same whatever the key order', () => {
    const a = stableJson(deliveryOfApiCall({ uuid: 'x', direction: 'outbound', call_duration: 3 }));
    const b = stableJson(deliveryOfApiCall({ call_duration: 3, direction: 'outbound', uuid: 'x' }));
    expect(a).toBe(b);
    expect((JSON.parse(a) as { data: { direction: unknown } }).data.direction).toBe('outbound');
  });

  it('reads a webhook fixture body the same as its delivery from the API would', () => {
    const hook = JSON.parse(readFileSync(new URL('../../fixtures/hipcall/call_hangup.json', import.meta.url), 'utf8')) as {
      data: Record<string, unknown>;
    };
    const viaApi = normaliseDelivery('hipcall', deliveryOfApiCall(hook.data), { defaultCountry: 'GB', receivedAt: '2026-04-03T00:00:00Z' });
    const viaHook = normaliseDelivery('hipcall', hook, { defaultCountry: 'GB', receivedAt: '2026-04-03T00:00:00Z' });
    expect(viaApi.outcome === 'events' && viaApi.events[0]!.fields).toEqual(viaHook.outcome === 'events' && viaHook.events[0]!.fields);
  });
});

describe('backoffMs', () => {
  it('honours Retry-After (capped), else doubles from the base', () => {
    expect(backoffMs(0, 2000, { baseMs: 1000, maxMs: 30_000 })).toBe(2000);
    expect(backoffMs(0, 120_000, { baseMs: 1000, maxMs: 30_000 })).toBe(30_000);
    expect(backoffMs(3, undefined, { baseMs: 1000, maxMs: 30_000 })).toBe(8000);
  });
});

describe('reconcile config', () => {
  it('defaults to every 60 minutes over 24 hours on a Hipcall source with an API base URL', () => {
    const c = parseConfig({
      sources: [{ id: 'hipcall', provider: 'hipcall', hipcallApiBaseUrl: 'https://use.hipcall.com/api/v3', reconcile: {} }],
    });
    expect(c.sources[0]!.reconcile).toEqual({ everyMinutes: 60, lookBackHours: 24 });
  });
  it('is off when absent', () => {
    expect(parseConfig({ sources: [{ id: 'hipcall', provider: 'hipcall' }] }).sources[0]!.reconcile).toBeUndefined();
  });
  it('refuses reconcile on a non-Hipcall source, without an API base URL, or with a look-back shorter than the interval', () => {
    expect(() => parseConfig({ sources: [{ id: 'ch', provider: 'callhippo', reconcile: {} }] })).toThrow(
      /sources\[0\]\.reconcile: only Hipcall sources/,
    );
    expect(() => parseConfig({ sources: [{ id: 'h', provider: 'hipcall', reconcile: {} }] })).toThrow(/needs "hipcallApiBaseUrl"/);
    expect(() =>
      parseConfig({
        sources: [
          {
            id: 'h',
            provider: 'hipcall',
            hipcallApiBaseUrl: 'https://use.hipcall.com/api/v3',
            reconcile: { everyMinutes: 180, lookBackHours: 2 },
          },
        ],
      }),
    ).toThrow(/lookBackHours must cover/);
  });
});

// ── The process against in-memory ports ─────────────────────────────────────────────────────────────

function fakeHipcall(calls: Record<string, unknown>[]): HipcallCalls & { gets: string[] } {
  const gets: string[] = [];
  return {
    gets,
    // Pages yielded as promises: asynchronous like the real client.
    async *list() {
      for (let i = 0; i < calls.length; i += 100) yield Promise.resolve(calls.slice(i, i + 100));
    },
    get(_source, uuid) {
      gets.push(uuid);
      const c = calls.find((x) => x.uuid === uuid);
      return Promise.resolve(c ? { ...c, record_url: c.record_url ? `https://files.example/${uuid}.mp3?fresh=1` : null } : undefined);
    },
  };
}

function world(n: number) {
  const calls = Array.from({ length: n }, (_, i) => ({
    uuid: `u${i}`,
    direction: 2,
    started_at: `2026-04-02T09:${String(i % 60).padStart(2, '0')}:00Z`,
    call_duration: 10,
    record_url: i % 4 === 0 ? null : `https://files.example/old-${i}.mp3`,
  }));
  const config = parseConfig({
    defaultCountry: 'GB',
    sources: [
      {
        id: 'hipcall',
        provider: 'hipcall',
        hipcallApiBaseUrl: 'https://use.hipcall.com/api/v3',
        reconcile: { everyMinutes: 60, lookBackHours: 24 },
      },
    ],
  });
  const store = new MemoryCallsStore();
  const raw: string[] = [];
  const rows: string[] = [];
  const jobs: MediaJob[] = [];
  const hipcall = fakeHipcall(calls);
  const metrics = new MemoryMetrics();
  const deps: ReconcileDeps = {
    config,
    hipcall,
    calls: store,
    archive: {
      putRaw: (key) => {
        raw.push(key);
        return Promise.resolve();
      },
      putCallRecord: (key) => {
        rows.push(key);
        return Promise.resolve();
      },
    },
    queues: {
      sendMedia: (j) => {
        jobs.push(...j);
        return Promise.resolve();
      },
    },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    metrics,
    now: () => Date.parse('2026-04-03T00:00:00Z'),
  };
  return { calls, store, raw, rows, jobs, hipcall, deps, metrics };
}

const window = { since: '2026-04-02T00:00:00.000Z', until: '2026-04-02T23:59:59.999Z' };

describe('reconcileSource', () => {
  it('on a dry run lists every gap and writes, queues and asks nothing', async () => {
    const w = world(8);
    const s = await reconcileSource(w.deps, { source: 'hipcall', ...window, dryRun: true });
    expect(s).toMatchObject({ seen: 8, present: 0, missing: 8, backfilled: 0, recordingsQueued: 0, errors: 0 });
    expect(s.callIds.missing).toHaveLength(8);
    expect([w.store.writes, w.raw.length, w.jobs.length, w.hipcall.gets.length]).toEqual([0, 0, 0, 0]);
  });

  it("backfills missing calls as 'reconcile' deliveries, queues their recordings with fresh links, then a second run changes nothing", async () => {
    const w = world(8);
    const first = await reconcileSource(w.deps, { source: 'hipcall', ...window });
    expect(first).toMatchObject({ seen: 8, missing: 8, backfilled: 8, recordingsQueued: 6, errors: 0 });
    expect(w.store.items.get('hipcall#u1')?.events).toEqual([match.stringMatching(/^reconcile#[0-9a-f]{16}$/)]);
    expect(w.raw.every((k) => /^raw\/hipcall\/2026\/04\/02\/u\d\/.+-reconcile-[0-9a-f]{16}\.json$/.test(k))).toBe(true);
    expect(w.jobs.map((j) => j.url)).toEqual(match.arrayContaining(['https://files.example/u1.mp3?fresh=1']));
    expect(w.jobs.every((j) => j.url.includes('fresh=1'))).toBe(true);
    // The calls without a recording (u0, u4) get their SQL row now; the others get theirs from the media worker.
    expect(w.rows.sort()).toEqual(['cdr/hipcall/2026/04/02/u0.json', 'cdr/hipcall/2026/04/02/u4.json']);

    // The worker stores the recordings...
    for (const item of w.store.items.values()) if (item.recording) item.recording = { state: 'stored' };
    const writes = w.store.writes;
    const second = await reconcileSource(w.deps, { source: 'hipcall', ...window });
    expect(second).toMatchObject({ seen: 8, present: 8, missing: 0, recordingsMissing: 0, backfilled: 0, recordingsQueued: 0, errors: 0 });
    expect(w.store.writes).toBe(writes);
  });

  it('reports a call Hipcall no longer has a link for as an error, and still closes the other gaps', async () => {
    const w = world(3);
    for (const c of w.calls) w.store.items.set(`hipcall#${c.uuid}`, { callKey: `hipcall#${c.uuid}`, source: 'hipcall' } as CallRecord);
    w.deps.hipcall.get = (_s, uuid) => Promise.resolve(uuid === 'u1' ? { uuid } : { uuid, record_url: 'https://files.example/fresh.mp3' });
    const s = await reconcileSource(w.deps, { source: 'hipcall', ...window });
    expect(s).toMatchObject({ recordingsMissing: 2, recordingsQueued: 1, errors: 1 });
    expect(s.callIds.errors).toEqual([{ callId: 'u1', message: match.stringMatching(/no recording link/) }]);
  });

  it('refuses a source that is not a Hipcall source, naming the configured ones', async () => {
    const w = world(1);
    await expect(reconcileSource(w.deps, { source: 'nope', ...window })).rejects.toThrow(/no source "nope".*configured: hipcall/);
  });

  it('on schedule, looks back lookBackHours from now for the source the schedule names', async () => {
    const w = world(2);
    const seen: unknown[] = [];
    const list = w.deps.hipcall.list.bind(w.deps.hipcall);
    w.deps.hipcall.list = (source, win, signal) => (seen.push(win), list(source, win, signal));
    const [summary] = await reconcileScheduled(w.deps, 'hipcall');
    expect(seen).toEqual([{ since: '2026-04-02T00:00:00.000Z', until: '2026-04-03T00:00:00.000Z' }]);
    expect(summary).toMatchObject({ source: 'hipcall', backfilled: 2 });
  });

  it('on schedule, counts ReconcileFailed for the source: 0 on a clean run', async () => {
    const w = world(2);
    await reconcileScheduled(w.deps, 'hipcall');
    expect(w.metrics.recorded).toEqual([{ name: METRIC.reconcileFailed, value: 0, unit: 'Count', dims: { source: 'hipcall' } }]);
  });

  it('on schedule, counts each call it could not reconcile as ReconcileFailed', async () => {
    const w = world(4);
    w.deps.hipcall.get = (_s, uuid) =>
      uuid === 'u1' || uuid === 'u2' ? Promise.reject(new Error('Hipcall answered 500')) : Promise.resolve({ uuid });
    const [summary] = await reconcileScheduled(w.deps, 'hipcall');
    expect(summary!.errors).toBe(2);
    expect(w.metrics.recorded).toEqual([{ name: METRIC.reconcileFailed, value: 2, unit: 'Count', dims: { source: 'hipcall' } }]);
  });

  it('on schedule, counts a run that failed as a whole (a token never set, AccessDenied) as one ReconcileFailed', async () => {
    const w = world(2);
    w.deps.hipcall.list = () => {
      throw new Error('The Hipcall API token of source "hipcall" is still the placeholder');
    };
    const [summary] = await reconcileScheduled(w.deps, 'hipcall');
    expect(summary!.errors).toBe(1);
    expect(w.metrics.recorded).toEqual([{ name: METRIC.reconcileFailed, value: 1, unit: 'Count', dims: { source: 'hipcall' } }]);
  });
});

describe('reconcileDeps', () => {
  it('names every missing variable of the reconcile function in one message', () => {
    expect(() => reconcileDeps({})).toThrow(
      /Environment of the reconcile function: CALLS_TABLE is not set; ARCHIVE_BUCKET is not set; MEDIA_QUEUE_URL is not set/,
    );
  });
});

describe('the reconcile handler', () => {
  it('reconciles the source its schedule names and returns the summaries', async () => {
    const w = world(3);
    const { logger } = powertoolsLog('callvault-reconcile-test', 'SILENT');
    const lines: string[] = [];
    const metrics = new EmfMetrics('callvault-reconcile', (line) => void lines.push(line));
    const handler = createReconcileHandler({ deps: { ...w.deps, metrics }, logger, metrics });
    const context = { functionName: 'reconcile', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
    const answer = await handler({ reconcileSource: 'hipcall' }, context);
    expect(answer.sources.map((s) => [s.source, s.backfilled])).toEqual([['hipcall', 3]]);
    // Flushed by the handler, as EMF: what the ReconcileFailed alarm reads.
    expect(lines.map((l) => (JSON.parse(l) as Record<string, unknown>)[METRIC.reconcileFailed])).toEqual([0]);
    expect((await handler({ reconcileSource: 'elsewhere' }, context)).sources).toEqual([]);
  });
});
