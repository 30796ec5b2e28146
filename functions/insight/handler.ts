/**
 * The insight worker's handler: SQS batches of insight jobs (Hipcall call_init) → Insight Cards, one call
 * into process.ts per record, records in parallel, failures reported per record (partial batch response).
 */
import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { redactNumbers } from '#core/insight.ts';
import type { Logger } from '@aws-lambda-powertools/logger';
import { flushMetrics, type EmfMetrics } from '#adapters/metrics.ts';
import { parseInsightJob, processInsightJob, type InsightDeps } from './process.ts';

/** What the composition root (deps.ts) builds: the process's dependencies, and the logger behind their log. */
export interface InsightWiring {
  deps: InsightDeps;
  logger: Logger;
  /** Flushed after every invocation, by the chain's last middleware. */
  metrics: Pick<EmfMetrics, 'flush'>;
}

/** Time kept before the function's timeout to record the outcome. */
const OUTCOME_MARGIN_MS = 2500;

/** One record; a failure is logged (without the body) and left to SQS to redeliver, then to the DLQ. */
async function processRecord(record: SQSRecord, context: Context, signal: AbortSignal, deps: InsightDeps) {
  try {
    return await processInsightJob(parseInsightJob(record.body), deps, {
      abortSignal: signal,
      deadlineMs: Date.now() + context.getRemainingTimeInMillis() - OUTCOME_MARGIN_MS,
    });
  } catch (err) {
    const e = err as Error;
    deps.log.error('insight job failed; SQS will deliver it again', {
      messageId: record.messageId,
      error: e.name,
      reason: redactNumbers(e.message ?? ''),
    });
    throw err;
  }
}

export function createInsightHandler({ deps, logger, metrics }: InsightWiring) {
  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(logger))
    .use(flushMetrics(metrics))
    .handler((event, context, { signal }) =>
      // A processor per invocation: it holds the batch's state, and batches may run concurrently.
      processPartialResponse(
        event,
        (record: SQSRecord) => processRecord(record, context, signal, deps),
        new BatchProcessor(EventType.SQS),
        { context },
      ),
    );
}
