/**
 * Phone numbers to E.164. A number is accepted when its length is *possible* for its country,
 * not when it is *valid*: validity depends on which ranges the metadata says are assigned, so a
 * stored key (customerNumber, the contacts table key) would change with a library upgrade, and
 * fictional-but-well-formed numbers such as +1 555 123 4567 would stay unnormalised. Possible
 * lengths are in the small "min" metadata, so we ship that, less its formatting rules (phone-metadata.json:
 * `formats` emptied, 33 KB instead of 83 KB): E.164 is never formatted, and parsing never reads them.
 * test/unit/core/phone-metadata.test.ts keeps the file in step with the installed libphonenumber-js.
 */
import { isSupportedCountry as isSupported, parsePhoneNumberFromString, type CountryCode, type MetadataJson } from 'libphonenumber-js/core';
import phoneMetadata from '#core/phone-metadata.json' with { type: 'json' };

const metadata = phoneMetadata as unknown as MetadataJson;
const isSupportedCountry = (country: string): boolean => isSupported(country as CountryCode, metadata);

/** Longer input is not a phone number; libphonenumber would refuse it anyway. */
const MAX_INPUT = 64;

/** E.164 form of `raw` (national numbers read with `defaultCountry`), or undefined when it is not a possible number. */
export function toE164(raw: string | undefined | null, defaultCountry: string): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const input = raw.trim();
  if (!input || input.length > MAX_INPUT) return undefined;
  const country = defaultCountry.trim().toUpperCase();
  const parsed = parse(input, isSupportedCountry(country) ? (country as CountryCode) : undefined);
  if (parsed) return parsed;
  // "00" is the international prefix in most of the world but not in every default country (US dials 011).
  const idd = /^\s*00([1-9][\d\s().-]+)$/.exec(input);
  return idd ? parse(`+${idd[1]}`, undefined) : undefined;
}

/** E.164 where parseable, else the trimmed input as sent (undefined for empty or non-string input); never throws. */
export function normalisePhone(raw: string | undefined | null, defaultCountry: string): string | undefined {
  if (typeof raw !== 'string') return undefined;
  return toE164(raw, defaultCountry) ?? (raw.trim() || undefined);
}

function parse(input: string, country: CountryCode | undefined): string | undefined {
  try {
    const number = country ? parsePhoneNumberFromString(input, country, metadata) : parsePhoneNumberFromString(input, metadata);
    return number?.isPossible() ? number.number : undefined;
  } catch {
    return undefined;
  }
}
