/**
 * The calls table item and how one delivery merges into it. The merge is a join on a lattice, so the
 * item is the same whatever order deliveries arrive in and however often they repeat:
 * - `startedAt`/`answeredAt` keep the earliest value, `endedAt` the latest, `durationSec` the largest;
 * - `status` keeps the highest lifecycle rank (STATUS_RANK), so a late `call_init` never undoes a hangup;
 * - every other field keeps the value of the delivery with the highest precedence (see precedenceOf),
 *   which the item remembers per field in `fieldSources`;
 * - `events` lists the applied delivery keys, so a repeat is a no-op;
 * - `callAt` (the indexes' sort key) is `startedAt`, else the earliest `occurredAt` seen (`firstOccurredAt`).
 * A call belongs to the source that first delivered it: a delivery through another source of the same
 * provider changes nothing (`foreign`), so one source cannot rewrite another's calls.
 * Media maps (`recording`, `voicemail`, `transcript`) and `insight` belong to other writers and pass through.
 */
import { callKeyOf, type CallRecord, type CallStatus, type MediaRef, type NormalisedEvent } from './types.ts';

/**
 * Internal, not for queries: for each last-writer field (`fromNumber`, `agent.email`, ...), the precedence
 * of the delivery that set it. Without it a merge could not tell whether an incoming value should win.
 */
export type FieldSources = Record<string, string>;

/**
 * The item as stored: a CallRecord plus internal attributes: `fieldSources`, and `firstOccurredAt`, the
 * earliest `occurredAt` of the deliveries applied (what `callAt` falls back to, kept so the fallback is
 * the same whatever order the deliveries arrive in).
 */
export type StoredCallRecord = CallRecord & { fieldSources?: FieldSources; firstOccurredAt?: string };

/** What merging one delivery did: changed the item, nothing (a repeat), or nothing because another source owns the call. */
export type MergeResult =
  | { record: StoredCallRecord; changed: true; foreign?: false }
  | { record: StoredCallRecord; changed: false; foreign?: false }
  | { record: StoredCallRecord; changed: false; foreign: true; owner: string };

/** One delivery to merge: the source it came through, its normalised event, and its delivery key. */
export interface DeliveryInput {
  source: string;
  event: NormalisedEvent;
  deliveryKey: string;
  /** ISO time of the write, for createdAt/updatedAt. */
  now: string;
  /** `protection.itemTtlDays`: when set, the item gets `expiresAt` that many days after the call. */
  itemTtlDays?: number;
}

/**
 * Lifecycle rank: a state never gives way to a lower one. Terminal states outrank live ones; among them
 * a specific failure outranks the generic `completed`, because a status notification may say "completed"
 * for any call that ended while the provider's call log says Missed or No Answer.
 */
export const STATUS_RANK: Readonly<Record<CallStatus, number>> = {
  unknown: 0,
  ringing: 1,
  answered: 2,
  completed: 3,
  missed: 4,
  failed: 5,
};

/** Event kinds that describe the whole finished call; their values outrank lifecycle events' (rank above any status). */
const SUMMARY_KINDS = new Set(['call_hangup', 'call_activity', 'sms_activity', 'post_call']);
const SUMMARY_RANK = 9;

/** The key that makes a repeated delivery a no-op: event type plus the first 16 hex digits of the body's SHA-256. */
export function deliveryKey(eventType: string, bodySha256: string): string {
  return `${eventType}#${bodySha256.slice(0, 16).toLowerCase()}`;
}

/**
 * Merge one delivery into the item (pure). `changed` is false, and the item returned as is, for a repeated
 * delivery, and for a delivery through another source than the one that owns the call (`foreign`).
 */
export function mergeDelivery(existing: StoredCallRecord | undefined, input: DeliveryInput): MergeResult {
  const { event, deliveryKey: key } = input;
  const callKey = callKeyOf(event.provider, event.callId);
  if (existing && existing.callKey !== callKey) throw new Error(`mergeDelivery: delivery for ${callKey} merged into ${existing.callKey}`);
  // An item a worker created first (media before the delivery) has no source yet: the first delivery claims it.
  if (existing?.source !== undefined && existing.source !== input.source)
    return { record: existing, changed: false, foreign: true, owner: existing.source };
  if (existing?.events?.includes(key)) return { record: existing, changed: false };

  const fields = event.fields;
  const precedence = precedenceOf(event, key);
  const sources: FieldSources = { ...existing?.fieldSources };
  /** The incoming value when it outranks the delivery that set the current one. */
  const lastWriter = <T>(name: string, current: T | undefined, incoming: T | undefined): T | undefined => {
    if (incoming === undefined) return current;
    const held = sources[name];
    if (held !== undefined && held > precedence) return current;
    sources[name] = precedence;
    return incoming;
  };

  const agent = compact({
    id: lastWriter('agent.id', existing?.agent?.id, fields.agent?.id),
    email: lastWriter('agent.email', existing?.agent?.email, fields.agent?.email),
    name: lastWriter('agent.name', existing?.agent?.name, fields.agent?.name),
  });
  const startedAt = earliest(existing?.startedAt, fields.startedAt);
  const firstOccurredAt = earliest(existing?.firstOccurredAt, event.occurredAt);
  const callAt = startedAt ?? firstOccurredAt;
  const events = [...(existing?.events ?? []), key].sort();

  const record: StoredCallRecord = compact({
    ...existing,
    callKey,
    provider: event.provider,
    callId: event.callId,
    source: existing?.source ?? input.source,
    kind: lastWriter('kind', existing?.kind, fields.kind) ?? 'call',
    direction: lastWriter('direction', existing?.direction, fields.direction === 'unknown' ? undefined : fields.direction) ?? 'unknown',
    fromNumber: lastWriter('fromNumber', existing?.fromNumber, fields.fromNumber),
    toNumber: lastWriter('toNumber', existing?.toNumber, fields.toNumber),
    customerNumber: lastWriter('customerNumber', existing?.customerNumber, fields.customerNumber),
    customerNumberAsSent: lastWriter('customerNumberAsSent', existing?.customerNumberAsSent, fields.customerNumberAsSent),
    hangupBy: lastWriter('hangupBy', existing?.hangupBy, fields.hangupBy),
    caller: lastWriter('caller', existing?.caller, fields.caller),
    analysis: lastWriter('analysis', existing?.analysis, fields.analysis),
    agent: Object.keys(agent).length > 0 ? agent : undefined,
    status: higherStatus(existing?.status, fields.status),
    startedAt,
    answeredAt: earliest(existing?.answeredAt, fields.answeredAt),
    endedAt: latest(existing?.endedAt, fields.endedAt),
    durationSec: largest(existing?.durationSec, fields.durationSec),
    callAt,
    day: callAt === undefined ? undefined : dayOf(callAt),
    events,
    // The optimistic lock: every write raises it, so a writer that read an older item is refused. One
    // event per applied delivery keeps it equal to events.length, whatever the order (a replay from raw/
    // may raise it further, bin/cli/replay-raw.ts).
    version: Math.max(events.length, (existing?.version ?? 0) + 1),
    fieldSources: sources,
    firstOccurredAt,
    createdAt: existing?.createdAt ?? input.now,
    updatedAt: input.now,
    // From callAt, so it is the same whatever order the deliveries arrive in; off, an existing value stays.
    expiresAt:
      input.itemTtlDays === undefined ? existing?.expiresAt : expiresAtOf(callAt ?? existing?.createdAt ?? input.now, input.itemTtlDays),
  });
  return { record, changed: true };
}

/** Epoch seconds `days` after the ISO time `at`: the DynamoDB TTL attribute's format. */
export function expiresAtOf(at: string, days: number): number {
  return Math.floor(Date.parse(at) / 1000) + days * 86_400;
}

/** The media of `event` to download: every ref whose media is not already stored on the item (once per kind and URL). */
export function mediaToQueue(record: CallRecord | undefined, event: NormalisedEvent): MediaRef[] {
  const seen = new Set<string>();
  return event.media.filter((ref) => {
    const id = `${ref.media} ${ref.url}`;
    if (record?.[ref.media]?.state === 'stored' || seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/**
 * A total order on deliveries, as a string that sorts like the tuple (event rank, occurredAt, deliveryKey):
 * summaries of the finished call first, then lifecycle events by the state they report, then the later
 * event; the delivery key breaks the remaining ties so two deliveries never compare equal.
 */
function precedenceOf(event: NormalisedEvent, key: string): string {
  const rank = SUMMARY_KINDS.has(event.kind) ? SUMMARY_RANK : STATUS_RANK[event.fields.status ?? 'unknown'];
  const ms = Date.parse(event.occurredAt);
  const at = Number.isFinite(ms) ? new Date(ms).toISOString() : '';
  return `${rank}|${at}|${key}`;
}

function higherStatus(a: CallStatus | undefined, b: CallStatus | undefined): CallStatus {
  const x = a ?? 'unknown';
  const y = b ?? 'unknown';
  return STATUS_RANK[y] > STATUS_RANK[x] ? y : x;
}

/** Instants compare by time; equal instants written differently fall back to text so the pick is still symmetric. */
function compareTimes(a: string, b: string, unparseable: number): number {
  const x = Date.parse(a);
  const y = Date.parse(b);
  const dx = Number.isFinite(x) ? x : unparseable;
  const dy = Number.isFinite(y) ? y : unparseable;
  return dx !== dy ? dx - dy : a < b ? -1 : a > b ? 1 : 0;
}

function earliest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return compareTimes(a, b, Infinity) <= 0 ? a : b;
}

function latest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return compareTimes(a, b, -Infinity) >= 0 ? a : b;
}

function largest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

/** `YYYY-MM-DD` (UTC) of an ISO instant. */
function dayOf(iso: string): string | undefined {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : undefined;
}

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}
