/**
 * The silence check's handler: an EventBridge schedule (every 5 minutes) → one call into process.ts →
 * the verdicts, with the SourceSilent metrics flushed as EMF by the chain's last middleware.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { ScheduledEvent } from 'aws-lambda';
import { flushMetrics, type EmfMetrics } from '#adapters/metrics.ts';
import { checkSilence, type SilenceDeps, type SourceVerdict } from './process.ts';

/** What the composition root (deps.ts) builds: the process's dependencies, and the logger behind their log. */
export interface SilenceWiring {
  deps: SilenceDeps;
  logger: Logger;
  /** Flushed after every invocation. */
  metrics: Pick<EmfMetrics, 'flush'>;
}

export function createSilenceHandler({ deps, logger, metrics }: SilenceWiring) {
  return middy<ScheduledEvent, { sources: SourceVerdict[] }>()
    .use(injectLambdaContext(logger))
    .use(flushMetrics(metrics))
    .handler(async () => ({ sources: await checkSilence(deps) }));
}
