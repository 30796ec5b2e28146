import { describe, expect, it } from 'vitest';
import { ValidationError } from '#core/errors.ts';
import { normalise } from '#core/providers/postcall.ts';
import type { AdapterContext, NormalisedEvent } from '#core/types.ts';
import { fixture } from '#test/support/fixtures.ts';

const ctx: AdapterContext = { defaultCountry: 'US', receivedAt: '2025-01-20T10:31:12.000Z' };

function eventOf(body: unknown): NormalisedEvent {
  const result = normalise(body, ctx);
  if (result.outcome !== 'events') throw new Error(`expected events, got ${result.outcome}`);
  expect(result.eventType).toBe('post_call');
  expect(result.events).toHaveLength(1);
  return result.events[0] as NormalisedEvent;
}

describe('postcall adapter on the provider document', () => {
  it('normalises the documented example payload', () => {
    expect(eventOf(fixture('postcall/post_call.json'))).toStrictEqual({
      provider: 'postcall',
      callId: '693bff62619c51fac21acf50',
      kind: 'post_call',
      occurredAt: ctx.receivedAt,
      fields: {
        kind: 'call',
        customerNumber: '+15551234567',
        status: 'completed',
        caller: {
          name: 'John Smith',
          phoneNumber: '+1-555-123-4567',
          email: 'john.smith@example.com',
          scheduledTime: '2025-01-20T10:00:00Z',
          address: '123 Main Street',
          city: 'New York',
          state: 'NY',
          country: 'USA',
          language: 'English',
        },
        analysis: {
          summary: 'Customer called to schedule a product demo...',
          mood: 'Positive',
          score: 85,
          callOutcome: 'Demo Scheduled',
          classification: 'Sales Inquiry',
        },
      },
      media: [
        { media: 'recording', url: 'https://storage.example.com/recordings/693bff62619c51fac21acf50/call_recording.ogg' },
        { media: 'transcript', url: 'https://storage.example.com/transcripts/transcript_693bff62619c51fac21acf50.json' },
      ],
    });
  });

  it('normalises the documented curl test payload (no transcript, no analysis)', () => {
    expect(eventOf(fixture('postcall/post_call_minimal.json'))).toStrictEqual({
      provider: 'postcall',
      callId: 'test-call-123',
      kind: 'post_call',
      occurredAt: ctx.receivedAt,
      fields: {
        kind: 'call',
        customerNumber: '+15550000000',
        status: 'completed',
        caller: { name: 'Test User', phoneNumber: '+1-555-000-0000' },
      },
      media: [{ media: 'recording', url: 'https://example.com/recording.ogg' }],
    });
  });
});

describe('postcall adapter leniency', () => {
  it('accepts a bare callId', () => {
    expect(eventOf({ callId: 'c1' }).fields).toStrictEqual({ kind: 'call', status: 'completed' });
  });

  it('drops wrongly typed extras and keeps an unparseable phone number as sent', () => {
    const event = eventOf({
      callId: 'c2',
      recordingUri: 42,
      transcriptUri: null,
      callerDetails: { phoneNumber: 'ask reception', notes: null },
      callAnalysis: ['not', 'an', 'object'],
    });
    expect(event.fields).toStrictEqual({
      kind: 'call',
      customerNumber: 'ask reception',
      status: 'completed',
      caller: { phoneNumber: 'ask reception' },
    });
    expect(event.media).toEqual([]);
  });

  it('takes a direction when the platform sends one', () => {
    expect(eventOf({ callId: 'c3', direction: 'Outbound' }).fields.direction).toBe('outbound');
    expect(eventOf({ callId: 'c3', direction: 'sideways' }).fields).not.toHaveProperty('direction');
  });

  it('accepts a numeric callId as text', () => {
    expect(eventOf({ callId: 987 }).callId).toBe('987');
  });
});

describe('postcall adapter identity', () => {
  it.each([
    ['no callId', {}],
    ['a null callId', { callId: null }],
    ['an empty callId', { callId: '' }],
    ['an object callId', { callId: { id: 'x' } }],
  ])('refuses a delivery with %s, saying what is missing', (_case, body) => {
    expect(() => normalise(body, ctx)).toThrow(ValidationError);
    expect(() => normalise(body, ctx)).toThrow("Post-call delivery has no callId: every post-call webhook must carry the call's callId");
  });

  it('refuses a body that is not an object', () => {
    expect(() => normalise('callId=1', ctx)).toThrow(/must be a JSON object/);
  });
});

describe('postcall adapter and prototype keys', () => {
  it('copies callerDetails and callAnalysis without __proto__ or constructor keys, at any depth', () => {
    const body: unknown = JSON.parse(
      '{"callId":"p1","callerDetails":{"name":"Eve","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"nested":{"__proto__":{"polluted":3},"ok":true}},"callAnalysis":{"sentiment":{"prototype":{"x":1},"overall":"calm"},"actionItems":[{"__proto__":{"polluted":4},"task":"call back"}]}}',
    );
    const { caller, analysis } = eventOf(body).fields;
    expect(caller).toStrictEqual({ name: 'Eve', nested: { ok: true } });
    expect(analysis).toStrictEqual({ sentiment: { overall: 'calm' }, actionItems: [{ task: 'call back' }] });
    expect(Object.getPrototypeOf(caller)).toBe(Object.prototype);
    expect(Object.hasOwn(caller as object, '__proto__')).toBe(false);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('does not read callId from a __proto__ object', () => {
    expect(() => normalise(JSON.parse('{"__proto__":{"callId":"evil"}}'), ctx)).toThrow(/no callId/);
  });
});
