/**
 * The insight worker's decisions, pure: whose number to look up, whether a card would still be seen,
 * whether a failed post is worth another try, and whether a call may be claimed.
 *
 * A card matters only while the phone rings (5-15 s; one later than ~3 s after call_init is often
 * missed), so everything here is measured against the staleness budget, not against SQS redelivery.
 */
import type { InsightInfo, InsightJob, NormalisedEvent } from './types.ts';

/** The insight job the ingest queues for a Hipcall call_init: the normalised event's numbers, as they are. */
export function insightJobOf(source: string, event: NormalisedEvent, receivedAt: string): InsightJob {
  return {
    provider: event.provider,
    source,
    callId: event.callId,
    direction: event.fields.direction ?? 'unknown',
    fromNumber: event.fields.fromNumber,
    toNumber: event.fields.toNumber,
    customerNumber: event.fields.customerNumber,
    occurredAt: event.occurredAt,
    receivedAt,
  };
}

/** E.164: a plus, a country code that does not start with 0, and at most 15 digits in all. */
const E164 = /^\+[1-9]\d{6,14}$/;

/**
 * The customer's number to look up: the caller on an inbound call, the callee on an outbound one.
 * Internal calls have no customer. With no direction, the number the ingest chose as the customer's.
 *
 * The job's numbers are the ingest's: its adapters wrote every number in E.164 when it is a possible
 * number for its country (core/phone.ts), and kept anything else as sent. So a number in E.164 form is
 * the one to look up, and anything else (an extension, "anonymous") has none. The worker does not parse
 * numbers again: it would need the same phone metadata as the ingest, on the card's critical path.
 */
export function customerNumberOf(job: Pick<InsightJob, 'direction' | 'fromNumber' | 'toNumber' | 'customerNumber'>): string | undefined {
  const number = (() => {
    switch (job.direction) {
      case 'inbound':
        return job.fromNumber ?? job.customerNumber;
      case 'outbound':
        return job.toNumber ?? job.customerNumber;
      case 'internal':
        return undefined;
      default:
        return job.customerNumber;
    }
  })();
  return number !== undefined && E164.test(number) ? number : undefined;
}

export interface Staleness {
  stale: boolean;
  /** How long ago the call started, as far as we can tell. */
  ageMs: number;
  /** Time left before a card would no longer be worth sending (0 when stale). */
  remainingMs: number;
}

const timeOf = (iso: string | undefined): number | undefined => {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
};

/**
 * Age of the event from the earlier of `occurredAt` and `receivedAt`. A time in the future (clock skew
 * between Hipcall and AWS) counts as now, so skew never makes an old event look fresh.
 */
export function stalenessOf(job: Pick<InsightJob, 'occurredAt' | 'receivedAt'>, nowMs: number, staleSeconds: number): Staleness {
  const times = [timeOf(job.occurredAt), timeOf(job.receivedAt)].filter((t): t is number => t !== undefined);
  const start = Math.min(nowMs, ...times);
  const ageMs = nowMs - start;
  const remainingMs = Math.max(0, staleSeconds * 1000 - ageMs);
  return { stale: remainingMs <= 0, ageMs, remainingMs };
}

/** What one POST to the Insight Card API came to. */
export type PostResult = { status: number; message?: string; retryAfterMs?: number } | { networkError: string };

export interface RetryPolicy {
  /** First backoff; it doubles per attempt, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
  /** The shortest attempt worth making: no retry when less than delay + this remains. */
  minAttemptMs: number;
}

/** Quick retries: a card is only useful within seconds. */
export const CARD_RETRY: RetryPolicy = { baseDelayMs: 100, maxDelayMs: 1000, maxAttempts: 6, minAttemptMs: 250 };

/** 429 and 5xx may succeed on another try; any other answer will not. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: 'succeeded' | 'permanent' | 'attempts' | 'budget' };

/**
 * Whether to try again after attempt number `attempt` (1-based) came to `result`, given the time left in
 * the staleness budget. Backoff is exponential with jitter (`random` in [0,1)); a Retry-After longer than
 * the backoff is honoured if it fits in the budget.
 */
export function retryDecision(
  input: { attempt: number; result: PostResult; remainingMs: number },
  policy: RetryPolicy = CARD_RETRY,
  random: () => number = Math.random,
): RetryDecision {
  const { attempt, result, remainingMs } = input;
  if ('status' in result) {
    if (result.status >= 200 && result.status < 300) return { retry: false, reason: 'succeeded' };
    if (!isRetryableStatus(result.status)) return { retry: false, reason: 'permanent' };
  }
  if (attempt >= policy.maxAttempts) return { retry: false, reason: 'attempts' };
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  let delayMs = Math.round(backoff / 2 + (random() * backoff) / 2);
  if ('status' in result && result.retryAfterMs !== undefined) delayMs = Math.max(delayMs, result.retryAfterMs);
  if (delayMs + policy.minAttemptMs > remainingMs) return { retry: false, reason: 'budget' };
  return { retry: true, delayMs };
}

/** Retry-After in milliseconds (seconds or an HTTP date), or undefined. */
export function retryAfterMs(header: string | undefined, nowMs: number): number | undefined {
  if (!header) return undefined;
  const value = header.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** A claim on a call's card: written to `insight` before the lookup so a repeated job posts nothing. */
export interface PendingInsight {
  state: 'pending';
  at: string;
  claimId: string;
}

/** What the `insight` attribute holds: a final outcome or a claim in progress. */
export type StoredInsight = InsightInfo | PendingInsight;

/**
 * A call may be claimed when it has no insight yet, or when an earlier claim was abandoned (a worker
 * that died mid-way: its claim is older than the lease). A final outcome is never replaced.
 * The conditional write in functions/adapters/insight-claims.ts is this rule in DynamoDB terms.
 */
export function isClaimable(existing: { state: string; at?: string } | undefined, nowMs: number, leaseMs: number): boolean {
  if (!existing) return true;
  if (existing.state !== 'pending') return false;
  const at = timeOf(existing.at);
  return at === undefined || at < nowMs - leaseMs;
}

/** Text safe to log: anything that looks like a phone number (7+ digits, with spacing) becomes `[number]`. */
export function redactNumbers(text: string): string {
  return text.replace(/\+?\d(?:[\s().-]{0,3}\d){6,}/g, '[number]');
}

/**
 * What a claim came to: true when it is ours; false when another delivery holds the call or it already
 * has an outcome; `{ ownedBy }` when the call belongs to another source (it gets no card from this one).
 */
export type ClaimAnswer = boolean | { ownedBy: string };
