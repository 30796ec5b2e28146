/**
 * One insight job: on Hipcall call_init, show the agent who is calling before they answer. A loop that
 * performs the actions `nextInsightStep` (core/insight-steps.ts) decides — claim the call ∥ look the
 * customer up ∥ fetch the token, post the card (with retries), record the outcome — and feeds each
 * result back. Every rule (staleness, ownership, retries within the budget, which outcome) is in core.
 *
 * Everything that may wait runs in parallel and every wait is bounded by the staleness budget: a card
 * the agent sees after answering is worth little, and one after the call is worth nothing.
 */
import { randomUUID } from 'node:crypto';
import { insightOf, sourceById, type CallVaultConfig, type SourceConfig } from '#contract/config.ts';
import { INSIGHT_QUEUE } from '#contract/resources.ts';
import { ValidationError } from '#core/errors.ts';
import { messageJson } from '#core/queue-message.ts';
import { CARD_RETRY, retryDecision, type PostResult, type RetryPolicy } from '#core/insight.ts';
import {
  budgetOf,
  nextInsightStep,
  settledResult,
  type InsightAction,
  type InsightJobContext,
  type InsightResult,
  type InsightSourceRules,
  type InsightStepOutcome,
  type InsightStepState,
  type Lookup,
} from '#core/insight-steps.ts';
import { METRIC } from '#core/metrics.ts';
import type { ApiSecrets, CardSink, Clock, ContactLookup, CrmAnswer, CrmDirectory, InsightClaims, Log, Metrics } from '#core/ports.ts';
import { PROVIDERS, callKeyOf, type Direction, type InsightJob } from '#core/types.ts';

export type { InsightResult } from '#core/insight-steps.ts';

export type InsightLog = Log;

export interface InsightDeps {
  config: CallVaultConfig;
  /** The contacts table. */
  contacts: ContactLookup;
  /** The user's CRM, for sources with `insight.crm`. */
  crm?: CrmDirectory;
  claims: InsightClaims;
  cards: CardSink;
  /** The source's Hipcall API bearer token (cached by the caller; see ApiSecrets). */
  token(sourceId: string, abortSignal?: AbortSignal): Promise<string>;
  /** Hipcall API base URL per source id. */
  apiBaseUrls: ReadonlyMap<string, string>;
  log: InsightLog;
  /** Each job's outcome, by source (core/metrics.ts). */
  metrics: Metrics;
  now?: Clock;
  sleep?: (ms: number, abortSignal?: AbortSignal) => Promise<void>;
  random?: () => number;
  retry?: RetryPolicy;
}

/** The token function of InsightDeps from the ApiSecrets port. */
export const tokenFrom =
  (secrets: ApiSecrets) =>
  async (sourceId: string, abortSignal?: AbortSignal): Promise<string> =>
    (await secrets.get(sourceId, abortSignal)).token;

/** A claim older than this was abandoned (its worker has timed out): another delivery may take over. */
export const CLAIM_LEASE_MS = INSIGHT_QUEUE.consumerTimeoutSeconds * 1000 + 5000;

const DIRECTIONS: readonly Direction[] = ['inbound', 'outbound', 'internal', 'unknown'];

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** The job from an SQS message body; ValidationError when it is not one (it will never succeed). */
export function parseInsightJob(body: string): InsightJob {
  const o = (messageJson(body, 'insight job') ?? {}) as Record<string, unknown>;
  const str = (k: string) => (typeof o[k] === 'string' && o[k] ? o[k] : undefined);
  const provider = str('provider');
  const source = str('source');
  const callId = str('callId');
  const receivedAt = str('receivedAt');
  if (!provider || !(PROVIDERS as readonly string[]).includes(provider) || !source || !callId || !receivedAt) {
    throw new ValidationError('insight job lacks provider, source, callId or receivedAt');
  }
  const direction = str('direction');
  return {
    provider: provider as InsightJob['provider'],
    source,
    callId,
    direction: direction && (DIRECTIONS as readonly string[]).includes(direction) ? (direction as InsightJob['direction']) : 'unknown',
    fromNumber: str('fromNumber'),
    toNumber: str('toNumber'),
    customerNumber: str('customerNumber'),
    occurredAt: str('occurredAt') ?? receivedAt,
    receivedAt,
  };
}

export interface JobOptions {
  abortSignal?: AbortSignal;
  /** Epoch ms by which the job must be done (the function's own timeout, less a margin for the outcome write). */
  deadlineMs?: number;
}

/** What the job's source config says, for core's rules. */
export function insightRulesOf(
  job: InsightJob,
  deps: Pick<InsightDeps, 'config' | 'apiBaseUrls'>,
): InsightSourceRules & { source?: SourceConfig } {
  const source = sourceById(deps.config, job.source);
  const insight = source ? insightOf(source) : undefined;
  return {
    hipcall: Boolean(source && source.provider === 'hipcall' && job.provider === 'hipcall'),
    enabled: insight?.enabled ?? false,
    staleSeconds: insight?.staleSeconds ?? 0,
    ...(insight ? { card: insight.card } : {}),
    baseUrl: deps.apiBaseUrls.get(job.source),
    ...(source ? { source } : {}),
  };
}

/** Process one job. Throws only when the outcome could not be recorded (the message is then redelivered). */
export async function processInsightJob(job: InsightJob, deps: InsightDeps, options: JobOptions = {}): Promise<InsightResult> {
  const { abortSignal } = options;
  const clock = deps.now ?? Date.now;
  const rules = insightRulesOf(job, deps);
  const ctx: InsightJobContext = { job, rules, deadlineMs: options.deadlineMs, startedMs: clock(), retry: deps.retry, random: deps.random };
  const callKey = callKeyOf(job.provider, job.callId);
  const where = { source: job.source, callId: job.callId };
  const lease = { nowMs: ctx.startedMs, leaseMs: CLAIM_LEASE_MS, source: job.source, abortSignal };
  const claimId = randomUUID();
  let state: InsightStepState = { ctx, now: ctx.startedMs, attempt: 0 };
  let outcome: InsightStepOutcome = { step: 'start' };
  let token: Promise<{ value: string } | { error: string }> | undefined;
  let bearer = '';
  for (;;) {
    const step = nextInsightStep({ ...state, now: clock() }, outcome);
    const action: InsightAction = step.action;
    state = step.state;
    if (action.action === 'finish') {
      if (action.log) deps.log[action.log.level](action.log.message, { ...where, ...action.log.fields });
      countOutcome(job, action.result, clock(), deps.metrics);
      return action.result;
    }
    if (action.action === 'claim-stale') outcome = { step: 'stale-claimed', claim: await deps.claims.claim(callKey, action.info, lease) };
    else if (action.action === 'claim') {
      // The token is needed only on a match, but fetching it alongside the lookup keeps it off the critical path.
      token = action.phone ? settle(deps.token(job.source, abortSignal)) : undefined;
      const [claim, lookup] = await Promise.all([
        deps.claims.claim(callKey, { state: 'pending', at: new Date(clock()).toISOString(), claimId }, lease),
        action.phone ? findContact(deps, ctx, rules.source!, action.phone, abortSignal) : Promise.resolve<Lookup>({ contact: undefined }),
      ]);
      outcome = { step: 'claimed', claim, lookup };
    } else if (action.action === 'await-token') {
      const answer = await token!;
      if ('value' in answer) bearer = answer.value;
      outcome = { step: 'token', token: answer };
    } else if (action.action === 'post') {
      const result = await deps.cards.post({
        baseUrl: action.baseUrl,
        callId: job.callId,
        token: bearer,
        card: action.card,
        timeoutMs: action.timeoutMs,
        ...(abortSignal ? { abortSignal } : {}),
      });
      outcome = { step: 'posted', result, aborted: abortSignal?.aborted ?? false };
    } else if (action.action === 'wait') {
      deps.log.warn(action.log.message, { ...where, ...action.log.fields });
      await (deps.sleep ?? defaultSleep)(action.ms, abortSignal);
      outcome = { step: 'waited' };
    } else {
      const kept = await deps.claims.settle(callKey, claimId, action.info, abortSignal);
      const fields = {
        ...where,
        state: action.info.state,
        httpStatus: action.info.httpStatus,
        ms: clock() - ctx.startedMs,
        ageMs: state.ageMs,
        ...action.extra,
      };
      if (!kept) deps.log.warn('insight claim was taken over before the outcome was recorded', fields);
      if (action.info.state === 'failed') deps.log.error('insight card failed', { ...fields, error: action.info.error });
      else deps.log.info(`insight ${action.info.state}`, fields);
      const result = settledResult(action.info, action.extra);
      countOutcome(job, result, clock(), deps.metrics);
      return result;
    }
  }
}

const OUTCOME_METRIC = {
  sent: METRIC.insightSent,
  no_match: METRIC.insightNoMatch,
  stale: METRIC.insightStale,
  failed: METRIC.insightFailed,
} as const;

/** Count an outcome the job decided (a duplicate or a skipped job decided nothing); a sent card also gives the time from call_init. */
function countOutcome(job: InsightJob, result: InsightResult, nowMs: number, metrics: Metrics): void {
  if (result.outcome === 'duplicate' || result.outcome === 'skipped') return;
  const dims = { source: job.source };
  metrics.count(OUTCOME_METRIC[result.outcome], dims);
  if (result.outcome === 'sent') metrics.measure(METRIC.insightCallInitToCardMs, nowMs - Date.parse(job.occurredAt), 'Milliseconds', dims);
}

/** The contact from the source's CRM (retried once on a network error or 5xx, within the budget) or the contacts table. */
async function findContact(
  deps: InsightDeps,
  ctx: InsightJobContext,
  source: SourceConfig,
  phone: string,
  abortSignal?: AbortSignal,
): Promise<Lookup> {
  const crm = insightOf(source).crm;
  if (!crm) {
    try {
      return { contact: await deps.contacts.find(phone, abortSignal) };
    } catch (err) {
      return { error: `contacts table lookup failed: ${(err as Error).name}` };
    }
  }
  if (!deps.crm) return { error: 'CRM lookup is configured but not available in this function' };
  const remaining = () => budgetOf(ctx, (deps.now ?? Date.now)()).remainingMs;
  let answer: CrmAnswer | undefined;
  for (let attempt = 1; ; attempt++) {
    answer = await deps.crm.find(source.id, crm, phone, { timeoutMs: remaining(), ...(abortSignal ? { abortSignal } : {}) });
    if (answer.outcome !== 'error') break;
    const result: PostResult = answer.status === undefined ? { networkError: answer.message } : { status: answer.status };
    const decision = retryDecision(
      { attempt, result, remainingMs: remaining() },
      { ...(deps.retry ?? CARD_RETRY), maxAttempts: 2 },
      deps.random,
    );
    if (!decision.retry) break;
    await (deps.sleep ?? defaultSleep)(decision.delayMs, abortSignal);
  }
  if (answer.outcome === 'found') return { contact: answer.contact };
  if (answer.outcome === 'not_found') return { contact: undefined };
  return { error: answer.message };
}

/** A promise's outcome as a value, so a prefetch that fails cannot become an unhandled rejection. */
function settle<T>(p: Promise<T>): Promise<{ value: T } | { error: string }> {
  return p.then(
    (value) => ({ value }),
    (err: unknown) => ({ error: (err as Error).message ?? String(err) }),
  );
}
