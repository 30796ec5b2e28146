/**
 * functions/core/phone-metadata.json is libphonenumber-js's "min" metadata without its formatting rules
 * (smaller bundles, faster cold starts). These tests hold it to that: the file is exactly the installed
 * metadata less `formats`, and toE164 answers as the library's own "min" build does, for every country.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { getCountries, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/min';
import examples from 'libphonenumber-js/examples.mobile.json' with { type: 'json' };
import shipped from '#core/phone-metadata.json' with { type: 'json' };
import { toE164 } from '#core/phone.ts';

type Plan = unknown[];
interface MetadataFile {
  version: number;
  country_calling_codes: Record<string, string[]>;
  countries: Record<string, Plan>;
  nonGeographic?: Record<string, Plan>;
}

const require = createRequire(import.meta.url);
const installed = JSON.parse(readFileSync(require.resolve('libphonenumber-js/metadata.min.json'), 'utf8')) as MetadataFile;

/** Index of `formats` in a min-metadata numbering plan (libphonenumber-js es6/metadata.js). */
const FORMATS = 4;
const withoutFormats = (plans: Record<string, Plan> = {}) =>
  Object.fromEntries(Object.entries(plans).map(([id, plan]) => [id, plan.map((v, i) => (i === FORMATS ? [] : v))]));

/** What toE164 answered with the library's own min metadata (the reference: the same rules as phone.ts). */
function reference(raw: string, defaultCountry: string): string | undefined {
  const country = getCountries().includes(defaultCountry as CountryCode) ? (defaultCountry as CountryCode) : undefined;
  const read = (input: string, c: CountryCode | undefined) => {
    try {
      const n = parsePhoneNumberFromString(input, c);
      return n?.isPossible() ? n.number : undefined;
    } catch {
      return undefined;
    }
  };
  const input = raw.trim();
  const parsed = read(input, country);
  if (parsed) return parsed;
  const idd = /^\s*00([1-9][\d\s().-]+)$/.exec(input);
  return idd ? read(`+${idd[1]}`, undefined) : undefined;
}

/** A fixed pseudo-random digit stream (mulberry32): the same inputs on every run. */
function digits(seed: number) {
  let a = seed >>> 0;
  return (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      s += String(((t ^ (t >>> 14)) >>> 0) % 10);
    }
    return s;
  };
}

describe('the shipped phone metadata', () => {
  it('is the installed libphonenumber-js min metadata less its formatting rules: regenerate it after an upgrade', () => {
    const expected = {
      ...installed,
      countries: withoutFormats(installed.countries),
      nonGeographic: withoutFormats(installed.nonGeographic),
    };
    // On failure, regenerate with:
    // node -e 'const m=require("libphonenumber-js/metadata.min.json");const s=o=>Object.fromEntries(Object.entries(o||{}).map(([k,v])=>[k,v.map((x,i)=>i===4?[]:x)]));require("fs").writeFileSync("functions/core/phone-metadata.json",JSON.stringify({...m,countries:s(m.countries),nonGeographic:s(m.nonGeographic)})+"\n")'
    expect(shipped).toEqual(expected);
  });

  it('covers every country the library knows', () => {
    expect(Object.keys(shipped.countries).sort()).toEqual([...getCountries()].sort());
  });
});

describe('toE164 with the shipped metadata answers as the full min metadata does', () => {
  const countries = getCountries();
  const callingCode = (c: CountryCode) => installed.countries[c]![0] as string;
  const nationalPrefix = (c: CountryCode) => installed.countries[c]![5];

  it.each(countries)('%s: its example number, international, national, with its trunk prefix and after 00', (country) => {
    const nsn = (examples as Record<string, string>)[country];
    expect(nsn, `no example number for ${country}`).toBeTypeOf('string');
    const cc = callingCode(country);
    const prefix = nationalPrefix(country);
    const inputs = [`+${cc}${nsn}`, `+${cc} ${nsn}`, nsn!, `00${cc}${nsn}`, ...(typeof prefix === 'string' ? [`${prefix}${nsn}`] : [])];
    const answered = inputs.flatMap((input) =>
      [country, 'US', 'GB'].map((dc) => ({ input, dc, got: toE164(input, dc), want: reference(input, dc) })),
    );
    expect(answered.filter((a) => a.got !== a.want)).toEqual([]);
    // The international form of a library example is a possible number: this case tests something.
    expect(toE164(`+${cc}${nsn}`, country)).toBe(`+${cc}${nsn}`);
  });

  it('agrees on 20,000 pseudo-random numbers across every calling code, default country and length', () => {
    const next = digits(11);
    const codes = Object.keys(installed.country_calling_codes);
    const mismatches: string[] = [];
    let possible = 0;
    for (let i = 0; i < 20_000; i++) {
      const cc = codes[i % codes.length]!;
      const country = countries[i % countries.length]!;
      const body = next(3 + (i % 13));
      const input = i % 3 === 0 ? `+${cc}${body}` : i % 3 === 1 ? body : `0${body}`;
      const got = toE164(input, country);
      if (got) possible++;
      if (got !== reference(input, country)) mismatches.push(`${input} (${country}): ${got} != ${reference(input, country)}`);
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
    // Enough of them are numbers for the comparison to mean something.
    expect(possible).toBeGreaterThan(2000);
  });
});
