/**
 * The reconcile function's handler: an EventBridge schedule per source (`{"reconcileSource": id}`) →
 * one call into process.ts → the run's summary (counts and call ids, never numbers or URLs).
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Logger } from '@aws-lambda-powertools/logger';
import { flushMetrics, type EmfMetrics } from '#adapters/metrics.ts';
import type { ReconcileSummary } from '#core/reconcile.ts';
import { reconcileScheduled, type ReconcileDeps } from './process.ts';

/** What the schedule sends: the source to reconcile (absent: every source with reconcile config). */
export interface ReconcileEvent {
  reconcileSource?: string;
}

/** What the composition root (deps.ts) builds. */
export interface ReconcileWiring {
  deps: ReconcileDeps;
  logger: Logger;
  /** Flushed after every invocation (ReconcileFailed per source). */
  metrics: Pick<EmfMetrics, 'flush'>;
  /** Releases the Hipcall API connections (the CLI and tests; Lambda keeps them for the next run). */
  close(): Promise<void>;
}

export function createReconcileHandler({ deps, logger, metrics }: Pick<ReconcileWiring, 'deps' | 'logger' | 'metrics'>) {
  return middy<ReconcileEvent, { sources: ReconcileSummary[] }>()
    .use(injectLambdaContext(logger))
    .use(flushMetrics(metrics))
    .handler(async (event) => ({
      sources: await reconcileScheduled(deps, typeof event?.reconcileSource === 'string' ? event.reconcileSource : undefined),
    }));
}
