/**
 * What the console reads from the archive: calls from the table's indexes (never a Scan), one call by key,
 * its media as a (ranged) stream from S3, its transcript and oversized extras, the verbatim deliveries
 * kept under raw/, and, locally, the Insight Card the stand-in Hipcall API received.
 * Read-only: the console never writes to the archive. It builds on the CLI's reader (bin/cli/archive-reader.ts):
 * the same clients, index queries and record view as `callvault calls`.
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey } from '@aws-sdk/client-s3';
import { BatchGetCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { PREFIX, datePath, safeKeyPart } from '#contract/resources.ts';
import type { CallRecord, CallStatus, MediaInfo, Provider } from '#core/types.ts';
import { callsQueryInput, type ArchiveReader } from '#bin/cli/archive-reader.ts';
import { listRefused, readDelivery, type RefusedDelivery, type StoredDelivery } from '#bin/cli/deliveries-reader.ts';

/** The list page's filters; every one optional. `number` is already E.164 (or as sent) when it gets here. */
export interface CallFilter {
  number?: string;
  /** `YYYY-MM-DD` (UTC). */
  day?: string;
  source?: string;
  status?: CallStatus;
}

export interface CallList {
  calls: CallRecord[];
  /** The cursor of the next page (opaque, for the `after` parameter), when there are more calls. */
  next?: string;
  /** The days searched when no day or number was given (newest first). */
  days?: string[];
  /** Contact names by E.164 number, for the calls on the page that have one in the contacts table. */
  names: Record<string, string>;
}

/** A cursor the console did not write (edited by hand, or from another version). */
export class BadCursor extends Error {
  override readonly name = 'BadCursor';
}

/** Where the next page starts: the day (index into the recent days) and DynamoDB's LastEvaluatedKey. */
interface Cursor {
  d?: number;
  k?: Record<string, string>;
}

const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');

function decodeCursor(text: string): Cursor {
  let c: unknown;
  try {
    c = text.length <= 4096 ? JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) : undefined;
  } catch {
    c = undefined;
  }
  const ok =
    typeof c === 'object' &&
    c !== null &&
    ((c as Cursor).d === undefined || (Number.isInteger((c as Cursor).d) && (c as Cursor).d! >= 0 && (c as Cursor).d! < RECENT_DAYS)) &&
    ((c as Cursor).k === undefined ||
      (typeof (c as Cursor).k === 'object' && Object.values((c as Cursor).k!).every((v) => typeof v === 'string')));
  if (!ok) throw new BadCursor('That page link is not one the console made: start again from the first page.');
  return c as Cursor;
}

/** One verbatim delivery of a call, from its raw/ object's key. */
export interface DeliveryEntry {
  receivedAt: string;
  eventType: string;
  bytes: number;
  /** Kept as `*.unapplied.json`: not applied yet (even the replay queue was down). */
  unapplied: boolean;
  key: string;
}

/** A card row as the Insight Card API takes it. */
export type SentCard = Record<string, unknown>[];

export interface MediaObject {
  body: Readable;
  contentType: string;
  contentLength?: number;
  /** `bytes a-b/total` when a range was asked for and served. */
  contentRange?: string;
}

/** A range the storage refused (416): the `total` size, when known, for the answer's Content-Range. */
export class RangeNotSatisfiable extends Error {
  override readonly name = 'RangeNotSatisfiable';
}

export interface ConsoleArchiveOptions {
  /** Local stack only: the stand-in Hipcall API, which keeps every card it received (`GET {hipcallMock}/_cards`). */
  hipcallMock?: string;
  /** Today, for the recent-days list (tests pin it). */
  now?: () => Date;
  /** The contacts table, for the names of the numbers on a page. */
  contactsTable?: string;
}

/** Most calls one list page shows. */
export const PAGE_SIZE = 50;
/** Days the unfiltered list walks back from today. */
export const RECENT_DAYS = 31;
/** Largest transcript or extras object the console renders (larger ones are linked to, not read). */
const MAX_JSON_BYTES = 2 * 1024 * 1024;

const dayOf = (d: Date) => d.toISOString().slice(0, 10);

export class ConsoleArchive {
  constructor(
    private readonly archive: ArchiveReader,
    private readonly o: ConsoleArchiveOptions = {},
  ) {}

  /**
   * A page of calls, newest first: by number (byCustomerNumber), else by day (byDay), else the recent
   * days one after the other; `after` is the cursor of the page before (CallList.next).
   */
  async listCalls(f: CallFilter, after?: string): Promise<CallList> {
    const cursor = after ? decodeCursor(after) : {};
    let page: { calls: CallRecord[]; next?: Cursor; days?: string[] };
    if (f.number) {
      // With a number, the day narrows the sort key; with the byDay index it is the partition already.
      const range = f.day ? { from: `${f.day}T00:00:00.000Z`, to: `${f.day}T23:59:59.999Z` } : {};
      page = await this.queryPage(this.indexQuery(f, { customer: f.number, ...range }), cursor.k, PAGE_SIZE);
    } else if (f.day) page = await this.queryPage(this.indexQuery(f, { day: f.day }), cursor.k, PAGE_SIZE);
    else page = await this.recentPage(f, cursor);
    return {
      calls: page.calls,
      ...(page.next ? { next: encodeCursor(page.next) } : {}),
      ...(page.days ? { days: page.days } : {}),
      names: await this.contactNames(page.calls),
    };
  }

  /** The recent days one by one from the cursor's day, until the page is full. */
  private async recentPage(f: CallFilter, cursor: Cursor): Promise<{ calls: CallRecord[]; next?: Cursor; days: string[] }> {
    const today = (this.o.now ?? (() => new Date()))();
    const days = Array.from({ length: RECENT_DAYS }, (_, i) => dayOf(new Date(today.getTime() - i * 86_400_000)));
    const calls: CallRecord[] = [];
    let start = cursor.k;
    for (let d = cursor.d ?? 0; d < days.length; d++, start = undefined) {
      const page = await this.queryPage(this.indexQuery(f, { day: days[d]! }), start, PAGE_SIZE - calls.length);
      calls.push(...page.calls);
      if (page.next) return { calls, next: { d, k: page.next.k! }, days };
      if (calls.length >= PAGE_SIZE) return { calls, ...(d + 1 < days.length ? { next: { d: d + 1 } } : {}), days };
    }
    return { calls, days };
  }

  /** The CLI's index query, newest first, with the page's source and status filters. */
  private indexQuery(f: CallFilter, key: { day: string } | { customer: string; from?: string; to?: string }): QueryCommandInput {
    return callsQueryInput({
      table: this.archive.table,
      newestFirst: true,
      ...key,
      ...(f.source ? { source: f.source } : {}),
      ...(f.status ? { status: f.status } : {}),
    });
  }

  /**
   * Up to `limit` items from `start`, and a cursor when more follow: each request asks for no more than
   * the page still needs, so LastEvaluatedKey marks exactly where this page stops.
   */
  private async queryPage(
    input: QueryCommandInput,
    start: Record<string, unknown> | undefined,
    limit: number,
  ): Promise<{ calls: CallRecord[]; next?: Cursor }> {
    const calls: CallRecord[] = [];
    let key = start;
    do {
      const page = await this.archive.doc.send(new QueryCommand({ ...input, Limit: limit - calls.length, ExclusiveStartKey: key }));
      calls.push(...((page.Items ?? []) as CallRecord[]));
      key = page.LastEvaluatedKey;
    } while (key && calls.length < limit);
    if (!key) return { calls };
    // A full page may end exactly at the last call: look one ahead, so no link leads to an empty page.
    const ahead = await this.archive.doc.send(new QueryCommand({ ...input, Limit: 1, ExclusiveStartKey: key }));
    return (ahead.Items?.length ?? 0) > 0 || ahead.LastEvaluatedKey ? { calls, next: { k: key as Record<string, string> } } : { calls };
  }

  /** Names from the contacts table for the customer numbers of `calls` (none when there is no table or on a read failure). */
  private async contactNames(calls: CallRecord[]): Promise<Record<string, string>> {
    const table = this.o.contactsTable;
    const numbers = [...new Set(calls.map((c) => c.customerNumber).filter((n): n is string => typeof n === 'string' && n.startsWith('+')))];
    if (!table || !numbers.length) return {};
    const names: Record<string, string> = {};
    try {
      for (let i = 0; i < numbers.length; i += 100) {
        const out = await this.archive.doc.send(
          new BatchGetCommand({
            RequestItems: {
              [table]: {
                Keys: numbers.slice(i, i + 100).map((phone) => ({ phone })),
                ProjectionExpression: '#p, #n, #c',
                ExpressionAttributeNames: { '#p': 'phone', '#n': 'name', '#c': 'company' },
              },
            },
          }),
        );
        for (const item of out.Responses?.[table] ?? []) {
          const name = [item.name, item.company].filter((v): v is string => typeof v === 'string' && v !== '').join(', ');
          if (typeof item.phone === 'string' && name) names[item.phone] = name;
        }
      }
    } catch {
      // Names are a convenience: the list shows the numbers without them.
    }
    return names;
  }

  /** The name of one number from the contacts table, for a call's page. */
  async contactName(number: string | undefined): Promise<string | undefined> {
    if (!number) return undefined;
    return (await this.contactNames([{ customerNumber: number } as CallRecord]))[number];
  }

  /** The deliveries CallVault refused in the last `days` days (quarantine/), newest first. */
  refused(o: {
    since: string;
    until: string;
    source?: string;
    limit: number;
  }): Promise<{ deliveries: RefusedDelivery[]; truncated: boolean }> {
    return listRefused(this.archive, o);
  }

  /** One stored delivery with its body (the key is checked by the caller). */
  delivery(key: string): Promise<StoredDelivery | undefined> {
    return readDelivery(this.archive, key);
  }

  /** One call by provider and id, as `callvault calls get` shows it; undefined when the archive has none. */
  getCall(provider: Provider, callId: string): Promise<CallRecord | undefined> {
    return this.archive.getCall(provider, callId);
  }

  /** A stored media object, or the part `range` (`bytes=a-b`) asks for. Only keys read from an item get here. */
  async media(info: MediaInfo, range?: string): Promise<MediaObject> {
    try {
      const out = await this.archive.s3.send(
        new GetObjectCommand({ Bucket: this.archive.bucket, Key: info.s3Key!, ...(range ? { Range: range } : {}) }),
      );
      return {
        body: out.Body as Readable,
        contentType: info.contentType ?? out.ContentType ?? 'application/octet-stream',
        ...(out.ContentLength !== undefined ? { contentLength: out.ContentLength } : {}),
        ...(range && out.ContentRange ? { contentRange: out.ContentRange } : {}),
      };
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 416 || (err as Error).name === 'InvalidRange') throw new RangeNotSatisfiable(`range ${range} is outside the object`);
      throw err;
    }
  }

  /** A JSON object of the archive (transcript, oversized extras), parsed; undefined when missing or too large. */
  async json(key: string): Promise<unknown> {
    try {
      const out = await this.archive.s3.send(new GetObjectCommand({ Bucket: this.archive.bucket, Key: key }));
      if ((out.ContentLength ?? 0) > MAX_JSON_BYTES) {
        (out.Body as Readable).destroy();
        return undefined;
      }
      const text = await out.Body!.transformToString('utf8');
      try {
        return JSON.parse(text);
      } catch {
        return text;
      }
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
        return undefined;
      throw err;
    }
  }

  /**
   * The call's verbatim deliveries, oldest first. The ingest files each under the day of its `startedAt`,
   * or of its receipt when it has none, so the call's day and every day it received deliveries are listed.
   */
  async deliveries(call: CallRecord): Promise<DeliveryEntry[]> {
    const days = new Set<string>();
    for (const t of [call.startedAt, call.callAt]) if (t) days.add(datePath(t));
    const first = Date.parse(call.createdAt);
    const last = Date.parse(call.updatedAt);
    // Receipts lie between the first write and the last; a call rarely spans more than a few days.
    if (!Number.isNaN(first) && !Number.isNaN(last)) {
      for (let t = first; t < last && days.size < 16; t += 86_400_000) days.add(datePath(new Date(t).toISOString()));
      days.add(datePath(call.updatedAt));
    }
    const entries: DeliveryEntry[] = [];
    await Promise.all(
      [...days].map(async (day) => {
        const prefix = `${PREFIX.raw}${call.provider}/${day}/${safeKeyPart(call.callId)}/`;
        let token: string | undefined;
        do {
          const page = await this.archive.s3.send(
            new ListObjectsV2Command({ Bucket: this.archive.bucket, Prefix: prefix, ContinuationToken: token }),
          );
          for (const o of page.Contents ?? []) if (o.Key) entries.push(deliveryOf(o.Key, prefix, o.Size ?? 0));
          token = page.NextContinuationToken;
        } while (token);
      }),
    );
    return entries.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt) || a.key.localeCompare(b.key));
  }

  /** The card the stand-in Hipcall API received for this call (local stack only; AWS keeps only the outcome). */
  async sentCard(call: CallRecord): Promise<SentCard | undefined> {
    if (!this.o.hipcallMock || call.provider !== 'hipcall') return undefined;
    try {
      const res = await fetch(`${this.o.hipcallMock}/_cards`, { signal: AbortSignal.timeout(3000) });
      if (!res.ok) return undefined;
      const cards = (await res.json()) as { callId?: string; card?: unknown }[];
      const found = cards.filter((c) => c.callId === call.callId).pop();
      return Array.isArray(found?.card) ? (found.card as SentCard) : undefined;
    } catch {
      // The stand-in is a convenience: the page still shows the outcome stored on the item.
      return undefined;
    }
  }

  destroy(): void {
    this.archive.destroy();
  }
}

/** `{receivedAt}-{eventType}-{sha16}.json`, `:` written as `_` in the time. */
function deliveryOf(key: string, prefix: string, bytes: number): DeliveryEntry {
  const name = key.slice(prefix.length);
  const unapplied = name.endsWith('.unapplied.json');
  const base = name.replace(/(\.unapplied)?\.json$/, '');
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}_\d{2}_\d{2}(?:\.\d+)?Z)-(.*?)(?:-[0-9a-f]{16})?$/.exec(base);
  return { receivedAt: m ? m[1]!.replace(/_/g, ':') : base, eventType: m ? m[2]! : '', bytes, unapplied, key };
}
