/** The Log port: structured log lines (adapter: adapters/log.ts, Powertools Logger). */

/** Structured log lines: a message plus fields, never bodies, tokens, phone numbers or full URLs. */
export interface Log {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}
