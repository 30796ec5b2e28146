/**
 * The calls table in a Map, with DynamoDB's conditions and the adapter's write rules (attributes other
 * writers own pass through, media maps are created only where none exists): the one in-memory fake of
 * the CallsStore port. The merge itself is core's applyDelivery, as in production.
 */
import type { StoredCallRecord } from '#core/call-record.ts';
import type { CallWrite, CallsStore, WriteResult } from '#core/ports/calls-store.ts';
import type { MediaInfo, MediaKind } from '#core/types.ts';

/** What a delivery never sets on an item (the media worker's and the insight worker's maps, and the key). */
const WORKER_OWNED = new Set(['recording', 'voicemail', 'transcript', 'insight', 'callKey']);

export class MemoryCallsStore implements CallsStore {
  readonly items = new Map<string, StoredCallRecord>();
  /** Every conditional write that landed, in order. */
  readonly landed: CallWrite[] = [];
  /** Every create and putIfVersion throws, like a table that is down. */
  failWrites = false;
  /** Runs before each conditional write is judged: a test lets a competing writer in here. */
  beforeWrite?: (write: CallWrite) => Promise<void>;

  /** How many writes landed. */
  get writes(): number {
    return this.landed.length;
  }

  /** The deliveries applied, each as the record written plus the media maps it asked for. */
  get applied(): (StoredCallRecord & Pick<CallWrite, 'queuedMedia' | 'rejectedMedia'>)[] {
    return this.landed.map((w) => ({ ...w.record, queuedMedia: w.queuedMedia, rejectedMedia: w.rejectedMedia }));
  }

  get(callKey: string): Promise<StoredCallRecord | undefined> {
    return Promise.resolve(this.items.get(callKey));
  }

  async create(write: CallWrite): Promise<WriteResult> {
    await this.judging(write);
    if (this.items.has(write.record.callKey)) return 'conflict';
    this.land(write);
    return 'written';
  }

  async putIfVersion(write: CallWrite, expectedVersion: number | undefined): Promise<WriteResult> {
    await this.judging(write);
    if (this.items.get(write.record.callKey)?.version !== expectedVersion) return 'conflict';
    this.land(write);
    return 'written';
  }

  setMedia(callKey: string, media: MediaKind, info: MediaInfo, options: { unlessStored?: boolean } = {}): Promise<boolean> {
    const item = this.items.get(callKey);
    if (options.unlessStored && item?.[media]?.state === 'stored') return Promise.resolve(false);
    this.items.set(callKey, { ...(item ?? ({ callKey } as StoredCallRecord)), [media]: info });
    return Promise.resolve(true);
  }

  private async judging(write: CallWrite): Promise<void> {
    if (this.failWrites) throw new Error('table unavailable');
    await this.beforeWrite?.(write);
  }

  private land({ record, queuedMedia, rejectedMedia, now }: CallWrite): void {
    const item: Record<string, unknown> = { ...this.items.get(record.callKey), callKey: record.callKey };
    for (const [key, value] of Object.entries(record)) {
      if (WORKER_OWNED.has(key)) continue;
      if (value === undefined) delete item[key];
      else item[key] = value;
    }
    for (const media of queuedMedia) item[media] ??= { state: 'queued', attempts: 0, queuedAt: now, updatedAt: now } satisfies MediaInfo;
    for (const ref of rejectedMedia)
      if (!queuedMedia.includes(ref.media))
        item[ref.media] ??= { state: 'rejected', error: ref.reason, attempts: 0, updatedAt: now } satisfies MediaInfo;
    this.items.set(record.callKey, item as unknown as StoredCallRecord);
    this.landed.push({ record, queuedMedia, rejectedMedia, now });
  }
}
