import { describe, expect, it } from 'vitest';
import { ValidationError } from '#core/errors.ts';
import { isSilent, isWorkingTime, parseDays, parseHours, silenceScheduleOf, type SilenceConfig } from '#core/silence.ts';

// Europe/Istanbul is UTC+3 all year (no DST): local = UTC + 3 h. 2026-11-27 is a Friday.
const istanbul: SilenceConfig = { minutes: 60, days: 'Mon-Fri', hours: '08:00-18:00', timeZone: 'Europe/Istanbul' };
const at = (iso: string) => new Date(iso);
const minutesBefore = (iso: string, m: number) => new Date(Date.parse(iso) - m * 60_000);

describe('isSilent', () => {
  const schedule = silenceScheduleOf(istanbul);

  it.each([
    ['inside the hours with no delivery at all', '2026-11-27T09:00:00Z', undefined, true],
    ['inside the hours, last delivery 61 minutes ago', '2026-11-27T09:00:00Z', 61, true],
    ['inside the hours, last delivery exactly N minutes ago', '2026-11-27T09:00:00Z', 60, true],
    ['inside the hours, a delivery N-1 minutes ago', '2026-11-27T09:00:00Z', 59, false],
    ['inside the hours, a delivery a minute ago', '2026-11-27T09:00:00Z', 1, false],
    ['before opening (07:30 local)', '2026-11-27T04:30:00Z', undefined, false],
    ['after closing (18:00 local: closing is exclusive)', '2026-11-27T15:00:00Z', undefined, false],
    ['late at night (23:00 local)', '2026-11-27T20:00:00Z', undefined, false],
    ['on the day off (Saturday noon local)', '2026-11-28T09:00:00Z', undefined, false],
    ['on the day off (Sunday noon local)', '2026-11-29T09:00:00Z', undefined, false],
    ['in the first N minutes after opening (08:59 local): last night is not evidence', '2026-11-27T05:59:00Z', undefined, false],
    ['exactly N minutes after opening (09:00 local)', '2026-11-27T06:00:00Z', undefined, true],
    ['on Monday morning after a quiet weekend, once N working minutes have passed', '2026-11-30T06:00:00Z', undefined, true],
    ['on Monday in the first N minutes, after a quiet weekend', '2026-11-30T05:30:00Z', undefined, false],
    ['in the last minute before closing (17:59 local)', '2026-11-27T14:59:00Z', undefined, true],
  ] as const)('%s', (_what, now, deliveredMinutesAgo, silent) => {
    const lastDeliveryAt = deliveredMinutesAgo === undefined ? undefined : minutesBefore(now, deliveredMinutesAgo);
    expect(isSilent({ now: at(now), lastDeliveryAt, schedule })).toBe(silent);
  });

  it('reads the hours in the source zone, not UTC: 16:30 UTC is 19:30 in Istanbul, after closing', () => {
    const utc = silenceScheduleOf({ ...istanbul, timeZone: 'UTC' });
    // 16:30 UTC is inside 08:00-18:00 UTC but 19:30 in Istanbul.
    expect(isSilent({ now: at('2026-11-27T16:30:00Z'), lastDeliveryAt: undefined, schedule: utc })).toBe(true);
    expect(isSilent({ now: at('2026-11-27T16:30:00Z'), lastDeliveryAt: undefined, schedule })).toBe(false);
  });

  describe('on a DST change day (Europe/London)', () => {
    const london = silenceScheduleOf({ minutes: 60, days: 'Sun', hours: '08:00-18:00', timeZone: 'Europe/London' });

    it('spring forward (2026-03-29): 08:00 UTC is 09:00 BST, an hour after opening: silent', () => {
      expect(isSilent({ now: at('2026-03-29T08:00:00Z'), lastDeliveryAt: undefined, schedule: london })).toBe(true);
    });

    it('spring forward: 07:30 UTC is 08:30 BST, in the first hour: not silent', () => {
      expect(isSilent({ now: at('2026-03-29T07:30:00Z'), lastDeliveryAt: undefined, schedule: london })).toBe(false);
    });

    it('fall back (2026-10-25): 08:30 UTC is 08:30 GMT, in the first hour: not silent', () => {
      expect(isSilent({ now: at('2026-10-25T08:30:00Z'), lastDeliveryAt: undefined, schedule: london })).toBe(false);
    });

    it('fall back: 17:59 UTC is 17:59 GMT, still open: silent', () => {
      expect(isSilent({ now: at('2026-10-25T17:59:00Z'), lastDeliveryAt: undefined, schedule: london })).toBe(true);
    });

    it('the day before the spring change is still GMT: 08:00 UTC is 08:00, the first minute', () => {
      const saturdays = silenceScheduleOf({ minutes: 60, days: 'Sat', hours: '08:00-18:00', timeZone: 'Europe/London' });
      expect(isSilent({ now: at('2026-03-28T08:00:00Z'), lastDeliveryAt: undefined, schedule: saturdays })).toBe(false);
    });
  });

  describe('a window crossing midnight (22:00-06:00 Mon-Fri, Istanbul)', () => {
    const night = silenceScheduleOf({ minutes: 60, days: 'Mon-Fri', hours: '22:00-06:00', timeZone: 'Europe/Istanbul' });

    it.each([
      ['Friday 23:30 local: Friday night window', '2026-11-27T20:30:00Z', true],
      ['Saturday 02:00 local: still Friday night window', '2026-11-27T23:00:00Z', true],
      ['Saturday 05:59 local: last minute of Friday night window', '2026-11-28T02:59:00Z', true],
      ['Saturday 06:00 local: closed', '2026-11-28T03:00:00Z', false],
      ['Saturday 23:30 local: Saturday is off', '2026-11-28T20:30:00Z', false],
      ['Monday 01:00 local: that is Sunday night, off', '2026-11-29T22:00:00Z', false],
      ['Monday 22:30 local: first hour of the window', '2026-11-30T19:30:00Z', false],
      ['Monday 23:00 local: an hour into the window', '2026-11-30T20:00:00Z', true],
      ['Friday noon local: outside the night window', '2026-11-27T09:00:00Z', false],
    ] as const)('%s', (_what, now, silent) => {
      expect(isSilent({ now: at(now), lastDeliveryAt: undefined, schedule: night })).toBe(silent);
    });

    it('counts the N minutes across midnight: a delivery at 23:30 keeps 00:29 quiet', () => {
      // Tuesday 00:29 local = Monday 21:29 UTC; delivery at Monday 23:30 local = 20:30 UTC.
      expect(isSilent({ now: at('2026-11-30T21:29:00Z'), lastDeliveryAt: at('2026-11-30T20:30:00Z'), schedule: night })).toBe(false);
      expect(isSilent({ now: at('2026-11-30T21:31:00Z'), lastDeliveryAt: at('2026-11-30T20:30:00Z'), schedule: night })).toBe(true);
    });
  });

  it('the whole day, every day (00:00-24:00 Mon-Sun) alarms at night too', () => {
    const always = silenceScheduleOf({ minutes: 30, days: 'Mon-Sun', hours: '00:00-24:00', timeZone: 'UTC' });
    expect(isSilent({ now: at('2026-11-29T00:10:00Z'), lastDeliveryAt: undefined, schedule: always })).toBe(true);
    expect(isWorkingTime(Date.parse('2026-11-28T23:59:00Z'), always)).toBe(true);
  });
});

describe('parseDays', () => {
  it.each([
    ['Mon-Fri', [1, 2, 3, 4, 5]],
    ['Mon,Wed,Sat', [1, 3, 6]],
    ['mon-wed, fri', [1, 2, 3, 5]],
    ['Fri-Mon', [0, 1, 5, 6]],
    ['Sun', [0]],
    ['Monday-Friday', [1, 2, 3, 4, 5]],
  ])('reads "%s"', (spec, days) => {
    expect([...parseDays(spec)].sort()).toEqual(days);
  });

  it.each(['', 'Mon-', 'Mo-Fr', 'Mon--Fri', 'Mon-Tue-Wed', 'Funday', 'Mon,,Tue'])('refuses "%s" and says how to write days', (spec) => {
    expect(() => parseDays(spec)).toThrow(ValidationError);
    expect(() => parseDays(spec)).toThrow(/Mon-Fri/);
  });
});

describe('parseHours', () => {
  it.each([
    ['08:00-18:00', 480, 1080],
    ['22:00-06:00', 1320, 360],
    ['00:00-24:00', 0, 1440],
    [' 09:30 - 17:45 ', 570, 1065],
  ])('reads "%s"', (spec, open, close) => {
    expect(parseHours(spec)).toEqual({ open, close });
  });

  it.each(['8:00-18:00', '08:00', '08:00-18:60', '25:00-06:00', '24:00-06:00', '08:00-08:00', '08:00-18:00-20:00', 'morning'])(
    'refuses "%s"',
    (spec) => {
      expect(() => parseHours(spec)).toThrow(ValidationError);
    },
  );
});

describe('silenceScheduleOf', () => {
  it('refuses a zone that is not IANA and names an example', () => {
    expect(() => silenceScheduleOf({ ...istanbul, timeZone: 'Europe/Istambul' })).toThrow(/not an IANA time zone.*Europe\/Istanbul/);
  });
});
