/**
 * CallHippo webhooks, three body shapes on one URL:
 * - call activity (`activityType: "call"`): the call log written after the call, id `callSid`;
 * - SMS activity (`activityType: "sms"` or `"SMS"`): no id at all (see smsIdOf);
 * - call status notification (no `activityType`; `callSid`, `dateTime`, `status`): one per state change.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { normalisePhone } from '#core/phone.ts';
import type { AdapterContext, AdapterResult, CallFields, CallStatus, Direction, NormalisedEvent } from '#core/types.ts';
import { ValidationError } from '#core/errors.ts';
import { compact, identity, isoFromMs, lenient, mediaOf, parseDelivery, toIsoTime } from './lenient.ts';

const shapeSchema = z.object(
  { activityType: lenient.text, callSid: z.optional(z.unknown()), dateTime: z.optional(z.unknown()) },
  { error: 'CallHippo delivery must be a JSON object (a call activity, an SMS activity or a call status notification)' },
);

/** Call activity: strict on `callSid`. */
export const callActivitySchema = z.object({
  callSid: identity("CallHippo call activity has no callSid: every call log must carry the call's callSid", 'CallHippo callSid'),
  from: lenient.text,
  to: lenient.text,
  callType: lenient.text,
  status: lenient.text,
  duration: lenient.seconds,
  ringAnswerDuration: lenient.seconds,
  time: lenient.time,
  startTime: lenient.time,
  endTime: lenient.time,
  email: lenient.text,
  callerName: lenient.text,
  hangupBy: lenient.text,
  recordingUrl: lenient.mediaLink,
});

const SMS_TIME_MESSAGE = 'CallHippo SMS activity has no "time": an SMS has no id, so CallVault identifies it by from, to, time and smsType';

/** SMS activity: identified by its content (from, to, time, smsType), so `time` and a number are required. */
export const smsActivitySchema = z.object({
  from: lenient.text,
  to: lenient.text,
  time: identity(SMS_TIME_MESSAGE, 'CallHippo SMS time'),
  smsType: lenient.text,
  status: lenient.text,
  email: lenient.text,
  smsSendBy: lenient.text,
});

/** Call status notification: strict on `callSid`. */
export const callStatusSchema = z.object({
  callSid: identity(
    "CallHippo call status notification has no callSid: every status notification must carry the call's callSid",
    'CallHippo callSid',
  ),
  fromNumber: lenient.text,
  toNumber: lenient.text,
  callType: lenient.text,
  status: lenient.text,
  dateTime: lenient.time,
  agentEmail: lenient.text,
  agentId: lenient.text,
});

// Maps, not object literals: a provider value such as "constructor" must not find Object.prototype members.
const DIRECTIONS = new Map<string, Direction>([
  ['incoming', 'inbound'],
  ['inbound', 'inbound'],
  ['outgoing', 'outbound'],
  ['outbound', 'outbound'],
]);

/**
 * Call log statuses (Completed, Missed, Rejected, Voicemail, Welcome message, IVR message, Unavailable,
 * Cancelled, No Answer) and status notification states, keyed lower-case with single spaces.
 * Everything that ended without an agent talking to the other party is `missed`.
 */
const STATUS_NAMES: [CallStatus, string[]][] = [
  ['ringing', ['initiated', 'queued', 'ringing']],
  ['answered', ['answered', 'in progress', 'connected']],
  ['completed', ['completed']],
  [
    'missed',
    ['missed', 'rejected', 'voicemail', 'welcome message', 'ivr message', 'unavailable', 'cancelled', 'canceled', 'no answer', 'busy'],
  ],
  ['failed', ['failed']],
];
const STATUSES = new Map(STATUS_NAMES.flatMap(([status, names]) => names.map((name) => [name, status] as const)));

/** Normalise one CallHippo delivery. */
export function normalise(body: unknown, ctx: AdapterContext): AdapterResult {
  const { activityType, callSid, dateTime } = parseDelivery(shapeSchema, body);
  const activity = activityType?.toLowerCase();
  if (activity === 'call') return events('call_activity', callActivity(body, ctx));
  if (activity === 'sms') return events('sms_activity', smsActivity(body, ctx));
  if (activity !== undefined) {
    const eventType = `${activity.replace(/[^a-z0-9]+/g, '_').slice(0, 40)}_activity`;
    return { outcome: 'archived', eventType, reason: `CallHippo activityType "${activityType}" is not a call or SMS` };
  }
  // A status notification is recognised by its keys, so one with a blank callSid is refused as such.
  if (callSid === undefined && dateTime === undefined) {
    throw new ValidationError(
      'CallHippo delivery has no activityType and no callSid: expected a call activity ("activityType": "call"), an SMS activity ("activityType": "sms") or a call status notification ("callSid", "dateTime", "status")',
    );
  }
  return events('call_status', callStatus(body, ctx));
}

function events(eventType: string, event: NormalisedEvent): AdapterResult {
  return { outcome: 'events', eventType, events: [event] };
}

function callActivity(body: unknown, ctx: AdapterContext): NormalisedEvent {
  const log = parseDelivery(callActivitySchema, body);
  const status = statusOf(log.status);
  const startedAt = log.startTime ?? log.time;
  // The log has no answer time; CallHippo's ringAnswerDuration is the ring time before the answer.
  const answeredAt =
    status === 'completed' && startedAt && log.ringAnswerDuration !== undefined
      ? isoFromMs(Date.parse(startedAt) + log.ringAnswerDuration * 1000)
      : undefined;
  return {
    provider: 'callhippo',
    callId: log.callSid,
    kind: 'call_activity',
    occurredAt: log.time ?? log.endTime ?? ctx.receivedAt,
    fields: compact({
      ...parties('call', log.callType, log.from, log.to, ctx),
      status,
      startedAt,
      answeredAt,
      endedAt: log.endTime,
      durationSec: log.duration,
      hangupBy: log.hangupBy,
      agent: agentOf({ email: log.email, name: log.callerName }),
    }),
    ...mediaOf([['recording', log.recordingUrl]]),
  };
}

function smsActivity(body: unknown, ctx: AdapterContext): NormalisedEvent {
  const sms = parseDelivery(smsActivitySchema, body);
  if (sms.from === undefined && sms.to === undefined) {
    throw new ValidationError(
      'CallHippo SMS activity has neither "from" nor "to": an SMS has no id, so CallVault identifies it by from, to, time and smsType',
    );
  }
  const time = toIsoTime(sms.time);
  return {
    provider: 'callhippo',
    callId: smsIdOf(sms),
    kind: 'sms_activity',
    occurredAt: time ?? ctx.receivedAt,
    fields: compact({
      ...parties('sms', sms.smsType, sms.from, sms.to, ctx),
      status: statusOf(sms.status),
      startedAt: time,
      agent: agentOf({ email: sms.email, name: sms.smsSendBy }),
    }),
    media: [],
  };
}

function callStatus(body: unknown, ctx: AdapterContext): NormalisedEvent {
  const note = parseDelivery(callStatusSchema, body);
  const status = statusOf(note.status);
  // A notification's time is when the call entered its state: the start, the answer or the end.
  const at = note.dateTime;
  return {
    provider: 'callhippo',
    callId: note.callSid,
    kind: 'call_status',
    occurredAt: at ?? ctx.receivedAt,
    fields: compact({
      ...parties('call', note.callType, note.fromNumber, note.toNumber, ctx),
      status,
      startedAt: status === 'ringing' ? at : undefined,
      answeredAt: status === 'answered' ? at : undefined,
      endedAt: status === 'completed' || status === 'missed' || status === 'failed' ? at : undefined,
      agent: agentOf({ email: note.agentEmail, id: note.agentId }),
    }),
    media: [],
  };
}

/**
 * CallHippo sends no id for an SMS, so the id is a hash of the fields that identify one message
 * (from, to, time, smsType) exactly as sent: a repeated delivery maps to the same record, and the id
 * does not change with CallVault's phone or time parsing or its default-country setting.
 */
export function smsIdOf(sms: { from?: string | undefined; to?: string | undefined; time: string; smsType?: string | undefined }): string {
  const identifying = JSON.stringify([sms.from ?? '', sms.to ?? '', sms.time, sms.smsType ?? '']);
  return `sms-${createHash('sha256').update(identifying).digest('hex').slice(0, 32)}`;
}

function parties(
  kind: 'call' | 'sms',
  type: string | undefined,
  from: string | undefined,
  to: string | undefined,
  ctx: AdapterContext,
): CallFields {
  const direction = type ? DIRECTIONS.get(type.toLowerCase()) : undefined;
  const fromNumber = normalisePhone(from, ctx.defaultCountry);
  const toNumber = normalisePhone(to, ctx.defaultCountry);
  const customerNumber = direction === 'inbound' ? fromNumber : direction === 'outbound' ? toNumber : undefined;
  return compact({ kind, direction, fromNumber, toNumber, customerNumber });
}

function statusOf(raw: string | undefined): CallStatus | undefined {
  return raw === undefined ? undefined : STATUSES.get(raw.toLowerCase().replace(/[\s_-]+/g, ' '));
}

function agentOf(agent: CallFields['agent'] & object): CallFields['agent'] {
  const present = compact(agent);
  return Object.keys(present).length > 0 ? present : undefined;
}
