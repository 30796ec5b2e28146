/**
 * Hipcall webhooks: `{event, data}`. Call events (`call_init`, `call_bridged`, `call_hangup`, any other
 * `call_*`) carry the call as `data` with its id in `data.uuid`; other events (task, deal, contact,
 * company) are not about a call: they are archived raw and acknowledged.
 */
import * as z from 'zod/mini';
import { normalisePhone } from '#core/phone.ts';
import type { AdapterContext, AdapterResult, CallFields, CallStatus, Direction } from '#core/types.ts';
import { compact, eventName, identity, lenient, mediaOf, parseDelivery } from './lenient.ts';

const EVENT_MESSAGE =
  'Hipcall delivery has no valid "event": every webhook body names its event type, e.g. {"event": "call_hangup", "data": {...}}';

const envelopeSchema = z.object(
  { event: eventName(EVENT_MESSAGE) },
  { error: 'Hipcall delivery must be a JSON object such as {"event": "call_hangup", "data": {...}}' },
);

const callFlowStepSchema = z.object({ action: lenient.text, timestamp: lenient.time });

/** A Hipcall call event: strict on `event` and `data.uuid`, lenient on the rest. */
export const hipcallCallSchema = z.object({
  event: eventName(EVENT_MESSAGE),
  data: z.object(
    {
      uuid: identity("Hipcall delivery has no data.uuid: every call event must carry the call's uuid", 'Hipcall data.uuid'),
      direction: lenient.text,
      caller_number: lenient.text,
      callee_number: lenient.text,
      started_at: lenient.time,
      answered_at: lenient.time,
      bridged_at: lenient.time,
      ended_at: lenient.time,
      call_duration: lenient.number,
      hangup_by: lenient.text,
      missing_call: lenient.boolean,
      user_id: lenient.text,
      record_url: lenient.mediaLink,
      voicemail_url: lenient.mediaLink,
      call_flow: lenient.list(callFlowStepSchema),
    },
    { error: 'Hipcall call event has no "data" object: the call (with its uuid) is expected in "data"' },
  ),
});
type HipcallCall = z.output<typeof hipcallCallSchema>['data'];

// A Map, not an object literal: a provider value such as "constructor" must not find Object.prototype members.
const DIRECTIONS = new Map<string, Direction>([
  ['inbound', 'inbound'],
  ['outbound', 'outbound'],
  ['internal', 'internal'],
]);

/** Normalise one Hipcall delivery. */
export function normalise(body: unknown, ctx: AdapterContext): AdapterResult {
  const { event } = parseDelivery(envelopeSchema, body);
  if (!event.startsWith('call_')) return { outcome: 'archived', eventType: event, reason: `Hipcall "${event}" is not a call event` };

  const { data } = parseDelivery(hipcallCallSchema, body);
  const direction = data.direction ? DIRECTIONS.get(data.direction.toLowerCase()) : undefined;
  const fromNumber = normalisePhone(data.caller_number, ctx.defaultCountry);
  const toNumber = normalisePhone(data.callee_number, ctx.defaultCountry);
  const answeredAt = [data.answered_at, data.bridged_at].filter((t) => t !== undefined).sort()[0];
  const fields: CallFields = compact({
    kind: 'call' as const,
    direction,
    fromNumber,
    toNumber,
    customerNumber: direction === 'inbound' ? fromNumber : direction === 'outbound' ? toNumber : undefined,
    status: statusOf(event, data, answeredAt !== undefined),
    startedAt: data.started_at,
    answeredAt,
    endedAt: data.ended_at,
    durationSec: data.call_duration !== undefined && data.call_duration >= 0 ? data.call_duration : undefined,
    hangupBy: data.hangup_by,
    agent: data.user_id ? { id: data.user_id } : undefined,
  });
  const media = mediaOf([
    ['recording', data.record_url],
    ['voicemail', data.voicemail_url],
  ]);

  return {
    outcome: 'events',
    eventType: event,
    events: [
      { provider: 'hipcall', callId: data.uuid, kind: event, occurredAt: occurredAt(event, data) ?? ctx.receivedAt, fields, ...media },
    ],
  };
}

/** The lifecycle state one event proves; undefined when it proves nothing. */
function statusOf(event: string, data: HipcallCall, answered: boolean): CallStatus | undefined {
  if (event === 'call_init') return 'ringing';
  if (event === 'call_hangup') {
    // An answer timestamp is the strongest evidence; a voicemail can have a duration but is a missed call.
    if (answered) return 'completed';
    if (data.missing_call === true) return 'missed';
    return (data.call_duration ?? 0) > 0 ? 'completed' : 'missed';
  }
  if (data.missing_call === true) return 'missed';
  return answered || event === 'call_bridged' ? 'answered' : undefined;
}

/** When the event happened: the latest call_flow step, else the event's own timestamp. */
function occurredAt(event: string, data: HipcallCall): string | undefined {
  const flow = (data.call_flow ?? [])
    .map((step) => step.timestamp)
    .filter((t) => t !== undefined)
    .sort();
  const own = event === 'call_hangup' ? data.ended_at : event === 'call_init' ? data.started_at : (data.bridged_at ?? data.answered_at);
  return flow.at(-1) ?? own;
}
