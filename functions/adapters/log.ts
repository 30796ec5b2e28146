/** The Log port over Powertools: message plus fields, never bodies, tokens, phone numbers or full URLs. */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Log } from '#core/ports/log.ts';

type LogLevel = NonNullable<ConstructorParameters<typeof Logger>[0]>['logLevel'];

/**
 * A Powertools logger (structured JSON in CloudWatch; the handler's middleware adds the Lambda context to
 * it) and the Log port the process writes through.
 */
export function powertoolsLog(serviceName: string, logLevel?: LogLevel): { logger: Logger; log: Log } {
  const logger = new Logger({ serviceName, ...(logLevel ? { logLevel } : {}) });
  return { logger, log: powertoolsPort(logger) };
}

function powertoolsPort(logger: Logger): Log {
  return {
    info: (message, fields) => logger.info(message, fields ?? {}),
    warn: (message, fields) => logger.warn(message, fields ?? {}),
    error: (message, fields) => logger.error(message, fields ?? {}),
  };
}
