/** The CallsStore port: the calls table as the merge and the media worker use it (adapter: adapters/calls-store.ts, DynamoCallsStore). */
import type { DeliveryInput, StoredCallRecord } from '#core/call-record.ts';
import type { CallRecord, MediaInfo, MediaKind, RejectedMediaRef } from '#core/types.ts';

/** One delivery to apply to its call item, plus the media whose map it creates as `queued`. */
export interface ApplyDelivery extends DeliveryInput {
  /** Media refs of this delivery: their map is created as `queued` when the item has none yet. */
  queuedMedia?: MediaKind[];
  /** Media links that will not be fetched; defaults to `event.rejectedMedia`. Their map is created as `rejected` when the item has none yet. */
  rejectedMedia?: RejectedMediaRef[];
}

/**
 * What applying a delivery did: `stored`, `duplicate` (already applied), or `foreign`: the call belongs
 * to another source of the same provider (`owner`), so the delivery changed nothing.
 */
export type ApplyOutcome =
  | { outcome: 'stored' | 'duplicate'; record: CallRecord; previous: CallRecord | undefined }
  | { outcome: 'foreign'; owner: string; record: CallRecord; previous: CallRecord | undefined };

/**
 * One merged record to write, with the media maps it creates when the item has none yet (a worker's map
 * always wins). An attribute set to undefined is removed from the item.
 */
export interface CallWrite {
  record: StoredCallRecord;
  queuedMedia: readonly MediaKind[];
  rejectedMedia: readonly RejectedMediaRef[];
  /** ISO time of the write, for the media maps' `queuedAt`/`updatedAt`. */
  now: string;
}

/** A conditional write's answer: `conflict` when its condition failed (someone else wrote first) and nothing was written. */
export type WriteResult = 'written' | 'conflict';

/** What applying a delivery needs of the calls table (core/apply-delivery.ts): a read and two conditional writes. */
export interface CallRecords {
  get(callKey: string, options?: { consistent?: boolean; abortSignal?: AbortSignal }): Promise<StoredCallRecord | undefined>;
  /** Write the item only if there is none with its key yet. */
  create(write: CallWrite, abortSignal?: AbortSignal): Promise<WriteResult>;
  /** Write over the item only if its `version` is still `expectedVersion` (undefined: the item has no version yet, or no item). */
  putIfVersion(write: CallWrite, expectedVersion: number | undefined, abortSignal?: AbortSignal): Promise<WriteResult>;
}

/** The calls table: the merge's reads and conditional writes, and the media worker's narrow update. */
export interface CallsStore extends CallRecords {
  /** Set one media map; with `unlessStored`, false (and nothing written) when it is already `stored`. */
  setMedia(callKey: string, media: MediaKind, info: MediaInfo, options?: { unlessStored?: boolean }): Promise<boolean>;
}
