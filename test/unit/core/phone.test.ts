import { describe, expect, it } from 'vitest';
import { normalisePhone, toE164 } from '#core/phone.ts';

describe('toE164', () => {
  it.each([
    ['020 4520 5757', 'GB', '+442045205757'],
    ['00442045205757', 'GB', '+442045205757'],
    ['+44 20 4520 5757', 'GB', '+442045205757'],
    ['+44 (0)20 4520 5757', 'GB', '+442045205757'],
    ['  +442045205757  ', 'US', '+442045205757'],
    // "00" is not the US international prefix, but it is unambiguous enough to read as one.
    ['00442045205757', 'US', '+442045205757'],
    ['011 44 20 4520 5757', 'US', '+442045205757'],
    ['(415) 555-2671', 'US', '+14155552671'],
    ['+1-555-123-4567', 'US', '+15551234567'],
    ['+902582440032', 'GB', '+902582440032'],
    ['020 4520 5757', 'gb', '+442045205757'],
  ])('reads %s (default %s) as %s', (raw, country, expected) => {
    expect(toE164(raw, country)).toBe(expected);
  });

  it.each([
    ['+4440333', 'GB'],
    ['+9323243432', 'GB'],
    ['+17xxxxxxxx6', 'US'],
    ['1001', 'GB'],
    ['anonymous', 'GB'],
    ['', 'GB'],
    ['020 4520 5757', 'XX'],
    ['9'.repeat(100), 'US'],
  ])('gives undefined for %s (default %s), which is not a possible number', (raw, country) => {
    expect(toE164(raw, country)).toBeUndefined();
  });

  it('gives undefined for null and undefined', () => {
    expect(toE164(null, 'GB')).toBeUndefined();
    expect(toE164(undefined, 'GB')).toBeUndefined();
  });
});

describe('normalisePhone', () => {
  it('gives E.164 where the number is parseable', () => {
    expect(normalisePhone('020 4520 5757', 'GB')).toBe('+442045205757');
  });

  it('keeps a number it cannot parse as sent, trimmed', () => {
    expect(normalisePhone(' +4440333 ', 'GB')).toBe('+4440333');
    expect(normalisePhone('1001', 'GB')).toBe('1001');
  });

  it('gives undefined for empty or missing input and never throws', () => {
    expect(normalisePhone('   ', 'GB')).toBeUndefined();
    expect(normalisePhone(null, 'GB')).toBeUndefined();
    expect(normalisePhone(42 as unknown as string, 'GB')).toBeUndefined();
    expect(() => normalisePhone('+44', '??')).not.toThrow();
  });
});
