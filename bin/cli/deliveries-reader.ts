/**
 * Reading the deliveries CallVault did not apply: the ones it refused (kept in quarantine/ with the
 * status it answered and the reason), and any one delivery by key (quarantine/, raw/ or events/), body
 * included. The CLI's `deliveries` command and the console's "Refused deliveries" page both read here.
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { PREFIX } from '#contract/resources.ts';
import { PROVIDERS } from '#core/types.ts';
import type { ArchiveReader } from './archive-reader.ts';
import { daysBetween } from './archive-reader.ts';

/** One refused delivery as quarantine/ keeps it. */
export interface RefusedDelivery {
  key: string;
  provider: string;
  source: string;
  receivedAt: string;
  /** The HTTP status CallVault answered (422 also for a delivery refused when applied from the replay queue). */
  status: number;
  reason: string;
  contentType?: string;
  bytes: number;
}

/** One delivery with its body, from any of the prefixes that keep deliveries. */
export interface StoredDelivery {
  key: string;
  kind: 'refused' | 'applied' | 'unapplied' | 'event';
  source?: string;
  receivedAt?: string;
  status?: number;
  reason?: string;
  contentType?: string;
  /** The body: parsed when it is JSON, else the text; `bodyBase64` when it was not UTF-8. */
  body?: unknown;
  bodyBase64?: string;
}

/** The prefixes a delivery key may name; anything else is not a delivery (and never read). */
const DELIVERY_KEY = new RegExp(
  `^(${PREFIX.quarantine}|${PREFIX.raw}|events/)(${[...PROVIDERS, 'unknown'].join('|')})/\\d{4}/\\d{2}/\\d{2}/[^\\u0000-\\u001f]+\\.json$`,
);

/** True when `key` names a stored delivery (quarantine/, raw/ or events/, `.json`). */
export function isDeliveryKey(key: string): boolean {
  return key.length <= 1024 && !key.includes('/../') && !key.includes('/./') && DELIVERY_KEY.test(key);
}

/** Most bytes of a body read for a listing or a page: larger ones are cut, with a note. */
export const MAX_BODY_BYTES = 1024 * 1024;

async function objectText(reader: Pick<ArchiveReader, 's3' | 'bucket'>, key: string): Promise<{ text: string; bytes: number }> {
  const res = await reader.s3.send(new GetObjectCommand({ Bucket: reader.bucket, Key: key, Range: `bytes=0-${MAX_BODY_BYTES - 1}` }));
  const bytes = Number(/\/(\d+)$/.exec(res.ContentRange ?? '')?.[1] ?? res.ContentLength ?? 0);
  return { text: (await res.Body?.transformToString('utf8')) ?? '', bytes };
}

const parsed = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/** The refused deliveries received in [since, until] (days, UTC), newest first, at most `limit`. */
export async function listRefused(
  reader: Pick<ArchiveReader, 's3' | 'bucket'>,
  o: { since: string; until: string; source?: string; limit: number },
): Promise<{ deliveries: RefusedDelivery[]; truncated: boolean }> {
  const keys: string[] = [];
  const days = daysBetween(o.since, o.until).reverse();
  for (const day of days) {
    const lists = await Promise.all(
      [...PROVIDERS, 'unknown'].map(async (provider) => {
        const prefix = `${PREFIX.quarantine}${provider}/${day.replace(/-/g, '/')}/`;
        const found: string[] = [];
        let token: string | undefined;
        do {
          const page = await reader.s3.send(new ListObjectsV2Command({ Bucket: reader.bucket, Prefix: prefix, ContinuationToken: token }));
          for (const obj of page.Contents ?? []) if (obj.Key) found.push(obj.Key);
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
        return found;
      }),
    );
    // Keys start with the receipt time, so within a day the newest sorts last.
    keys.push(...lists.flat().sort((a, b) => (a.split('/').pop()! < b.split('/').pop()! ? 1 : -1)));
    if (!o.source && keys.length > o.limit) break;
  }
  const deliveries: RefusedDelivery[] = [];
  for (let i = 0; i < keys.length && deliveries.length <= o.limit; i += 8) {
    const batch = await Promise.all(keys.slice(i, i + 8).map((key) => refusedOf(reader, key)));
    deliveries.push(...batch.filter((d) => !o.source || d.source === o.source));
  }
  return { deliveries: deliveries.slice(0, o.limit), truncated: deliveries.length > o.limit };
}

async function refusedOf(reader: Pick<ArchiveReader, 's3' | 'bucket'>, key: string): Promise<RefusedDelivery> {
  const { text, bytes } = await objectText(reader, key);
  const doc = parsed(text) as Partial<Record<string, unknown>>;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    key,
    provider: key.split('/')[1] ?? '',
    source: str(doc.source) ?? '',
    receivedAt: str(doc.receivedAt) ?? '',
    status: typeof doc.status === 'number' ? doc.status : 0,
    reason: str(doc.reason) ?? '(no reason recorded)',
    ...(str(doc.contentType) ? { contentType: str(doc.contentType)! } : {}),
    bytes,
  };
}

/** One delivery by key, with its body; undefined when there is no such object. */
export async function readDelivery(reader: Pick<ArchiveReader, 's3' | 'bucket'>, key: string): Promise<StoredDelivery | undefined> {
  let text: string;
  try {
    ({ text } = await objectText(reader, key));
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
      return undefined;
    throw err;
  }
  if (key.startsWith(PREFIX.quarantine)) {
    const doc = parsed(text) as Partial<Record<string, unknown>>;
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const body = str(doc.body);
    return {
      key,
      kind: 'refused',
      ...(str(doc.source) ? { source: str(doc.source)! } : {}),
      ...(str(doc.receivedAt) ? { receivedAt: str(doc.receivedAt)! } : {}),
      ...(typeof doc.status === 'number' ? { status: doc.status } : {}),
      ...(str(doc.reason) ? { reason: str(doc.reason)! } : {}),
      ...(str(doc.contentType) ? { contentType: str(doc.contentType)! } : {}),
      ...(body !== undefined ? { body: parsed(body) } : {}),
      ...(str(doc.bodyBase64) ? { bodyBase64: str(doc.bodyBase64)! } : {}),
    };
  }
  const { Metadata = {} } = await reader.s3.send(new HeadObjectCommand({ Bucket: reader.bucket, Key: key }));
  return {
    key,
    kind: key.startsWith('events/') ? 'event' : key.endsWith('.unapplied.json') ? 'unapplied' : 'applied',
    ...(Metadata.source ? { source: Metadata.source } : {}),
    ...(Metadata['received-at'] ? { receivedAt: Metadata['received-at'] } : {}),
    ...(Metadata['sent-content-type'] ? { contentType: Metadata['sent-content-type'] } : {}),
    body: parsed(text),
  };
}
