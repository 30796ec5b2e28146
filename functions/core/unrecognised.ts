/**
 * A delivery that identified a call but carried nothing else CallVault could read (a provider that
 * renamed its fields, a test ping, a misrouted source) is still stored, but the sender is told so.
 */
import type { CallFields, NormalisedEvent } from './types.ts';

/** The call fields a delivery is expected to carry at least one of: numbers, times, status, direction. */
const CALL_FIELDS: (keyof CallFields)[] = [
  'fromNumber',
  'toNumber',
  'customerNumber',
  'customerNumberAsSent',
  'startedAt',
  'answeredAt',
  'endedAt',
  'durationSec',
];

/** True when at least one call field was read (`unknown`, what an adapter writes when it found nothing, does not count). */
const recognised = (f: CallFields) =>
  CALL_FIELDS.some((name) => f[name] !== undefined) ||
  (f.status !== undefined && f.status !== 'unknown') ||
  (f.direction !== undefined && f.direction !== 'unknown');

/** One warning per event none of whose call fields (numbers, times, status, direction) were recognised; empty when all were read. */
export function unrecognisedWarnings(events: readonly NormalisedEvent[]): string[] {
  return events
    .filter((e) => !recognised(e.fields))
    .map(
      (e) =>
        `No call fields were recognised in this ${e.provider} ${e.kind} delivery (no numbers, times, status or direction): it was stored under its call id only. Check that the provider sends the documented payload (callvault deliveries show, or the console, shows what arrived).`,
    );
}
