import { describe, expect, it } from 'vitest';
import { ValidationError } from '#core/errors.ts';
import { MAX_CALL_ID_BYTES, callIdProblem, normaliseDelivery } from '#core/providers/index.ts';
import type { AdapterContext, NormalisedEvent, Provider } from '#core/types.ts';
import { fixtureWith } from '#test/support/fixtures.ts';
import { match } from '#test/support/match.ts';

const ctx: AdapterContext = { defaultCountry: 'US', receivedAt: '2025-06-03T12:00:00.000Z' };

function eventOf(provider: Provider, body: unknown): NormalisedEvent {
  const result = normaliseDelivery(provider, body, ctx);
  if (result.outcome !== 'events') throw new Error('expected a call event');
  return result.events[0] as NormalisedEvent;
}
const hipcall = (patch: Record<string, unknown>) => fixtureWith('hipcall/voicemail_call_hangup.json', patch, 'data');
const callhippo = (patch: Record<string, unknown>) => fixtureWith('callhippo/call_activity.json', patch);
const postcall = (patch: Record<string, unknown>) => fixtureWith('postcall/post_call.json', patch);

describe('normaliseDelivery: call ids that cannot be stored faithfully', () => {
  it.each([
    ['"."', '.', /path segment/],
    ['".."', '..', /path segment/],
    ['a lone surrogate', 'abc\uD800', /not well-formed/],
    ['a reversed surrogate pair', '\uDE00\uD83D', /not well-formed/],
    ['an id over 256 UTF-8 bytes', '通'.repeat(86), /258 bytes long; CallVault stores ids of up to 256/],
  ])('refuses %s: it would not identify one stored call', (_name, id, message) => {
    for (const body of [hipcall({ uuid: id }), callhippo({ callSid: id }), postcall({ callId: id })]) {
      const provider: Provider = 'data' in body ? 'hipcall' : 'callSid' in body ? 'callhippo' : 'postcall';
      expect(() => normaliseDelivery(provider, body, ctx)).toThrow(ValidationError);
      expect(() => normaliseDelivery(provider, body, ctx)).toThrow(message);
    }
  });

  it('refuses an empty id', () => {
    expect(() => normaliseDelivery('hipcall', hipcall({ uuid: '  ' }), ctx)).toThrow(ValidationError);
    expect(callIdProblem('')).toMatch(/empty/);
  });

  it('accepts an id of exactly the documented maximum, and ids that merely contain dots', () => {
    const longest = 'a'.repeat(MAX_CALL_ID_BYTES - 3) + '通';
    expect(Buffer.byteLength(longest)).toBe(MAX_CALL_ID_BYTES);
    expect(eventOf('postcall', postcall({ callId: longest })).callId).toBe(longest);
    expect(eventOf('hipcall', hipcall({ uuid: '...' })).callId).toBe('...');
    expect(eventOf('hipcall', hipcall({ uuid: 'a..b' })).callId).toBe('a..b');
  });
});

describe('normaliseDelivery: event times one delivery could poison the item with', () => {
  it('drops a start time before 2000 (an epoch zero)', () => {
    const event = eventOf('hipcall', hipcall({ started_at: 0 }));
    expect(event.fields).not.toHaveProperty('startedAt');
    expect(event.fields.endedAt).toBe('2025-06-03T11:03:31.000Z');
  });

  it('drops an end time more than 24 h after the delivery was received', () => {
    expect(eventOf('hipcall', hipcall({ ended_at: '9999-12-31T23:59:59Z' })).fields).not.toHaveProperty('endedAt');
    expect(eventOf('hipcall', hipcall({ ended_at: '2025-06-04T12:00:01Z' })).fields).not.toHaveProperty('endedAt');
  });

  it('keeps a time up to 24 h ahead of receipt (clock skew) and one just after 2000', () => {
    expect(eventOf('hipcall', hipcall({ ended_at: '2025-06-04T12:00:00Z' })).fields.endedAt).toBe('2025-06-04T12:00:00.000Z');
    expect(eventOf('hipcall', hipcall({ started_at: '2000-01-01T00:00:00Z' })).fields.startedAt).toBe('2000-01-01T00:00:00.000Z');
  });

  it('falls back to the receipt time when the occurrence time is implausible', () => {
    const body = fixtureWith('callhippo/call_status.json', { dateTime: '1970-01-01T00:00:01Z' });
    const event = eventOf('callhippo', body);
    expect(event.occurredAt).toBe(ctx.receivedAt);
    expect(event.fields).not.toHaveProperty('startedAt');
    expect(event.fields).not.toHaveProperty('endedAt');
  });
});

describe('provider adapters: media links that will not be fetched', () => {
  it.each([
    ['an ftp link', 'ftp://files.example.com/r.mp3', /"ftp" scheme/],
    ['a file link', 'file:///etc/passwd', /"file" scheme/],
    ['a relative path', '/recordings/r.mp3', /not an absolute URL/],
  ])('carries %s as a rejected recording instead of dropping it', (_name, url, reason) => {
    const event = eventOf('hipcall', hipcall({ record_url: url }));
    expect(event.media).toEqual([{ media: 'voicemail', url: match.stringMatching(/^https:/) }]);
    expect(event.rejectedMedia).toEqual([{ media: 'recording', reason: match.stringMatching(reason) }]);
    expect(event.rejectedMedia?.[0]?.reason).not.toContain(url);
  });

  it('does the same for CallHippo and post-call links', () => {
    expect(eventOf('callhippo', callhippo({ recordingUrl: 'recordings/r.mp3' }))).toMatchObject({
      media: [],
      rejectedMedia: [{ media: 'recording' }],
    });
    expect(eventOf('postcall', postcall({ transcriptUri: 'gs://bucket/t.json' }))).toMatchObject({
      media: [{ media: 'recording' }],
      rejectedMedia: [{ media: 'transcript', reason: match.stringMatching(/"gs" scheme/) }],
    });
  });

  it('reads an absent or blank link as no media at all', () => {
    const event = eventOf('hipcall', hipcall({ record_url: '  ', voicemail_url: null }));
    expect(event.media).toEqual([]);
    expect(event).not.toHaveProperty('rejectedMedia');
  });
});
