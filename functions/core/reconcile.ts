/**
 * Reconciliation with Hipcall, the pure part: reading Hipcall's calls list leniently, the gap rule
 * (which calls the archive lacks, and which lack a stored recording), turning a call from the API into
 * the webhook delivery the ingest's adapter and merge already understand, and the summary.
 *
 * Why: Hipcall never retries a delivery it failed to send, so only asking its API closes the gap.
 */
import type { CallRecord, MediaInfo } from './types.ts';

/** The delivery label a backfilled call carries in its `events` history (and its raw/ key). */
export const RECONCILE_EVENT = 'reconcile';

/** Page size of `GET /calls` (Hipcall allows 1-100). */
export const HIPCALL_PAGE_LIMIT = 100;

/** Whether Hipcall says the call has a recording: `unknown` when the list item does not say. */
export type RecordingHint = 'yes' | 'no' | 'unknown';

/** One call of Hipcall's list, as much as reconciliation needs. */
export interface ListedCall {
  uuid: string;
  startedAt?: string;
  recording: RecordingHint;
  /** The item as the API sent it. */
  raw: Record<string, unknown>;
}

export interface ReconcileWindow {
  /** ISO-8601 UTC, inclusive. */
  since: string;
  /** ISO-8601 UTC, inclusive. */
  until: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/**
 * The call objects of one `GET /calls` answer. The envelope is not documented: a bare array, a Laravel
 * style `{data: [...]}`, or `{data: {calls: [...]}}` / `{calls: [...]}` are all accepted; anything else is none.
 */
export function callsOfPage(answer: unknown): unknown[] {
  if (Array.isArray(answer)) return answer;
  if (!isObject(answer)) return [];
  const data = answer.data;
  if (Array.isArray(data)) return data;
  if (isObject(data) && Array.isArray(data.calls)) return data.calls;
  if (Array.isArray(answer.calls)) return answer.calls;
  return [];
}

/** The call object of a `GET /calls/{uuid}` answer: under `data.call`, under `data`, or at the top level. */
export function callOfAnswer(answer: unknown): Record<string, unknown> | undefined {
  for (const c of [
    isObject(answer) && isObject(answer.data) ? answer.data.call : undefined,
    isObject(answer) ? answer.data : undefined,
    answer,
  ]) {
    if (isObject(c) && (typeof c.uuid === 'string' || typeof c.record_url === 'string')) return c;
  }
  return undefined;
}

/** An ISO-8601 UTC time from what Hipcall sends (ISO text, `YYYY-MM-DD HH:MM:SS`, or epoch seconds), else undefined. */
export function isoTime(v: unknown): string | undefined {
  let ms: number;
  if (typeof v === 'number' && Number.isFinite(v)) ms = v > 1e12 ? v : v * 1000;
  else if (typeof v === 'string' && v.trim()) {
    const text = v.trim();
    // A space-separated time without a zone is UTC in Hipcall's API (as its webhooks' `Z` times are).
    ms = Date.parse(
      /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}/.test(text) && !/(Z|[+-]\d{2}:?\d{2})$/.test(text) ? `${text.replace(' ', 'T')}Z` : text,
    );
  } else return undefined;
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

const RECORDING_FLAGS = ['has_record', 'has_recording', 'recorded'] as const;

/** Read one list item leniently; undefined when it has no usable `uuid` (it cannot be reconciled). */
export function listedCallOf(raw: unknown): ListedCall | undefined {
  if (!isObject(raw)) return undefined;
  const uuid = typeof raw.uuid === 'string' ? raw.uuid.trim() : typeof raw.uuid === 'number' ? String(raw.uuid) : '';
  if (!uuid) return undefined;
  let recording: RecordingHint = 'unknown';
  if ('record_url' in raw) recording = typeof raw.record_url === 'string' && raw.record_url.trim() ? 'yes' : 'no';
  for (const flag of RECORDING_FLAGS) if (recording === 'unknown' && typeof raw[flag] === 'boolean') recording = raw[flag] ? 'yes' : 'no';
  const startedAt = isoTime(raw.started_at);
  return { uuid, recording, raw, ...(startedAt ? { startedAt } : {}) };
}

/** True when the call started inside the window, or says nothing about when (kept: better one lookup too many). */
export function inWindow(call: ListedCall, window: ReconcileWindow): boolean {
  if (!call.startedAt) return true;
  return call.startedAt >= window.since && call.startedAt <= window.until;
}

/** What the archive lacks of one call: the whole record, or only its recording. */
export type Gap = 'missing' | 'recording';

/** A `queued` recording younger than this is still on its way (the media worker retries for hours): not a gap. */
export const RECORDING_IN_FLIGHT_MS = 60 * 60 * 1000;

/**
 * The gap rule. A call is `missing` when the archive has no item for it. It lacks its recording when
 * Hipcall says it has one (or does not say, and the item expects one) and the item's recording is not
 * `stored`, unless a job for it was queued within the last hour. A call another source owns is not ours.
 */
export function gapOf(
  call: ListedCall,
  archived: Pick<CallRecord, 'source' | 'recording'> | undefined,
  ctx: { sourceId: string; nowMs: number },
): Gap | undefined {
  if (!archived) return 'missing';
  if (archived.source !== undefined && archived.source !== ctx.sourceId) return undefined;
  const recording: MediaInfo | undefined = archived.recording;
  if (recording?.state === 'stored') return undefined;
  const expected = call.recording === 'yes' || (call.recording === 'unknown' && recording !== undefined);
  if (!expected) return undefined;
  if (recording?.state === 'queued' && recording.queuedAt && ctx.nowMs - Date.parse(recording.queuedAt) < RECORDING_IN_FLIGHT_MS)
    return undefined;
  return 'recording';
}

// Hipcall's REST API uses integer enums where its webhooks use strings (seeds/README.md).
const DIRECTION: Record<string, string> = { '1': 'inbound', '2': 'outbound', '3': 'internal' };
const HANGUP_BY: Record<string, string> = { '1': 'user', '2': 'contact', '3': 'system' };
const CALLER_TYPE: Record<string, string> = { '1': 'contact', '2': 'user' };
const CALLEE_TYPE: Record<string, string> = { '1': 'contact', '2': 'user', '3': 'greeting', '4': 'team' };
const MISSING_REASON: Record<string, string> = { '1': 'out_of_business_hours', '2': 'short_abandoned', '3': 'abandoned', '4': 'callback' };
const VOICEMAIL_TYPE: Record<string, string> = { '1': 'user', '2': 'account' };
const ENUMS: Record<string, Record<string, string>> = {
  direction: DIRECTION,
  hangup_by: HANGUP_BY,
  caller_type: CALLER_TYPE,
  callee_type: CALLEE_TYPE,
  missing_call_reason: MISSING_REASON,
  voicemail_type: VOICEMAIL_TYPE,
};
const TIMES = ['started_at', 'answered_at', 'bridged_at', 'ended_at'] as const;
/** Short-lived pre-signed links: left out of the delivery so it hashes the same on every run; the media job carries a fresh one. */
const LINKS = ['record_url', 'voicemail_url'] as const;

/** JSON with object keys sorted, so the same call always hashes to the same delivery key. */
export function stableJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (!isObject(v)) return v;
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sort(v[k])]),
    );
  };
  return JSON.stringify(sort(value));
}

/**
 * The Hipcall webhook body a call from the API stands for: a `call_hangup` (the call is over, it is in
 * the list), integer enums turned into the webhooks' strings, times in ISO form, media links left out.
 * The ingest's Hipcall adapter then reads it exactly as it reads a webhook.
 */
export function deliveryOfApiCall(call: Record<string, unknown>): { event: 'call_hangup'; data: Record<string, unknown> } {
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(call)) {
    if ((LINKS as readonly string[]).includes(key)) continue;
    const names = ENUMS[key];
    if (names && (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value))))
      data[key] = names[String(value)] ?? value;
    else if ((TIMES as readonly string[]).includes(key)) data[key] = isoTime(value) ?? value;
    else data[key] = value;
  }
  return { event: 'call_hangup', data };
}

/** The fresh recording link of a `GET /calls/{uuid}` call, if it has one. */
export function recordingUrlOf(call: Record<string, unknown> | undefined): string | undefined {
  const v = call?.record_url;
  return typeof v === 'string' && v.trim() ? v.trim() : undefined;
}

/** A call that could not be reconciled this run, and why (never a number or a URL). */
export interface ReconcileError {
  callId: string;
  message: string;
}

/** What one run found and did. */
export interface ReconcileSummary {
  source: string;
  since: string;
  until: string;
  dryRun: boolean;
  /** Calls Hipcall listed in the window. */
  seen: number;
  /** Calls the archive already had. */
  present: number;
  /** Calls the archive lacked ... */
  missing: number;
  /** ... and how many of them were written (0 on a dry run). */
  backfilled: number;
  /** Archived calls whose recording was not stored ... */
  recordingsMissing: number;
  /** ... and recording jobs sent, the backfilled calls' included (0 on a dry run). */
  recordingsQueued: number;
  errors: number;
  callIds: { missing: string[]; recordingsMissing: string[]; errors: ReconcileError[] };
}

export function emptySummary(source: string, window: ReconcileWindow, dryRun: boolean): ReconcileSummary {
  return {
    source,
    since: window.since,
    until: window.until,
    dryRun,
    seen: 0,
    present: 0,
    missing: 0,
    backfilled: 0,
    recordingsMissing: 0,
    recordingsQueued: 0,
    errors: 0,
    callIds: { missing: [], recordingsMissing: [], errors: [] },
  };
}

/** True when the run changed nothing in the archive (nothing missing, nothing queued, no error). */
export const changedNothing = (s: ReconcileSummary): boolean => s.backfilled === 0 && s.recordingsQueued === 0;

/** The summary as a few lines for a person. */
export function summaryLines(s: ReconcileSummary): string[] {
  const would = s.dryRun ? ' (dry run: nothing written)' : '';
  const lines = [
    `Reconciled source "${s.source}" with Hipcall, calls started ${s.since} .. ${s.until}${would}`,
    `  seen ${s.seen}, present ${s.present}`,
    `  missing ${s.missing}${s.dryRun ? '' : ` → backfilled ${s.backfilled}`}`,
    `  recordings missing ${s.recordingsMissing} (the missing calls' included)${s.dryRun ? '' : ` → queued ${s.recordingsQueued}`}`,
    `  errors ${s.errors}`,
  ];
  for (const e of s.callIds.errors.slice(0, 20)) lines.push(`    ${e.callId}: ${e.message}`);
  if (s.callIds.errors.length > 20) lines.push(`    ... and ${s.callIds.errors.length - 20} more (--json lists them all)`);
  return lines;
}

/** Backoff before attempt `attempt + 1` (0-based): Retry-After when the API sent one (capped), else doubling from `baseMs`. */
export function backoffMs(attempt: number, retryAfter: number | undefined, policy: { baseMs: number; maxMs: number }): number {
  if (retryAfter !== undefined) return Math.min(policy.maxMs, Math.max(0, retryAfter));
  return Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
}
