/**
 * One media job, start to finish: skip it if the file is already stored; refuse a URL the address rules
 * refuse (`rejected`, never fetched); otherwise stream the file into S3 (hashing and counting on the way),
 * record it on the item and rewrite the call's cdr/ JSON once the call has ended. A failed attempt is
 * judged by decideRetry: retry later (the caller delays the message), `expired`, or `failed` (the caller
 * lets the message go to the DLQ). Attempts are counted on the item, so a crash still counts as one.
 */
import { z } from 'zod';
import type { CallVaultConfig, SourceConfig } from '#lib/config.ts';
import { sourceById } from '#lib/config.ts';
import { S3_KEYS } from '#lib/resources.ts';
import { checkUrl, type SafeFetchPolicy } from '#core/address-policy.ts';
import { ValidationError } from '#core/errors.ts';
import { decideRetry, linkExpiresAt, mediaExtension, storedContentType, urlForLog, type RetryDecision, type RetryTiming } from '#core/media.ts';
import { callKeyOf, MEDIA_KINDS, PROVIDERS, type CallRecord, type MediaInfo, type MediaJob, type MediaState } from '#core/types.ts';
import type { CallsTable } from '#adapters/calls-table.ts';
import { StorageError, type MediaStore } from '#adapters/media-store.ts';
import { failureKindOf, RefusedUrlError, type SafeFetcher, type SafeResponse } from '#adapters/safe-fetch.ts';
import type { HipcallCallsApi } from '#adapters/hipcall-api.ts';
import type { Log } from '#adapters/log.ts';

/** Log fields only: never phone numbers, tokens or full URLs (urlForLog gives host and path). */
export type MediaLog = Log;

export interface MediaWorkerDeps {
  config: CallVaultConfig;
  calls: Pick<CallsTable, 'get' | 'setMedia'>;
  store: Pick<MediaStore, 'putStream' | 'putCallRecord'>;
  fetcher: Pick<SafeFetcher, 'get'>;
  /** Asks Hipcall for a fresh record_url when a link has expired (sources with an API token only). */
  hipcall?: Pick<HipcallCallsApi, 'freshMediaUrl'>;
  /** Source ids that have a Hipcall API token and base URL configured. */
  refreshableSources?: ReadonlySet<string>;
  /** Local mode: http allowed, and `exemptHostPorts` skip the address rules. */
  local: boolean;
  exemptHostPorts?: readonly string[];
  timing: RetryTiming;
  maxAttempts: number;
  log: MediaLog;
  now?: () => number;
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

export type JobOutcome =
  | { outcome: 'skipped'; reason: string }
  | { outcome: 'stored' | 'rejected' | 'expired'; info: MediaInfo }
  | { outcome: 'retry'; delaySeconds: number; info: MediaInfo }
  /** `failed`: the message should go on to the DLQ (the item already says why). */
  | { outcome: 'failed'; info: MediaInfo };

const jobSchema = z.object({
  provider: z.enum(PROVIDERS),
  source: z.string().min(1),
  callId: z.string().min(1).max(512),
  media: z.enum(MEDIA_KINDS),
  url: z.string().min(1),
  queuedAt: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 time'),
});

/** Read a media queue message; ValidationError when it is not a MediaJob. */
export function parseMediaJob(body: string): MediaJob {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    throw new ValidationError('the media job is not JSON');
  }
  const parsed = jobSchema.safeParse(raw);
  if (!parsed.success) throw new ValidationError(`the media job is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** The fetch policy of a job's source. */
export function policyFor(source: SourceConfig | undefined, deps: Pick<MediaWorkerDeps, 'local' | 'exemptHostPorts'>): SafeFetchPolicy {
  return {
    allowHttp: deps.local,
    exemptHostPorts: deps.local ? (deps.exemptHostPorts ?? []) : [],
    hostAllowlist: source?.mediaHostAllowlist,
  };
}

const ENDED = new Set(['completed', 'missed', 'failed']);
const callEnded = (r: CallRecord | undefined): boolean => Boolean(r && (r.endedAt || ENDED.has(r.status)));

/** Process one job. Throws only when the item cannot be read or written (the caller retries the message). */
export async function processMediaJob(job: MediaJob, delivery: JobDelivery, deps: MediaWorkerDeps): Promise<JobOutcome> {
  const now = deps.now ?? Date.now;
  const callKey = callKeyOf(job.provider, job.callId);
  const fields = { provider: job.provider, source: job.source, callId: job.callId, media: job.media, receiveCount: delivery.receiveCount };
  const item = await deps.calls.get(callKey, { consistent: true });
  const current = item?.[job.media];
  if (current?.state === 'stored') {
    deps.log.info('media already stored', fields);
    return { outcome: 'skipped', reason: 'already stored' };
  }
  if (current?.state === 'failed' && delivery.receiveCount > 1) {
    // This message already failed for good on an earlier delivery: let SQS move it to the DLQ.
    deps.log.warn('media job already failed; on to the DLQ', fields);
    return { outcome: 'failed', info: current };
  }

  // A job after a final state starts a new series of attempts (e.g. a redriven DLQ message, a fresh URL).
  const finished = current && current.state !== 'queued';
  const attempt = (finished ? 0 : (current?.attempts ?? 0)) + 1;
  const queuedAt = finished ? job.queuedAt : (current?.queuedAt ?? job.queuedAt);
  const base = (): Pick<MediaInfo, 'attempts' | 'queuedAt' | 'updatedAt'> => ({ attempts: attempt, queuedAt, updatedAt: new Date(now()).toISOString() });
  const write = async (state: MediaState, extra: Partial<MediaInfo>): Promise<MediaInfo | undefined> => {
    const info: MediaInfo = { state, ...base(), ...extra };
    return (await deps.calls.setMedia(callKey, job.media, info, { unlessStored: true })) ? info : undefined;
  };

  // Count the attempt before trying: a crash or timeout mid-download still counts.
  if (!(await write('queued', current?.error ? { error: current.error } : {}))) return { outcome: 'skipped', reason: 'stored meanwhile' };

  const source = sourceById(deps.config, job.source);
  if (!source) deps.log.warn('media job for a source not in the config; default rules apply', fields);
  const policy = policyFor(source, deps);
  const maxBytes = deps.config.limits.mediaMaxBytes;

  /** Record a failed attempt as decided. `detail` is the error's own message; for a permanent failure it says it best. */
  const finish = async (decision: RetryDecision, detail = '', permanent = false): Promise<JobOutcome> => {
    const error = !detail ? decision.reason : permanent && decision.action === 'failed' ? detail : `${decision.reason}: ${detail}`;
    const state: MediaState = decision.action === 'retry' ? 'queued' : decision.action;
    const info = await write(state, { error: decision.action === 'retry' ? `${error} (attempt ${attempt}; retrying in ${decision.delaySeconds} s)` : error });
    if (!info) return { outcome: 'skipped', reason: 'stored meanwhile' };
    const log = decision.action === 'retry' ? deps.log.warn : deps.log.error;
    log.call(deps.log, `media ${decision.action === 'retry' ? 'retry scheduled' : decision.action}`, { ...fields, attempt, error: info.error });
    return decision.action === 'retry' ? { outcome: 'retry', delaySeconds: decision.delaySeconds, info } : { outcome: decision.action, info };
  };
  const reject = async (reason: string): Promise<JobOutcome> => {
    const info = await write('rejected', { error: `refused: ${reason}` });
    if (!info) return { outcome: 'skipped', reason: 'stored meanwhile' };
    deps.log.warn('media URL rejected', { ...fields, url: urlForLog(job.url), reason });
    return { outcome: 'rejected', info };
  };
  const judge = (input: { status?: number; error?: ReturnType<typeof failureKindOf>; url: string; retryAfterSeconds?: number }) =>
    decideRetry({
      ...input,
      attempt,
      maxAttempts: deps.maxAttempts,
      lastDelivery: delivery.lastDelivery,
      queuedAt: job.queuedAt,
      now: now(),
      linkExpiresAt: linkExpiresAt(input.url),
      timing: deps.timing,
      random: deps.random,
    });

  const firstRefusal = checkUrl(job.url, policy);
  if (firstRefusal) return reject(firstRefusal);

  let url = job.url;
  let refreshed = false;
  for (;;) {
    let res: SafeResponse;
    try {
      res = await deps.fetcher.get(url, { policy, maxBytes, signal: delivery.signal });
    } catch (err) {
      if (err instanceof RefusedUrlError) return reject(err.reason);
      const kind = failureKindOf(err);
      return finish(judge({ error: kind, url }), (err as Error).message, kind === 'too-large' || kind === 'permanent');
    }

    if (res.status >= 200 && res.status < 300) {
      const ext = mediaExtension(res.contentType, [res.url, url], job.media);
      const contentType = storedContentType(res.contentType, ext);
      const key = S3_KEYS.media(job.media, job.provider, item?.startedAt ?? job.queuedAt, job.callId, ext);
      let stored;
      try {
        stored = await deps.store.putStream({
          key,
          body: res.body,
          contentType,
          maxBytes,
          signal: delivery.signal,
          metadata: { provider: job.provider, callid: job.callId, source: job.source, media: job.media },
        });
      } catch (err) {
        const kind = err instanceof StorageError ? 'storage' : failureKindOf(err);
        return finish(judge({ error: kind, url }), (err as Error).message, kind === 'too-large' || kind === 'permanent');
      }
      const info: MediaInfo = { state: 'stored', s3Key: stored.key, bytes: stored.bytes, sha256: stored.sha256, contentType, ...base() };
      await deps.calls.setMedia(callKey, job.media, info);
      deps.log.info('media stored', { ...fields, attempt, key: stored.key, bytes: stored.bytes, host: res.url.host });
      await rewriteCallRecord(job, deps);
      return { outcome: 'stored', info };
    }

    res.body.destroy();
    const retryAfter = Number(res.headers['retry-after']);
    const decision = judge({ status: res.status, url, retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : undefined });
    // An expired Hipcall link: ask the API for a fresh one, once per attempt.
    if (decision.action === 'expired' && !refreshed && deps.hipcall && job.provider === 'hipcall' && deps.refreshableSources?.has(job.source)) {
      refreshed = true;
      let fresh: string | undefined;
      try {
        fresh = await deps.hipcall.freshMediaUrl(job.source, job.callId, job.media, delivery.signal);
      } catch (err) {
        deps.log.warn('fresh media URL not available', { ...fields, error: (err as Error).message });
        if (failureKindOf(err) !== 'permanent') return finish(judge({ error: 'network', url }), `asking Hipcall for a fresh link failed: ${(err as Error).message}`);
      }
      if (fresh && fresh !== url) {
        deps.log.info('retrying with a fresh media URL from the Hipcall API', { ...fields, url: urlForLog(fresh) });
        const refused = checkUrl(fresh, policy);
        if (refused) return reject(`fresh URL from the Hipcall API: ${refused}`);
        url = fresh;
        continue;
      }
    }
    return finish(decision);
  }
}

/** Once the call has ended, rewrite its cdr/ JSON with the media maps as they are now. A failure here never fails the job. */
async function rewriteCallRecord(job: MediaJob, deps: MediaWorkerDeps): Promise<void> {
  try {
    const record = await deps.calls.get(callKeyOf(job.provider, job.callId), { consistent: true });
    if (!record || !callEnded(record)) return;
    await deps.store.putCallRecord(S3_KEYS.cdr(record.provider, record.startedAt ?? job.queuedAt, record.callId), record);
  } catch (err) {
    deps.log.error('cdr rewrite failed (the media is stored)', { provider: job.provider, callId: job.callId, error: (err as Error).name });
  }
}
