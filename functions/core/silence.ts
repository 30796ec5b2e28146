/**
 * Silence detection: has a source gone quiet during its working hours? Hipcall never retries and
 * silently stops sending to an integration it marks "Broken", so a quiet source may be a broken one.
 *
 * The rule: a source is silent at `now` when it has delivered nothing in the last N minutes AND every
 * minute of those N minutes lies inside its working window. The second half is what keeps a quiet
 * night or weekend from alarming, and also the first N minutes after opening: last night's quiet is
 * not evidence that something broke this morning. Working time is read in the source's IANA zone
 * through Intl, so a DST change moves the window with the wall clock.
 */
import { ValidationError } from './errors.ts';
import { METRIC, type MetricName } from './metrics.ts';

/** The config block as the user writes it, e.g. `{minutes: 60, days: "Mon-Fri", hours: "08:00-18:00", timeZone: "Europe/Istanbul"}`. */
export interface SilenceConfig {
  minutes: number;
  days: string;
  hours: string;
  timeZone: string;
}

/** A parsed working window. */
export interface SilenceSchedule {
  minutes: number;
  /** Working days, 0 = Sunday … 6 = Saturday (a window crossing midnight belongs to the day it opens). */
  days: ReadonlySet<number>;
  /** Opening and closing, minutes after local midnight; `close <= open` crosses midnight, `close` may be 1440. */
  open: number;
  close: number;
  timeZone: string;
}

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

function dayIndex(name: string, spec: string): number {
  const i = (DAY_NAMES as readonly string[]).indexOf(name.trim().slice(0, 3).toLowerCase());
  if (i < 0 || name.trim().length < 3)
    throw new ValidationError(
      `days "${spec}": "${name.trim()}" is not a day; write days as Mon, Tue, Wed, Thu, Fri, Sat, Sun, in ranges or lists such as "Mon-Fri" or "Mon,Wed,Sat"`,
    );
  return i;
}

/** Days such as `Mon-Fri`, `Mon,Wed,Sat`, `Mon-Fri,Sun` or `Fri-Mon` (a range may wrap past Sunday). */
export function parseDays(spec: string): ReadonlySet<number> {
  const days = new Set<number>();
  const parts = spec.split(',').map((p) => p.trim());
  if (parts.some((p) => !p)) throw new ValidationError(`days "${spec}": empty entry; write days such as "Mon-Fri" or "Mon,Wed,Sat"`);
  for (const part of parts) {
    const [from, to, extra] = part.split('-');
    if (extra !== undefined) throw new ValidationError(`days "${spec}": "${part}" has more than one "-"; write a range as "Mon-Fri"`);
    const a = dayIndex(from!, spec);
    const b = to === undefined ? a : dayIndex(to, spec);
    for (let d = a; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === b) break;
    }
  }
  return days;
}

function minuteOfDay(hhmm: string, spec: string, allow24: boolean): number {
  const m = /^(\d{2}):(\d{2})$/.exec(hhmm.trim());
  const h = m ? Number(m[1]) : NaN;
  const min = m ? Number(m[2]) : NaN;
  const ok = m && min < 60 && (h < 24 || (allow24 && h === 24 && min === 0));
  if (!ok)
    throw new ValidationError(
      `hours "${spec}": "${hhmm.trim()}" is not a time; write hours as "HH:MM-HH:MM" in 24-hour time, such as "08:00-18:00" or "22:00-06:00"`,
    );
  return h * 60 + min;
}

/** Hours `HH:MM-HH:MM`; `22:00-06:00` crosses midnight, `00:00-24:00` is the whole day. */
export function parseHours(spec: string): { open: number; close: number } {
  const parts = spec.split('-');
  if (parts.length !== 2) throw new ValidationError(`hours "${spec}": write hours as "HH:MM-HH:MM", such as "08:00-18:00"`);
  const open = minuteOfDay(parts[0]!, spec, false);
  const close = minuteOfDay(parts[1]!, spec, true);
  if (open === close)
    throw new ValidationError(`hours "${spec}": opens and closes at the same time; for the whole day write "00:00-24:00"`);
  return { open, close };
}

/** True when `zone` is an IANA time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The schedule from a config block; ValidationError naming the bad part. */
export function silenceScheduleOf(config: SilenceConfig): SilenceSchedule {
  if (!isTimeZone(config.timeZone))
    throw new ValidationError(
      `timeZone "${config.timeZone}" is not an IANA time zone; write one such as "Europe/Istanbul" or "America/New_York"`,
    );
  return { minutes: config.minutes, days: parseDays(config.days), ...parseHours(config.hours), timeZone: config.timeZone };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Local weekday and minute of the day of `ms` in `zone`. */
function localTime(ms: number, zone: string): { day: number; minute: number } {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(zone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(ms).map((p) => [p.type, p.value]));
  return {
    day: DAY_NAMES.indexOf(String(parts.weekday).toLowerCase() as (typeof DAY_NAMES)[number]),
    minute: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

/** Whether the instant `ms` is inside the working window. */
export function isWorkingTime(ms: number, schedule: SilenceSchedule): boolean {
  const { day, minute } = localTime(ms, schedule.timeZone);
  const { open, close, days } = schedule;
  if (open < close) return days.has(day) && minute >= open && minute < close;
  // Crosses midnight: the evening part is today's window, the early-morning part yesterday's.
  return (days.has(day) && minute >= open) || (days.has((day + 6) % 7) && minute < close);
}

const MINUTE_MS = 60_000;

/**
 * Whether the source is silent at `now`: no delivery in the last `minutes`, and all of those minutes
 * inside the working window (checked minute by minute, so a DST jump or a closing in between counts).
 * `lastDeliveryAt` undefined: none known (none within the lookback at least).
 */
export function isSilent({
  now,
  lastDeliveryAt,
  schedule,
}: {
  now: Date;
  lastDeliveryAt: Date | undefined;
  schedule: SilenceSchedule;
}): boolean {
  const nowMs = now.getTime();
  const sinceMs = nowMs - schedule.minutes * MINUTE_MS;
  if (lastDeliveryAt && lastDeliveryAt.getTime() > sinceMs) return false;
  for (let t = nowMs; t >= sinceMs; t -= MINUTE_MS) if (!isWorkingTime(t, schedule)) return false;
  return true;
}

/**
 * Every metric that means "the source delivered something": a valid delivery, whatever became of it.
 * Refused ones are left out on purpose: a flood of wrong-token requests is not a working integration.
 */
export const DELIVERY_METRICS: readonly MetricName[] = [
  METRIC.deliveryStored,
  METRIC.deliveryDuplicate,
  METRIC.deliveryArchived,
  METRIC.deliveryIgnored,
];
