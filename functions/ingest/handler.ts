/**
 * Ingest Lambda handlers: the middy chains only. One function serves two event sources, so there are two
 * chains over the same dependencies: webhooks from API Gateway, and the replay queue's redeliveries of
 * the same webhooks (partial batch responses, like the workers). The Lambda entry (index.ts) routes by
 * event source; the local stack calls the two chains directly.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { PowertoolsLog } from '#adapters/log.ts';
import { handleWebhook, replayDelivery, type IngestDeps } from './process.ts';

/** What the composition root (deps.ts) builds: the process's dependencies, logging through Powertools. */
export type IngestWiring = IngestDeps & { log: PowertoolsLog };

export type IngestEvent = APIGatewayProxyEventV2 | SQSEvent;
export type IngestResult = APIGatewayProxyStructuredResultV2 | SQSBatchResponse;

/** `POST|GET /webhooks/{source}/{token}` from the HTTP API (payload v2). */
export function createWebhookHandler(deps: IngestWiring) {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(injectLambdaContext(deps.log.logger))
    .handler((event) => handleWebhook(event, deps));
}

/** Replay queue batches: each record is one delivery applied again; a failure stays on the queue. */
export function createReplayHandler(deps: IngestWiring) {
  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(deps.log.logger))
    .handler((event, context) =>
      // A processor per invocation: it holds the batch's state, and batches may run concurrently.
      processPartialResponse(event, (record: SQSRecord) => replayDelivery(record.body, deps), new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false }),
    );
}

/** Lambda hands an SQS event source a `Records` array of `aws:sqs` records; API Gateway never sends one. */
const fromSqs = (event: IngestEvent): event is SQSEvent => 'Records' in event;

/** The one ingest function: webhooks and replays, told apart by their event source. */
export function createIngestHandler(deps: IngestWiring): (event: IngestEvent, context: Context) => Promise<IngestResult> {
  const webhook = createWebhookHandler(deps);
  const replay = createReplayHandler(deps);
  return (event, context) => (fromSqs(event) ? replay(event, context) : webhook(event, context));
}
