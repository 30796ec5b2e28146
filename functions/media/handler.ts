/**
 * The media worker's handler (SQS, partial batch responses): each message is one media job handed to
 * processMediaJob. A retry decision delays that message through the retry queue and reports it failed;
 * a final failure lets it go on to the DLQ (the item already says `failed` and why).
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { MEDIA_QUEUE } from '#contract/resources.ts';
import type { RetryQueue } from '#core/ports/retry-queue.ts';
import type { Logger } from '@aws-lambda-powertools/logger';
import { flushMetrics, type EmfMetrics } from '#adapters/metrics.ts';
import { processMediaMessage, type MediaMessage, type MediaWorkerDeps } from './process.ts';

/** What the composition root (deps.ts) builds: the worker's dependencies, the logger behind their log, the retry queue. */
export interface MediaWiring {
  worker: MediaWorkerDeps;
  logger: Logger;
  /** Flushed after every invocation, by the chain's last middleware. */
  metrics: Pick<EmfMetrics, 'flush'>;
  retryQueue: RetryQueue;
  /**
   * The local SQS emulator counts every ChangeMessageVisibility as a receive and moves the message to the
   * DLQ when its visibility lapses at the limit: there, the delay about to be set is the last one.
   */
  visibilityChangeCountsAsReceive?: boolean;
}

/** Time kept back from the function timeout to record the attempt and delay the message. */
const DEADLINE_MARGIN_MS = 20_000;

const messageOf = (record: SQSRecord, receivedAt: number): MediaMessage => ({
  body: record.body,
  receiveCount: Number(record.attributes.ApproximateReceiveCount) || 1,
  ref: { messageId: record.messageId, receiptHandle: record.receiptHandle, queueArn: record.eventSourceARN, receivedAt },
});

/** SQS batch → one media job per record, partial batch response. */
export function createMediaHandler(wiring: MediaWiring) {
  return middy<SQSEvent, SQSBatchResponse>({ timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(wiring.logger, { resetKeys: true }))
    .use(flushMetrics(wiring.metrics))
    .handler(async (event: SQSEvent, context: Context) => {
      const receivedAt = Date.now();
      const signal = AbortSignal.timeout(Math.max(1000, Math.floor(context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS)));
      // A processor per invocation: it holds the batch's state, and batches may run concurrently.
      // One record at a time: memory is sized for one stream, whatever the batch size.
      const options = {
        maxReceiveCount: MEDIA_QUEUE.maxReceiveCount,
        receivesPerDelay: wiring.visibilityChangeCountsAsReceive ? 1 : 0,
        signal,
      };
      const perRecord = (record: SQSRecord) =>
        processMediaMessage(messageOf(record, receivedAt), wiring.worker, wiring.retryQueue, options);
      return processPartialResponse(event, perRecord, new BatchProcessor(EventType.SQS), {
        context,
        throwOnFullBatchFailure: false,
        processInParallel: false,
      });
    });
}
