/**
 * Writing an accepted delivery, every leg in parallel: the calls table merge (core's applyDelivery), the
 * raw/ copy, extras/ for fields too large for the item, the media and insight jobs, and the cdr/ row of a
 * call that ended with no media. Any failed leg makes the whole write fail, so the caller falls back.
 */
import type { CallVaultConfig, SourceConfig } from '#contract/config.ts';
import { S3_KEYS } from '#contract/resources.ts';
import { applyDelivery } from '#core/apply-delivery.ts';
import { deliveryKey } from '#core/call-record.ts';
import { callEnded, mediaPending } from '#core/cdr-schema.ts';
import { splitOversized } from '#core/dynamo-values.ts';
import { isPermanentWriteError } from '#core/errors.ts';
import { insightJobOf } from '#core/insight.ts';
import type { ApplyOutcome, CallRecords } from '#core/ports/calls-store.ts';
import type { DeliveryArchive } from '#core/ports/delivery-archive.ts';
import type { JobQueues } from '#core/ports/job-queues.ts';
import type { Log } from '#core/ports/log.ts';
import { callFiledAt, type MediaJob, type NormalisedEvent } from '#core/types.ts';
import { rawKeyOf, rawMetaOf, type Delivery } from './delivery.ts';

export interface WriteDeps {
  config: CallVaultConfig;
  calls: CallRecords;
  archive: DeliveryArchive;
  queues: JobQueues;
  log: Log;
  /** Overrides every source's media delay (the local stack's CALLVAULT_MEDIA_DELAY_SECONDS). */
  mediaDelayOverride?: number;
}

/** A non-call event: its raw/ copy is all there is to write. */
export function archiveDelivery(deps: Pick<WriteDeps, 'archive'>, delivery: Delivery, signal?: AbortSignal): Promise<void> {
  return deps.archive.putRaw(rawKeyOf(delivery, undefined), delivery.bytes, rawMetaOf(delivery), signal);
}

/** The parallel writes for a call delivery. Throws if any of them failed (the caller falls back). */
export async function writeDelivery(deps: WriteDeps, delivery: Delivery, signal: AbortSignal): Promise<ApplyOutcome[]> {
  const { source } = delivery;
  const writes: Promise<unknown>[] = [];
  const outcomes: ApplyOutcome[] = [];
  const meta = rawMetaOf(delivery);
  for (const original of delivery.events) {
    // Extras too large for the item (a long transcript analysis) go to extras/, the item keeps a pointer.
    const at = original.fields.startedAt ?? delivery.receivedAt;
    const { fields, extras } = splitOversized(original.fields, (field, sha) =>
      S3_KEYS.extras(original.provider, at, original.callId, field, sha),
    );
    const event: NormalisedEvent = extras.length ? { ...original, fields } : original;
    for (const extra of extras)
      writes.push(deps.archive.putRaw(extra.key, Buffer.from(extra.body, 'utf8'), { ...meta, contentType: 'application/json' }, signal));
    // Queue sends are the slowest leg, so they start first; all legs then run in parallel.
    // The worker is idempotent (it skips stored media), so jobs go out without waiting for the upsert.
    const jobs = mediaJobsOf(event, source, delivery.receivedAt);
    if (jobs.length) writes.push(deps.queues.sendMedia(jobs, deps.mediaDelayOverride ?? source.mediaDelaySeconds, signal));
    if (event.provider === 'hipcall' && event.kind === 'call_init' && (source.insight?.enabled ?? true)) {
      writes.push(deps.queues.sendInsight(insightJobOf(source.id, event, delivery.receivedAt), signal));
    }
    writes.push(deps.archive.putRaw(rawKeyOf(delivery, event), delivery.bytes, meta, signal));
    writes.push(
      applyDelivery(
        deps.calls,
        {
          source: source.id,
          event,
          deliveryKey: deliveryKey(delivery.eventType, delivery.sha256),
          now: delivery.receivedAt,
          queuedMedia: event.media.map((m) => m.media),
          itemTtlDays: deps.config.protection.itemTtlDays,
        },
        signal,
      ).then(async (r) => {
        outcomes.push(r);
        await writeCdrIfDone(deps, r, signal);
      }),
    );
  }
  const settled = await Promise.allSettled(writes);
  const failures = settled
    .filter((s): s is PromiseRejectedResult => s.status === 'rejected')
    .map((s) => (s.reason instanceof Error ? s.reason : new Error(String(s.reason))));
  // A refusal outranks a timeout elsewhere: replaying would meet the same refusal.
  const failed = failures.find(isPermanentWriteError) ?? failures[0];
  if (failed) throw failed;
  return outcomes;
}

/** One media job per link of the event, for the media worker. */
function mediaJobsOf(event: NormalisedEvent, source: SourceConfig, receivedAt: string): MediaJob[] {
  const callAt = event.fields.startedAt ?? event.occurredAt;
  return event.media.map((m) => ({
    provider: event.provider,
    source: source.id,
    callId: event.callId,
    media: m.media,
    url: m.url,
    queuedAt: receivedAt,
    callAt,
  }));
}

/**
 * An ended call whose media are all final (none, rejected at once, or already stored, failed or expired)
 * gets its cdr/ row here, so SQL over the archive sees every call; while a media job is still on its way
 * the media worker writes the row once it ends, so the two never race. Best effort: the delivery is
 * applied and in raw/, and `callvault replay` can write the row again.
 */
async function writeCdrIfDone(deps: Pick<WriteDeps, 'archive' | 'log'>, r: ApplyOutcome, signal: AbortSignal): Promise<void> {
  // The record carries the media maps as written: one this delivery queued reads `queued` unless already final.
  if (r.outcome !== 'stored' || !callEnded(r.record) || mediaPending(r.record)) return;
  const { record } = r;
  try {
    await deps.archive.putCallRecord(S3_KEYS.cdr(record.provider, callFiledAt(record, record.createdAt), record.callId), record, signal);
  } catch (err) {
    deps.log.warn('cdr row not written (the call is stored)', { provider: record.provider, error: (err as Error).name });
  }
}
