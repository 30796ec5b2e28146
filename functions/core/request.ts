/**
 * Reading a webhook body: decoding, size and content-type rules, JSON parsing. Pure: every refusal
 * says what to fix, and the bytes are returned so the caller can quarantine them.
 */
import { createHash } from 'node:crypto';
import { exactJsonNumber } from './dynamo-values.ts';

/** A delivery refused before any adapter saw it. */
export interface Refusal {
  status: 400 | 413 | 415;
  message: string;
}

export type BodyResult =
  | { ok: true; bytes: Buffer; sha256: string; json: Record<string, unknown> }
  | { ok: false; refusal: Refusal; bytes: Buffer; sha256: string };

export interface BodyInput {
  body: string | undefined | null;
  isBase64Encoded?: boolean;
  contentType: string | undefined;
  maxBytes: number;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const sha256Hex = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

/** JSON media types we accept; a missing content type is tolerated when the body is JSON. */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (!contentType) return true;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || type === 'text/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** Decode, check and parse a webhook body. */
export function readBody(input: BodyInput): BodyResult {
  const text = input.body ?? '';
  let bytes: Buffer;
  if (input.isBase64Encoded) {
    const compact = text.replace(/\s+/g, '');
    if (compact.length % 4 === 1 || !BASE64.test(compact)) {
      const raw = Buffer.from(text, 'utf8');
      return refuse(raw, 400, 'The body is marked base64-encoded but is not valid base64. Send the JSON body as plain UTF-8 text.');
    }
    bytes = Buffer.from(compact, 'base64');
  } else {
    bytes = Buffer.from(text, 'utf8');
  }
  if (bytes.length > input.maxBytes) {
    return refuse(
      bytes,
      413,
      `The body is ${bytes.length} bytes; the limit is ${input.maxBytes} bytes. Send smaller deliveries or raise limits.maxBodyBytes in the callvault config.`,
    );
  }
  if (!isJsonContentType(input.contentType)) {
    return refuse(
      bytes,
      415,
      `Content-Type "${String(input.contentType).slice(0, 100)}" is not JSON. Send the delivery as application/json.`,
    );
  }
  // A UTF-8 byte order mark is legal before JSON text (RFC 8259 lets parsers ignore it); the bytes,
  // hash and archive keep it, only the parser skips it.
  const jsonText = bytes.toString('utf8').replace(/^\uFEFF/, '');
  if (jsonText.trim() === '') {
    return refuse(bytes, 400, "The body is empty. Send the provider's JSON delivery as the request body.");
  }
  let parsed: unknown;
  try {
    parsed = parseJsonExact(jsonText);
  } catch (err) {
    return refuse(
      bytes,
      400,
      `The body is not valid JSON (${(err as Error).message.slice(0, 160)}). Send the provider's delivery unchanged as application/json.`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    const what = Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : `a ${typeof parsed}`;
    return refuse(bytes, 400, `The body is ${what}; a delivery must be a JSON object such as {"event": "call_hangup", "data": {...}}.`);
  }
  return { ok: true, bytes, sha256: sha256Hex(bytes), json: parsed as Record<string, unknown> };
}

/** JSON.parse's reviver context (Node 22+, not yet in TypeScript's lib). */
interface ReviverContext {
  source?: string;
}

/**
 * Whether the text could hold a number JavaScript or DynamoDB cannot take exactly: a run of 16 or more
 * digits and dots (every double of 15 significant digits or fewer round-trips), or a digit followed by an
 * exponent (`1e200`, `5E-324`; not `7e3a` inside a hex id). It may match inside strings (then the exact
 * path just runs for nothing); it never misses such a number. One pass, no regex: this runs per delivery.
 */
export function mayHoldInexactNumber(text: string): boolean {
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const digit = c >= 48 && c <= 57;
    if (digit || c === 46) {
      if (++run >= 16) return true;
      continue;
    }
    if ((c === 101 || c === 69) && run > 0) {
      // A digit before `e`/`E`: an exponent if digits follow (after an optional sign) and then no word character.
      let j = i + 1;
      const sign = text.charCodeAt(j);
      if (sign === 43 || sign === 45) j++;
      const start = j;
      while (j < text.length && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++;
      if (j > start && !/\w/.test(text[j] ?? '')) return true;
    }
    run = 0;
  }
  return false;
}

/**
 * JSON.parse, except that a number JavaScript cannot hold exactly (a nanosecond timestamp, more digits
 * than a double keeps) or DynamoDB cannot store (`1e200`, `5e-324`) is kept as its exact source text.
 */
export function parseJsonExact(text: string): unknown {
  // A reviver costs ~8x the parse: use it only when some number could be inexact (16+ digits, or an exponent).
  if (!mayHoldInexactNumber(text)) return JSON.parse(text);
  return JSON.parse(text, function (this: unknown, _key: string, value: unknown, context?: ReviverContext) {
    return typeof value === 'number' && context?.source !== undefined ? exactJsonNumber(value, context.source) : value;
  } as (this: unknown, key: string, value: unknown) => unknown);
}

function refuse(bytes: Buffer, status: Refusal['status'], message: string): BodyResult {
  return { ok: false, refusal: { status, message }, bytes, sha256: sha256Hex(bytes) };
}

/** A header's value, whatever case the sender (or API Gateway) gave its name. */
export function headerValue(headers: Readonly<Record<string, string | undefined>> | undefined, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers ?? {})) if (k.toLowerCase() === wanted) return v;
  return undefined;
}
