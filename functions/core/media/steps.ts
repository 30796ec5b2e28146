/**
 * The media worker as a step machine: every rule about one media job (ownership, already stored,
 * counting attempts, refused URLs, retries, expiry, fresh Hipcall links) is in `nextMediaStep`, a pure
 * function from what is known and what the last I/O produced to the next thing to do. The process
 * (functions/media/process.ts) only performs the actions.
 *
 *   item read → skip | fail | count the attempt
 *   counted   → reject the URL | fetch
 *   response  → store (2xx) | refresh the link (expired Hipcall link, once) | record the retry decision
 *   link      → fetch the fresh URL | reject it | record the pending decision
 *   stored    → record `stored`
 */
import { checkUrl, type SafeFetchPolicy } from '#core/address-policy.ts';
import { mediaExtension, storedContentType } from './content-type.ts';
import { linkExpiresAt } from './link-expiry.ts';
import { decideRetry, type FailureKind, type RetryDecision, type RetryTiming } from './retry.ts';
import { urlForLog } from '#core/url-redaction.ts';
import { callFiledAt, type CallRecord, type MediaInfo, type MediaJob, type MediaKind, type MediaState } from '#core/types.ts';

/** What a job ends as (the handler delays the message on `retry` and lets it go to the DLQ on `failed`). */
export type JobOutcome =
  | { outcome: 'skipped'; reason: string }
  | { outcome: 'stored' | 'rejected' | 'expired'; info: MediaInfo }
  | { outcome: 'retry'; delaySeconds: number; info: MediaInfo }
  /** `failed`: the message should go on to the DLQ (the item already says why). */
  | { outcome: 'failed'; info: MediaInfo };

/** The fixed facts of one delivery of one job. */
export interface MediaJobContext {
  job: MediaJob;
  /** SQS's ApproximateReceiveCount of this delivery. */
  receiveCount: number;
  /** SQS will not deliver the message again after this failure. */
  lastDelivery: boolean;
  maxAttempts: number;
  timing: RetryTiming;
  /** The rules of a source (the owning one is asked). */
  rulesOf: (sourceId: string) => SourceMediaRules;
  random?: () => number;
}

/** What a source's config says about its media. */
export interface SourceMediaRules {
  /** The fetch policy: the source's mediaHostAllowlist, or the default rules for a source not in the config. */
  policy: SafeFetchPolicy;
  /** False for a source not in the config (its jobs run on the default rules, with a warning). */
  configured: boolean;
  /** The source can ask the Hipcall API for a fresh link. */
  canRefresh: boolean;
}

/** What is known so far; `nextMediaStep` returns the next one. */
export interface MediaStepState {
  ctx: MediaJobContext;
  /** Epoch ms, set by the caller before each step. */
  now: number;
  item?: Pick<CallRecord, 'source' | 'startedAt' | 'callAt'> & Partial<Pick<CallRecord, MediaKind>>;
  /** The source whose rules apply: the item's, else the job's. */
  owner?: string;
  rules?: SourceMediaRules;
  attempt?: number;
  queuedAt?: string;
  /** The URL being tried (the job's, or a fresh one from the Hipcall API). */
  url?: string;
  refreshed?: boolean;
  /** The host that answered 2xx (after redirects), for the log. */
  host?: string;
  /** The decision an expired-link refresh would otherwise end in. */
  pending?: RetryDecision;
}

/** What the last action's I/O produced. */
export type MediaStepOutcome =
  | { step: 'item'; item: (Pick<CallRecord, 'source' | 'startedAt' | 'callAt'> & Partial<Pick<CallRecord, MediaKind>>) | undefined }
  | { step: 'counted' }
  | { step: 'response'; status: number; contentType?: string; finalUrl: string; retryAfterSeconds?: number }
  /** The fetch threw: refused by the address rules (`refused` set) or another failure. */
  | { step: 'fetch-failed'; refused?: string; kind: FailureKind; message: string }
  | { step: 'store-failed'; kind: FailureKind; message: string }
  | { step: 'stored'; key: string; bytes: number; sha256: string; contentType: string }
  | { step: 'link'; url: string | undefined }
  | { step: 'link-failed'; kind: FailureKind; message: string };

export interface StepLog {
  level: 'info' | 'warn' | 'error';
  message: string;
  fields?: Record<string, unknown>;
}

/** What to do next. `record` writes the media map; when `unlessStored` finds it stored, the job is skipped instead. */
export type MediaAction =
  | { action: 'finish'; result: JobOutcome; log?: StepLog }
  | { action: 'record'; info: MediaInfo; unlessStored: boolean; then: JobOutcome | 'continue'; log?: StepLog }
  | { action: 'fetch'; url: string; policy: SafeFetchPolicy }
  | { action: 'store'; ext: string; contentType: string; at: string }
  | { action: 'refresh-link'; sourceId: string };

export interface MediaStep {
  state: MediaStepState;
  action: MediaAction;
  /** A note to log on the way (e.g. an unknown source), before the action. */
  note?: StepLog;
}

/** The job a stale write (the media got stored meanwhile) turns into. */
export const STORED_MEANWHILE: JobOutcome = { outcome: 'skipped', reason: 'stored meanwhile' };

/** The next action, given what is known and what the last action produced. Pure. */
export function nextMediaStep(state: MediaStepState, outcome: MediaStepOutcome): MediaStep {
  const { ctx } = state;
  switch (outcome.step) {
    case 'item':
      return afterItem(state, outcome.item);
    case 'counted': {
      const refused = checkUrl(ctx.job.url, state.rules!.policy);
      if (refused) return reject(state, refused, ctx.job.url);
      return fetch(state, ctx.job.url);
    }
    case 'fetch-failed':
      if (outcome.refused !== undefined) return reject(state, outcome.refused, ctx.job.url);
      return failure(state, outcome.kind, outcome.message);
    case 'store-failed':
      return failure(state, outcome.kind, outcome.message);
    case 'response':
      return afterResponse(state, outcome);
    case 'stored': {
      const info: MediaInfo = {
        state: 'stored',
        s3Key: outcome.key,
        bytes: outcome.bytes,
        sha256: outcome.sha256,
        contentType: outcome.contentType,
        ...stamp(state),
      };
      const log: StepLog = {
        level: 'info',
        message: 'media stored',
        fields: { attempt: state.attempt, key: outcome.key, bytes: outcome.bytes, host: state.host },
      };
      return { state, action: { action: 'record', info, unlessStored: false, then: { outcome: 'stored', info }, log } };
    }
    case 'link': {
      const fresh = outcome.url;
      if (!fresh || fresh === state.url) return settle(state, state.pending!);
      const refused = checkUrl(fresh, state.rules!.policy);
      if (refused) return reject(state, `fresh URL from the Hipcall API: ${refused}`, ctx.job.url);
      return {
        ...fetch(state, fresh),
        note: { level: 'info', message: 'retrying with a fresh media URL from the Hipcall API', fields: { url: urlForLog(fresh) } },
      };
    }
    case 'link-failed': {
      const note: StepLog = { level: 'warn', message: 'fresh media URL not available', fields: { error: outcome.message } };
      const step =
        outcome.kind === 'permanent'
          ? settle(state, state.pending!)
          : settle(state, judge(state, { error: 'network' }), `asking Hipcall for a fresh link failed: ${outcome.message}`);
      return { ...step, note };
    }
  }
}

/** Ownership, then what the item already says, then count this attempt before trying (a crash still counts). */
function afterItem(state: MediaStepState, item: MediaStepState['item']): MediaStep {
  const { job, receiveCount } = state.ctx;
  if (item && item.source !== job.source) {
    // A call belongs to the source that first delivered it: another source never stores media on it.
    const reason = `the call belongs to source "${item.source}", not "${job.source}"`;
    return {
      state,
      action: {
        action: 'finish',
        result: { outcome: 'skipped', reason },
        log: { level: 'warn', message: 'media job from a source that does not own the call: skipped', fields: { owner: item.source } },
      },
    };
  }
  const current = item?.[job.media];
  if (current?.state === 'stored') {
    return {
      state,
      action: {
        action: 'finish',
        result: { outcome: 'skipped', reason: 'already stored' },
        log: { level: 'info', message: 'media already stored' },
      },
    };
  }
  if (current?.state === 'failed' && receiveCount > 1) {
    // This message already failed for good on an earlier delivery: let SQS move it to the DLQ.
    return {
      state,
      action: {
        action: 'finish',
        result: { outcome: 'failed', info: current },
        log: { level: 'warn', message: 'media job already failed; on to the DLQ' },
      },
    };
  }
  // A job after a final state starts a new series of attempts (e.g. a redriven DLQ message, a fresh URL).
  const finished = current !== undefined && current.state !== 'queued';
  const owner = item?.source ?? job.source;
  const rules = state.ctx.rulesOf(owner);
  const next: MediaStepState = {
    ...state,
    item,
    owner,
    rules,
    attempt: (finished ? 0 : (current?.attempts ?? 0)) + 1,
    queuedAt: finished ? job.queuedAt : (current?.queuedAt ?? job.queuedAt),
    url: job.url,
    refreshed: false,
  };
  const info: MediaInfo = { state: 'queued', ...stamp(next), ...(current?.error ? { error: current.error } : {}) };
  const note: StepLog | undefined = rules.configured
    ? undefined
    : { level: 'warn', message: 'media job for a source not in the config; default rules apply' };
  return { state: next, action: { action: 'record', info, unlessStored: true, then: 'continue' }, ...(note ? { note } : {}) };
}

/**
 * The date in a media object's key: the call's, as the item files it (`callAt`, its `day` and its cdr/ row),
 * else the call's time the ingest put on the job, else the job's own. The same for a first try and a retry.
 */
export function mediaDateOf(
  item: Pick<CallRecord, 'callAt' | 'startedAt'> | undefined,
  job: Pick<MediaJob, 'callAt' | 'queuedAt'>,
): string {
  return callFiledAt(item, job.callAt ?? job.queuedAt);
}

function afterResponse(state: MediaStepState, res: Extract<MediaStepOutcome, { step: 'response' }>): MediaStep {
  const { job } = state.ctx;
  if (res.status >= 200 && res.status < 300) {
    const ext = mediaExtension(res.contentType, [res.finalUrl, state.url], job.media);
    return {
      state: { ...state, host: hostOf(res.finalUrl) },
      action: { action: 'store', ext, contentType: storedContentType(res.contentType, ext), at: mediaDateOf(state.item, job) },
    };
  }
  const decision = judge(state, {
    status: res.status,
    ...(res.retryAfterSeconds !== undefined ? { retryAfterSeconds: res.retryAfterSeconds } : {}),
  });
  // An expired Hipcall link: ask the API for a fresh one, once per attempt.
  if (decision.action === 'expired' && !state.refreshed && job.provider === 'hipcall' && state.rules!.canRefresh) {
    return { state: { ...state, refreshed: true, pending: decision }, action: { action: 'refresh-link', sourceId: state.owner! } };
  }
  return settle(state, decision);
}

function fetch(state: MediaStepState, url: string): MediaStep {
  return { state: { ...state, url }, action: { action: 'fetch', url, policy: state.rules!.policy } };
}

/** A URL the address rules refuse ends `rejected`, never fetched. */
function reject(state: MediaStepState, reason: string, url: string): MediaStep {
  const info: MediaInfo = { state: 'rejected', ...stamp(state), error: `refused: ${reason}` };
  const log: StepLog = { level: 'warn', message: 'media URL rejected', fields: { url: urlForLog(url), reason } };
  return { state, action: { action: 'record', info, unlessStored: true, then: { outcome: 'rejected', info }, log } };
}

/** A download or store that threw; for a permanent failure the error's own message says it best. */
function failure(state: MediaStepState, kind: FailureKind, message: string): MediaStep {
  return settle(state, judge(state, { error: kind }), message, kind === 'too-large' || kind === 'permanent');
}

/** Record a failed attempt as decided: `queued` with the retry noted, or the final state. */
function settle(state: MediaStepState, decision: RetryDecision, detail = '', permanent = false): MediaStep {
  const error = !detail ? decision.reason : permanent && decision.action === 'failed' ? detail : `${decision.reason}: ${detail}`;
  const mediaState: MediaState = decision.action === 'retry' ? 'queued' : decision.action;
  const info: MediaInfo = {
    state: mediaState,
    ...stamp(state),
    error: decision.action === 'retry' ? `${error} (attempt ${state.attempt}; retrying in ${decision.delaySeconds} s)` : error,
  };
  const then: JobOutcome =
    decision.action === 'retry' ? { outcome: 'retry', delaySeconds: decision.delaySeconds, info } : { outcome: decision.action, info };
  const log: StepLog =
    decision.action === 'retry'
      ? { level: 'warn', message: 'media retry scheduled', fields: { attempt: state.attempt, error: info.error } }
      : { level: 'error', message: `media ${decision.action}`, fields: { attempt: state.attempt, error: info.error } };
  return { state, action: { action: 'record', info, unlessStored: true, then, log } };
}

function judge(state: MediaStepState, input: { status?: number; error?: FailureKind; retryAfterSeconds?: number }): RetryDecision {
  const { ctx } = state;
  return decideRetry({
    ...input,
    attempt: state.attempt!,
    maxAttempts: ctx.maxAttempts,
    lastDelivery: ctx.lastDelivery,
    queuedAt: ctx.job.queuedAt,
    now: state.now,
    linkExpiresAt: linkExpiresAt(state.url!),
    timing: ctx.timing,
    ...(ctx.random ? { random: ctx.random } : {}),
  });
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

function stamp(state: MediaStepState): Pick<MediaInfo, 'attempts' | 'queuedAt' | 'updatedAt'> {
  return { attempts: state.attempt!, queuedAt: state.queuedAt!, updatedAt: new Date(state.now).toISOString() };
}
