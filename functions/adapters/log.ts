/** The log port the workers write to: message plus fields, never bodies, tokens, phone numbers or full URLs. */
import type { Logger } from '@aws-lambda-powertools/logger';

export interface Log {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A Powertools logger behind the Log port (structured JSON in CloudWatch). */
export function powertoolsLog(logger: Logger): Log {
  return {
    info: (message, fields) => logger.info(message, fields ?? {}),
    warn: (message, fields) => logger.warn(message, fields ?? {}),
    error: (message, fields) => logger.error(message, fields ?? {}),
  };
}
