/** Provider types CallVault understands; a source is one configured webhook endpoint of a provider type. */
export const PROVIDERS = ['hipcall', 'callhippo', 'postcall'] as const;
export type Provider = (typeof PROVIDERS)[number];

export type CallKind = 'call' | 'sms';
export type Direction = 'inbound' | 'outbound' | 'internal' | 'unknown';
export type CallStatus = 'ringing' | 'answered' | 'completed' | 'missed' | 'failed' | 'unknown';
export const MEDIA_KINDS = ['recording', 'voicemail', 'transcript'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];
export type MediaState = 'queued' | 'stored' | 'failed' | 'expired' | 'rejected';
export type InsightState = 'sent' | 'no_match' | 'failed' | 'stale';

/** The call fields one delivery tells us; every field is optional because deliveries are partial. */
export interface CallFields {
  kind?: CallKind;
  direction?: Direction;
  fromNumber?: string;
  toNumber?: string;
  customerNumber?: string;
  /** The external party's number as sent when it does not look like a phone number: kept, but not indexed (see fitFields). */
  customerNumberAsSent?: string;
  status?: CallStatus;
  startedAt?: string;
  answeredAt?: string;
  endedAt?: string;
  durationSec?: number;
  hangupBy?: string;
  /** Post-call caller details, or an ExtrasPointer when they were too large for the item. */
  caller?: Record<string, unknown>;
  /** Post-call AI analysis, or an ExtrasPointer when it was too large for the item. */
  analysis?: Record<string, unknown>;
  agent?: { id?: string; email?: string; name?: string };
}

/** A media file a delivery points at (a pre-signed URL that expires). */
export interface MediaRef {
  media: MediaKind;
  url: string;
}

/** A media link a delivery carried that CallVault will not fetch (not http(s), or not an absolute URL). */
export interface RejectedMediaRef {
  media: MediaKind;
  /** Why, for the media map's `error`; never the URL itself (it may carry a signature). */
  reason: string;
}

/** The extras fields that move to S3 when they are too large for the item. */
export type ExtrasField = 'caller' | 'analysis';

/** What stands on the item in place of an extras value stored in S3 (`extras/...`). */
export interface ExtrasPointer {
  s3Key: string;
  bytes: number;
  sha256: string;
  oversized: true;
}

/** One delivery, normalised: what the calls table merge and the job queues consume. */
export interface NormalisedEvent {
  provider: Provider;
  callId: string;
  /** The provider's event type as delivered, e.g. `call_init`, `call_hangup`, `call_activity`, `sms_activity`, `call_status`, `post_call`. */
  kind: string;
  /** ISO-8601 UTC of when the event happened (falls back to receipt time). */
  occurredAt: string;
  fields: CallFields;
  media: MediaRef[];
  /** Media links the delivery carried that will not be fetched; their map is created as `rejected`. */
  rejectedMedia?: RejectedMediaRef[];
}

/** What a provider adapter makes of one delivery. */
export type AdapterResult =
  | { outcome: 'events'; eventType: string; events: NormalisedEvent[] }
  /** A valid delivery that is not about a call (e.g. Hipcall `task_create`): archived raw and acknowledged. */
  | { outcome: 'archived'; eventType: string; reason: string };

/** Context a provider adapter needs; adapters are pure so this is passed in. */
export interface AdapterContext {
  /** ISO 3166-1 alpha-2 country used to read national-format numbers. */
  defaultCountry: string;
  /** ISO-8601 UTC receipt time, the fallback for `occurredAt`. */
  receivedAt: string;
}

/** The state of one stored (or pending) media file on the call item. */
export interface MediaInfo {
  state: MediaState;
  s3Key?: string;
  bytes?: number;
  sha256?: string;
  contentType?: string;
  attempts?: number;
  error?: string;
  /** When the media was first queued; used to tell "not uploaded yet" from "expired". */
  queuedAt?: string;
  updatedAt?: string;
}

export interface InsightInfo {
  state: InsightState;
  httpStatus?: number;
  at: string;
  error?: string;
}

/** The calls table item. Attribute names are part of the product: users query them. */
export interface CallRecord extends CallFields {
  callKey: string;
  provider: Provider;
  source: string;
  callId: string;
  kind: CallKind;
  direction: Direction;
  status: CallStatus;
  recording?: MediaInfo;
  voicemail?: MediaInfo;
  transcript?: MediaInfo;
  insight?: InsightInfo;
  /** Delivery keys already applied (sorted), so a repeat is a no-op. */
  events: string[];
  createdAt: string;
  updatedAt: string;
  /**
   * When the call happened, the sort key of both indexes: `startedAt` when known, else the earliest
   * `occurredAt` of the deliveries applied (post-call and status-only calls carry no start time).
   */
  callAt?: string;
  /** `YYYY-MM-DD` (UTC) of `callAt`, for the by-day index. */
  day?: string;
  /** Optimistic-concurrency counter; bumped by every ingest write. */
  version: number;
  /**
   * Epoch seconds after which DynamoDB's TTL deletes the item: `callAt` plus `protection.itemTtlDays`.
   * Only set when that option is on.
   */
  expiresAt?: number;
}

/** A job on the media queue. */
export interface MediaJob {
  provider: Provider;
  source: string;
  callId: string;
  media: MediaKind;
  url: string;
  /** ISO time the call ended or the job was first queued, for the expiry rule. */
  queuedAt: string;
  /**
   * When the call happened, as the delivery that queued the job says (its start, else its occurrence):
   * the date of the media's key while the item is not there yet, so a first try and its retry agree.
   */
  callAt?: string;
}

/** A job on the insight queue (Hipcall `call_init` only). */
export interface InsightJob {
  provider: Provider;
  source: string;
  callId: string;
  direction: Direction;
  fromNumber?: string;
  toNumber?: string;
  customerNumber?: string;
  occurredAt: string;
  /** When the ingest accepted the delivery; staleness is measured from the earlier of this and occurredAt. */
  receivedAt: string;
}

export const callKeyOf = (provider: Provider, callId: string): string => `${provider}#${callId}`;

/**
 * The time a call's objects (its media, its cdr/ row) are filed under: the item's `callAt` (its `day`),
 * else its `startedAt` (items from before callAt), else `fallback`, what the writer knows without the item.
 */
export const callFiledAt = (record: Pick<CallRecord, 'callAt' | 'startedAt'> | undefined, fallback: string): string =>
  record?.callAt ?? record?.startedAt ?? fallback;
