/**
 * The ingest path: authenticate, read, normalise, then write in parallel (calls table upsert, raw/
 * archive, media and insight jobs). A failed write never costs a delivery: the verbatim delivery goes
 * on the replay queue (or, failing that, into raw/) and the provider still gets a 2xx, within 3 s.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { CallVaultConfig, SourceConfig } from '#contract/config.ts';
import { sourceById } from '#contract/config.ts';
import { INGEST_ANSWER_BUDGET_MS, S3_KEYS } from '#contract/resources.ts';
import { deliveryKey } from '#core/call-record.ts';
import { isPermanentWriteError, ValidationError } from '#core/errors.ts';
import { splitOversized } from '#core/dynamo-values.ts';
import { normaliseDelivery } from '#core/providers/index.ts';
import { messageJson } from '#core/queue-message.ts';
import { readBody, sha256Hex } from '#core/request.ts';
import { SIGNATURE_HEADERS, verifyStandardWebhook } from '#core/signature.ts';
import { ipAllowed } from '#core/source-ip.ts';
import { METRIC } from '#core/metrics.ts';
import type {
  ApplyOutcome,
  CallsStore,
  DeliveryArchive,
  JobQueues,
  Log,
  Metrics,
  ReplayMessage,
  SigningSecret,
  SigningSecrets,
  TokenStore,
} from '#core/ports.ts';
import { callFiledAt, type MediaJob, type NormalisedEvent } from '#core/types.ts';
import { insightJobOf } from '#core/insight.ts';
import { callEnded, hasMedia } from '#core/cdr-schema.ts';
import { unrecognisedWarnings } from '#core/unrecognised.ts';

export interface IngestDeps {
  config: CallVaultConfig;
  tokens: TokenStore;
  /** The secrets of sources that set `signature`; without it such a source refuses every POST (401). */
  signingSecrets?: SigningSecrets;
  calls: CallsStore;
  archive: DeliveryArchive;
  queues: JobQueues;
  /** Log fields only: never bodies, tokens, phone numbers or URLs. */
  log: Log;
  /** Each delivery's outcome, by source (core/metrics.ts). */
  metrics: Metrics;
  /** Overrides every source's media delay (the local stack's CALLVAULT_MEDIA_DELAY_SECONDS). */
  mediaDelayOverride?: number;
  now?: () => Date;
  /** Share of the 3 s answer budget for the parallel writes; the rest is for the fallback. */
  writeBudgetMs?: number;
}

/** `ignored`: the call belongs to another source (its first deliverer); the delivery is archived and changes nothing. */
export type IngestStatus = 'stored' | 'duplicate' | 'archived' | 'ignored' | 'queued';

/** SQS allows 256 KiB per message: a body up to this size travels inline, a larger one via raw/. */
export const MAX_INLINE_REPLAY_BYTES = 200 * 1024;

/** AbortSignal.timeout refuses a fractional delay (RangeError): every budget is whole milliseconds, at least `floor`. */
const timeout = (ms: number, floor = 100): AbortSignal => AbortSignal.timeout(Math.max(floor, Math.floor(ms)));

type Answer = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };

const json = (statusCode: number, body: Record<string, unknown>): Answer => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});
const NOT_FOUND = () =>
  json(404, { message: 'Not found. Check the webhook URL: it must be /webhooks/{source}/{token} as printed by CallVault.' });

function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(event.headers ?? {})) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

/** A delivery whose identity is known, ready to be written. */
interface Accepted {
  source: SourceConfig;
  receivedAt: string;
  bytes: Buffer;
  sha256: string;
  contentType?: string;
  eventType: string;
  events: NormalisedEvent[];
}

const STATUS_METRIC = { stored: METRIC.deliveryStored, duplicate: METRIC.deliveryDuplicate, ignored: METRIC.deliveryIgnored } as const;

/** A per-source route key, `POST /webhooks/hipcall/{token}`: the source is a literal segment, not a path parameter. */
const LITERAL_SOURCE_ROUTE = /^[A-Z]+ \/webhooks\/([a-z0-9-]+)\/\{token\}$/;

/**
 * The source a request was routed for: the `{source}` parameter of the generic route, else the
 * literal segment of the source's own route (each source has one, for its own throttle).
 */
export function routeSourceId(event: Pick<APIGatewayProxyEventV2, 'pathParameters' | 'routeKey'>): string {
  return event.pathParameters?.source ?? LITERAL_SOURCE_ROUTE.exec(event.routeKey ?? '')?.[1] ?? '';
}

/** Handle one HTTP request from API Gateway (HTTP API, payload v2). Never throws. */
export async function handleWebhook(event: APIGatewayProxyEventV2, deps: IngestDeps): Promise<Answer> {
  const answer = await answerWebhook(event, deps);
  // Every refusal leaves through here, whichever check made it: one place counts them all, by status.
  // Only a configured source id becomes a dimension: the path's id is whatever a caller typed.
  if (answer.statusCode >= 400)
    deps.metrics.count(METRIC.deliveryRefused, { source: sourceById(deps.config, routeSourceId(event))?.id, status: answer.statusCode });
  return answer;
}

async function answerWebhook(event: APIGatewayProxyEventV2, deps: IngestDeps): Promise<Answer> {
  const started = Date.now();
  const now = deps.now?.() ?? new Date();
  const receivedAt = now.toISOString();
  const method = event.requestContext?.http?.method ?? 'POST';
  const sourceId = routeSourceId(event);
  const token = event.pathParameters?.token ?? '';
  const source = sourceById(deps.config, sourceId);
  // Read alongside the token check: on a cold start both wait on Secrets Manager, within one 3 s budget.
  const signing = source?.signature ? signingSecretOf(deps, source.id) : undefined;
  try {
    // The token store gets a slice of the 3 s budget of its own (a cold start reads Secrets Manager).
    if (!source || !(await deps.tokens.verify(source.id, token, AbortSignal.timeout(800)))) {
      deps.log.warn('webhook refused: unknown source or token', { method });
      return NOT_FOUND();
    }
  } catch (err) {
    // The token store is down: answering 5xx lets the provider know to retry, if it ever does.
    deps.log.error('token check failed', { source: sourceId, error: (err as Error).name });
    return json(503, { message: 'CallVault could not check the webhook token right now; the delivery was not accepted. Retry shortly.' });
  }
  if (source.allowedSourceIps && !ipAllowed(event.requestContext?.http?.sourceIp ?? '', source.allowedSourceIps)) {
    deps.log.warn('webhook refused: source address not allowed', { source: source.id });
    return json(403, {
      message: 'This address may not deliver to this source. Add it to allowedSourceIps in the callvault config if it should.',
    });
  }
  if (method === 'GET' || method === 'HEAD')
    return json(200, { status: 'ok', message: 'CallVault webhook endpoint: POST deliveries here.' });
  if (method !== 'POST')
    return json(405, { message: `${method} is not accepted here: providers POST deliveries (GET answers 200 for URL checks).` });

  const contentType = header(event, 'content-type');
  const body = readBody({
    body: event.body,
    isBase64Encoded: event.isBase64Encoded,
    contentType,
    maxBytes: deps.config.limits.maxBodyBytes,
  });
  if (signing) {
    // Checked before anything about the body is answered: an unsigned sender learns nothing else.
    const refused = await refuseUnsigned(deps, event, source, signing, now, receivedAt, body.bytes, body.sha256, contentType);
    if (refused) return refused;
  }
  if (!body.ok) {
    await quarantine(deps, source, receivedAt, body.bytes, body.sha256, body.refusal.status, body.refusal.message, contentType);
    deps.log.warn('delivery refused', { source: source.id, status: body.refusal.status, bytes: body.bytes.length });
    return json(body.refusal.status, { message: body.refusal.message });
  }
  let result;
  try {
    result = normaliseDelivery(source.provider, body.json, { defaultCountry: deps.config.defaultCountry, receivedAt });
  } catch (err) {
    const message = err instanceof ValidationError ? err.message : `The delivery could not be read as a ${source.provider} event.`;
    if (!(err instanceof ValidationError)) deps.log.error('adapter failed', { source: source.id, error: (err as Error).name });
    await quarantine(deps, source, receivedAt, body.bytes, body.sha256, 400, message, contentType);
    deps.log.warn('delivery refused', { source: source.id, status: 400 });
    return json(400, { message });
  }
  const accepted: Accepted = {
    source,
    receivedAt,
    bytes: body.bytes,
    sha256: body.sha256,
    contentType,
    eventType: result.eventType,
    events: result.outcome === 'events' ? result.events : [],
  };
  if (result.outcome === 'archived') {
    return withFallback(deps, accepted, started, async (signal) => {
      await deps.archive.putRaw(rawKeyOf(accepted, undefined), accepted.bytes, { source: source.id, receivedAt, contentType }, signal);
      deps.log.info('delivery archived', { source: source.id, eventType: result.eventType });
      deps.metrics.count(METRIC.deliveryArchived, { source: source.id });
      return json(200, {
        status: 'archived',
        event: result.eventType,
        message: `${result.eventType} is not a call event: archived as received.`,
      });
    });
  }
  return withFallback(deps, accepted, started, async (signal) => {
    const outcomes = await applyAccepted(deps, accepted, signal);
    const status = statusOf(outcomes);
    deps.log.info('delivery applied', { source: source.id, eventType: accepted.eventType, status, ms: Date.now() - started });
    deps.metrics.count(STATUS_METRIC[status], { source: source.id });
    if (status === 'ignored') {
      deps.log.warn('delivery for a call another source owns: archived, not applied', {
        source: source.id,
        owners: [...new Set(outcomes.map((o) => (o.outcome === 'foreign' ? o.owner : undefined)))],
      });
      return json(200, {
        status,
        event: accepted.eventType,
        callIds: accepted.events.map((e) => e.callId),
        message:
          'This call was first delivered through another CallVault source, which owns it: the delivery was archived as received and changed nothing.',
      });
    }
    const warnings = unrecognisedWarnings(accepted.events);
    if (warnings.length) deps.metrics.count(METRIC.deliveryUnrecognised, { source: source.id });
    return json(200, {
      status,
      event: accepted.eventType,
      callIds: accepted.events.map((e) => e.callId),
      ...(warnings.length ? { warnings } : {}),
    });
  });
}

type SecretRead = { ok: true; value: SigningSecret } | { ok: false; error: Error };

/** The source's signing secret, settled so an early answer (a wrong token) leaves no rejection unhandled. */
function signingSecretOf(deps: IngestDeps, sourceId: string): Promise<SecretRead> {
  if (!deps.signingSecrets)
    return Promise.resolve({
      ok: true,
      value: { unset: `This CallVault cannot read signing secrets, but source "${sourceId}" requires a signature: redeploy the stack.` },
    });
  return deps.signingSecrets.get(sourceId, AbortSignal.timeout(800)).then(
    (value): SecretRead => ({ ok: true, value }),
    (error: unknown): SecretRead => ({ ok: false, error: error as Error }),
  );
}

/**
 * For a source that sets `signature`: the answer when the delivery's Standard Webhooks signature does
 * not verify (401, quarantined with the reason), or undefined when it does. Only the secret store being
 * down answers 503, as for the token store: nothing a sender changes would help.
 */
async function refuseUnsigned(
  deps: IngestDeps,
  event: APIGatewayProxyEventV2,
  source: SourceConfig,
  signing: Promise<SecretRead>,
  now: Date,
  receivedAt: string,
  bytes: Buffer,
  sha256: string,
  contentType: string | undefined,
): Promise<Answer | undefined> {
  const read = await signing;
  if (!read.ok) {
    deps.log.error('signing secret read failed', { source: source.id, error: read.error.name });
    return json(503, {
      message: "CallVault could not read this source's signing secret right now; the delivery was not accepted. Retry shortly.",
    });
  }
  let reason: string;
  let message: string;
  if ('unset' in read.value) {
    reason = 'secret_unset';
    message = read.value.unset;
  } else {
    const check = verifyStandardWebhook(
      {
        id: header(event, SIGNATURE_HEADERS.id),
        timestamp: header(event, SIGNATURE_HEADERS.timestamp),
        signature: header(event, SIGNATURE_HEADERS.signature),
        body: bytes,
      },
      read.value.secret,
      now.getTime(),
    );
    if (check.ok) return undefined;
    reason = check.reason;
    message = check.message;
  }
  await quarantine(deps, source, receivedAt, bytes, sha256, 401, message, contentType);
  deps.log.warn('webhook refused: signature not verified', { source: source.id, reason });
  return json(401, { message });
}

/** One answer for a delivery's events: all duplicates, all for calls other sources own, or stored. */
function statusOf(outcomes: readonly ApplyOutcome[]): 'stored' | 'duplicate' | 'ignored' {
  if (outcomes.length > 0 && outcomes.every((o) => o.outcome === 'foreign')) return 'ignored';
  return outcomes.every((o) => o.outcome !== 'stored') ? 'duplicate' : 'stored';
}

/**
 * Run the writes within the budget; if they fail, make the delivery durable another way and still answer
 * 2xx. A write AWS refuses as sent (e.g. DynamoDB's ValidationException) is never queued for a replay that
 * would only fail again: the delivery is quarantined and refused with a 422 (its raw/ copy stays).
 */
async function withFallback(
  deps: IngestDeps,
  accepted: Accepted,
  started: number,
  write: (signal: AbortSignal) => Promise<Answer>,
): Promise<Answer> {
  const writeBudget = deps.writeBudgetMs ?? 1600;
  const signal = timeout(writeBudget, 1);
  try {
    return await write(signal);
  } catch (err) {
    if (isPermanentWriteError(err)) {
      const message = unstorableMessage(err);
      await quarantine(deps, accepted.source, accepted.receivedAt, accepted.bytes, accepted.sha256, 422, message, accepted.contentType);
      deps.log.error('delivery refused by storage; quarantined, not replayed', { source: accepted.source.id, error: (err as Error).name });
      return json(422, { message });
    }
    const reason = `${(err as Error).name}: ${(err as Error).message}`.slice(0, 300);
    deps.log.warn('write failed; falling back to the replay queue', { source: accepted.source.id, error: (err as Error).name });
    const remaining = Math.max(300, INGEST_ANSWER_BUDGET_MS - 300 - (Date.now() - started));
    return fallback(deps, accepted, reason, remaining);
  }
}

async function fallback(deps: IngestDeps, accepted: Accepted, reason: string, budgetMs: number): Promise<Answer> {
  const deadline = Date.now() + budgetMs;
  const source = accepted.source;
  const inline =
    accepted.bytes.length <= MAX_INLINE_REPLAY_BYTES && Buffer.from(accepted.bytes.toString('utf8'), 'utf8').equals(accepted.bytes);
  const rawKey = rawKeyOf(accepted, accepted.events[0]);
  const message: ReplayMessage = {
    source: source.id,
    receivedAt: accepted.receivedAt,
    contentType: accepted.contentType,
    reason,
    ...(inline ? { body: accepted.bytes.toString('utf8') } : { rawKey }),
  };
  try {
    if (!inline)
      await deps.archive.putRaw(
        rawKey,
        accepted.bytes,
        { source: source.id, receivedAt: accepted.receivedAt, contentType: accepted.contentType },
        timeout((deadline - Date.now()) / 2),
      );
    await deps.queues.sendReplay(message, timeout(deadline - Date.now() - 50));
    deps.log.warn('delivery queued for replay', { source: source.id, eventType: accepted.eventType });
    deps.metrics.count(METRIC.deliveryQueuedForReplay, { source: source.id });
    return json(202, { status: 'queued', event: accepted.eventType, message: 'Accepted; it will be applied shortly.' });
  } catch (err) {
    deps.log.error('replay queue unavailable', { source: source.id, error: (err as Error).name });
  }
  try {
    // Last resort: keep the bytes in raw/, where `callvault replay --unapplied` can apply them later.
    await deps.archive.putRaw(
      `${rawKey.replace(/\.json$/, '')}.unapplied.json`,
      accepted.bytes,
      { source: source.id, receivedAt: accepted.receivedAt, contentType: accepted.contentType },
      timeout(deadline - Date.now()),
    );
    deps.log.error('delivery kept in raw/ for a manual replay', { source: source.id, eventType: accepted.eventType });
    deps.metrics.count(METRIC.deliveryUnapplied, { source: source.id });
    return json(202, { status: 'queued', event: accepted.eventType, message: 'Accepted and archived; it will be applied by a replay.' });
  } catch (err) {
    deps.log.error('delivery could not be made durable', { source: source.id, error: (err as Error).name });
    return json(503, { message: 'CallVault could not store this delivery right now. Please retry it.' });
  }
}

const unstorableMessage = (err: unknown): string =>
  `CallVault cannot store this delivery as sent (${(err as Error).name}: ${(err as Error).message.slice(0, 200)}). It is kept in quarantine; please report it so the provider adapter can be fixed.`;

/** The parallel writes for an accepted call delivery. Throws if any of them failed (the caller falls back). */
async function applyAccepted(deps: IngestDeps, accepted: Accepted, signal: AbortSignal): Promise<ApplyOutcome[]> {
  const source = accepted.source;
  const writes: Promise<unknown>[] = [];
  const outcomes: ApplyOutcome[] = [];
  const meta = { source: source.id, receivedAt: accepted.receivedAt, contentType: accepted.contentType };
  for (const original of accepted.events) {
    // Extras too large for the item (a long transcript analysis) go to extras/, the item keeps a pointer.
    const at = original.fields.startedAt ?? accepted.receivedAt;
    const { fields, extras } = splitOversized(original.fields, (field, sha) =>
      S3_KEYS.extras(original.provider, at, original.callId, field, sha),
    );
    const event: NormalisedEvent = extras.length ? { ...original, fields } : original;
    for (const extra of extras)
      writes.push(deps.archive.putRaw(extra.key, Buffer.from(extra.body, 'utf8'), { ...meta, contentType: 'application/json' }, signal));
    // Queue sends are the slowest leg, so they start first; all legs then run in parallel.
    // The worker is idempotent (it skips stored media), so jobs go out without waiting for the upsert.
    const callAt = event.fields.startedAt ?? event.occurredAt;
    const jobs: MediaJob[] = event.media.map((m) => ({
      provider: event.provider,
      source: source.id,
      callId: event.callId,
      media: m.media,
      url: m.url,
      queuedAt: accepted.receivedAt,
      callAt,
    }));
    if (jobs.length) writes.push(deps.queues.sendMedia(jobs, deps.mediaDelayOverride ?? source.mediaDelaySeconds, signal));
    if (event.provider === 'hipcall' && event.kind === 'call_init' && (source.insight?.enabled ?? true)) {
      writes.push(deps.queues.sendInsight(insightJobOf(source.id, event, accepted.receivedAt), signal));
    }
    writes.push(deps.archive.putRaw(rawKeyOf(accepted, event), accepted.bytes, meta, signal));
    writes.push(
      deps.calls
        .applyDelivery(
          {
            source: source.id,
            event,
            deliveryKey: deliveryKey(accepted.eventType, accepted.sha256),
            now: accepted.receivedAt,
            queuedMedia: event.media.map((m) => m.media),
            itemTtlDays: deps.config.protection.itemTtlDays,
          },
          signal,
        )
        .then(async (r) => {
          outcomes.push(r);
          await writeCdrIfDone(deps, r, event.media.length > 0, signal);
        }),
    );
  }
  const settled = await Promise.allSettled(writes);
  const failures = settled
    .filter((s): s is PromiseRejectedResult => s.status === 'rejected')
    .map((s) => (s.reason instanceof Error ? s.reason : new Error(String(s.reason))));
  // A refusal outranks a timeout elsewhere: replaying would meet the same refusal.
  const failed = failures.find(isPermanentWriteError) ?? failures[0];
  if (failed) throw failed;
  return outcomes;
}

/**
 * A call that ended with no media gets its cdr/ row here (SQL over the archive must see missed calls);
 * a call with media gets it from the media worker, after each outcome, so the two never race. Best
 * effort: the delivery is applied and in raw/, and `callvault replay` can write the row again.
 */
async function writeCdrIfDone(deps: IngestDeps, r: ApplyOutcome, mediaQueued: boolean, signal: AbortSignal): Promise<void> {
  if (r.outcome !== 'stored' || mediaQueued || !callEnded(r.record) || hasMedia(r.record)) return;
  const { record } = r;
  try {
    await deps.archive.putCallRecord(S3_KEYS.cdr(record.provider, callFiledAt(record, record.createdAt), record.callId), record, signal);
  } catch (err) {
    deps.log.warn('cdr row not written (the call is stored)', { provider: record.provider, error: (err as Error).name });
  }
}

function rawKeyOf(accepted: Accepted, event: NormalisedEvent | undefined): string {
  const callId = event?.callId ?? accepted.eventType;
  const at = event?.fields.startedAt ?? accepted.receivedAt;
  return S3_KEYS.raw(accepted.source.provider, at, callId, accepted.receivedAt, `${accepted.eventType}-${accepted.sha256.slice(0, 16)}`);
}

async function quarantine(
  deps: IngestDeps,
  source: SourceConfig,
  receivedAt: string,
  bytes: Buffer,
  sha256: string,
  status: number,
  reason: string,
  contentType?: string,
) {
  try {
    await deps.archive.putQuarantine(
      S3_KEYS.quarantine(source.provider, receivedAt, sha256 || sha256Hex(bytes)),
      { source: source.id, receivedAt, status, reason, contentType, bytes },
      AbortSignal.timeout(1500),
    );
  } catch (err) {
    deps.log.error('quarantine write failed', { source: source.id, error: (err as Error).name });
  }
}

/** The replay queue's message body; ValidationError when it is not one (it will never apply). */
export function parseReplayMessage(body: string): ReplayMessage {
  const m = (messageJson(body, 'replay message') ?? {}) as Partial<Record<keyof ReplayMessage, unknown>>;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const source = text(m.source);
  const receivedAt = text(m.receivedAt);
  const inline = text(m.body);
  const rawKey = text(m.rawKey);
  if (!source || !receivedAt || (inline === undefined && !rawKey))
    throw new ValidationError('the replay message has no source, receivedAt, or body/rawKey');
  return {
    source,
    receivedAt,
    contentType: text(m.contentType),
    reason: text(m.reason) ?? '',
    ...(inline !== undefined ? { body: inline } : { rawKey }),
  };
}

/**
 * Apply one delivery from the replay queue. Throws when it could not be applied: the caller reports the
 * message failed, and SQS delivers it again (then to the DLQ).
 */
export async function replayDelivery(body: string, deps: IngestDeps): Promise<void> {
  let message: ReplayMessage | undefined;
  try {
    message = parseReplayMessage(body);
    await replayOne(message, deps);
  } catch (err) {
    // A message that is not ours to read goes on to the DLQ, where an operator can look at it.
    if (message && !(err instanceof UnknownSourceError) && isPermanentWriteError(err)) {
      // It would fail the same way on every receive: keep the bytes in quarantine/ with the reason, and let the message go.
      await quarantineReplay(deps, message, err);
      return;
    }
    deps.log.warn('replay failed; will retry', { error: (err as Error).name });
    throw err;
  }
}

class UnknownSourceError extends Error {
  override readonly name = 'UnknownSourceError';
}

async function quarantineReplay(deps: IngestDeps, message: ReplayMessage, err: unknown): Promise<void> {
  const source = sourceById(deps.config, message.source)!;
  const bytes = message.body !== undefined ? Buffer.from(message.body, 'utf8') : await deps.archive.getBytes(message.rawKey!);
  const reason = err instanceof ValidationError ? err.message : unstorableMessage(err);
  await deps.archive.putQuarantine(
    S3_KEYS.quarantine(source.provider, message.receivedAt, sha256Hex(bytes)),
    { source: source.id, receivedAt: message.receivedAt, status: 422, reason, contentType: message.contentType, bytes },
    timeout(1500),
  );
  deps.log.error('replayed delivery refused as sent; quarantined, not retried', { source: source.id, error: (err as Error).name });
}

async function replayOne(message: ReplayMessage, deps: IngestDeps): Promise<void> {
  const source = sourceById(deps.config, message.source);
  if (!source) {
    deps.log.error('replay for a source that is no longer configured; on to the DLQ', { source: message.source });
    throw new UnknownSourceError(`source "${message.source}" is not in the config: add it back, then redrive the replay DLQ`);
  }
  const bytes = message.body !== undefined ? Buffer.from(message.body, 'utf8') : await deps.archive.getBytes(message.rawKey!);
  const body = readBody({ body: bytes.toString('utf8'), contentType: message.contentType, maxBytes: Number.MAX_SAFE_INTEGER });
  if (!body.ok) throw new ValidationError(body.refusal.message);
  const result = normaliseDelivery(source.provider, body.json, {
    defaultCountry: deps.config.defaultCountry,
    receivedAt: message.receivedAt,
  });
  const accepted: Accepted = {
    source,
    receivedAt: message.receivedAt,
    bytes: body.bytes,
    sha256: body.sha256,
    contentType: message.contentType,
    eventType: result.eventType,
    events: result.outcome === 'events' ? result.events : [],
  };
  if (result.outcome === 'archived') {
    await deps.archive.putRaw(rawKeyOf(accepted, undefined), accepted.bytes, {
      source: source.id,
      receivedAt: accepted.receivedAt,
      contentType: accepted.contentType,
    });
    deps.metrics.count(METRIC.replayApplied, { source: source.id });
    return;
  }
  await applyAccepted(deps, accepted, timeout(4_500));
  deps.log.info('replayed delivery applied', { source: source.id, eventType: accepted.eventType });
  deps.metrics.count(METRIC.replayApplied, { source: source.id });
}
