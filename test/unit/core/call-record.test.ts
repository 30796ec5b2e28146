import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { STATUS_RANK, deliveryKey, mediaToQueue, mergeDelivery, type StoredCallRecord } from '#core/call-record.ts';
import { normaliseDelivery } from '#core/providers/index.ts';
import type { AdapterContext, CallRecord, NormalisedEvent, Provider } from '#core/types.ts';
import { fixture, fixtureSha256, fixtureWith, permutations } from '#test/support/fixtures.ts';
import { match } from '#test/support/match.ts';

const ctx: AdapterContext = { defaultCountry: 'US', receivedAt: '2030-01-01T00:00:00.000Z' };

interface Delivery {
  source: string;
  event: NormalisedEvent;
  deliveryKey: string;
}

/** A delivery as the ingest builds it: the adapter's event plus the key from the body's hash. */
function delivery(provider: Provider, body: unknown, sha256: string): Delivery {
  const result = normaliseDelivery(provider, body, ctx);
  if (result.outcome !== 'events') throw new Error('expected a call event');
  return { source: provider, event: result.events[0] as NormalisedEvent, deliveryKey: deliveryKey(result.eventType, sha256) };
}
const fromFixture = (provider: Provider, path: string) => delivery(provider, fixture(path), fixtureSha256(path));
const fromBody = (provider: Provider, body: unknown) =>
  delivery(provider, body, createHash('sha256').update(JSON.stringify(body)).digest('hex'));

/** Merge deliveries in order, as successive ingest writes would (a new `now` each time). */
function mergeAll(
  deliveries: Delivery[],
  start?: StoredCallRecord,
): { record: StoredCallRecord; changes: boolean[]; history: StoredCallRecord[] } {
  let record = start;
  const changes: boolean[] = [];
  const history: StoredCallRecord[] = [];
  deliveries.forEach((d, i) => {
    const merged = mergeDelivery(record, { ...d, now: new Date(Date.UTC(2030, 0, 1, 0, 0, i)).toISOString() });
    record = merged.record;
    changes.push(merged.changed);
    history.push(merged.record);
  });
  if (!record) throw new Error('no deliveries');
  return { record, changes, history };
}

/** The item without the write timestamps, which are the only thing allowed to differ by order. */
function content(record: StoredCallRecord): Omit<StoredCallRecord, 'createdAt' | 'updatedAt'> {
  const { createdAt: _createdAt, updatedAt: _updatedAt, ...rest } = record;
  return rest;
}

/** Every delivery list with each of the given repeat sets appended (one entry per repeat set). */
function withRepeats<T>(items: T[], repeatSets: number[][]): T[][] {
  return repeatSets.map((repeat) => [...items, ...repeat.map((i) => items[i] as T)]);
}

/** A record's start and end for the monotonicity checks: an unknown start is latest, an unknown end earliest. */
const startMs = (r: { startedAt?: string }) => (r.startedAt === undefined ? Infinity : Date.parse(r.startedAt));
const endMs = (r: { endedAt?: string }) => (r.endedAt === undefined ? -Infinity : Date.parse(r.endedAt));

/** All distinct orders of `items` with repeats inserted, checking every one merges to `expected`; returns how many. */
function expectOrderIndependent(
  items: Delivery[],
  repeatSets: number[][],
  expected: Omit<StoredCallRecord, 'createdAt' | 'updatedAt'>,
): number {
  const seen = new Set<string>();
  for (const base of withRepeats(items, repeatSets)) {
    for (const order of permutations(base)) {
      // A repeated delivery makes some permutations identical: check each distinct order once.
      const signature = order.map((d) => d.deliveryKey).join(' ');
      if (seen.has(signature)) continue;
      seen.add(signature);
      const { record, changes, history } = mergeAll(order);
      expect(content(record)).toStrictEqual(expected);
      // Exactly the first sighting of each delivery changes the item; repeats are no-ops.
      expect(changes.filter(Boolean)).toHaveLength(items.length);
      // Nothing moves backwards: status rank, earliest start, latest end (a time once known is never lost).
      history.slice(1).forEach((step, i) => {
        const before = history[i]!;
        expect(STATUS_RANK[step.status]).toBeGreaterThanOrEqual(STATUS_RANK[before.status]);
        expect(startMs(step)).toBeLessThanOrEqual(startMs(before));
        expect(endMs(step)).toBeGreaterThanOrEqual(endMs(before));
      });
    }
  }
  return seen.size;
}

const hipcallCall = () => [
  fromFixture('hipcall', 'hipcall/inbound/call_init.json'),
  fromFixture('hipcall', 'hipcall/inbound/call_bridged.json'),
  fromFixture('hipcall', 'hipcall/inbound/call_hangup.json'),
];
const callhippoCall = () => [
  fromFixture('callhippo', 'callhippo/lifecycle/status_ringing.json'),
  fromFixture('callhippo', 'callhippo/lifecycle/status_answered.json'),
  fromFixture('callhippo', 'callhippo/lifecycle/status_completed.json'),
  fromFixture('callhippo', 'callhippo/lifecycle/call_activity.json'),
];

describe('deliveryKey', () => {
  it('is the event type and the first 16 hex digits of the body hash', () => {
    expect(deliveryKey('call_hangup', 'ABCDEF0123456789ffffeeee')).toBe('call_hangup#abcdef0123456789');
  });
});

describe('mergeDelivery', () => {
  it('builds a Hipcall call from init, bridge and hangup', () => {
    const deliveries = hipcallCall();
    const hangupKey = deliveries[2]?.deliveryKey as string;
    const hangupPrecedence = `9|2025-06-03T09:19:41.000Z|${hangupKey}`;
    const { record } = mergeAll(deliveries);
    expect(record).toStrictEqual({
      callKey: 'hipcall#7f1c2b9e-3d4a-4e5b-8c6d-0a1b2c3d4e5f',
      provider: 'hipcall',
      source: 'hipcall',
      callId: '7f1c2b9e-3d4a-4e5b-8c6d-0a1b2c3d4e5f',
      kind: 'call',
      direction: 'inbound',
      fromNumber: '+442045205757',
      toNumber: '+441234567890',
      customerNumber: '+442045205757',
      status: 'completed',
      startedAt: '2025-06-03T09:15:02.000Z',
      answeredAt: '2025-06-03T09:15:09.000Z',
      endedAt: '2025-06-03T09:19:41.000Z',
      durationSec: 272,
      hangupBy: 'contact',
      agent: { id: '1121' },
      callAt: '2025-06-03T09:15:02.000Z',
      day: '2025-06-03',
      events: deliveries.map((d) => d.deliveryKey).sort(),
      version: 3,
      fieldSources: Object.fromEntries(
        ['kind', 'direction', 'fromNumber', 'toNumber', 'customerNumber', 'hangupBy', 'agent.id'].map((field) => [field, hangupPrecedence]),
      ),
      firstOccurredAt: '2025-06-03T09:15:02.000Z',
      createdAt: '2030-01-01T00:00:00.000Z',
      updatedAt: '2030-01-01T00:00:02.000Z',
    });
    expect(record.events.every((key) => /^call_(init|bridged|hangup)#[0-9a-f]{16}$/.test(key))).toBe(true);
  });

  it('gives the same Hipcall item for every order of its deliveries, with a repeat', () => {
    const deliveries = hipcallCall();
    const expected = content(mergeAll(deliveries).record);
    expect(expectOrderIndependent(deliveries, [[0], [1], [2]], expected)).toBe((3 * (4 * 3 * 2 * 1)) / 2);
  });

  it('builds a CallHippo call from its status notifications and its call log', () => {
    const { record } = mergeAll(callhippoCall());
    expect(content(record)).toStrictEqual({
      callKey: 'callhippo#CA7d3e9b1f0c2a4e6b8d0f2a4c6e8b0d13',
      provider: 'callhippo',
      source: 'callhippo',
      callId: 'CA7d3e9b1f0c2a4e6b8d0f2a4c6e8b0d13',
      kind: 'call',
      direction: 'inbound',
      fromNumber: '+14155552671',
      toNumber: '+12025550173',
      customerNumber: '+14155552671',
      status: 'completed',
      startedAt: '2024-03-28T10:05:10.000Z',
      answeredAt: '2024-03-28T10:05:18.000Z',
      endedAt: '2024-03-28T10:09:49.000Z',
      durationSec: 271,
      hangupBy: 'Client',
      agent: { id: '610c2a9e4b7f1d3a5c8e0b24', email: 'maria@example.com', name: 'Maria Agent' },
      callAt: '2024-03-28T10:05:10.000Z',
      day: '2024-03-28',
      events: match.any(Array),
      version: 4,
      fieldSources: match.any(Object),
      firstOccurredAt: '2024-03-28T10:05:10.000Z',
    });
    expect(record.events).toHaveLength(4);
    expect(record.fieldSources?.['agent.id']).toMatch(/^3\|2024-03-28T10:09:49.000Z\|call_status#/);
    expect(record.fieldSources?.['agent.name']).toMatch(/^9\|2024-03-28T10:05:10.000Z\|call_activity#/);
  });

  it('gives the same CallHippo item for every order of its deliveries, with one or two repeats', () => {
    const deliveries = callhippoCall();
    const expected = content(mergeAll(deliveries).record);
    const single = [[0], [1], [2], [3]];
    const pairs = [
      [0, 1],
      [0, 2],
      [0, 3],
      [1, 2],
      [1, 3],
      [2, 3],
    ];
    // 5!/2 orders per single repeat, 6!/(2!2!) per pair of repeats.
    expect(expectOrderIndependent(deliveries, [...single, ...pairs], expected)).toBe(4 * 60 + 6 * 180);
  });

  it('treats a repeated delivery as a no-op and returns the item unchanged', () => {
    const [init, bridged] = hipcallCall() as [Delivery, Delivery];
    const first = mergeAll([init, bridged]).record;
    const again = mergeDelivery(first, { ...bridged, now: '2031-01-01T00:00:00.000Z' });
    expect(again.changed).toBe(false);
    expect(again.record).toBe(first);
    expect(again.record.updatedAt).toBe('2030-01-01T00:00:01.000Z');
  });

  it('keeps a completed Hipcall call completed when call_init arrives after the hangup', () => {
    const [init, , hangup] = hipcallCall() as [Delivery, Delivery, Delivery];
    const afterHangup = mergeAll([hangup]).record;
    expect(afterHangup).toMatchObject({ status: 'completed', startedAt: '2025-06-03T09:15:02.000Z', version: 1 });
    const late = mergeDelivery(afterHangup, { ...init, now: '2030-01-02T00:00:00.000Z' });
    expect(late.changed).toBe(true);
    expect(late.record).toMatchObject({ status: 'completed', endedAt: '2025-06-03T09:19:41.000Z', durationSec: 272, version: 2 });
    expect(late.record.createdAt).toBe(afterHangup.createdAt);
  });

  it('keeps the earliest startedAt and the latest endedAt whatever arrives last', () => {
    const early = fromBody('callhippo', { callSid: 'CA1', status: 'ringing', dateTime: '2024-01-01T10:00:00Z' });
    const late = fromBody('callhippo', { callSid: 'CA1', status: 'ringing', dateTime: '2024-01-01T10:00:05Z' });
    const end1 = fromBody('callhippo', { callSid: 'CA1', status: 'completed', dateTime: '2024-01-01T10:05:00Z' });
    const end2 = fromBody('callhippo', { callSid: 'CA1', status: 'completed', dateTime: '2024-01-01T10:04:00Z' });
    for (const order of permutations([early, late, end1, end2])) {
      expect(mergeAll(order).record).toMatchObject({
        startedAt: '2024-01-01T10:00:00.000Z',
        endedAt: '2024-01-01T10:05:00.000Z',
        day: '2024-01-01',
      });
    }
  });

  it('keeps the largest durationSec when a hangup is re-sent with another duration', () => {
    const hangup = fromFixture('hipcall', 'hipcall/inbound/call_hangup.json');
    const corrected = fromBody('hipcall', fixtureWith('hipcall/inbound/call_hangup.json', { call_duration: 270 }, 'data'));
    expect(mergeAll([hangup, corrected]).record.durationSec).toBe(272);
    expect(mergeAll([corrected, hangup]).record.durationSec).toBe(272);
  });

  it('lets a specific outcome from the call log outrank a status notification that only says "completed"', () => {
    const notified = fromBody('callhippo', { callSid: 'CA2', status: 'completed', dateTime: '2024-03-28T14:22:31Z' });
    const log = fromBody('callhippo', fixtureWith('callhippo/missed_call_activity.json', { callSid: 'CA2' }));
    expect(mergeAll([notified, log]).record.status).toBe('missed');
    expect(mergeAll([log, notified]).record.status).toBe('missed');
  });

  it('takes last-writer fields from the highest-precedence delivery: the call summary over a lifecycle event', () => {
    const init = fromBody('hipcall', fixtureWith('hipcall/inbound/call_init.json', { caller_number: '+442045200000' }, 'data'));
    const hangup = fromFixture('hipcall', 'hipcall/inbound/call_hangup.json');
    expect(mergeAll([init, hangup]).record.fromNumber).toBe('+442045205757');
    expect(mergeAll([hangup, init]).record.fromNumber).toBe('+442045205757');
  });

  it('takes last-writer fields from the later of two events of the same rank', () => {
    const first = fromBody('callhippo', {
      callSid: 'CA3',
      status: 'ringing',
      dateTime: '2024-01-01T10:00:00Z',
      agentEmail: 'first@example.com',
    });
    const second = fromBody('callhippo', {
      callSid: 'CA3',
      status: 'ringing',
      dateTime: '2024-01-01T10:00:03Z',
      agentEmail: 'second@example.com',
    });
    expect(mergeAll([first, second]).record.agent).toEqual({ email: 'second@example.com' });
    expect(mergeAll([second, first]).record.agent).toEqual({ email: 'second@example.com' });
  });

  it('defaults kind to call and direction and status to unknown, and indexes a call without any time by its receipt', () => {
    const { record } = mergeAll([fromBody('callhippo', { callSid: 'CA4', dateTime: 'later' })]);
    expect(record).toMatchObject({
      kind: 'call',
      direction: 'unknown',
      status: 'unknown',
      version: 1,
      callAt: ctx.receivedAt,
      day: '2030-01-01',
    });
    expect(record).not.toHaveProperty('startedAt');
  });

  it('stores an SMS as kind sms', () => {
    expect(mergeAll([fromFixture('callhippo', 'callhippo/sms_activity.json')]).record).toMatchObject({
      kind: 'sms',
      status: 'completed',
      day: '2020-05-12',
    });
  });

  it('neither sets nor touches the media maps and insight, which other writers own', () => {
    const hangup = fromFixture('hipcall', 'hipcall/voicemail_call_hangup.json');
    const fresh = mergeAll([hangup]).record;
    expect(fresh).not.toHaveProperty('recording');
    expect(fresh).not.toHaveProperty('voicemail');

    const stored = { state: 'stored', s3Key: 'recordings/hipcall/2025/06/03/x.mp3', bytes: 1024, sha256: 'ab' } as const;
    const insight = { state: 'no_match', at: '2025-06-03T11:02:41.000Z' } as const;
    const existing = deepFreeze({
      ...mergeAll([fromFixture('hipcall', 'hipcall/inbound/call_init.json')]).record,
      recording: stored,
      insight,
    });
    const merged = mergeDelivery(existing, {
      ...fromFixture('hipcall', 'hipcall/inbound/call_hangup.json'),
      now: '2030-01-02T00:00:00.000Z',
    });
    expect(merged.record.recording).toEqual(stored);
    expect(merged.record.insight).toEqual(insight);
  });

  it('does not modify the item it is given', () => {
    const [init, bridged, hangup] = hipcallCall() as [Delivery, Delivery, Delivery];
    const existing = deepFreeze(mergeAll([init, bridged]).record);
    const snapshot = structuredClone(existing);
    expect(() => mergeDelivery(existing, { ...hangup, now: '2030-01-02T00:00:00.000Z' })).not.toThrow();
    expect(existing).toStrictEqual(snapshot);
  });

  it('refuses to merge a delivery into another call', () => {
    const existing = mergeAll([fromFixture('hipcall', 'hipcall/inbound/call_init.json')]).record;
    const other = fromFixture('hipcall', 'hipcall/call_init.json');
    expect(() => mergeDelivery(existing, { ...other, now: '2030-01-02T00:00:00.000Z' })).toThrow(/merged into hipcall#7f1c/);
  });
});

describe('mergeDelivery: a call belongs to the source that first delivered it', () => {
  const init = () => fromFixture('hipcall', 'hipcall/inbound/call_init.json');
  const hangup = () => fromFixture('hipcall', 'hipcall/inbound/call_hangup.json');
  const through = (d: Delivery, source: string): Delivery => ({ ...d, source });

  it('ignores a delivery through another source of the provider, and says who owns the call', () => {
    const owned = mergeAll([through(init(), 'hipcall')]).record;
    const foreign = mergeDelivery(owned, { ...through(hangup(), 'hipcall-tr'), now: '2030-01-02T00:00:00.000Z' });
    expect(foreign).toEqual({ record: owned, changed: false, foreign: true, owner: 'hipcall' });
  });

  it('keeps the first source whichever of the two delivers first', () => {
    const orders: [Delivery, Delivery][] = [
      [through(init(), 'hipcall'), through(hangup(), 'hipcall-tr')],
      [through(hangup(), 'hipcall-tr'), through(init(), 'hipcall')],
    ];
    for (const [first, second] of orders) {
      const alone = mergeAll([first]).record;
      const { record, changes } = mergeAll([first, second]);
      expect(changes).toEqual([true, false]);
      expect(record.source).toBe(first.source);
      expect(content(record)).toStrictEqual(content(alone));
    }
  });

  it('still applies every delivery of the owning source, in any order', () => {
    const deliveries = hipcallCall().map((d) => through(d, 'hipcall-tr'));
    const foreign = through(
      fromBody('hipcall', fixtureWith('hipcall/inbound/call_hangup.json', { call_duration: 999 }, 'data')),
      'hipcall',
    );
    const expected = content(mergeAll(deliveries).record);
    for (const order of permutations(deliveries)) {
      // The foreign delivery comes after the owner's first: it must change nothing wherever it lands.
      const { record } = mergeAll([order[0]!, foreign, ...order.slice(1)]);
      expect(content(record)).toStrictEqual(expected);
      expect(record.durationSec).toBe(272);
    }
  });

  it('lets the first delivery claim an item a worker created first', () => {
    const workerOnly = {
      callKey: 'hipcall#7f1c2b9e-3d4a-4e5b-8c6d-0a1b2c3d4e5f',
      recording: { state: 'stored' },
    } as unknown as StoredCallRecord;
    const { record } = mergeAll([through(hangup(), 'hipcall-tr'), through(init(), 'hipcall')], workerOnly);
    expect(record.source).toBe('hipcall-tr');
    expect(record.events).toHaveLength(1);
  });
});

describe('mergeDelivery: callAt and day, the index keys', () => {
  const answered = () => fromFixture('callhippo', 'callhippo/lifecycle/status_answered.json');
  const completed = () => fromFixture('callhippo', 'callhippo/lifecycle/status_completed.json');

  it('indexes a status-only call with no start time by the earliest occurrence, in every order', () => {
    const deliveries = [answered(), completed()];
    const expected = content(mergeAll(deliveries).record);
    expect(expected).not.toHaveProperty('startedAt');
    expect(expected).toMatchObject({ callAt: '2024-03-28T10:05:18.000Z', day: '2024-03-28', firstOccurredAt: '2024-03-28T10:05:18.000Z' });
    expect(expectOrderIndependent(deliveries, [[0], [1]], expected)).toBe(2 * 3);
  });

  it('moves callAt to startedAt once a delivery brings it, in every order', () => {
    const deliveries = callhippoCall();
    const expected = content(mergeAll(deliveries).record);
    expect(expected).toMatchObject({ callAt: expected.startedAt, day: '2024-03-28' });
    for (const order of permutations(deliveries)) expect(content(mergeAll(order).record)).toStrictEqual(expected);
  });

  it('takes day from callAt, not from the receipt time, for a post-call delivery', () => {
    const { record } = mergeAll([fromFixture('postcall', 'postcall/post_call.json')]);
    expect(record).not.toHaveProperty('startedAt');
    expect(record).toMatchObject({ callAt: ctx.receivedAt, day: '2030-01-01' });
  });

  it('keeps day the UTC date of callAt across midnight in other offsets', () => {
    const late = fromBody('callhippo', { callSid: 'CA9', status: 'answered', dateTime: '2024-03-28T23:30:00-02:00' });
    expect(mergeAll([late]).record).toMatchObject({ callAt: '2024-03-29T01:30:00.000Z', day: '2024-03-29' });
  });
});

describe('mergeDelivery: numbers that are not phone numbers', () => {
  it('keeps a non-dialable customer number as customerNumberAsSent, next to an indexed one from another delivery', () => {
    const odd = fromBody('callhippo', {
      callSid: 'CA10',
      callType: 'Incoming',
      fromNumber: 'Anonymous',
      status: 'ringing',
      dateTime: '2024-01-01T10:00:00Z',
    });
    const real = fromBody('callhippo', {
      callSid: 'CA10',
      callType: 'Incoming',
      fromNumber: '+14155552671',
      status: 'completed',
      dateTime: '2024-01-01T10:05:00Z',
    });
    for (const order of permutations([odd, real])) {
      expect(mergeAll(order).record).toMatchObject({ customerNumber: '+14155552671', customerNumberAsSent: 'Anonymous' });
    }
    expect(mergeAll([odd]).record).not.toHaveProperty('customerNumber');
  });
});

describe('mediaToQueue', () => {
  const event = fromFixture('hipcall', 'hipcall/voicemail_call_hangup.json').event;

  it('queues every media ref when there is no item yet', () => {
    expect(mediaToQueue(undefined, event).map((m) => m.media)).toEqual(['recording', 'voicemail']);
  });

  it('skips media already stored and re-queues media in any other state', () => {
    const record = { recording: { state: 'stored' }, voicemail: { state: 'failed' } } as unknown as CallRecord;
    expect(mediaToQueue(record, event).map((m) => m.media)).toEqual(['voicemail']);
  });

  it('queues the same ref only once', () => {
    const twice: NormalisedEvent = { ...event, media: [event.media[0]!, event.media[0]!] };
    expect(mediaToQueue(undefined, twice)).toHaveLength(1);
  });
});

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

describe('mergeDelivery: the version, the optimistic lock', () => {
  it('counts the applied deliveries, and rises above a version a replay from raw/ raised', () => {
    const init = fromFixture('hipcall', 'hipcall/call_init.json');
    const hangup = fromFixture('hipcall', 'hipcall/call_hangup.json');
    expect(mergeAll([init, hangup]).record.version).toBe(2);
    const first = mergeAll([init]).record;
    // A replay wrote the item with version 5 (bin/cli/replay-raw.ts): the next delivery must write 6, never 2.
    expect(mergeAll([hangup], { ...first, version: 5 }).record.version).toBe(6);
    // A repeat writes nothing, so it raises nothing.
    expect(mergeDelivery({ ...first, version: 5 }, { ...init, now: '2030-01-02T00:00:00.000Z' })).toMatchObject({
      changed: false,
      record: { version: 5 },
    });
  });
});
