/** What the ingest's steps pass along: a delivery whose source is known and whose body was read and normalised. */
import type { SourceConfig } from '#contract/config.ts';
import { S3_KEYS } from '#contract/resources.ts';
import type { RawMeta } from '#core/ports/delivery-archive.ts';
import type { AdapterResult, NormalisedEvent } from '#core/types.ts';

export interface Delivery {
  source: SourceConfig;
  receivedAt: string;
  bytes: Buffer;
  sha256: string;
  contentType?: string | undefined;
  eventType: string;
  /** A non-call event (task_create, ...): archived as received, nothing else. */
  archived: boolean;
  events: NormalisedEvent[];
}

/** The delivery a provider adapter's result describes. */
export function deliveryOf(
  read: { source: SourceConfig; receivedAt: string; bytes: Buffer; sha256: string; contentType?: string | undefined },
  result: AdapterResult,
): Delivery {
  return {
    ...read,
    eventType: result.eventType,
    archived: result.outcome === 'archived',
    events: result.outcome === 'events' ? result.events : [],
  };
}

/** Its raw/ key: under the call of `event`, or under the event type for a delivery that names no call. */
export function rawKeyOf(delivery: Delivery, event: NormalisedEvent | undefined): string {
  const callId = event?.callId ?? delivery.eventType;
  const at = event?.fields.startedAt ?? delivery.receivedAt;
  return S3_KEYS.raw(delivery.source.provider, at, callId, delivery.receivedAt, `${delivery.eventType}-${delivery.sha256.slice(0, 16)}`);
}

/** Who delivered it, when and as what: the metadata of each raw/ object. */
export const rawMetaOf = (delivery: Delivery): RawMeta => ({
  source: delivery.source.id,
  receivedAt: delivery.receivedAt,
  contentType: delivery.contentType,
});

/** AbortSignal.timeout refuses a fractional delay (RangeError): every budget is whole milliseconds, at least `floor`. */
export const timeout = (ms: number, floor = 100): AbortSignal => AbortSignal.timeout(Math.max(floor, Math.floor(ms)));
