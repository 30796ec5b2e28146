/**
 * One media job, start to finish: a loop that performs the actions `nextMediaStep` (core/media/steps.ts)
 * decides — read the item, count the attempt, fetch, store, ask for a fresh link, record the outcome —
 * and feeds each result back. Every rule (ownership, retries, expiry, refused URLs) is in core.
 * Attempts are counted on the item before trying, so a crash still counts as one.
 */
import * as z from 'zod/mini';
import '#core/zod-messages.ts';
import type { CallVaultConfig } from '#contract/config.ts';
import { sourceById } from '#contract/config.ts';
import { S3_KEYS } from '#contract/resources.ts';
import type { SafeFetchPolicy } from '#core/address-policy.ts';
import { ValidationError } from '#core/errors.ts';
import { messageJson } from '#core/queue-message.ts';
import { backoffSeconds } from '#core/backoff.ts';
import { failureKindOf, refusalOf } from '#core/media/failures.ts';
import type { RetryTiming } from '#core/media/retry.ts';
import { isLastDelivery } from '#core/redelivery.ts';
import {
  nextMediaStep,
  STORED_MEANWHILE,
  type JobOutcome,
  type MediaAction,
  type MediaJobContext,
  type MediaStepOutcome,
  type MediaStepState,
  type SourceMediaRules,
  type StepLog,
} from '#core/media/steps.ts';
import { callFiledAt, callKeyOf, MEDIA_KINDS, PROVIDERS, type MediaJob } from '#core/types.ts';
import { callEnded } from '#core/cdr-schema.ts';
import { METRIC } from '#core/metrics.ts';
import type { CallsStore } from '#core/ports/calls-store.ts';
import type { Clock } from '#core/ports/clock.ts';
import type { Log } from '#core/ports/log.ts';
import type { MediaResponse, MediaFetcher } from '#core/ports/media-fetcher.ts';
import type { MediaLinks } from '#core/ports/media-links.ts';
import type { MediaStore } from '#core/ports/media-store.ts';
import type { Metrics } from '#core/ports/metrics.ts';
import type { QueueMessageRef, RetryQueue } from '#core/ports/retry-queue.ts';

export type { JobOutcome } from '#core/media/steps.ts';

/** Log fields only: never phone numbers, tokens or full URLs (urlForLog gives host and path). */
export type MediaLog = Log;

export interface MediaWorkerDeps {
  config: CallVaultConfig;
  calls: Pick<CallsStore, 'get' | 'setMedia'>;
  store: MediaStore;
  fetcher: MediaFetcher;
  /** Asks Hipcall for a fresh record_url when a link has expired (sources it `canRefresh` only). */
  hipcall?: MediaLinks;
  /** Local mode: http allowed, and `exemptHostPorts` skip the address rules. */
  local: boolean;
  exemptHostPorts?: readonly string[];
  timing: RetryTiming;
  maxAttempts: number;
  log: MediaLog;
  /** Each job's final outcome, by source (core/metrics.ts). */
  metrics: Metrics;
  now?: Clock;
  random?: () => number;
}

/** Per-message facts from SQS. */
export interface JobDelivery {
  /** SQS's ApproximateReceiveCount of this delivery. */
  receiveCount: number;
  /** SQS will not deliver the message again after this failure (it would go to the DLQ). */
  lastDelivery: boolean;
  /** Aborts the download before the function's deadline. */
  signal?: AbortSignal;
}

const isoTime = z.string().check(z.refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 time'));

const jobSchema = z.object({
  provider: z.enum(PROVIDERS),
  source: z.string().check(z.minLength(1)),
  callId: z.string().check(z.minLength(1), z.maxLength(512)),
  media: z.enum(MEDIA_KINDS),
  url: z.string().check(z.minLength(1)),
  queuedAt: isoTime,
  // Absent in jobs queued before it existed, and in reconcile's (its call is in the table before the job is sent).
  callAt: z.optional(isoTime),
});

/** Read a media queue message; ValidationError when it is not a MediaJob. */
export function parseMediaJob(body: string): MediaJob {
  const parsed = jobSchema.safeParse(messageJson(body, 'media job'));
  if (!parsed.success)
    throw new ValidationError(`the media job is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** The media rules of a source: its host allowlist (default rules when it is not configured), and whether it may refresh links. */
export function mediaRulesOf(
  sourceId: string,
  deps: Pick<MediaWorkerDeps, 'config' | 'local' | 'exemptHostPorts' | 'hipcall'>,
): SourceMediaRules {
  const source = sourceById(deps.config, sourceId);
  const policy: SafeFetchPolicy = {
    allowHttp: deps.local,
    exemptHostPorts: deps.local ? (deps.exemptHostPorts ?? []) : [],
    hostAllowlist: source?.mediaHostAllowlist,
  };
  return { policy, configured: source !== undefined, canRefresh: deps.hipcall?.canRefresh(sourceId) ?? false };
}

/** Process one job. Throws only when the item cannot be read or written (the caller retries the message). */
export async function processMediaJob(job: MediaJob, delivery: JobDelivery, deps: MediaWorkerDeps): Promise<JobOutcome> {
  const clock = deps.now ?? Date.now;
  const callKey = callKeyOf(job.provider, job.callId);
  const fields = { provider: job.provider, source: job.source, callId: job.callId, media: job.media, receiveCount: delivery.receiveCount };
  const say = (line: StepLog | undefined) => line && deps.log[line.level](line.message, { ...fields, ...line.fields });
  const ctx: MediaJobContext = {
    job,
    ...delivery,
    maxAttempts: deps.maxAttempts,
    timing: deps.timing,
    rulesOf: (id) => mediaRulesOf(id, deps),
    ...(deps.random ? { random: deps.random } : {}),
  };
  let state: MediaStepState = { ctx, now: clock() };
  let outcome: MediaStepOutcome = { step: 'item', item: await deps.calls.get(callKey, { consistent: true }) };
  let response: MediaResponse | undefined;
  for (;;) {
    const step = nextMediaStep({ ...state, now: clock() }, outcome);
    const action: MediaAction = step.action;
    state = step.state;
    say(step.note);
    if (action.action === 'finish') {
      say(action.log);
      return action.result;
    }
    if (action.action === 'record') {
      const written = await deps.calls.setMedia(callKey, job.media, action.info, action.unlessStored ? { unlessStored: true } : undefined);
      if (!written && action.unlessStored) return STORED_MEANWHILE;
      if (action.then === 'continue') {
        outcome = { step: 'counted' };
        continue;
      }
      say(action.log);
      countOutcome(job, action.then, clock(), deps.metrics);
      // Every final outcome, not only a stored file: "recordings not stored" must find the others in SQL.
      await rewriteCallRecord(job, deps);
      return action.then;
    }
    if (action.action === 'fetch') [outcome, response] = await fetchMedia(action.url, action.policy, delivery.signal, deps);
    else if (action.action === 'store') outcome = await storeMedia(job, response!, action, delivery.signal, deps);
    else outcome = await freshLink(job, action.sourceId, delivery.signal, deps.hipcall!);
  }
}

const OUTCOME_METRIC = {
  stored: METRIC.mediaStored,
  expired: METRIC.mediaExpired,
  rejected: METRIC.mediaRejected,
  failed: METRIC.mediaFailed,
} as const;

/**
 * Count a final outcome, once: only where it is written to the item (a retry is not an outcome, and a job
 * that finds its media already stored or failed counts nothing again). A stored file also gives its size,
 * and the time from the job's `queuedAt` (the ingest's receipt of the hangup) to now.
 */
function countOutcome(job: MediaJob, result: JobOutcome, nowMs: number, metrics: Metrics): void {
  if (result.outcome === 'retry' || result.outcome === 'skipped') return;
  const dims = { source: job.source };
  metrics.count(OUTCOME_METRIC[result.outcome], dims);
  if (result.outcome !== 'stored') return;
  if (result.info.bytes !== undefined) metrics.measure(METRIC.mediaBytes, result.info.bytes, 'Bytes', dims);
  metrics.measure(METRIC.mediaHangupToStoredSeconds, (nowMs - Date.parse(job.queuedAt)) / 1000, 'Seconds', dims);
}

/** GET the URL; a non-2xx body is dropped here, a 2xx one is kept for the store. */
async function fetchMedia(
  url: string,
  policy: SafeFetchPolicy,
  signal: AbortSignal | undefined,
  deps: MediaWorkerDeps,
): Promise<[MediaStepOutcome, MediaResponse?]> {
  let res: MediaResponse;
  try {
    res = await deps.fetcher.get(url, { policy, maxBytes: deps.config.limits.mediaMaxBytes, ...(signal ? { signal } : {}) });
  } catch (err) {
    const refused = refusalOf(err);
    return [
      { step: 'fetch-failed', kind: failureKindOf(err), message: (err as Error).message, ...(refused !== undefined ? { refused } : {}) },
    ];
  }
  const retryAfter = Number(res.headers['retry-after']);
  const answer: MediaStepOutcome = {
    step: 'response',
    status: res.status,
    finalUrl: res.url.href,
    ...(res.contentType ? { contentType: res.contentType } : {}),
    ...(Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}),
  };
  if (res.status >= 200 && res.status < 300) return [answer, res];
  res.body.destroy();
  return [answer];
}

/** Stream the body into S3, hashing on the way. */
async function storeMedia(
  job: MediaJob,
  res: MediaResponse,
  action: Extract<MediaAction, { action: 'store' }>,
  signal: AbortSignal | undefined,
  deps: MediaWorkerDeps,
): Promise<MediaStepOutcome> {
  const key = S3_KEYS.media(job.media, job.provider, action.at, job.callId, action.ext);
  try {
    const metadata = { provider: job.provider, callid: job.callId, source: job.source, media: job.media };
    const stored = await deps.store.putStream({
      key,
      body: res.body,
      contentType: action.contentType,
      maxBytes: deps.config.limits.mediaMaxBytes,
      metadata,
      ...(signal ? { signal } : {}),
    });
    return { step: 'stored', key: stored.key, bytes: stored.bytes, sha256: stored.sha256, contentType: action.contentType };
  } catch (err) {
    return { step: 'store-failed', kind: failureKindOf(err), message: (err as Error).message };
  }
}

/** Ask the Hipcall API for a fresh link to the media. */
async function freshLink(job: MediaJob, sourceId: string, signal: AbortSignal | undefined, links: MediaLinks): Promise<MediaStepOutcome> {
  try {
    return { step: 'link', url: await links.freshMediaUrl(sourceId, job.callId, job.media, signal) };
  } catch (err) {
    return { step: 'link-failed', kind: failureKindOf(err), message: (err as Error).message };
  }
}

/** Once the call has ended, rewrite its cdr/ row with the media maps as they are now. A failure here never fails the job. */
async function rewriteCallRecord(job: MediaJob, deps: MediaWorkerDeps): Promise<void> {
  try {
    const record = await deps.calls.get(callKeyOf(job.provider, job.callId), { consistent: true });
    if (!record || !callEnded(record)) return;
    await deps.store.putCallRecord(S3_KEYS.cdr(record.provider, callFiledAt(record, job.callAt ?? job.queuedAt), record.callId), record);
  } catch (err) {
    deps.log.error('cdr rewrite failed (the media outcome is recorded on the item)', {
      provider: job.provider,
      callId: job.callId,
      error: (err as Error).name,
    });
  }
}

/** One media queue message as the handler hands it over. */
export interface MediaMessage {
  body: string;
  /** SQS's ApproximateReceiveCount. */
  receiveCount: number;
  /** How to hand the message back to its queue. */
  ref: QueueMessageRef;
}

/** The message goes back on its queue (to be retried later, or on to the DLQ): the batch reports it failed. */
export class JobNotDone extends Error {
  override readonly name = 'JobNotDone';
}

/**
 * One message, start to finish: parse the job, process it, and hand the message back to its queue as the
 * outcome says (delayed for a retry, at once for the DLQ). Throws when the message is not done, so the
 * batch reports it failed. `receivesPerDelay` is what one delay adds to SQS's receive count (see isLastDelivery).
 */
export async function processMediaMessage(
  message: MediaMessage,
  deps: MediaWorkerDeps,
  queue: RetryQueue,
  options: { maxReceiveCount: number; receivesPerDelay: number; signal?: AbortSignal },
): Promise<void> {
  const { receiveCount, ref } = message;
  const lastDelivery = isLastDelivery(receiveCount, options.maxReceiveCount, options.receivesPerDelay);
  let job: MediaJob;
  try {
    job = parseMediaJob(message.body);
  } catch (err) {
    deps.log.error('invalid media job; on to the DLQ', { messageId: ref.messageId, error: (err as Error).message });
    await queue.delay(ref, 0);
    throw err;
  }
  let result: JobOutcome;
  try {
    result = await processMediaJob(job, { receiveCount, lastDelivery, signal: options.signal }, deps);
  } catch (err) {
    // The calls table could not be read or written: the attempt is not recorded; try again later.
    deps.log.error('media job could not be processed', {
      provider: job.provider,
      callId: job.callId,
      media: job.media,
      error: (err as Error).name,
    });
    await queue.delay(ref, backoffSeconds(receiveCount, deps.timing.baseSeconds, deps.timing.maxDelaySeconds));
    throw err;
  }
  if (result.outcome === 'retry') {
    await queue.delay(ref, result.delaySeconds);
    throw new JobNotDone(`retry in ${result.delaySeconds} s`);
  }
  if (result.outcome === 'failed') {
    await queue.delay(ref, 0);
    throw new JobNotDone('failed: on to the DLQ');
  }
}
