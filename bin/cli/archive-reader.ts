/**
 * Reading the archive as a person does: find calls through the indexes, get one call, list its stored
 * media with pre-signed links, and stream a media file while checking it against the sha256 the media
 * worker recorded. No printing and no process state: the CLI and the local console both build on it.
 */
import { createHash } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Readable } from 'node:stream';
import { CALL_INDEX_TIME } from '#contract/resources.ts';
import { callKeyOf, MEDIA_KINDS, PROVIDERS, type CallRecord, type MediaKind, type Provider } from '#core/types.ts';
import { LOCAL_CREDENTIALS } from '#bin/local/target.ts';
import type { LocalEndpoints } from './context.ts';

/** Any SDK client the reader builds, handed to `instrument` once (tests count requests with a middleware). */
export type ReaderClient = DynamoDBClient | S3Client;

/** Where the archive is: its table and bucket, and the clients that reach them. */
export interface ArchiveLocation {
  table: string;
  bucket: string;
  /** The local stack's (or emulators') endpoints, or nothing for AWS (default credential chain). */
  local?: Pick<LocalEndpoints, 'dynamodb' | 's3' | 'region'>;
  region?: string;
  instrument?: (client: ReaderClient) => void;
}

/** What `calls list` looks up: one day or one customer, optionally a callAt range, in either order. */
export interface CallsQuery {
  table: string;
  day?: string;
  customer?: string;
  /** Inclusive ISO-8601 bounds on callAt. */
  from?: string;
  to?: string;
  newestFirst?: boolean;
  /** Only calls of this source, or in this status (a filter on what the key condition read). */
  source?: string;
  status?: string;
}

/** One stored media file of a call, as its media map records it. */
export interface StoredMedia {
  media: MediaKind;
  s3Key: string;
  bytes?: number;
  /** Hex SHA-256 the media worker computed while storing; absent on items stored before it did. */
  sha256?: string;
  contentType?: string;
}

/** Attributes the merge keeps for itself: not part of the record a person reads or exports. */
const INTERNAL = ['fieldSources', 'firstOccurredAt'] as const;

/** The index query of `calls list`: both indexes sort by callAt, so a range and the order are key conditions. */
export function callsQueryInput(q: CallsQuery): QueryCommandInput {
  const names: Record<string, string> = { '#k': q.day ? 'day' : 'customerNumber' };
  const values: Record<string, unknown> = { ':v': q.day ?? q.customer };
  let condition = '#k = :v';
  if (q.from !== undefined || q.to !== undefined) {
    names['#t'] = CALL_INDEX_TIME;
    if (q.from !== undefined) values[':from'] = q.from;
    if (q.to !== undefined) values[':to'] = q.to;
    condition +=
      q.from !== undefined && q.to !== undefined
        ? ' AND #t BETWEEN :from AND :to'
        : q.from !== undefined
          ? ' AND #t >= :from'
          : ' AND #t <= :to';
  }
  const filters: string[] = [];
  for (const [field, value] of [
    ['source', q.source],
    ['status', q.status],
  ] as const) {
    if (value === undefined) continue;
    names[`#${field}`] = field;
    values[`:${field}`] = value;
    filters.push(`#${field} = :${field}`);
  }
  return {
    TableName: q.table,
    IndexName: q.day ? 'byDay' : 'byCustomerNumber',
    KeyConditionExpression: condition,
    ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ScanIndexForward: !q.newestFirst,
  };
}

/** The record as a person reads it: the item without the merge's internal bookkeeping. */
export function publicRecord(item: Record<string, unknown>): CallRecord {
  const copy = { ...item };
  for (const name of INTERNAL) delete copy[name];
  return copy as unknown as CallRecord;
}

/** Every media file of a call that is stored (`state: stored` with an s3Key), recording first. */
export function storedMedia(record: CallRecord): StoredMedia[] {
  const out: StoredMedia[] = [];
  for (const media of MEDIA_KINDS) {
    const info = record[media];
    if (info?.state !== 'stored' || !info.s3Key) continue;
    out.push({
      media,
      s3Key: info.s3Key,
      ...(info.bytes !== undefined ? { bytes: info.bytes } : {}),
      ...(info.sha256 ? { sha256: info.sha256 } : {}),
      ...(info.contentType ? { contentType: info.contentType } : {}),
    });
  }
  return out;
}

/** `YYYY-MM-DD` days from `since` to `until`, inclusive, in order. */
export function daysBetween(since: string, until: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${since}T00:00:00Z`), end = Date.parse(`${until}T00:00:00Z`); t <= end; t += 86_400_000)
    days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

export class ArchiveReader {
  readonly doc: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly table: string;
  readonly bucket: string;
  private readonly endpoint: string | undefined;

  constructor(location: ArchiveLocation) {
    const local = location.local;
    const region = local?.region ?? location.region;
    const base = { ...(region ? { region } : {}), ...(local ? { credentials: LOCAL_CREDENTIALS } : {}) };
    const dynamo = new DynamoDBClient({ ...base, ...(local ? { endpoint: local.dynamodb } : {}), maxAttempts: local ? 3 : 5 });
    this.s3 = new S3Client({ ...base, ...(local ? { endpoint: local.s3, forcePathStyle: true } : {}) });
    location.instrument?.(dynamo);
    location.instrument?.(this.s3);
    this.doc = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
    this.table = location.table;
    this.bucket = location.bucket;
    this.endpoint = local?.s3;
  }

  /** One call's item as stored (internal attributes included), or undefined. */
  async item(provider: Provider, callId: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { callKey: callKeyOf(provider, callId) }, ConsistentRead: true }),
    );
    return Item;
  }

  /** One call as a person reads it, or undefined. */
  async getCall(provider: Provider, callId: string): Promise<CallRecord | undefined> {
    const item = await this.item(provider, callId);
    return item ? publicRecord(item) : undefined;
  }

  /** Calls of one day or one customer from the index alone, up to `limit`, following pages. */
  async listCalls(query: Omit<CallsQuery, 'table'>, limit = Infinity): Promise<CallRecord[]> {
    const input = callsQueryInput({ ...query, table: this.table });
    const items: CallRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({ ...input, ...(Number.isFinite(limit) ? { Limit: limit - items.length } : {}), ExclusiveStartKey: start }),
      );
      items.push(...(page.Items ?? []).map(publicRecord));
      start = page.LastEvaluatedKey;
    } while (start && items.length < limit);
    return items;
  }

  /** Every call whose callAt falls on a day from `since` to `until` (byDay index, one day at a time, oldest first). */
  async *callsBetween(since: string, until: string): AsyncGenerator<CallRecord> {
    for (const day of daysBetween(since, until)) yield* await this.listCalls({ day });
  }

  /** A GET link to one object that works for `expiresInSec` without credentials (SigV4 query signing). */
  async presign(key: string, expiresInSec = 3600): Promise<{ url: string; expiresAt: string }> {
    const url = await getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: expiresInSec });
    return { url, expiresAt: new Date(Date.now() + expiresInSec * 1000).toISOString() };
  }

  /** Each stored media file of a call with a pre-signed GET link. */
  async mediaLinks(record: CallRecord, expiresInSec = 3600): Promise<(StoredMedia & { url: string; expiresAt: string })[]> {
    return Promise.all(storedMedia(record).map(async (m) => ({ ...m, ...(await this.presign(m.s3Key, expiresInSec)) })));
  }

  /** A stored object's body as a stream (the caller must consume or destroy it). */
  async openObject(key: string, signal?: AbortSignal): Promise<{ body: Readable; bytes?: number }> {
    const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), signal ? { abortSignal: signal } : {});
    return { body: res.Body as Readable, ...(res.ContentLength !== undefined ? { bytes: res.ContentLength } : {}) };
  }

  destroy(): void {
    this.doc.destroy();
    this.s3.destroy();
  }
}

/** A provider named on the command line, checked. */
export function isProvider(value: string): value is Provider {
  return (PROVIDERS as readonly string[]).includes(value);
}

/** Hex SHA-256 of a stream, for checking a downloaded file. */
export function sha256Hasher() {
  return createHash('sha256');
}
