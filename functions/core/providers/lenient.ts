/**
 * Building blocks shared by the provider adapters: strict identity fields, lenient everything else.
 * A lenient field never fails a delivery: a wrongly typed or unparseable value reads as absent,
 * because a provider that changes a field must not lose us a call (the raw body is archived anyway).
 * zod/mini, not zod: the ingest parses every delivery with these, and full zod adds about 450 KB to its
 * bundle, parsed at every cold start.
 */
import * as z from 'zod/mini';
import '#core/zod-messages.ts';
import { ValidationError } from '#core/errors.ts';
import type { MediaKind, MediaRef, RejectedMediaRef } from '#core/types.ts';

/** Keys that could reach an object's prototype if copied blindly. */
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** Provider extras deeper than this are cut off: no real payload nests further. */
const MAX_DEPTH = 8;
/** Year 10000: beyond it `toISOString()` changes format and no longer sorts as text. */
const MAX_EPOCH_MS = 253_402_300_800_000;

/** A trimmed non-empty string (finite numbers are stringified), else undefined. */
export function toText(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value !== 'string') return undefined;
  return value.trim() || undefined;
}

/** A finite number, also from a numeric string, else undefined. */
export function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  const text = toText(value);
  return text !== undefined && /^[+-]?\d+(\.\d+)?$/.test(text) ? Number(text) : undefined;
}

/** A boolean, also from "true"/"false", else undefined. */
export function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  const text = toText(value)?.toLowerCase();
  return text === 'true' ? true : text === 'false' ? false : undefined;
}

/** Seconds from `MM:SS`, `H:MM:SS` or plain seconds (number or numeric string), else undefined. */
export function toSeconds(value: unknown): number | undefined {
  const plain = toNumber(value);
  if (plain !== undefined) return plain >= 0 ? plain : undefined;
  const text = toText(value);
  if (!text || !/^\d+(:\d{1,2}){1,2}$/.test(text)) return undefined;
  return text.split(':').reduce((total, part) => total * 60 + Number(part), 0);
}

/** ISO-8601 UTC (`toISOString()` form, so values sort as text) from an ISO string, any offset, or epoch seconds/ms; else undefined. */
export function toIsoTime(value: unknown): string | undefined {
  let ms: number;
  const number = toNumber(value);
  if (number !== undefined) {
    // Epoch seconds until 5138 AD read as seconds; larger values are milliseconds.
    ms = Math.abs(number) < 1e11 ? number * 1000 : number;
  } else {
    const text = toText(value);
    if (!text) return undefined;
    // "2020-05-12T00:53:57.688+0000" (offset without colon) and "2024-11-17 10:41:00" (no zone: UTC) are both seen.
    let iso = text.replace(/^(\d{4}-\d{2}-\d{2}) /, '$1T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
    if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(iso)) iso += 'Z';
    ms = Date.parse(iso);
  }
  return isoFromMs(ms);
}

/** ISO-8601 UTC of epoch milliseconds, or undefined outside 1970..9999 (where the text form would not sort). */
export function isoFromMs(ms: number): string | undefined {
  return Number.isFinite(ms) && ms >= 0 && ms < MAX_EPOCH_MS ? new Date(ms).toISOString() : undefined;
}

/** An http(s) URL exactly as sent (re-encoding would break a pre-signed signature), else undefined. */
export function toHttpUrl(value: unknown): string | undefined {
  const text = toText(value);
  if (!text || !URL.canParse(text)) return undefined;
  const { protocol } = new URL(text);
  return protocol === 'https:' || protocol === 'http:' ? text : undefined;
}

/** A media link as the adapters read it: a URL to fetch, or why it will not be fetched. */
export type MediaLink = { url: string } | { rejected: string };

/**
 * A media link: an http(s) URL exactly as sent, or, for any other text, the reason it is refused
 * (the item then shows the media as `rejected` rather than silently missing); undefined when absent.
 */
export function toMediaLink(value: unknown): MediaLink | undefined {
  const text = toText(value);
  if (!text) return undefined;
  const url = toHttpUrl(text);
  if (url) return { url };
  if (!URL.canParse(text))
    return { rejected: 'the link is not an absolute URL, so it cannot be fetched; ask the provider to send a full https:// link' };
  const scheme = new URL(text).protocol.replace(/:$/, '').slice(0, 20);
  return { rejected: `the link uses the "${scheme}" scheme; only http(s) links are fetched` };
}

/** The media refs to fetch and the refused links of a delivery, from its links by media kind. */
export function mediaOf(links: [MediaKind, MediaLink | undefined][]): { media: MediaRef[]; rejectedMedia?: RejectedMediaRef[] } {
  const media: MediaRef[] = [];
  const rejectedMedia: RejectedMediaRef[] = [];
  for (const [kind, link] of links) {
    if (!link) continue;
    if ('url' in link) media.push({ media: kind, url: link.url });
    else rejectedMedia.push({ media: kind, reason: link.rejected });
  }
  return rejectedMedia.length > 0 ? { media, rejectedMedia } : { media };
}

/** A JSON-safe deep copy without prototype-polluting keys, nulls or non-finite numbers. */
export function sanitise(value: unknown, depth = 0): unknown {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (value === null || typeof value !== 'object' || depth >= MAX_DEPTH) return undefined;
  if (Array.isArray(value)) return value.map((item) => sanitise(item, depth + 1)).filter((item) => item !== undefined);
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (UNSAFE_KEYS.has(key)) continue;
    const copy = sanitise(item, depth + 1);
    if (copy !== undefined) out[key] = copy;
  }
  return out;
}

/** A sanitised plain object, or undefined for anything else (arrays, scalars, an empty object). */
export function toRecord(value: unknown): Record<string, unknown> | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const copy = sanitise(value) as Record<string, unknown>;
  return Object.keys(copy).length > 0 ? copy : undefined;
}

/** `value` without its undefined properties (DynamoDB refuses them, and tests compare exactly). */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}

/** A field read by `read`, whatever was sent: never an issue. */
const readAs = <T>(read: (value: unknown) => T) => z.optional(z.pipe(z.unknown(), z.transform(read)));

/** Lenient zod fields: each reads as undefined rather than failing. */
export const lenient = {
  text: readAs(toText),
  number: readAs(toNumber),
  boolean: readAs(toBoolean),
  seconds: readAs(toSeconds),
  time: readAs(toIsoTime),
  url: readAs(toHttpUrl),
  mediaLink: readAs(toMediaLink),
  record: readAs(toRecord),
  /** A list whose malformed items are dropped; anything but an array reads as empty. */
  list: <T extends z.ZodMiniType>(item: T) =>
    readAs((value) =>
      (Array.isArray(value) ? value : []).flatMap((entry): z.output<T>[] => {
        const parsed = item.safeParse(entry);
        return parsed.success ? [parsed.data] : [];
      }),
    ),
};

/** Call ids end up in the table's partition key (at most 2048 bytes); real ones are far shorter. */
const MAX_ID_LENGTH = 256;

/** A strict identity field (call id): a non-empty string, or a number read as one; `message` is the error a person sees, `name` names the field. */
export const identity = (message: string, name: string) =>
  z.pipe(
    z.transform((value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? String(value) : value)),
    z
      .string({ error: message })
      .check(
        z.trim(),
        z.minLength(1, { error: message }),
        z.maxLength(MAX_ID_LENGTH, { error: `${name} is longer than ${MAX_ID_LENGTH} characters: it cannot identify a call` }),
      ),
  );

/** A strict event-type field: a short token, because it becomes part of delivery keys and S3 keys. */
export const eventName = (message: string) =>
  z.string({ error: message }).check(z.trim(), z.regex(/^[A-Za-z0-9][\w.-]{0,63}$/, { error: message }));

/** Parse `body` or throw a ValidationError whose message lists every identity problem. */
export function parseDelivery<T extends z.ZodMiniType>(schema: T, body: unknown): z.output<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const messages = [...new Set(result.error.issues.map((issue) => issue.message))];
  throw new ValidationError(
    messages.join('; '),
    result.error.issues.map(({ path, message }) => ({ path, message })),
  );
}
