/**
 * The calls table: reads and the conditional writes of a merged delivery (the merge and its retry loop are
 * core's, apply-delivery.ts), and the media worker's narrow update (`recording`/`voicemail`/`transcript`;
 * `insight` is insight-claims.ts's). Ingest writes only the attributes it owns, so it never overwrites what
 * a worker wrote meanwhile.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { StoredCallRecord } from '#core/call-record.ts';
import type { CallWrite, CallsStore, WriteResult } from '#core/ports/calls-store.ts';
import type { CallRecord, MediaInfo, MediaKind, RejectedMediaRef } from '#core/types.ts';

/** Attributes other writers own: the ingest upsert never sets them (except to create a `queued` or `rejected` media map). */
const WORKER_OWNED = new Set(['recording', 'voicemail', 'transcript', 'insight', 'callKey']);

export class DynamoCallsStore implements CallsStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async get(callKey: string, options: { consistent?: boolean; abortSignal?: AbortSignal } = {}): Promise<StoredCallRecord | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { callKey }, ConsistentRead: options.consistent ?? true }),
      { abortSignal: options.abortSignal },
    );
    return Item as StoredCallRecord | undefined;
  }

  /** Create the item; `conflict` (nothing written) when one with its key exists. */
  create(write: CallWrite, abortSignal?: AbortSignal): Promise<WriteResult> {
    return this.conditional(this.writeCommand(write, { absent: true }), abortSignal);
  }

  /** Write over the item only if its version is still `expectedVersion`; `conflict` (nothing written) otherwise. */
  putIfVersion(write: CallWrite, expectedVersion: number | undefined, abortSignal?: AbortSignal): Promise<WriteResult> {
    return this.conditional(this.writeCommand(write, { version: expectedVersion }), abortSignal);
  }

  /** The conditional UpdateItem that writes a merged record over `previous`, or creates it (public for the benchmark's bare baseline). */
  upsertCommand(
    record: CallRecord,
    previous: CallRecord | undefined,
    queuedMedia: MediaKind[],
    now: string,
    rejectedMedia: RejectedMediaRef[] = [],
  ): UpdateCommand {
    return this.writeCommand({ record, queuedMedia, rejectedMedia, now }, previous ? { version: previous.version } : { absent: true });
  }

  private async conditional(command: UpdateCommand, abortSignal: AbortSignal | undefined): Promise<WriteResult> {
    try {
      await this.doc.send(command, { abortSignal });
      return 'written';
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return 'conflict';
      throw err;
    }
  }

  /**
   * SET every attribute the ingest owns (REMOVE those set to undefined), and create the `queued` and
   * `rejected` media maps only where the item has none: the condition is on absence or on `version`.
   */
  private writeCommand(write: CallWrite, condition: { absent: true } | { version: number | undefined }): UpdateCommand {
    const { record, queuedMedia, rejectedMedia, now } = write;
    const creating = 'absent' in condition;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    const removes: string[] = [];
    let i = 0;
    for (const [key, value] of Object.entries(record)) {
      if (WORKER_OWNED.has(key) || (value === undefined && creating)) continue;
      const n = `#a${i}`;
      const v = `:a${i}`;
      i++;
      names[n] = key;
      if (value === undefined) {
        removes.push(n);
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
    let expression: string;
    if (creating) expression = 'attribute_not_exists(callKey)';
    else if (condition.version === undefined) {
      expression = 'attribute_not_exists(#version)';
      names['#version'] = 'version';
    } else {
      expression = '#version = :expectedVersion';
      names['#version'] = 'version';
      values[':expectedVersion'] = condition.version;
    }
    return new UpdateCommand({
      TableName: this.tableName,
      Key: { callKey: record.callKey },
      UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
      ConditionExpression: expression,
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
