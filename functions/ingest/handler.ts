/**
 * Ingest Lambda handlers: the middy chains only. One function serves two event sources, so there are two
 * chains over the same dependencies: webhooks from API Gateway, and the replay queue's redeliveries of
 * the same webhooks (partial batch responses, like the workers). The Lambda entry (index.ts) routes by
 * event source; the local stack calls the two chains directly.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Logger } from '@aws-lambda-powertools/logger';
import { flushMetrics, type EmfMetrics } from '#adapters/metrics.ts';
import { handleWebhook, type IngestDeps } from './process.ts';
import { replayDelivery } from './replay.ts';

/** What the composition root (deps.ts) builds: the process's dependencies, and the logger and metrics behind them. */
export interface IngestWiring {
  deps: IngestDeps;
  logger: Logger;
  /** Flushed after every invocation, by the chain's last middleware. */
  metrics: Pick<EmfMetrics, 'flush'>;
}

export type IngestEvent = APIGatewayProxyEventV2 | SQSEvent;
export type IngestResult = APIGatewayProxyStructuredResultV2 | SQSBatchResponse;

/** `POST|GET /webhooks/{source}/{token}` from the HTTP API (payload v2). */
export function createWebhookHandler({ deps, logger, metrics }: IngestWiring) {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(injectLambdaContext(logger))
    .use(flushMetrics(metrics))
    .handler((event) => handleWebhook(event, deps));
}

/** Replay queue batches: each record is one delivery applied again; a failure stays on the queue. */
export function createReplayHandler({ deps, logger, metrics }: IngestWiring) {
  return (
    middy<SQSEvent, SQSBatchResponse>()
      .use(injectLambdaContext(logger))
      .use(flushMetrics(metrics))
      // The batch processor is loaded with the first batch (replay-batch.ts): a webhook's cold start skips it.
      .handler(async (event, context) =>
        (await import('./replay-batch.ts')).replayBatch(event, context, (body) => replayDelivery(body, deps)),
      )
  );
}

/** Lambda hands an SQS event source a `Records` array of `aws:sqs` records; API Gateway never sends one. */
const fromSqs = (event: IngestEvent): event is SQSEvent => 'Records' in event;

/** The one ingest function: webhooks and replays, told apart by their event source. */
export function createIngestHandler(wiring: IngestWiring): (event: IngestEvent, context: Context) => Promise<IngestResult> {
  const webhook = createWebhookHandler(wiring);
  const replay = createReplayHandler(wiring);
  return (event, context) => (fromSqs(event) ? replay(event, context) : webhook(event, context));
}
