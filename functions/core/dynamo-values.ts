/**
 * Values as DynamoDB (and lib-dynamodb's marshaller) will take them, whatever a provider sends.
 * A delivery is answered 2xx only if it will be stored, so every value that would make the write fail
 * is turned into one that does not, here, before it reaches the item:
 * - numbers DynamoDB cannot hold (range, 38 digits) or lib-dynamodb refuses (beyond 2^53) become strings;
 * - strings become well-formed UTF-16 (a lone surrogate cannot be encoded as UTF-8);
 * - a map key cannot be empty;
 * - `customerNumber`, the byCustomerNumber partition key, holds only what looks like a phone number;
 * - large extras (`caller`, `analysis`) move to S3, leaving a pointer on the item.
 * The verbatim delivery stays in the raw/ archive, so nothing here loses what the provider sent.
 */
import { createHash } from 'node:crypto';
import type { CallFields, ExtrasField, ExtrasPointer } from './types.ts';

/** DynamoDB's largest number magnitude is 9.9999999999999999999999999999999999999E+125: every double below 1e126. */
export const DYNAMO_NUMBER_LIMIT = 1e126;
/** DynamoDB's smallest non-zero number magnitude. */
export const DYNAMO_NUMBER_MIN = 1e-130;
/** DynamoDB keeps at most 38 significant digits. */
export const DYNAMO_MAX_DIGITS = 38;
/** DynamoDB's item size limit. */
export const DYNAMO_MAX_ITEM_BYTES = 400 * 1024;

/**
 * Largest JSON size (UTF-8 bytes) of `caller` or `analysis` kept on the item; larger ones go to S3.
 * Two of them (64 KB), plus capped text fields and the `events` list, keep an item far below 400 KB.
 */
export const EXTRAS_MAX_INLINE_BYTES = 32 * 1024;

/**
 * Longest `customerNumber` that is indexed: E.164 has at most 16 characters; the rest is room for
 * short codes and extensions. Anything longer or not dialable is kept as `customerNumberAsSent`.
 */
export const MAX_INDEXED_NUMBER_CHARS = 32;

/**
 * Longest text kept in a scalar field (`fromNumber`, `toNumber`, `customerNumberAsSent`, `hangupBy`,
 * `agent.*`): no real value comes close, and the raw archive keeps the exact text.
 */
export const MAX_TEXT_FIELD_CHARS = 1024;

/** Nesting DynamoDB accepts is 32 levels; provider extras are already cut at 8 (lenient.ts). */
const MAX_DEPTH = 32;

/** A JSON number lib-dynamodb marshals and DynamoDB stores exactly as it is in JavaScript. */
export function isDynamoNumber(n: number): boolean {
  if (!Number.isFinite(n)) return false;
  const abs = Math.abs(n);
  // lib-dynamodb refuses anything beyond MAX_SAFE_INTEGER, which also covers DynamoDB's upper bound.
  return abs <= Number.MAX_SAFE_INTEGER && (abs === 0 || abs >= DYNAMO_NUMBER_MIN) && abs < DYNAMO_NUMBER_LIMIT;
}

/**
 * A number as parsed from JSON, kept as a number only when JavaScript holds exactly what the source text
 * says and DynamoDB can store it; otherwise the exact source text (e.g. a nanosecond timestamp
 * `1737367200123456789`, `1e200`, `5e-324`, `0.10000000000000000000001`).
 */
export function exactJsonNumber(value: number, source: string): number | string {
  if (!isDynamoNumber(value)) return source;
  const exact = canonicalDecimal(source);
  if (exact === undefined || exact !== canonicalDecimal(String(value))) return source;
  if (significantDigits(source) > DYNAMO_MAX_DIGITS) return source;
  return value;
}

/**
 * `value` as DynamoDB will store it: numbers it cannot hold become strings, non-finite numbers, nulls
 * and undefined are dropped, strings are made well-formed, empty map keys are renamed. Pure; never throws.
 */
export function fitForDynamo(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.toWellFormed();
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return isDynamoNumber(value) ? value : Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === 'bigint') return String(value);
  if (value === null || typeof value !== 'object' || depth >= MAX_DEPTH) return undefined;
  if (Array.isArray(value)) return value.map((item) => fitForDynamo(item, depth + 1)).filter((item) => item !== undefined);
  const out: Record<string, unknown> = {};
  for (const [rawKey, item] of Object.entries(value)) {
    const fitted = fitForDynamo(item, depth + 1);
    if (fitted === undefined) continue;
    // DynamoDB refuses an empty attribute name, also inside a map.
    const key = rawKey === '' ? '(empty key)' : rawKey.toWellFormed();
    if (!(key in out)) out[key] = fitted;
  }
  return out;
}

/** Whether `number` may be the byCustomerNumber partition key: E.164, or a short dialable string (digits, `+`, `*`, `#`). */
export function isIndexableNumber(number: string): boolean {
  return number.length <= MAX_INDEXED_NUMBER_CHARS && /^\+?[0-9*#]+$/.test(number);
}

/**
 * The normalised fields as DynamoDB will take them: every value fitted (fitForDynamo), scalar text capped
 * at MAX_TEXT_FIELD_CHARS, a non-dialable `customerNumber` moved to `customerNumberAsSent` (kept, not
 * indexed), and a `durationSec` DynamoDB cannot hold dropped.
 */
export function fitFields(fields: CallFields): CallFields {
  const text = (value: string | undefined) => (value === undefined ? undefined : capText(value.toWellFormed()));
  const out: CallFields = { ...fields };
  const set = <K extends keyof CallFields>(key: K, value: CallFields[K] | undefined) => {
    if (value === undefined) delete out[key];
    else out[key] = value;
  };
  set('fromNumber', text(fields.fromNumber));
  set('toNumber', text(fields.toNumber));
  set('hangupBy', text(fields.hangupBy));
  const customer = text(fields.customerNumber);
  if (customer !== undefined && !isIndexableNumber(customer)) {
    set('customerNumber', undefined);
    set('customerNumberAsSent', customer);
  } else {
    set('customerNumber', customer);
    set('customerNumberAsSent', text(fields.customerNumberAsSent));
  }
  if (fields.agent) {
    const agent = Object.fromEntries(
      Object.entries(fields.agent).flatMap(([key, value]) => (typeof value === 'string' ? [[key, text(value)]] : [])),
    ) as CallFields['agent'] & object;
    set('agent', Object.keys(agent).length > 0 ? agent : undefined);
  }
  set('durationSec', fields.durationSec !== undefined && isDynamoNumber(fields.durationSec) ? fields.durationSec : undefined);
  for (const key of ['caller', 'analysis'] as const) {
    const value = fields[key];
    if (value === undefined) continue;
    const fitted = fitForDynamo(value) as Record<string, unknown> | undefined;
    set(key, fitted && Object.keys(fitted).length > 0 ? fitted : undefined);
  }
  return out;
}

/** `text` cut to MAX_TEXT_FIELD_CHARS without splitting a surrogate pair. */
function capText(text: string): string {
  if (text.length <= MAX_TEXT_FIELD_CHARS) return text;
  const cut = text.slice(0, MAX_TEXT_FIELD_CHARS);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/** An object to write to S3 before the item that points at it. */
export interface ExtrasObject {
  key: string;
  body: string;
}

/** The S3 key of one oversized value (S3_KEYS.extras, bound to the call by the caller). */
export type ExtrasKey = (field: ExtrasField, sha256: string) => string;

/**
 * Move `caller` and `analysis` values larger than `maxInlineBytes` of JSON out of the fields: each is
 * replaced by a pointer `{s3Key, bytes, sha256, oversized: true}` and returned as an object to write.
 * The key carries the content hash, so a repeated delivery writes the same object again. Pure.
 */
export function splitOversized(
  fields: CallFields,
  keyOf: ExtrasKey,
  maxInlineBytes = EXTRAS_MAX_INLINE_BYTES,
): { fields: CallFields; extras: ExtrasObject[] } {
  const out: CallFields = { ...fields };
  const extras: ExtrasObject[] = [];
  for (const field of ['caller', 'analysis'] as const) {
    const value = fields[field];
    if (value === undefined || isExtrasPointer(value)) continue;
    const body = JSON.stringify(value);
    const bytes = Buffer.byteLength(body, 'utf8');
    if (bytes <= maxInlineBytes) continue;
    const sha256 = createHash('sha256').update(body, 'utf8').digest('hex');
    const key = keyOf(field, sha256);
    const pointer: ExtrasPointer = { s3Key: key, bytes, sha256, oversized: true };
    out[field] = pointer as unknown as Record<string, unknown>;
    extras.push({ key, body });
  }
  return { fields: out, extras };
}

/** Whether an extras value on the item is a pointer to S3 rather than the value itself. */
export function isExtrasPointer(value: unknown): value is ExtrasPointer {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { oversized?: unknown }).oversized === true &&
    typeof (value as { s3Key?: unknown }).s3Key === 'string'
  );
}

/**
 * An item's size as DynamoDB counts it (attribute names plus values: strings and names in UTF-8 bytes,
 * numbers about one byte per two significant digits plus one, 3 bytes per list or map plus one per
 * element, 1 byte for booleans and nulls). Rounded up where DynamoDB's own rule is approximate.
 */
export function itemSizeBytes(item: object): number {
  let total = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    total += Buffer.byteLength(name, 'utf8') + valueSize(value);
  }
  return total;
}

function valueSize(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') return Math.ceil(significantDigits(String(value)) / 2) + 1;
  if (typeof value === 'boolean' || value === null) return 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) return [...value].reduce((sum: number, item) => sum + valueSize(item), 0);
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, item) => sum + 1 + valueSize(item), 0);
  if (typeof value === 'object') {
    let size = 3;
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      size += 1 + Buffer.byteLength(key, 'utf8') + valueSize(item);
    }
    return size;
  }
  return 0;
}

/**
 * A decimal's value as `[-]digits e exponent` with no leading or trailing zeros, so two texts of the
 * same number compare equal (`1.50` and `15e-1`); undefined for anything that is not a decimal.
 */
function canonicalDecimal(text: string): string | undefined {
  const m = /^(-?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return undefined;
  const [, sign = '', int = '', frac = '', exp = '0'] = m;
  const digits = `${int}${frac}`.replace(/^0+/, '');
  if (digits === '') return '0';
  const trimmed = digits.replace(/0+$/, '');
  const exponent = BigInt(exp) - BigInt(frac.length) + BigInt(digits.length - trimmed.length);
  return `${sign}${trimmed}e${exponent}`;
}

/** Significant digits of a decimal text (leading and trailing zeros do not count). */
function significantDigits(text: string): number {
  const m = /^-?(\d+)(?:\.(\d*))?/.exec(text);
  if (!m) return 0;
  return `${m[1]}${m[2] ?? ''}`.replace(/^0+/, '').replace(/0+$/, '').length || 1;
}
