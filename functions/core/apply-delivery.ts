/**
 * Applying one delivery to its call item: merge in core (call-record.ts), then a conditional write, with
 * optimistic concurrency on `version`. The store only reads and writes; every rule is here or in the merge.
 */
import { mergeDelivery } from './call-record.ts';
import type { ApplyDelivery, ApplyOutcome, CallRecords, CallWrite } from '#core/ports/calls-store.ts';
import { callKeyOf, type CallRecord, type MediaKind, type RejectedMediaRef } from './types.ts';

/** How often a write that lost a race is merged again on the fresh item before giving up. */
export const MAX_WRITE_CONFLICTS = 25;

/** Every attempt lost its race: the caller falls back (the ingest queues the delivery for replay). */
export class WriteConflictError extends Error {
  override readonly name = 'WriteConflictError';
}

/**
 * Merge one delivery into its call item. The first try assumes the call is new and creates it blind
 * (one round trip, the common case for a call's first delivery); if the item exists, or someone wrote
 * in between, read it again (consistently), merge again and write on the condition that its version is
 * unchanged. A delivery already applied answers `duplicate`; one for a call another source owns, `foreign`.
 */
export async function applyDelivery(store: CallRecords, input: ApplyDelivery, abortSignal?: AbortSignal): Promise<ApplyOutcome> {
  const callKey = callKeyOf(input.event.provider, input.event.callId);
  const queuedMedia = input.queuedMedia ?? [];
  const rejectedMedia = input.rejectedMedia ?? input.event.rejectedMedia ?? [];
  for (let attempt = 0; ; attempt++) {
    const previous = attempt === 0 ? undefined : await store.get(callKey, { consistent: true, abortSignal });
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
    const write: CallWrite = { record, queuedMedia, rejectedMedia, now: input.now };
    const written = previous ? await store.putIfVersion(write, previous.version, abortSignal) : await store.create(write, abortSignal);
    // The item as written: with the media maps the write created where `previous` had none (its cdr/ row needs them).
    if (written === 'written')
      return { outcome: 'stored', record: withNewMediaMaps(record, queuedMedia, rejectedMedia, input.now), previous };
    if (attempt >= MAX_WRITE_CONFLICTS)
      throw new WriteConflictError(`${callKey}: still written by others after ${attempt + 1} attempts to apply ${input.deliveryKey}`);
    // Someone else wrote first: back off a little (jittered) and merge again on the fresh item.
    if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 5 * attempt)));
  }
}

/** `record` with the `queued` and `rejected` media maps a write adds when the item has none (a worker's map always wins). */
export function withNewMediaMaps(record: CallRecord, queuedMedia: MediaKind[], rejected: RejectedMediaRef[], now: string): CallRecord {
  const out: CallRecord = { ...record };
  for (const media of new Set(queuedMedia)) out[media] ??= { state: 'queued', attempts: 0, queuedAt: now, updatedAt: now };
  const queued = new Set(queuedMedia);
  const reasons = new Map(rejected.filter((ref) => !queued.has(ref.media)).map((ref) => [ref.media, ref.reason]));
  for (const [media, reason] of reasons) out[media] ??= { state: 'rejected', error: reason, attempts: 0, updatedAt: now };
  return out;
}
