/**
 * The CLI front every command parses through: the same options on every command (`--json`, `--help`),
 * the same words for a mistake, and the same exit code for it (2, with the command's usage). A value
 * check that fails is a mistake too, so the checks for days, times and numbers live here.
 */
import { parseArgs, type ParseArgsOptionDescriptor } from 'node:util';
import { CliError } from './local-endpoints.ts';

/** A mistake in how the command was called: printed with the command's usage, exit code 2. */
export class UsageError extends CliError {
  override readonly name: string = 'UsageError';
  readonly usage: string | undefined;
  constructor(message: string, usage: string | undefined = activeUsage) {
    super(message);
    this.usage = usage;
  }
}

/** The usage of the command being parsed: a value check after parsing reports with it. */
let activeUsage: string | undefined;

/** Options every command takes. */
const EVERY_COMMAND = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The options of commands that read an archive, local or deployed. */
export const TARGET_OPTIONS = {
  local: { type: 'boolean', default: false },
  stack: { type: 'string', default: 'CallVault' },
  region: { type: 'string' },
} as const;

type Options = Record<string, ParseArgsOptionDescriptor>;

/** What a mistake in parseArgs' words becomes in ours. */
function plainMessage(err: Error & { code?: string }): string {
  const option = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `Unknown option ${option ?? ''}.`.replace(' .', '.');
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `Unexpected argument "${/'([^']*)'/.exec(err.message)?.[1] ?? ''}": this command takes options only.`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(err.message)
        ? `Option ${option ?? ''} needs a value.`
        : `Option ${option ?? ''} takes no value (it is a switch).`;
    default:
      return err.message;
  }
}

/**
 * Parse `argv` for a command with `usage` and its own `options` (plus `--json` and `--help`).
 * Any mistake throws a UsageError carrying the usage.
 */
export function parseCommand<const O extends Options>(argv: string[], usage: string, options: O, opts: { positionals?: boolean } = {}) {
  activeUsage = usage;
  try {
    return parseArgs({ args: argv, options: { ...EVERY_COMMAND, ...options }, allowPositionals: opts.positionals ?? false, strict: true });
  } catch (err) {
    throw new UsageError(plainMessage(err as Error), usage);
  }
}

/** A whole number flag within [min, max]. */
export function wholeNumber(flag: string, value: string, range: { min: number; max?: number }): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(n) || n < range.min || n > max)
    throw new UsageError(
      `${flag} must be a whole number${range.max === undefined ? ` of at least ${range.min}` : ` from ${range.min} to ${range.max}`}, not "${value}".`,
    );
  return n;
}

/** Today (UTC) as `YYYY-MM-DD`. */
export const today = (now = new Date()): string => now.toISOString().slice(0, 10);

/** True when `day` (`YYYY-MM-DD`) is a day of the calendar (2026-02-30 and 2026-13-01 are not). */
function realDay(day: string): boolean {
  const t = /^\d{4}-\d{2}-\d{2}$/.test(day) ? Date.parse(`${day}T00:00:00Z`) : NaN;
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === day;
}

/** A `YYYY-MM-DD` flag, checked to be a real day. */
export function dayFlag(flag: string, value: string | undefined): string {
  if (value === undefined) throw new UsageError(`${flag} is required (a day such as ${today()}).`);
  if (!realDay(value)) throw new UsageError(`${flag} must be a day such as ${today()}, not "${value}".`);
  return value;
}

/**
 * An ISO-8601 time or a day, as ISO-8601 UTC (`2026-04-02T09:00:00.000Z`). A bare day is its first
 * millisecond, or its last with `endOfDay`. Impossible dates and times are refused, not rolled over.
 */
export function timeFlag(flag: string, value: string, opts: { endOfDay?: boolean } = {}): string {
  const day = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const time = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.exec(value);
  let t = NaN;
  if (day) {
    dayFlag(flag, value);
    t = Date.parse(`${value}T${opts.endOfDay ? '23:59:59.999' : '00:00:00.000'}Z`);
  } else if (time) {
    const [, d, h, m, s] = time;
    const valid = realDay(d!) && Number(h) < 24 && Number(m) < 60 && Number(s ?? 0) < 60;
    if (valid) t = Date.parse(value);
  }
  if (Number.isNaN(t))
    throw new UsageError(`${flag} must be an ISO-8601 UTC time such as ${today()}T09:00:00Z or a day such as ${today()}, not "${value}".`);
  return new Date(t).toISOString();
}

/** One of `choices`. */
export function choiceFlag<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value))
    throw new UsageError(`${flag} must be ${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}, not "${value}".`);
  return value as T;
}
