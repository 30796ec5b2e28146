import { describe, expect, it } from 'vitest';
import { ValidationError } from '#core/errors.ts';
import { adapterFor, normaliseDelivery } from '#core/providers/index.ts';
import { PROVIDERS, type AdapterContext, type Provider } from '#core/types.ts';
import { fixture } from '#test/support/fixtures.ts';

const ctx: AdapterContext = { defaultCountry: 'GB', receivedAt: '2030-01-01T00:00:00.000Z' };

describe('provider adapters', () => {
  it('has an adapter for every provider type, each refusing a delivery without its identity', () => {
    for (const provider of PROVIDERS) expect(() => adapterFor(provider).normalise({}, ctx), provider).toThrow(ValidationError);
  });

  it.each([
    ['hipcall', 'hipcall/call_hangup.json', 'call_hangup'],
    ['callhippo', 'callhippo/call_activity.json', 'call_activity'],
    ['postcall', 'postcall/post_call.json', 'post_call'],
  ] as const)('routes a %s delivery to its adapter', (provider, path, eventType) => {
    const result = normaliseDelivery(provider, fixture(path), ctx);
    expect(result).toMatchObject({ outcome: 'events', eventType, events: [{ provider, kind: eventType }] });
  });

  it('refuses an unknown provider type, listing the known ones', () => {
    expect(() => adapterFor('twilio' as Provider)).toThrow(ValidationError);
    expect(() => adapterFor('constructor' as Provider)).toThrow('Unknown provider "constructor": use one of hipcall, callhippo, postcall');
  });
});
