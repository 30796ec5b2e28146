/**
 * What the console reads from the archive: calls from the table's indexes (never a Scan), one call by key,
 * its media as a (ranged) stream from S3, its transcript and oversized extras, the verbatim deliveries
 * kept under raw/, and, locally, the Insight Card the stand-in Hipcall API received.
 * Read-only: the console never writes to the archive. It builds on the CLI's reader (bin/cli/archive-reader.ts):
 * the same clients, index queries and record view as `callvault calls`.
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey } from '@aws-sdk/client-s3';
import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { PREFIX, datePath, safeKeyPart } from '#contract/resources.ts';
import type { CallRecord, CallStatus, MediaInfo, Provider } from '#core/types.ts';
import { callsQueryInput, type ArchiveReader } from '#bin/cli/archive-reader.ts';

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
  /** True when more calls matched than the page shows. */
  truncated: boolean;
  /** The days searched when no day or number was given (newest first). */
  days?: string[];
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
}

/** Most calls one list page shows. */
export const PAGE_SIZE = 100;
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

  /** Calls newest first: by number (byCustomerNumber), else by day (byDay), else the recent days one by one. */
  async listCalls(f: CallFilter): Promise<CallList> {
    // With a number, the day narrows the sort key; with the byDay index it is the partition already.
    if (f.number)
      return this.queryAll(
        this.indexQuery(f, { customer: f.number, ...(f.day ? { from: `${f.day}T00:00:00.000Z`, to: `${f.day}T23:59:59.999Z` } : {}) }),
        PAGE_SIZE,
      );
    if (f.day) return this.queryAll(this.indexQuery(f, { day: f.day }), PAGE_SIZE);
    const today = (this.o.now ?? (() => new Date()))();
    const days = Array.from({ length: RECENT_DAYS }, (_, i) => dayOf(new Date(today.getTime() - i * 86_400_000)));
    const calls: CallRecord[] = [];
    // A week at a time in parallel: most archives fill the page from the first few days.
    for (let i = 0; i < days.length && calls.length < PAGE_SIZE; i += 7) {
      const pages = await Promise.all(days.slice(i, i + 7).map((day) => this.queryAll(this.indexQuery(f, { day }), PAGE_SIZE)));
      for (const p of pages) calls.push(...p.calls);
    }
    return { calls: calls.slice(0, PAGE_SIZE), truncated: calls.length > PAGE_SIZE, days };
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

  /** Follows LastEvaluatedKey until `limit` + 1 items (to know there are more) or the end. */
  private async queryAll(input: QueryCommandInput, limit: number): Promise<CallList> {
    const calls: CallRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.archive.doc.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
      calls.push(...((page.Items ?? []) as CallRecord[]));
      start = page.LastEvaluatedKey;
    } while (start && calls.length <= limit);
    return { calls: calls.slice(0, limit), truncated: calls.length > limit || Boolean(start) };
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
