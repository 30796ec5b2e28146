/** Spacing retries: exponential backoff with jitter, never beyond what SQS can schedule. */
import { SQS_MAX_VISIBILITY_SECONDS } from '#core/redelivery.ts';

/** Exponential backoff with equal jitter: a delay in [d/2, d] for d = base·2^(attempt-1), capped. Whole seconds. */
export function backoffSeconds(attempt: number, baseSeconds: number, maxSeconds: number, random: () => number = Math.random): number {
  const cap = Math.min(maxSeconds, SQS_MAX_VISIBILITY_SECONDS);
  const exp = Math.min(cap, baseSeconds * 2 ** Math.max(0, Math.min(attempt - 1, 40)));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.min(cap, Math.max(0, Math.round(exp / 2 + (r * exp) / 2)));
}
