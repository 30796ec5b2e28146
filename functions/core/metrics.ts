/**
 * The metrics CallVault emits (CloudWatch embedded metric format, namespace `CallVault`): one list that
 * the functions emit from and the stack's alarms and dashboard read, so a name cannot drift between them.
 * Every metric carries the dimension `source` (the configured source id) where one applies; each is
 * also emitted without it, so an alarm can watch the whole pipeline.
 */
export const METRICS_NAMESPACE = 'CallVault';

/** Dimension names. */
export const METRIC_DIMENSION = {
  source: 'source',
  /** HTTP status of a refused delivery (`DeliveryRefused`). */
  status: 'status',
} as const;

/** Metric names, by what they count. Counts unless the comment says otherwise. */
export const METRIC = {
  /** A delivery applied to its call item. */
  deliveryStored: 'DeliveryStored',
  /** A delivery already applied (same event type and body). */
  deliveryDuplicate: 'DeliveryDuplicate',
  /** A valid delivery that is not about a call, kept in raw/. */
  deliveryArchived: 'DeliveryArchived',
  /** A delivery for a call another source owns. */
  deliveryIgnored: 'DeliveryIgnored',
  /** A write failed; the delivery went to the replay queue (answered 202). */
  deliveryQueuedForReplay: 'DeliveryQueuedForReplay',
  /** The replay queue failed too; the delivery was kept in raw/ as .unapplied.json (answered 202). */
  deliveryUnapplied: 'DeliveryUnapplied',
  /** A delivery refused with a 4xx (dimension `status`), or a 503 when nothing could be made durable. */
  deliveryRefused: 'DeliveryRefused',
  /** A delivery stored although none of its call fields (numbers, times, status, direction) were recognised; answered with `warnings`. */
  deliveryUnrecognised: 'DeliveryUnrecognised',
  /** A delivery from the replay queue applied. */
  replayApplied: 'ReplayApplied',
  mediaStored: 'MediaStored',
  /** Bytes of a stored media file (unit Bytes). */
  mediaBytes: 'MediaBytes',
  /** From the call's end (or the job's queueing) to the file stored in S3 (unit Seconds). */
  mediaHangupToStoredSeconds: 'MediaHangupToStoredSeconds',
  mediaExpired: 'MediaExpired',
  mediaRejected: 'MediaRejected',
  mediaFailed: 'MediaFailed',
  insightSent: 'InsightSent',
  insightNoMatch: 'InsightNoMatch',
  insightStale: 'InsightStale',
  insightFailed: 'InsightFailed',
  /** From the call_init event to the card accepted by Hipcall (unit Milliseconds). */
  insightCallInitToCardMs: 'InsightCallInitToCardMs',
  /** 1 when the scheduled check finds the source silent inside its working hours, else 0 (core/silence.ts). */
  sourceSilent: 'SourceSilent',
  /** A source whose delivery history the silence check could not read: its silence alarm is blind this round. */
  silenceCheckFailed: 'SilenceCheckFailed',
  /** Calls a scheduled reconcile could not reconcile (and 1 for a run that failed as a whole), per source; 0 on a clean run. */
  reconcileFailed: 'ReconcileFailed',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];
