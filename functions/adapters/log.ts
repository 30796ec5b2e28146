/** The Log port over Powertools: message plus fields, never bodies, tokens, phone numbers or full URLs. */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Log } from '#core/ports.ts';

export type { Log } from '#core/ports.ts';

/** The Log port, plus the Powertools logger behind it (the handler's middleware adds the Lambda context to it). */
export interface PowertoolsLog extends Log {
  readonly logger: Logger;
}

type LogLevel = NonNullable<ConstructorParameters<typeof Logger>[0]>['logLevel'];

/** A Powertools logger behind the Log port (structured JSON in CloudWatch). */
export function powertoolsLog(serviceName: string, logLevel?: LogLevel): PowertoolsLog {
  const logger = new Logger({ serviceName, ...(logLevel ? { logLevel } : {}) });
  return {
    logger,
    info: (message, fields) => logger.info(message, fields ?? {}),
    warn: (message, fields) => logger.warn(message, fields ?? {}),
    error: (message, fields) => logger.error(message, fields ?? {}),
  };
}
