/**
 * One insight job: on Hipcall call_init, show the agent who is calling before they answer.
 *
 *   stale? → record `stale`, post nothing
 *   claim the call (conditional write) ∥ look the customer up ∥ fetch the API token
 *   no claim → someone else has it (a repeated job): nothing to do
 *   no match → `no_match`; match → build the card → POST, retrying 429/5xx/network within the budget
 *   → record `sent` or `failed` (with the HTTP status and the API's message)
 *
 * Everything that may wait runs in parallel and every wait is bounded by the staleness budget: a card
 * the agent sees after answering is worth little, and one after the call is worth nothing.
 */
import { randomUUID } from 'node:crypto';
import { insightOf, sourceById, type CallVaultConfig, type SourceConfig } from '#lib/config.ts';
import { INSIGHT_QUEUE } from '#lib/resources.ts';
import type { CardSink } from '#adapters/hipcall-cards.ts';
import type { ContactSource } from '#adapters/contacts-table.ts';
import type { CrmAnswer, CrmLookup } from '#adapters/crm-lookup.ts';
import type { InsightClaims } from '#adapters/insight-claims.ts';
import type { Log } from '#adapters/log.ts';
import { buildCard, hasContent } from '#core/card.ts';
import type { Contact } from '#core/contact.ts';
import { ValidationError } from '#core/errors.ts';
import { CARD_RETRY, customerNumberOf, redactNumbers, retryDecision, stalenessOf, type PostResult, type RetryPolicy } from '#core/insight.ts';
import { PROVIDERS, callKeyOf, type Direction, type InsightInfo, type InsightJob, type InsightState } from '#core/types.ts';

const DIRECTIONS: readonly Direction[] = ['inbound', 'outbound', 'internal', 'unknown'];

export type InsightLog = Log;

export interface InsightDeps {
  config: CallVaultConfig;
  /** The contacts table. */
  contacts: ContactSource;
  /** The user's CRM, for sources with `insight.crm`. */
  crm?: Pick<CrmLookup, 'find'>;
  claims: Pick<InsightClaims, 'claim' | 'settle'>;
  cards: CardSink;
  /** The source's Hipcall API bearer token (cached by the caller). */
  token(sourceId: string, abortSignal?: AbortSignal): Promise<string>;
  /** Hipcall API base URL per source id. */
  apiBaseUrls: ReadonlyMap<string, string>;
  log: InsightLog;
  now?: () => number;
  sleep?: (ms: number, abortSignal?: AbortSignal) => Promise<void>;
  random?: () => number;
  retry?: RetryPolicy;
}

export type InsightResult =
  | { outcome: InsightState; httpStatus?: number; attempts?: number }
  /** Another delivery of the job holds (or held) the call. */
  | { outcome: 'duplicate' }
  /** Not a Hipcall source, or insight is off for it. */
  | { outcome: 'skipped'; reason: string };

/** A claim older than this was abandoned (its worker has timed out): another delivery may take over. */
export const CLAIM_LEASE_MS = INSIGHT_QUEUE.consumerTimeoutSeconds * 1000 + 5000;
/** Longest single POST: leaves room for a retry within a few seconds of ring time. */
const ATTEMPT_TIMEOUT_MS = 2000;

const defaultSleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
});

/** The job from an SQS message body; ValidationError when it is not one (it will never succeed). */
export function parseInsightJob(body: string): InsightJob {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    throw new ValidationError('insight job is not JSON');
  }
  const o = (raw ?? {}) as Record<string, unknown>;
  const str = (k: string) => (typeof o[k] === 'string' && o[k] ? (o[k] as string) : undefined);
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

/** Process one job. Throws only when the outcome could not be recorded (the message is then redelivered). */
export async function processInsightJob(job: InsightJob, deps: InsightDeps, options: JobOptions = {}): Promise<InsightResult> {
  const { abortSignal, deadlineMs } = options;
  const now = deps.now ?? Date.now;
  const started = now();
  const source = sourceById(deps.config, job.source);
  const where = { source: job.source, callId: job.callId };
  if (!source || source.provider !== 'hipcall' || job.provider !== 'hipcall') {
    deps.log.warn('insight job for a source that is not a configured Hipcall source: skipped', where);
    return { outcome: 'skipped', reason: 'not a Hipcall source' };
  }
  const insight = insightOf(source);
  if (!insight.enabled) return { outcome: 'skipped', reason: 'insight disabled' };

  const callKey = callKeyOf(job.provider, job.callId);
  // The staleness budget, cut short by the function's own deadline.
  const budget = () => {
    const t = now();
    const s = stalenessOf(job, t, insight.staleSeconds);
    return deadlineMs === undefined ? s : { ...s, remainingMs: Math.max(0, Math.min(s.remainingMs, deadlineMs - t)) };
  };
  const at = () => new Date(now()).toISOString();

  const first = budget();
  if (first.stale) {
    const written = await deps.claims.claim(callKey, { state: 'stale', at: at() }, { nowMs: started, leaseMs: CLAIM_LEASE_MS, abortSignal });
    deps.log.info(written ? 'insight event is stale: no card' : 'insight event is stale and already handled', { ...where, ageMs: first.ageMs });
    return written ? { outcome: 'stale' } : { outcome: 'duplicate' };
  }

  const claimId = randomUUID();
  const phone = customerNumberOf(job, deps.config.defaultCountry);
  // The token is needed only on a match, but fetching it alongside the lookup keeps it off the critical path.
  const token = phone ? settle(deps.token(source.id, abortSignal)) : undefined;
  const [claimed, found] = await Promise.all([
    deps.claims.claim(callKey, { state: 'pending', at: at(), claimId }, { nowMs: started, leaseMs: CLAIM_LEASE_MS, abortSignal }),
    phone ? lookup(deps, source, phone, budget, abortSignal) : Promise.resolve<Lookup>({ contact: undefined }),
  ]);
  if (!claimed) {
    deps.log.info('insight already claimed by another delivery of this call: no card', where);
    return { outcome: 'duplicate' };
  }

  const finish = async (info: Omit<InsightInfo, 'at'>, extra: Record<string, unknown> = {}): Promise<InsightResult> => {
    const outcome: InsightInfo = { ...info, at: at() };
    if (outcome.error) outcome.error = redactNumbers(outcome.error);
    const kept = await deps.claims.settle(callKey, claimId, outcome, abortSignal);
    const fields = { ...where, state: outcome.state, httpStatus: outcome.httpStatus, ms: now() - started, ageMs: first.ageMs, ...extra };
    if (!kept) deps.log.warn('insight claim was taken over before the outcome was recorded', fields);
    if (outcome.state === 'failed') deps.log.error('insight card failed', { ...fields, error: outcome.error });
    else deps.log.info(`insight ${outcome.state}`, fields);
    return { outcome: outcome.state, ...(outcome.httpStatus !== undefined ? { httpStatus: outcome.httpStatus } : {}), ...(extra.attempts ? { attempts: extra.attempts as number } : {}) };
  };

  if (!phone) return finish({ state: 'no_match' }, { reason: 'no customer number' });
  if ('error' in found) return finish({ state: 'failed', error: found.error });
  if (!found.contact) return finish({ state: 'no_match' });
  const card = buildCard(found.contact, insight.card);
  if (!hasContent(card)) return finish({ state: 'no_match' }, { reason: 'contact has nothing to show' });

  const baseUrl = deps.apiBaseUrls.get(source.id);
  if (!baseUrl) return finish({ state: 'failed', error: `source "${source.id}" has no hipcallApiBaseUrl: set it (e.g. https://use.hipcall.com/api/v3) in the callvault config` });
  const bearer = await token!;
  if ('error' in bearer) return finish({ state: 'failed', error: bearer.error });

  let attempt = 0;
  let last: PostResult;
  for (;;) {
    const { remainingMs: remaining, stale } = budget();
    if (remaining <= 0) {
      if (attempt === 0) return stale ? finish({ state: 'stale' }, { reason: 'became stale before the post' }) : finish({ state: 'failed', error: 'no time left to post the card' });
      break;
    }
    attempt++;
    last = await deps.cards.post({ baseUrl, callId: job.callId, token: bearer.value, card, timeoutMs: Math.min(ATTEMPT_TIMEOUT_MS, remaining), abortSignal });
    const decision = retryDecision({ attempt, result: last, remainingMs: budget().remainingMs }, deps.retry ?? CARD_RETRY, deps.random);
    if (!decision.retry || abortSignal?.aborted) break;
    deps.log.warn('insight card post will be retried', { ...where, attempt, ...describe(last), delayMs: decision.delayMs });
    await (deps.sleep ?? defaultSleep)(decision.delayMs, abortSignal);
  }
  if ('status' in last! && last.status >= 200 && last.status < 300) return finish({ state: 'sent', httpStatus: last.status }, { attempts: attempt });
  const d = describe(last!);
  return finish({ state: 'failed', ...(d.httpStatus !== undefined ? { httpStatus: d.httpStatus } : {}), error: d.error }, { attempts: attempt });
}

type Lookup = { contact: Contact | undefined } | { error: string };

/** The contact from the source's CRM (retried once on a network error or 5xx, within the budget) or the contacts table. */
async function lookup(deps: InsightDeps, source: SourceConfig, phone: string, budget: () => { remainingMs: number }, abortSignal?: AbortSignal): Promise<Lookup> {
  const crm = insightOf(source).crm;
  if (!crm) {
    try {
      return { contact: await deps.contacts.find(phone, abortSignal) };
    } catch (err) {
      return { error: `contacts table lookup failed: ${(err as Error).name}` };
    }
  }
  if (!deps.crm) return { error: 'CRM lookup is configured but not available in this function' };
  let answer: CrmAnswer | undefined;
  for (let attempt = 1; ; attempt++) {
    answer = await deps.crm.find(source.id, crm, phone, { timeoutMs: budget().remainingMs, abortSignal });
    if (answer.outcome !== 'error') break;
    const result: PostResult = answer.status === undefined ? { networkError: answer.message } : { status: answer.status };
    const decision = retryDecision({ attempt, result, remainingMs: budget().remainingMs }, { ...(deps.retry ?? CARD_RETRY), maxAttempts: 2 }, deps.random);
    if (!decision.retry) break;
    await (deps.sleep ?? defaultSleep)(decision.delayMs, abortSignal);
  }
  if (answer.outcome === 'found') return { contact: answer.contact };
  if (answer.outcome === 'not_found') return { contact: undefined };
  return { error: answer.message };
}

function describe(result: PostResult): { httpStatus?: number; error?: string } {
  if ('networkError' in result) return { error: `Insight Card API unreachable: ${result.networkError}` };
  if (result.status >= 200 && result.status < 300) return { httpStatus: result.status };
  return { httpStatus: result.status, error: redactNumbers(`Insight Card API answered ${result.status}${result.message ? `: ${result.message}` : ''}`) };
}

/** A promise's outcome as a value, so a prefetch that fails cannot become an unhandled rejection. */
function settle<T>(p: Promise<T>): Promise<{ value: T } | { error: string }> {
  return p.then(
    (value) => ({ value }),
    (err: unknown) => ({ error: (err as Error).message ?? String(err) }),
  );
}
