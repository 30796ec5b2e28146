/**
 * The ports: every interface the processes (functions/<name>/process.ts) depend on. Adapters in
 * functions/adapters implement them against AWS and HTTP; tests implement them with in-memory fakes.
 * Types only: nothing here does I/O.
 */
import type { Readable } from 'node:stream';
import type { SafeFetchPolicy } from './address-policy.ts';
import type { DeliveryInput, StoredCallRecord } from './call-record.ts';
import type { CardRow } from './card.ts';
import type { Contact } from './contact.ts';
import type { ClaimAnswer, PendingInsight, PostResult } from './insight.ts';
import type { MetricName } from './metrics.ts';
import type { CallRecord, InsightInfo, InsightJob, MediaInfo, MediaJob, MediaKind, RejectedMediaRef } from './types.ts';

// ── Shared ────────────────────────────────────────────────────────────────────────────────────────

/** Structured log lines: a message plus fields, never bodies, tokens, phone numbers or full URLs. */
export interface Log {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** What a metric is about: the configured source, and for a refused delivery the HTTP status answered. */
export interface MetricDims {
  source?: string | undefined;
  status?: number | undefined;
}

export type MetricUnit = 'Count' | 'Bytes' | 'Seconds' | 'Milliseconds';

/**
 * Metrics (names in core/metrics.ts), emitted where an outcome is decided. The adapter publishes each with
 * `source` and also without it, so an alarm can watch one source or the whole pipeline.
 */
export interface Metrics {
  /** Count one outcome (or `value` of them). */
  count(name: MetricName, dims?: MetricDims, value?: number): void;
  /** Record a size or a duration. */
  measure(name: MetricName, value: number, unit: MetricUnit, dims?: MetricDims): void;
}

/** The time, in epoch milliseconds (tests pass a fake one). */
export type Clock = () => number;

// ── Calls table ───────────────────────────────────────────────────────────────────────────────────

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

// ── Archive bucket ────────────────────────────────────────────────────────────────────────────────

export interface RawMeta {
  source: string;
  receivedAt: string;
  contentType?: string;
}

export interface QuarantineEntry extends RawMeta {
  status: number;
  reason: string;
  bytes: Buffer;
}

/** raw/ and quarantine/: every delivery lands in one of them, verbatim. */
export interface DeliveryArchive {
  putRaw(key: string, bytes: Buffer, meta: RawMeta, abortSignal?: AbortSignal): Promise<void>;
  putQuarantine(key: string, entry: QuarantineEntry, abortSignal?: AbortSignal): Promise<void>;
  getBytes(key: string, abortSignal?: AbortSignal): Promise<Buffer>;
  /** The call's cdr/ object, for a call that ended with no media (the media worker writes the others). */
  putCallRecord(key: string, record: CallRecord, abortSignal?: AbortSignal): Promise<void>;
}

// ── Queues ────────────────────────────────────────────────────────────────────────────────────────

/** What the replay queue carries: enough to apply the delivery again, later, exactly as first received. */
export interface ReplayMessage {
  source: string;
  receivedAt: string;
  contentType?: string;
  /** The body as received (UTF-8), when it fits in a message. */
  body?: string;
  /** Otherwise the raw/ key the body was archived under. */
  rawKey?: string;
  /** Why the first attempt could not finish (for the logs; never contains the body). */
  reason: string;
}

/** The queues the ingest feeds. */
export interface JobQueues {
  sendMedia(jobs: MediaJob[], delaySeconds: number, abortSignal?: AbortSignal): Promise<void>;
  sendInsight(job: InsightJob, abortSignal?: AbortSignal): Promise<void>;
  sendReplay(message: ReplayMessage, abortSignal?: AbortSignal): Promise<void>;
}

/** A received SQS message, as a worker needs to hand it back. */
export interface QueueMessageRef {
  messageId: string;
  receiptHandle: string;
  /** The ARN of the queue it came from (the event source). */
  queueArn: string;
  /** When the worker received it (epoch ms): the 12 h visibility cap counts from here. */
  receivedAt?: number;
}

/** Hands a message back to its queue to come again later (ChangeMessageVisibility). */
export interface RetryQueue {
  /** Make the message visible again in `delaySeconds` (capped to what SQS allows); never throws. */
  delay(message: QueueMessageRef, delaySeconds: number): Promise<void>;
}

// ── Webhook tokens and API secrets ────────────────────────────────────────────────────────────────

export interface TokenStore {
  /** True when `presented` is a valid token of `sourceId`. Never throws for a bad token. */
  verify(sourceId: string, presented: string, abortSignal?: AbortSignal): Promise<boolean>;
}

/**
 * A signing source's secret: `{secret}` (`whsec_…`), or `{unset}` saying where to put it when none has
 * been put yet (a 401 for the sender, never a 5xx: retrying would not help).
 */
export type SigningSecret = { secret: string } | { unset: string };

/** The Standard Webhooks signing secret of each source that sets `signature` (cached by the adapter). */
export interface SigningSecrets {
  /** Throws only when the store cannot be read (the ingest answers 503, as for the token store). */
  get(sourceId: string, abortSignal?: AbortSignal): Promise<SigningSecret>;
}

/** What one source's Hipcall API secret holds. */
export interface HipcallApiSecret {
  token: string;
  /** Header value for the source's CRM (`insight.crm.authHeader`), when it has one. */
  crmAuthorization?: string;
}

/** The Hipcall API secret of each source (cached by the adapter). */
export interface ApiSecrets {
  get(sourceId: string, abortSignal?: AbortSignal): Promise<HipcallApiSecret>;
}

// ── Media ─────────────────────────────────────────────────────────────────────────────────────────

export interface MediaRequest {
  policy: SafeFetchPolicy;
  /** Largest body accepted; enforced on Content-Length and while streaming. */
  maxBytes: number;
  maxRedirects?: number;
  signal?: AbortSignal;
}

/** A response whose status is final (no more redirects). The caller must consume or destroy `body`. */
export interface MediaResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  contentType?: string;
  contentLength?: number;
  /** The URL that answered (after redirects). */
  url: URL;
  redirects: number;
  body: Readable;
}

/** Where recordings come from: a fetch that applies the address rules at connect time. */
export interface MediaSource {
  get(url: string, request: MediaRequest): Promise<MediaResponse>;
}

export interface PutMediaInput {
  key: string;
  body: Readable;
  contentType: string;
  /** Object metadata (x-amz-meta-*). */
  metadata: Record<string, string>;
  /** Largest body expected. */
  maxBytes?: number;
  signal?: AbortSignal;
}

export interface StoredObject {
  key: string;
  bytes: number;
  sha256: string;
}

/** Where recordings and the cdr/ JSON go. */
export interface MediaArchive {
  putStream(input: PutMediaInput): Promise<StoredObject>;
  putCallRecord(key: string, record: CallRecord, signal?: AbortSignal): Promise<void>;
}

/** A fresh media link for a call whose pre-signed URL has expired (the Hipcall API). */
export interface MediaLinks {
  /** True when the source has an API token and base URL to ask with. */
  canRefresh(sourceId: string): boolean;
  freshMediaUrl(sourceId: string, callId: string, media: MediaKind, signal?: AbortSignal): Promise<string | undefined>;
}

// ── Insight cards ─────────────────────────────────────────────────────────────────────────────────

/** Where the insight worker finds a contact by E.164 number. */
export interface ContactLookup {
  find(phone: string, abortSignal?: AbortSignal): Promise<Contact | undefined>;
}

/** A source's CRM settings (`insight.crm` in the config). */
export interface CrmSettings {
  urlTemplate: string;
  authHeader?: string | undefined;
  timeoutMs: number;
  mapping: Record<string, string>;
}

export type CrmAnswer =
  | { outcome: 'found'; contact: Contact }
  | { outcome: 'not_found'; status?: number }
  /** `status` is absent for a network failure or timeout. */
  | { outcome: 'error'; status?: number; message: string };

/** The user's own CRM over HTTP. */
export interface CrmDirectory {
  find(sourceId: string, crm: CrmSettings, phone: string, options: { timeoutMs: number; abortSignal?: AbortSignal }): Promise<CrmAnswer>;
}

/** The item's `insight` attribute as a claim, so a repeated job posts no second card. */
export interface InsightClaims {
  /** With `source`, only when the call is that source's (or has no source yet): another source's call answers `{ ownedBy }`. */
  claim(
    callKey: string,
    value: PendingInsight | InsightInfo,
    options: { nowMs: number; leaseMs: number; source?: string; abortSignal?: AbortSignal },
  ): Promise<ClaimAnswer>;
  settle(callKey: string, claimId: string, outcome: InsightInfo, abortSignal?: AbortSignal): Promise<boolean>;
}

export interface CardPost {
  baseUrl: string;
  callId: string;
  token: string;
  card: readonly CardRow[];
  timeoutMs: number;
  abortSignal?: AbortSignal;
}

/** Where an Insight Card goes (Hipcall's card API). One attempt; the retry policy is core's. */
export interface CardSink {
  post(input: CardPost): Promise<PostResult>;
}
