/**
 * What to do after a failed download: retry later (with backoff), give up as `expired` (the link is
 * dead), or give up as `failed`.
 */
import { backoffSeconds } from '#core/backoff.ts';
import { SQS_MAX_VISIBILITY_SECONDS } from '#core/redelivery.ts';

/** How retries are spaced. Every field is overridable (tests shrink them to seconds). */
export interface RetryTiming {
  /** How long after the job was queued a 403/404/410 still means "not uploaded yet". */
  notYetWindowSeconds: number;
  /** First delay for a "not uploaded yet" retry; doubles per attempt. */
  notYetBaseSeconds: number;
  /** First delay for any other retry (5xx, timeout, reset, storage); doubles per attempt. */
  baseSeconds: number;
  /** No delay is longer than this (never more than SQS's 12 h). */
  maxDelaySeconds: number;
}

export const DEFAULT_RETRY_TIMING: RetryTiming = {
  notYetWindowSeconds: 300,
  notYetBaseSeconds: 15,
  baseSeconds: 60,
  maxDelaySeconds: SQS_MAX_VISIBILITY_SECONDS,
};

/** How an attempt failed without an HTTP answer to judge by. */
export type FailureKind =
  /** connect, headers or body timeout */
  | 'timeout'
  /** the connection was reset or closed early */
  | 'reset'
  /** DNS or another transport failure */
  | 'network'
  /** S3 or DynamoDB failed (throttling, 5xx) */
  | 'storage'
  /** the file is larger than the configured limit */
  | 'too-large'
  /** anything that cannot succeed however often it is tried */
  | 'permanent';

export interface RetryInput {
  /** The HTTP status the media host answered (not 2xx), when it answered. */
  status?: number;
  /** What went wrong when there is no status to judge by. */
  error?: FailureKind;
  /** This attempt's number, from 1 (tracked on the item, not only SQS's receive count). */
  attempt: number;
  maxAttempts: number;
  /** SQS will not deliver the message again after this failure (its receive count reached the redrive limit). */
  lastDelivery?: boolean;
  /** When the job was first queued (ISO-8601 or epoch ms): starts the "not uploaded yet" window. */
  queuedAt: string | number;
  /** Epoch ms. */
  now: number;
  /** When the link itself stops working, if the URL says (see linkExpiresAt). Epoch ms. */
  linkExpiresAt?: number;
  /** Seconds from a 429/503 `Retry-After`. */
  retryAfterSeconds?: number;
  timing?: Partial<RetryTiming>;
  /** [0, 1); Math.random by default. */
  random?: () => number;
}

export type RetryDecision =
  { action: 'retry'; delaySeconds: number; reason: string } | { action: 'expired'; reason: string } | { action: 'failed'; reason: string };

const NOT_YET_STATUSES = new Set([403, 404, 410]);
const RETRY_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * What to do after a failed attempt. 403/404/410 while the job is young mean the provider has not
 * uploaded the file yet: retry soon. Once the link is past its lifetime (or, when the URL does not say,
 * past the not-yet window) they mean the link is dead: `expired`. 5xx, 408/429, timeouts, resets and
 * storage errors retry with backoff and jitter. Everything else, an oversized file, or the last attempt,
 * is `failed`.
 */
export function decideRetry(input: RetryInput): RetryDecision {
  const t: RetryTiming = { ...DEFAULT_RETRY_TIMING, ...input.timing };
  const random = input.random ?? Math.random;
  const queuedAt = typeof input.queuedAt === 'number' ? input.queuedAt : Date.parse(input.queuedAt);
  const ageSeconds = Number.isFinite(queuedAt) ? (input.now - queuedAt) / 1000 : Number.POSITIVE_INFINITY;
  const exhausted = input.attempt >= input.maxAttempts || input.lastDelivery === true;
  const retry = (what: string, base: number): RetryDecision => {
    if (exhausted) return { action: 'failed', reason: `gave up after ${input.attempt} attempt(s): ${what}` };
    const delay = Math.max(
      backoffSeconds(input.attempt, base, t.maxDelaySeconds, random),
      Math.min(input.retryAfterSeconds ?? 0, t.maxDelaySeconds),
    );
    return { action: 'retry', delaySeconds: delay, reason: what };
  };

  const status = input.status;
  if (status !== undefined) {
    if (status >= 200 && status < 300) throw new Error(`decideRetry: status ${status} is a success`);
    if (NOT_YET_STATUSES.has(status)) {
      const what = `the media host answered ${status}`;
      const linkDead = input.linkExpiresAt !== undefined && input.now >= input.linkExpiresAt;
      if (linkDead) return { action: 'expired', reason: `${what} and the link expired at ${new Date(input.linkExpiresAt!).toISOString()}` };
      if (ageSeconds < t.notYetWindowSeconds) return retry(`${what} (not uploaded yet?)`, t.notYetBaseSeconds);
      // The link says it is still valid: the file is late, not gone. Keep trying until the attempts run out.
      if (input.linkExpiresAt !== undefined)
        return retry(`${what} although the link is valid until ${new Date(input.linkExpiresAt).toISOString()}`, t.baseSeconds);
      return { action: 'expired', reason: `${what} ${Math.round(ageSeconds)} s after the job was queued: the link has expired` };
    }
    if (RETRY_STATUSES.has(status) || status >= 500) return retry(`the media host answered ${status}`, t.baseSeconds);
    return { action: 'failed', reason: `the media host answered ${status}, which retrying cannot fix` };
  }

  switch (input.error) {
    case 'timeout':
      return retry('the media host timed out', t.baseSeconds);
    case 'reset':
      return retry('the connection to the media host was reset', t.baseSeconds);
    case 'network':
      return retry('the media host could not be reached', t.baseSeconds);
    case 'storage':
      return retry('storing the file failed', t.baseSeconds);
    case 'too-large':
      return { action: 'failed', reason: 'the file is larger than limits.mediaMaxBytes' };
    default:
      return { action: 'failed', reason: 'the download cannot succeed as sent' };
  }
}
