import { describe, expect, it } from 'vitest';
import { ValidationError } from '#core/errors.ts';
import { normalise, smsIdOf } from '#core/providers/callhippo.ts';
import type { AdapterContext, NormalisedEvent } from '#core/types.ts';
import { fixture, fixtureWith } from '#test/support/fixtures.ts';

const ctx: AdapterContext = { defaultCountry: 'US', receivedAt: '2030-01-01T00:00:00.000Z' };

function eventOf(body: unknown): NormalisedEvent {
  const result = normalise(body, ctx);
  if (result.outcome !== 'events') throw new Error(`expected events, got ${result.outcome}`);
  expect(result.events).toHaveLength(1);
  expect(result.eventType).toBe(result.events[0]?.kind);
  return result.events[0] as NormalisedEvent;
}

describe('callhippo adapter on the provider document', () => {
  it('normalises the documented call activity', () => {
    expect(eventOf(fixture('callhippo/call_activity.json'))).toStrictEqual({
      provider: 'callhippo',
      callId: 'CA5fcabcd366fac3fe8c00c111f135e123',
      kind: 'call_activity',
      occurredAt: '2020-05-12T00:53:57.688Z',
      fields: {
        kind: 'call',
        direction: 'outbound',
        fromNumber: '+9323243432',
        toNumber: '+41232132131',
        customerNumber: '+41232132131',
        status: 'completed',
        startedAt: '2020-05-12T00:53:57.688Z',
        answeredAt: '2020-05-12T00:53:59.688Z',
        endedAt: '2020-05-12T01:01:05.688Z',
        durationSec: 490,
        hangupBy: 'Agent',
        agent: { email: 'test@example.com', name: 'Demo User' },
      },
      media: [{ media: 'recording', url: 'https://recording.XXX.mp3' }],
    });
  });

  it('normalises the documented SMS activity under a content-derived id', () => {
    const body = fixture('callhippo/sms_activity.json');
    expect(eventOf(body)).toStrictEqual({
      provider: 'callhippo',
      callId: smsIdOf({ from: '+9323243432', to: '+41232132131', time: '2020-05-12T00:53:57.688+0000', smsType: 'Outgoing' }),
      kind: 'sms_activity',
      occurredAt: '2020-05-12T00:53:57.688Z',
      fields: {
        kind: 'sms',
        direction: 'outbound',
        fromNumber: '+9323243432',
        toNumber: '+41232132131',
        customerNumber: '+41232132131',
        status: 'completed',
        startedAt: '2020-05-12T00:53:57.688Z',
        agent: { email: 'test@example.com', name: 'Demo User' },
      },
      media: [],
    });
    expect(eventOf(body).callId).toMatch(/^sms-[0-9a-f]{32}$/);
  });

  it('normalises the documented call status notification (placeholder numbers kept as sent)', () => {
    expect(eventOf(fixture('callhippo/call_status.json'))).toStrictEqual({
      provider: 'callhippo',
      callId: '8956bxxxxxxxxx-xxxxxx-xxxxxx02428',
      kind: 'call_status',
      occurredAt: '2024-03-28T10:05:50.000Z',
      fields: {
        kind: 'call',
        direction: 'outbound',
        fromNumber: '+17xxxxxxxx6',
        toNumber: '+13xxxxxxxx0',
        customerNumber: '+13xxxxxxxx0',
        status: 'completed',
        endedAt: '2024-03-28T10:05:50.000Z',
        agent: { email: 'test@example.com', id: '610xxxxxxxxxxxxxxxxxx8f3' },
      },
      media: [],
    });
  });
});

describe('callhippo adapter on realistic calls', () => {
  it('normalises a missed incoming call: the caller is the customer, no answer time', () => {
    expect(eventOf(fixture('callhippo/missed_call_activity.json')).fields).toStrictEqual({
      kind: 'call',
      direction: 'inbound',
      fromNumber: '+14155552671',
      toNumber: '+12025550173',
      customerNumber: '+14155552671',
      status: 'missed',
      startedAt: '2024-03-28T14:22:07.120Z',
      endedAt: '2024-03-28T14:22:31.120Z',
      durationSec: 0,
      hangupBy: 'Client',
      agent: { email: 'sam@example.com', name: 'Sam Agent' },
    });
  });

  it.each([
    ['Completed', 'completed'],
    ['Missed', 'missed'],
    ['Rejected', 'missed'],
    ['Voicemail', 'missed'],
    ['Welcome message', 'missed'],
    ['IVR message', 'missed'],
    ['Unavailable', 'missed'],
    ['Cancelled', 'missed'],
    ['No Answer', 'missed'],
    ['no_answer', 'missed'],
    ['Failed', 'failed'],
    ['Something new', undefined],
  ])('maps call log status %s to %s', (status, expected) => {
    expect(eventOf(fixtureWith('callhippo/missed_call_activity.json', { status })).fields.status).toBe(expected);
  });

  it.each([
    ['ringing', 'ringing', 'startedAt'],
    ['initiated', 'ringing', 'startedAt'],
    ['answered', 'answered', 'answeredAt'],
    ['in-progress', 'answered', 'answeredAt'],
    ['completed', 'completed', 'endedAt'],
    ['no-answer', 'missed', 'endedAt'],
    ['busy', 'missed', 'endedAt'],
    ['failed', 'failed', 'endedAt'],
  ] as const)('maps status notification %s to %s and reads dateTime as %s', (status, expected, timeField) => {
    const fields = eventOf(fixtureWith('callhippo/lifecycle/status_ringing.json', { status })).fields;
    expect(fields.status).toBe(expected);
    expect(fields[timeField]).toBe('2024-03-28T10:05:10.000Z');
  });

  it.each([
    ['08:10', 490],
    ['1:02:03', 3723],
    ['95', 95],
    [95, 95],
    ['8 minutes', undefined],
  ])('reads duration %s as %s seconds', (duration, expected) => {
    expect(eventOf(fixtureWith('callhippo/call_activity.json', { duration })).fields.durationSec).toBe(expected);
  });

  it('never throws on absurd values: a ring time past year 9999 gives no answer time', () => {
    const event = eventOf(fixtureWith('callhippo/call_activity.json', { ringAnswerDuration: '9'.repeat(15) }));
    expect(event.fields.answeredAt).toBeUndefined();
    expect(event.fields.status).toBe('completed');
  });

  it('accepts activityType "SMS" in capitals', () => {
    expect(eventOf(fixtureWith('callhippo/sms_activity.json', { activityType: 'SMS' })).fields.kind).toBe('sms');
  });

  it('gives a repeated SMS the same id and a different SMS another', () => {
    const first = eventOf(fixture('callhippo/sms_activity.json')).callId;
    expect(eventOf(fixture('callhippo/sms_activity.json')).callId).toBe(first);
    expect(eventOf(fixtureWith('callhippo/sms_activity.json', { content: 'edited text', smsCharge: '0.1' })).callId).toBe(first);
    expect(eventOf(fixtureWith('callhippo/sms_activity.json', { time: '2020-05-12T00:53:58.688+0000' })).callId).not.toBe(first);
    expect(eventOf(fixtureWith('callhippo/sms_activity.json', { smsType: 'Incoming' })).callId).not.toBe(first);
  });

  it('archives an activity type it does not know', () => {
    expect(normalise(fixtureWith('callhippo/sms_activity.json', { activityType: 'WhatsApp' }), ctx)).toStrictEqual({
      outcome: 'archived',
      eventType: 'whatsapp_activity',
      reason: 'CallHippo activityType "WhatsApp" is not a call or SMS',
    });
  });

  it('drops wrongly typed optional fields instead of refusing the call', () => {
    const event = eventOf(
      fixtureWith('callhippo/call_activity.json', {
        callType: null,
        startTime: 12.5e15,
        recordingUrl: 'javascript:alert(1)',
        email: ['x'],
        time: false,
      }),
    );
    expect(event.fields).not.toHaveProperty('direction');
    expect(event.fields).not.toHaveProperty('customerNumber');
    expect(event.fields.agent).toEqual({ name: 'Demo User' });
    expect(event.fields.startedAt).toBeUndefined();
    expect(event.media).toEqual([]);
    expect(event.occurredAt).toBe('2020-05-12T01:01:05.688Z');
  });
});

describe('callhippo adapter identity', () => {
  it('refuses a call activity without callSid', () => {
    const body = fixtureWith('callhippo/call_activity.json', { callSid: undefined });
    expect(() => normalise(body, ctx)).toThrow(ValidationError);
    expect(() => normalise(body, ctx)).toThrow("CallHippo call activity has no callSid: every call log must carry the call's callSid");
  });

  it('refuses a status notification with a blank callSid', () => {
    expect(() => normalise(fixtureWith('callhippo/call_status.json', { callSid: ' ' }), ctx)).toThrow(
      /call status notification has no callSid/,
    );
  });

  it('refuses a status notification without callSid', () => {
    expect(() => normalise({ status: 'completed', dateTime: '2024-03-28T10:05:50.000Z' }, ctx)).toThrow(
      /call status notification has no callSid/,
    );
  });

  it('refuses a body that is no known shape, naming the three shapes', () => {
    expect(() => normalise({ status: 'completed', from: '+14155552671' }, ctx)).toThrow(
      /no activityType and no callSid: expected a call activity/,
    );
  });

  it('refuses an SMS activity without time or without any number', () => {
    expect(() => normalise(fixtureWith('callhippo/sms_activity.json', { time: undefined }), ctx)).toThrow(/SMS activity has no "time"/);
    expect(() => normalise(fixtureWith('callhippo/sms_activity.json', { from: null, to: '' }), ctx)).toThrow(/neither "from" nor "to"/);
  });

  it.each([
    ['a string', 'x'],
    ['null', null],
    ['an array', []],
  ])('refuses a body that is %s', (_case, body) => {
    expect(() => normalise(body, ctx)).toThrow(ValidationError);
  });
});

describe('callhippo adapter and prototype keys', () => {
  it('ignores __proto__ keys and does not map statuses named after Object.prototype members', () => {
    const body: unknown = JSON.parse(
      '{"__proto__":{"activityType":"call","callSid":"evil"},"callSid":"CA1","status":"constructor","callType":"__proto__","dateTime":"2024-03-28T10:05:50Z"}',
    );
    const event = eventOf(body);
    expect(event).toMatchObject({ callId: 'CA1', kind: 'call_status', occurredAt: '2024-03-28T10:05:50.000Z' });
    expect(event.fields).toStrictEqual({ kind: 'call' });
    expect(({} as Record<string, unknown>)['callSid']).toBeUndefined();
  });
});
