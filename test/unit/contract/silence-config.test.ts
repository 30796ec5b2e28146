import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '#contract/config-schema.ts';

const withSilence = (silence: unknown) => ({
  sources: [
    { id: 'hipcall', provider: 'hipcall', silence },
    { id: 'callhippo', provider: 'callhippo' },
  ],
});

describe('the silence config of a source', () => {
  it('is off when absent', () => {
    expect(parseConfig(withSilence(undefined)).sources[0]!.silence).toBeUndefined();
  });

  it('keeps the settings as written, with Mon-Fri when days is left out', () => {
    const config = parseConfig(withSilence({ minutes: 60, hours: '08:00-18:00', timeZone: 'Europe/Istanbul' }));
    expect(config.sources[0]!.silence).toEqual({ minutes: 60, days: 'Mon-Fri', hours: '08:00-18:00', timeZone: 'Europe/Istanbul' });
    expect(config.sources[1]!.silence).toBeUndefined();
  });

  it('survives the JSON the stack compiles into the functions, and parses back to itself', () => {
    const config = parseConfig(withSilence({ minutes: 45, days: 'Mon,Wed,Sat', hours: '22:00-06:00', timeZone: 'America/New_York' }));
    const shipped = JSON.parse(JSON.stringify(config)) as unknown;
    expect(shipped).toEqual(config);
    expect(parseConfig(shipped)).toEqual(config);
  });

  it.each([
    [
      { minutes: 60, days: 'Mon-Fir', hours: '08:00-18:00', timeZone: 'Europe/Istanbul' },
      /sources\[0\]\.silence\.days: days "Mon-Fir": "Fir" is not a day/,
    ],
    [{ minutes: 60, days: 'Mon-Fri', hours: '8-18', timeZone: 'Europe/Istanbul' }, /sources\[0\]\.silence\.hours: .*"HH:MM-HH:MM"/],
    [
      { minutes: 60, days: 'Mon-Fri', hours: '08:00-18:00', timeZone: 'Istanbul' },
      /sources\[0\]\.silence\.timeZone: must be an IANA time zone/,
    ],
    [{ minutes: 5, days: 'Mon-Fri', hours: '08:00-18:00', timeZone: 'UTC' }, /sources\[0\]\.silence\.minutes: must be at least 10/],
    [{ minutes: 60, days: 'Mon-Fri', timeZone: 'UTC' }, /sources\[0\]\.silence\.hours/],
    [{ minutes: 60, days: 'Mon-Fri', hours: '08:00-18:00', timeZone: 'UTC', hour: 1 }, /sources\[0\]\.silence/],
  ])('refuses %j and names the key', (silence, message) => {
    const parse = () => parseConfig(withSilence(silence));
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(message);
  });
});
