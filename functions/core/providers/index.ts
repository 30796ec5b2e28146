/** The provider adapters by provider type: the one entry point the ingest uses. */
import { fitFields } from '#core/dynamo-values.ts';
import { ValidationError } from '#core/errors.ts';
import { PROVIDERS, type AdapterContext, type AdapterResult, type CallFields, type NormalisedEvent, type Provider } from '#core/types.ts';
import * as callhippo from './callhippo.ts';
import * as hipcall from './hipcall.ts';
import * as postcall from './postcall.ts';

/** A provider adapter: a pure function from one parsed webhook body to normalised events. */
export interface ProviderAdapter {
  normalise(body: unknown, ctx: AdapterContext): AdapterResult;
}

const ADAPTERS = new Map<string, ProviderAdapter>([
  ['hipcall', hipcall],
  ['callhippo', callhippo],
  ['postcall', postcall],
]);

/**
 * Longest call id CallVault stores, in UTF-8 bytes. The id is the partition key `{provider}#{callId}`
 * (DynamoDB allows 2,048 bytes), part of S3 keys (1,024 bytes) and of provider API paths; 256 bytes
 * stays far inside all three, and real ids (UUIDs, SIDs, hex ids) are under 64.
 */
export const MAX_CALL_ID_BYTES = 256;

/** Event times before this are not real call times (a zero or seconds-as-ms epoch): read as absent. */
export const EARLIEST_EVENT_TIME = '2000-01-01T00:00:00.000Z';
/** How far past the receipt time an event time may lie (clock skew, time zones sent wrong) before it reads as absent. */
export const MAX_EVENT_TIME_AHEAD_MS = 24 * 60 * 60 * 1000;

/** The adapter of a provider type; throws ValidationError for an unknown one. */
export function adapterFor(provider: Provider): ProviderAdapter {
  const adapter = ADAPTERS.get(provider);
  if (!adapter) throw new ValidationError(`Unknown provider "${String(provider)}": use one of ${PROVIDERS.join(', ')}`);
  return adapter;
}

/**
 * Normalise one delivery of `provider`. Throws ValidationError when its identity (event type, call id)
 * is missing or cannot be stored faithfully (see callIdProblem). Event times a single delivery could
 * poison the item with (before 2000, or over 24 h after receipt) read as absent, and every field is
 * fitted to what DynamoDB stores (fitFields).
 */
export function normaliseDelivery(provider: Provider, body: unknown, ctx: AdapterContext): AdapterResult {
  const result = adapterFor(provider).normalise(body, ctx);
  if (result.outcome !== 'events') return result;
  return { ...result, events: result.events.map((event) => checkedEvent(event, ctx)) };
}

/** Why `callId` cannot identify a stored call, or undefined when it can. */
export function callIdProblem(callId: string): string | undefined {
  if (callId === '') return 'The call id is empty: every call event must carry its call id.';
  if (callId === '.' || callId === '..')
    return `The call id "${callId}" is a path segment, not an id: it would reach another path of the provider's API and of the archive. Send the call's real id.`;
  if (!callId.isWellFormed())
    return 'The call id is not well-formed Unicode (it contains a lone surrogate), so it cannot be stored as sent. Send the id as valid UTF-8.';
  const bytes = Buffer.byteLength(callId, 'utf8');
  if (bytes > MAX_CALL_ID_BYTES)
    return `The call id is ${bytes} bytes long; CallVault stores ids of up to ${MAX_CALL_ID_BYTES} UTF-8 bytes. Send the call's real id.`;
  return undefined;
}

function checkedEvent(event: NormalisedEvent, ctx: AdapterContext): NormalisedEvent {
  const problem = callIdProblem(event.callId);
  if (problem) throw new ValidationError(problem);
  const plausible = plausibleTime(ctx.receivedAt);
  const fields: CallFields = { ...event.fields };
  for (const name of ['startedAt', 'answeredAt', 'endedAt'] as const) {
    if (fields[name] !== undefined && !plausible(fields[name])) delete fields[name];
  }
  return { ...event, occurredAt: plausible(event.occurredAt) ? event.occurredAt : ctx.receivedAt, fields: fitFields(fields) };
}

/** A check that an event time lies between 2000 and 24 h after `receivedAt`. */
function plausibleTime(receivedAt: string): (iso: string) => boolean {
  const earliest = Date.parse(EARLIEST_EVENT_TIME);
  const received = Date.parse(receivedAt);
  const latest = Number.isFinite(received) ? received + MAX_EVENT_TIME_AHEAD_MS : Infinity;
  return (iso) => {
    const ms = Date.parse(iso);
    return Number.isFinite(ms) && ms >= earliest && ms <= latest;
  };
}
