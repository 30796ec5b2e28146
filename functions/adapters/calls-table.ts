/**
 * The calls table: the idempotent, order-independent upsert of a delivery (optimistic concurrency on
 * `version`), and the media worker's narrow update (`recording`/`voicemail`/`transcript`; `insight` is insight-claims.ts's).
 * Ingest writes only the attributes it owns, so it never overwrites what a worker wrote meanwhile.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mergeDelivery } from '#core/call-record.ts';
import type { ApplyDelivery, ApplyOutcome, CallsStore } from '#core/ports.ts';
import type { CallRecord, MediaInfo, MediaKind, RejectedMediaRef } from '#core/types.ts';
import { callKeyOf } from '#core/types.ts';

/** Attributes other writers own: the ingest upsert never sets them (except to create a `queued` or `rejected` media map). */
const WORKER_OWNED = new Set(['recording', 'voicemail', 'transcript', 'insight', 'callKey']);

export class CallsTable implements CallsStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly maxConflicts = 25,
  ) {}

  async get(callKey: string, options: { consistent?: boolean; abortSignal?: AbortSignal } = {}): Promise<CallRecord | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { callKey }, ConsistentRead: options.consistent ?? true }),
      { abortSignal: options.abortSignal },
    );
    return Item as CallRecord | undefined;
  }

  /**
   * Merge one delivery into its call item. Read, merge in core, write back on the condition that nobody
   * else wrote in between; on a conflict, read again. A delivery already applied answers `duplicate`.
   */
  async applyDelivery(input: ApplyDelivery, abortSignal?: AbortSignal): Promise<ApplyOutcome> {
    const callKey = callKeyOf(input.event.provider, input.event.callId);
    for (let attempt = 0; ; attempt++) {
      // First try: assume the call is new and create it blind (one round trip, the common case for the
      // first delivery of a call). If it exists, the condition fails and we read, merge and write back.
      const previous = attempt === 0 ? undefined : await this.get(callKey, { consistent: true, abortSignal });
      const merged = mergeDelivery(previous, {
        source: input.source,
        event: input.event,
        deliveryKey: input.deliveryKey,
        now: input.now,
        itemTtlDays: input.itemTtlDays,
      });
      const { record } = merged;
      // The read that found the owner was consistent, and the owner never changes once set: no write needed.
      if (merged.foreign) return { outcome: 'foreign', owner: merged.owner, record, previous };
      if (!merged.changed) return { outcome: 'duplicate', record, previous };
      try {
        const rejected = input.rejectedMedia ?? input.event.rejectedMedia ?? [];
        await this.doc.send(this.upsertCommand(record, previous, input.queuedMedia ?? [], input.now, rejected), { abortSignal });
        // The item as written: the media maps the update created where `previous` had none (its cdr/ row needs them).
        return { outcome: 'stored', record: withNewMediaMaps(record, input.queuedMedia ?? [], rejected, input.now), previous };
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException) || attempt >= this.maxConflicts) throw err;
        // Someone else wrote first: back off a little (jittered) and merge again on the fresh item.
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 5 * attempt)));
      }
    }
  }

  /** The conditional UpdateItem that writes a merged record (public for the benchmark's bare baseline). */
  upsertCommand(
    record: CallRecord,
    previous: CallRecord | undefined,
    queuedMedia: MediaKind[],
    now: string,
    rejectedMedia: RejectedMediaRef[] = [],
  ) {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    const removes: string[] = [];
    let i = 0;
    for (const [key, value] of Object.entries(record)) {
      if (WORKER_OWNED.has(key)) continue;
      const n = `#a${i}`;
      const v = `:a${i}`;
      i++;
      names[n] = key;
      if (value === undefined) {
        if (previous && key in previous) removes.push(n);
        continue;
      }
      values[v] = value;
      sets.push(`${n} = ${v}`);
    }
    for (const media of new Set(queuedMedia)) {
      const n = `#m_${media}`;
      names[n] = media;
      values[`:m_${media}`] = { state: 'queued', attempts: 0, queuedAt: now, updatedAt: now } satisfies MediaInfo;
      sets.push(`${n} = if_not_exists(${n}, :m_${media})`);
    }
    // A refused link shows on the item as a `rejected` map, unless a fetchable link of the same media
    // came with it or the map already exists (a worker's state always wins).
    const queued = new Set(queuedMedia);
    const rejected = new Map(rejectedMedia.filter((ref) => !queued.has(ref.media)).map((ref) => [ref.media, ref.reason]));
    for (const [media, reason] of rejected) {
      const n = `#m_${media}`;
      names[n] = media;
      values[`:m_${media}`] = { state: 'rejected', error: reason, attempts: 0, updatedAt: now } satisfies MediaInfo;
      sets.push(`${n} = if_not_exists(${n}, :m_${media})`);
    }
    let condition: string;
    if (!previous) condition = 'attribute_not_exists(callKey)';
    else if (previous.version === undefined) {
      condition = 'attribute_not_exists(#version)';
      names['#version'] = 'version';
    } else {
      condition = '#version = :expectedVersion';
      names['#version'] = 'version';
      values[':expectedVersion'] = previous.version;
    }
    return new UpdateCommand({
      TableName: this.tableName,
      Key: { callKey: record.callKey },
      UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
      ConditionExpression: condition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
  }

  /**
   * Set one media map (the media worker's attribute). Creates the item if the delivery has not landed yet.
   * With `unlessStored`, a map that is already `stored` is left alone and the answer is false.
   */
  async setMedia(callKey: string, media: MediaKind, info: MediaInfo, options: { unlessStored?: boolean } = {}): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { callKey },
          UpdateExpression: 'SET #m = :info',
          ExpressionAttributeNames: { '#m': media, ...(options.unlessStored ? { '#s': 'state' } : {}) },
          ExpressionAttributeValues: { ':info': info, ...(options.unlessStored ? { ':stored': 'stored' } : {}) },
          ...(options.unlessStored ? { ConditionExpression: 'attribute_not_exists(#m.#s) OR #m.#s <> :stored' } : {}),
        }),
      );
      return true;
    } catch (err) {
      if (options.unlessStored && err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }
}

/** `record` with the `queued` and `rejected` media maps upsertCommand adds when the item has none (a worker's map always wins). */
export function withNewMediaMaps(record: CallRecord, queuedMedia: MediaKind[], rejected: RejectedMediaRef[], now: string): CallRecord {
  const out: CallRecord = { ...record };
  for (const media of new Set(queuedMedia)) out[media] ??= { state: 'queued', attempts: 0, queuedAt: now, updatedAt: now };
  const queued = new Set(queuedMedia);
  const reasons = new Map(rejected.filter((ref) => !queued.has(ref.media)).map((ref) => [ref.media, ref.reason]));
  for (const [media, reason] of reasons) out[media] ??= { state: 'rejected', error: reason, attempts: 0, updatedAt: now };
  return out;
}
