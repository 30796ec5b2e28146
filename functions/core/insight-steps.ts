/**
 * The insight worker as a step machine: every rule about one insight job (stale?, who holds the call,
 * which source owns it, lookup result, card content, post retries within the staleness budget, which
 * outcome to record) is in `nextInsightStep`, a pure function from what is known and what the last I/O
 * produced to the next thing to do. The process (functions/insight/process.ts) only performs the actions.
 *
 *   start    → stale: claim it as `stale` | claim the call ∥ look the customer up
 *   claimed  → duplicate | other source's call: skip | no match / lookup failed: settle | need the token
 *   token    → settle `failed` | post
 *   posted   → wait and post again (429/5xx/network, within the budget) | settle `sent` or `failed`
 */
import { buildCard, hasContent, type CardRow, type CardTemplate } from './card.ts';
import type { Contact } from './contact.ts';
import {
  CARD_RETRY,
  customerNumberOf,
  redactNumbers,
  retryDecision,
  stalenessOf,
  type ClaimAnswer,
  type PostResult,
  type RetryPolicy,
  type Staleness,
} from './insight.ts';
import type { InsightInfo, InsightJob, InsightState } from './types.ts';

/** Longest single POST: leaves room for a retry within a few seconds of ring time. */
export const ATTEMPT_TIMEOUT_MS = 2000;

export type InsightResult =
  | { outcome: InsightState; httpStatus?: number; attempts?: number }
  /** Another delivery of the job holds (or held) the call. */
  | { outcome: 'duplicate' }
  /** Not a Hipcall source, insight is off for it, or another source owns the call. */
  | { outcome: 'skipped'; reason: string };

/** What the job's source config says (resolved by the process; undefined fields mean "not configured"). */
export interface InsightSourceRules {
  /** The job names a configured Hipcall source. */
  hipcall: boolean;
  enabled: boolean;
  staleSeconds: number;
  /** The card template (absent when the source is not configured). */
  card?: CardTemplate;
  /** The Hipcall API base URL of the source. */
  baseUrl?: string | undefined;
}

/** The fixed facts of one job. */
export interface InsightJobContext {
  job: InsightJob;
  rules: InsightSourceRules;
  /** Epoch ms by which the job must be done (the function's timeout less a margin). */
  deadlineMs?: number | undefined;
  startedMs: number;
  retry?: RetryPolicy | undefined;
  random?: (() => number) | undefined;
}

/** What is known so far; `nextInsightStep` returns the next one. */
export interface InsightStepState {
  ctx: InsightJobContext;
  /** Epoch ms, set by the caller before each step. */
  now: number;
  /** The event's age when the job started. */
  ageMs?: number;
  card?: CardRow[];
  attempt: number;
  last?: PostResult;
}

/** What the contact lookup came to. */
export type Lookup = { contact: Contact | undefined } | { error: string };

/** What the last action's I/O produced. */
export type InsightStepOutcome =
  | { step: 'start' }
  | { step: 'stale-claimed'; claim: ClaimAnswer }
  | { step: 'claimed'; claim: ClaimAnswer; lookup: Lookup }
  | { step: 'token'; token: { value: string } | { error: string } }
  | { step: 'posted'; result: PostResult; aborted: boolean }
  | { step: 'waited' };

export interface InsightLogLine {
  level: 'info' | 'warn';
  message: string;
  fields?: Record<string, unknown>;
}

/** Fields the settle log carries beside the outcome. */
export interface SettleExtra {
  reason?: string;
  attempts?: number;
}

export type InsightAction =
  | { action: 'finish'; result: InsightResult; log?: InsightLogLine }
  /** Claim the call as `stale` (no card): a later delivery finds it settled. */
  | { action: 'claim-stale'; info: InsightInfo }
  /** Claim the call, and look `phone` up (when there is one) at the same time. */
  | { action: 'claim'; phone: string | undefined; ownerSource: string }
  | { action: 'settle'; info: InsightInfo; extra: SettleExtra }
  | { action: 'await-token' }
  | { action: 'post'; baseUrl: string; card: readonly CardRow[]; timeoutMs: number }
  | { action: 'wait'; ms: number; log: InsightLogLine };

export interface InsightStep {
  state: InsightStepState;
  action: InsightAction;
}

/** The staleness budget at `now`, cut short by the function's own deadline. */
export function budgetOf(ctx: InsightJobContext, now: number): Staleness {
  const s = stalenessOf(ctx.job, now, ctx.rules.staleSeconds);
  return ctx.deadlineMs === undefined ? s : { ...s, remainingMs: Math.max(0, Math.min(s.remainingMs, ctx.deadlineMs - now)) };
}

/** The customer's number, when the job has one to look up. */
export function phoneOf(ctx: InsightJobContext): string | undefined {
  return customerNumberOf(ctx.job);
}

/** The next action, given what is known and what the last action produced. Pure. */
export function nextInsightStep(state: InsightStepState, outcome: InsightStepOutcome): InsightStep {
  const { ctx } = state;
  const at = new Date(state.now).toISOString();
  const keep = (action: InsightAction): InsightStep => ({ state, action });
  switch (outcome.step) {
    case 'start': {
      if (!ctx.rules.hipcall || !ctx.rules.card)
        return keep({
          action: 'finish',
          result: { outcome: 'skipped', reason: 'not a Hipcall source' },
          log: { level: 'warn', message: 'insight job for a source that is not a configured Hipcall source: skipped' },
        });
      if (!ctx.rules.enabled) return keep({ action: 'finish', result: { outcome: 'skipped', reason: 'insight disabled' } });
      const first = budgetOf(ctx, state.now);
      const next = { ...state, ageMs: first.ageMs };
      if (first.stale) return { state: next, action: { action: 'claim-stale', info: { state: 'stale', at } } };
      return { state: next, action: { action: 'claim', phone: phoneOf(ctx), ownerSource: ctx.job.source } };
    }
    case 'stale-claimed': {
      const other = ownerOf(outcome.claim);
      if (other) return keep(otherSource(ctx, other));
      const written = outcome.claim === true;
      const log: InsightLogLine = {
        level: 'info',
        message: written ? 'insight event is stale: no card' : 'insight event is stale and already handled',
        fields: { ageMs: state.ageMs },
      };
      return keep({ action: 'finish', result: written ? { outcome: 'stale' } : { outcome: 'duplicate' }, log });
    }
    case 'claimed': {
      const other = ownerOf(outcome.claim);
      if (other) return keep(otherSource(ctx, other));
      if (outcome.claim !== true)
        return keep({
          action: 'finish',
          result: { outcome: 'duplicate' },
          log: { level: 'info', message: 'insight already claimed by another delivery of this call: no card' },
        });
      if (!phoneOf(ctx)) return keep(settle(at, { state: 'no_match' }, { reason: 'no customer number' }));
      const found = outcome.lookup;
      if ('error' in found) return keep(settle(at, { state: 'failed', error: found.error }));
      if (!found.contact) return keep(settle(at, { state: 'no_match' }));
      const card = buildCard(found.contact, ctx.rules.card!);
      if (!hasContent(card)) return keep(settle(at, { state: 'no_match' }, { reason: 'contact has nothing to show' }));
      if (!ctx.rules.baseUrl)
        return keep(
          settle(at, {
            state: 'failed',
            error: `source "${ctx.job.source}" has no hipcallApiBaseUrl: set it (e.g. https://use.hipcall.com/api/v3) in the callvault config`,
          }),
        );
      return { state: { ...state, card }, action: { action: 'await-token' } };
    }
    case 'token':
      if ('error' in outcome.token) return keep(settle(at, { state: 'failed', error: outcome.token.error }));
      return post(state);
    case 'waited':
      return post(state);
    case 'posted': {
      const attempt = state.attempt;
      const next = { ...state, last: outcome.result };
      const decision = retryDecision(
        { attempt, result: outcome.result, remainingMs: budgetOf(ctx, state.now).remainingMs },
        ctx.retry ?? CARD_RETRY,
        ctx.random,
      );
      if (!decision.retry || outcome.aborted) return { state: next, action: posted(at, outcome.result, attempt) };
      const log: InsightLogLine = {
        level: 'warn',
        message: 'insight card post will be retried',
        fields: { attempt, ...describePost(outcome.result), delayMs: decision.delayMs },
      };
      return { state: next, action: { action: 'wait', ms: decision.delayMs, log } };
    }
  }
}

/** Post again while the budget lasts; with no time left, settle on what is known. */
function post(state: InsightStepState): InsightStep {
  const { remainingMs, stale } = budgetOf(state.ctx, state.now);
  const at = new Date(state.now).toISOString();
  if (remainingMs <= 0) {
    if (state.last) return { state, action: posted(at, state.last, state.attempt) };
    return {
      state,
      action: stale
        ? settle(at, { state: 'stale' }, { reason: 'became stale before the post' })
        : settle(at, { state: 'failed', error: 'no time left to post the card' }),
    };
  }
  return {
    state: { ...state, attempt: state.attempt + 1 },
    action: { action: 'post', baseUrl: state.ctx.rules.baseUrl!, card: state.card!, timeoutMs: Math.min(ATTEMPT_TIMEOUT_MS, remainingMs) },
  };
}

/** The outcome of the last post: `sent` on a 2xx, else `failed` with the status and the API's message. */
function posted(at: string, result: PostResult, attempts: number): InsightAction {
  if ('status' in result && result.status >= 200 && result.status < 300)
    return settle(at, { state: 'sent', httpStatus: result.status }, { attempts });
  const d = describePost(result);
  return settle(
    at,
    {
      state: 'failed',
      ...(d.httpStatus !== undefined ? { httpStatus: d.httpStatus } : {}),
      ...(d.error !== undefined ? { error: d.error } : {}),
    },
    { attempts },
  );
}

function settle(at: string, info: Omit<InsightInfo, 'at'>, extra: SettleExtra = {}): InsightAction {
  const outcome: InsightInfo = { ...info, at };
  if (outcome.error) outcome.error = redactNumbers(outcome.error);
  return { action: 'settle', info: outcome, extra };
}

/** What the process returns once `info` is recorded. */
export function settledResult(info: InsightInfo, extra: SettleExtra): InsightResult {
  return {
    outcome: info.state,
    ...(info.httpStatus !== undefined ? { httpStatus: info.httpStatus } : {}),
    ...(extra.attempts ? { attempts: extra.attempts } : {}),
  };
}

const ownerOf = (claim: ClaimAnswer): string | undefined => (typeof claim === 'object' ? claim.ownedBy : undefined);

/** A call belongs to the source that first delivered it: no card for another source's call. */
function otherSource(ctx: InsightJobContext, owner: string): InsightAction {
  const reason = `the call belongs to source "${owner}", not "${ctx.job.source}"`;
  return {
    action: 'finish',
    result: { outcome: 'skipped', reason },
    log: { level: 'warn', message: 'insight job from a source that does not own the call: skipped', fields: { owner } },
  };
}

/** A post's result as the item and the logs show it (phone numbers redacted). */
export function describePost(result: PostResult): { httpStatus?: number; error?: string } {
  if ('networkError' in result) return { error: `Insight Card API unreachable: ${result.networkError}` };
  if (result.status >= 200 && result.status < 300) return { httpStatus: result.status };
  return {
    httpStatus: result.status,
    error: redactNumbers(`Insight Card API answered ${result.status}${result.message ? `: ${result.message}` : ''}`),
  };
}
