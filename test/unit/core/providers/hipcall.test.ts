import { describe, expect, it } from 'vitest';
import { ValidationError } from '#core/errors.ts';
import { normalise } from '#core/providers/hipcall.ts';
import type { AdapterContext, NormalisedEvent } from '#core/types.ts';
import { fixture, fixtureWith } from '#test/support/fixtures.ts';
import { match } from '#test/support/match.ts';

const ctx: AdapterContext = { defaultCountry: 'GB', receivedAt: '2030-01-01T00:00:00.000Z' };

/** The single event of a call delivery (fails the test when the delivery is not one). */
function eventOf(body: unknown): NormalisedEvent {
  const result = normalise(body, ctx);
  if (result.outcome !== 'events') throw new Error(`expected events, got ${result.outcome}`);
  expect(result.events).toHaveLength(1);
  return result.events[0] as NormalisedEvent;
}

describe('hipcall adapter on the provider documents', () => {
  it('normalises the documented call_init (outbound, to a test number)', () => {
    const result = normalise(fixture('hipcall/call_init.json'), ctx);
    expect(result).toMatchObject({ outcome: 'events', eventType: 'call_init' });
    expect(eventOf(fixture('hipcall/call_init.json'))).toStrictEqual({
      provider: 'hipcall',
      callId: '2483a75a-56a2-41f1-991b-92b1667e324a',
      kind: 'call_init',
      occurredAt: '2024-11-17T10:41:00.000Z',
      fields: {
        kind: 'call',
        direction: 'outbound',
        fromNumber: '+902582440032',
        toNumber: '+4440333',
        customerNumber: '+4440333',
        status: 'ringing',
        startedAt: '2024-11-17T10:41:00.000Z',
      },
      media: [],
    });
  });

  it('normalises the documented call_hangup (outbound, not answered: missed)', () => {
    expect(eventOf(fixture('hipcall/call_hangup.json'))).toStrictEqual({
      provider: 'hipcall',
      callId: '2483a75a-56a2-41f1-991b-92b1667e324a',
      kind: 'call_hangup',
      occurredAt: '2024-11-17T10:41:06.000Z',
      fields: {
        kind: 'call',
        direction: 'outbound',
        fromNumber: '+902582440032',
        toNumber: '+4440333',
        customerNumber: '+4440333',
        status: 'missed',
        startedAt: '2024-11-17T10:41:00.000Z',
        endedAt: '2024-11-17T10:41:06.000Z',
        durationSec: 0,
        hangupBy: 'user',
        agent: { id: '1121' },
      },
      media: [],
    });
  });

  it('normalises the guide call_hangup (inbound, 45 s, with a recording)', () => {
    expect(eventOf(fixture('hipcall/guide_call_hangup.json'))).toStrictEqual({
      provider: 'hipcall',
      callId: 'call_abc123',
      kind: 'call_hangup',
      occurredAt: '2026-04-02T10:00:45.000Z',
      fields: {
        kind: 'call',
        direction: 'inbound',
        fromNumber: '+442045205757',
        toNumber: '+441234567890',
        customerNumber: '+442045205757',
        status: 'completed',
        startedAt: '2026-04-02T10:00:00.000Z',
        endedAt: '2026-04-02T10:00:45.000Z',
        durationSec: 45,
        hangupBy: 'callee',
      },
      media: [{ media: 'recording', url: 'https://storage.example.com/recordings/call_abc123.mp3?token=...' }],
    });
  });

  it('normalises the Insight Card guide call_init (inbound, no times: occurredAt is the receipt time)', () => {
    expect(eventOf(fixture('hipcall/insight_call_init.json'))).toStrictEqual({
      provider: 'hipcall',
      callId: 'call_abc123',
      kind: 'call_init',
      occurredAt: ctx.receivedAt,
      fields: {
        kind: 'call',
        direction: 'inbound',
        fromNumber: '+442045205757',
        toNumber: '+441234567890',
        customerNumber: '+442045205757',
        status: 'ringing',
      },
      media: [],
    });
  });

  it.each(['task_create', 'deal_create'])('archives the documented %s, which is not about a call', (event) => {
    expect(normalise(fixture(`hipcall/${event}.json`), ctx)).toStrictEqual({
      outcome: 'archived',
      eventType: event,
      reason: `Hipcall "${event}" is not a call event`,
    });
  });
});

describe('hipcall adapter on realistic calls', () => {
  it('marks call_bridged answered, with the agent and the answer time', () => {
    expect(eventOf(fixture('hipcall/inbound/call_bridged.json'))).toStrictEqual({
      provider: 'hipcall',
      callId: '7f1c2b9e-3d4a-4e5b-8c6d-0a1b2c3d4e5f',
      kind: 'call_bridged',
      occurredAt: '2025-06-03T09:15:09.000Z',
      fields: {
        kind: 'call',
        direction: 'inbound',
        fromNumber: '+442045205757',
        toNumber: '+441234567890',
        customerNumber: '+442045205757',
        status: 'answered',
        startedAt: '2025-06-03T09:15:02.000Z',
        answeredAt: '2025-06-03T09:15:09.000Z',
        agent: { id: '1121' },
      },
      media: [],
    });
  });

  it('marks an answered call_hangup completed and links its recording', () => {
    const event = eventOf(fixture('hipcall/inbound/call_hangup.json'));
    expect(event.fields).toMatchObject({
      status: 'completed',
      answeredAt: '2025-06-03T09:15:09.000Z',
      endedAt: '2025-06-03T09:19:41.000Z',
      durationSec: 272,
      hangupBy: 'contact',
    });
    expect(event.occurredAt).toBe('2025-06-03T09:19:41.000Z');
    expect(event.media).toEqual([{ media: 'recording', url: match.stringContaining('7f1c2b9e-3d4a-4e5b-8c6d-0a1b2c3d4e5f.mp3?') }]);
  });

  it('marks a voicemail call missed despite its duration and links both the recording and the voicemail', () => {
    const event = eventOf(fixture('hipcall/voicemail_call_hangup.json'));
    expect(event.fields).toMatchObject({ status: 'missed', durationSec: 23, customerNumber: '+442045205757', fromNumber: '+442045205757' });
    expect(event.media.map((m) => m.media)).toEqual(['recording', 'voicemail']);
    expect(event.media[1]?.url).toContain('hipcall-voicemails');
  });

  it('treats any other call_* event as a call event', () => {
    const event = eventOf(fixtureWith('hipcall/inbound/call_bridged.json', { event: 'call_transfer' }));
    expect(event.kind).toBe('call_transfer');
    expect(event.fields.status).toBe('answered');
  });

  it('leaves customerNumber unset on internal calls', () => {
    const event = eventOf(
      fixtureWith('hipcall/call_init.json', { direction: 'internal', caller_number: '1001', callee_number: '1002' }, 'data'),
    );
    expect(event.fields).toMatchObject({ direction: 'internal', fromNumber: '1001', toNumber: '1002' });
    expect(event.fields).not.toHaveProperty('customerNumber');
  });
});

describe('hipcall adapter leniency', () => {
  it('coerces numbers and booleans sent as strings', () => {
    const event = eventOf(
      fixtureWith('hipcall/voicemail_call_hangup.json', { call_duration: '23', missing_call: 'true', user_id: 1121 }, 'data'),
    );
    expect(event.fields).toMatchObject({ durationSec: 23, status: 'missed', agent: { id: '1121' } });
  });

  it('drops wrongly typed optional fields instead of refusing the call', () => {
    const event = eventOf(
      fixtureWith(
        'hipcall/guide_call_hangup.json',
        { call_duration: { seconds: 45 }, started_at: 'yesterday', record_url: 'not a url', direction: 42, call_flow: 'none' },
        'data',
      ),
    );
    expect(event.fields).toStrictEqual({
      kind: 'call',
      fromNumber: '+442045205757',
      toNumber: '+441234567890',
      status: 'missed',
      endedAt: '2026-04-02T10:00:45.000Z',
      hangupBy: 'callee',
    });
    expect(event.media).toEqual([]);
  });

  it('skips malformed call_flow steps and ignores unknown fields', () => {
    const event = eventOf(
      fixtureWith(
        'hipcall/call_init.json',
        { call_flow: [null, 'x', { timestamp: 'soon' }, { action: 'init', timestamp: 1731840061 }], brand_new: { a: 1 } },
        'data',
      ),
    );
    expect(event.occurredAt).toBe('2024-11-17T10:41:01.000Z');
  });

  it('accepts a numeric uuid as text', () => {
    expect(eventOf(fixtureWith('hipcall/call_init.json', { uuid: 123456 }, 'data')).callId).toBe('123456');
  });
});

describe('hipcall adapter identity', () => {
  it.each([
    ['no data.uuid', fixtureWith('hipcall/call_hangup.json', { uuid: undefined }, 'data')],
    ['a blank data.uuid', fixtureWith('hipcall/call_hangup.json', { uuid: '  ' }, 'data')],
    ['a null data.uuid', fixtureWith('hipcall/call_hangup.json', { uuid: null }, 'data')],
  ])('refuses a call event with %s, saying what is missing', (_case, body) => {
    expect(() => normalise(body, ctx)).toThrow(ValidationError);
    expect(() => normalise(body, ctx)).toThrow("Hipcall delivery has no data.uuid: every call event must carry the call's uuid");
  });

  it('refuses a uuid too long to be a call id', () => {
    expect(() => normalise(fixtureWith('hipcall/call_init.json', { uuid: 'u'.repeat(300) }, 'data'), ctx)).toThrow(
      'Hipcall data.uuid is longer than 256 characters: it cannot identify a call',
    );
  });

  it('refuses a call event without a data object', () => {
    expect(() => normalise({ event: 'call_init' }, ctx)).toThrow(/has no "data" object/);
  });

  it.each([
    ['no event', { data: { uuid: 'x' } }],
    ['a numeric event', { event: 7, data: { uuid: 'x' } }],
    ['an event that is not a short name', { event: '../../call_init', data: { uuid: 'x' } }],
  ])('refuses a delivery with %s', (_case, body) => {
    expect(() => normalise(body, ctx)).toThrow(/Hipcall delivery has no valid "event"/);
  });

  it.each([
    ['a string', 'call_init'],
    ['null', null],
    ['an array', [1, 2]],
  ])('refuses a body that is %s', (_case, body) => {
    expect(() => normalise(body, ctx)).toThrow(ValidationError);
  });

  it('archives a non-call event even without a data object', () => {
    expect(normalise({ event: 'contact_update' }, ctx)).toMatchObject({ outcome: 'archived', eventType: 'contact_update' });
  });
});

describe('hipcall adapter and prototype keys', () => {
  it('ignores __proto__ and constructor keys and pollutes nothing', () => {
    const body: unknown = JSON.parse(
      '{"event":"call_hangup","__proto__":{"polluted":1},"data":{"uuid":"p1","direction":"inbound","__proto__":{"polluted":2,"uuid":"evil"},"constructor":{"prototype":{"polluted":3}},"caller_number":"+442045205757"}}',
    );
    const event = eventOf(body);
    expect(event.callId).toBe('p1');
    expect(event.fields.customerNumber).toBe('+442045205757');
    expect(Object.getPrototypeOf(event.fields)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('does not read the uuid from a __proto__ object', () => {
    const body: unknown = JSON.parse('{"event":"call_init","data":{"__proto__":{"uuid":"evil"}}}');
    expect(() => normalise(body, ctx)).toThrow(/no data.uuid/);
  });

  it('does not map a direction named after an Object.prototype member', () => {
    const event = eventOf(fixtureWith('hipcall/call_init.json', { direction: 'constructor' }, 'data'));
    expect(event.fields).not.toHaveProperty('direction');
  });
});
