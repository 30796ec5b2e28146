/**
 * The media worker's handler (SQS, partial batch responses): each message is one media job handed to
 * processMediaJob. A retry decision delays that message through the retry queue and reports it failed;
 * a final failure lets it go on to the DLQ (the item already says `failed` and why).
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { MEDIA_QUEUE } from '#lib/resources.ts';
import { backoffSeconds } from '#core/media.ts';
import type { QueueMessageRef, RetryQueue } from '#core/ports.ts';
import { isLastDelivery } from '#adapters/retry-queue.ts';
import type { Logger } from '@aws-lambda-powertools/logger';
import { parseMediaJob, processMediaJob, type MediaWorkerDeps } from './process.ts';

/** What the composition root (deps.ts) builds: the worker's dependencies, the logger behind their log, the retry queue. */
export interface MediaWiring {
  worker: MediaWorkerDeps;
  logger: Logger;
  retryQueue: RetryQueue;
  /**
   * The local SQS emulator counts every ChangeMessageVisibility as a receive and moves the message to the
   * DLQ when its visibility lapses at the limit: there, the delay about to be set is the last one.
   */
  visibilityChangeCountsAsReceive?: boolean;
}

/** Time kept back from the function timeout to record the attempt and delay the message. */
const DEADLINE_MARGIN_MS = 20_000;

class JobNotDone extends Error {
  override readonly name = 'JobNotDone';
}

async function handleRecord(record: SQSRecord, signal: AbortSignal, receivedAt: number, wiring: MediaWiring): Promise<void> {
  const { worker: deps, retryQueue } = wiring;
  const message: QueueMessageRef = { messageId: record.messageId, receiptHandle: record.receiptHandle, queueArn: record.eventSourceARN, receivedAt };
  const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
  const lastDelivery = isLastDelivery(receiveCount, MEDIA_QUEUE.maxReceiveCount, wiring.visibilityChangeCountsAsReceive ? 1 : 0);
  let job;
  try {
    job = parseMediaJob(record.body);
  } catch (err) {
    deps.log.error('invalid media job; on to the DLQ', { messageId: record.messageId, error: (err as Error).message });
    await retryQueue.delay(message, 0);
    throw err;
  }
  let result;
  try {
    result = await processMediaJob(job, { receiveCount, lastDelivery, signal }, deps);
  } catch (err) {
    // The calls table could not be read or written: the attempt is not recorded; try again later.
    deps.log.error('media job could not be processed', { provider: job.provider, callId: job.callId, media: job.media, error: (err as Error).name });
    await retryQueue.delay(message, backoffSeconds(receiveCount, deps.timing.baseSeconds, deps.timing.maxDelaySeconds));
    throw err;
  }
  if (result.outcome === 'retry') {
    await retryQueue.delay(message, result.delaySeconds);
    throw new JobNotDone(`retry in ${result.delaySeconds} s`);
  }
  if (result.outcome === 'failed') {
    await retryQueue.delay(message, 0);
    throw new JobNotDone('failed: on to the DLQ');
  }
}

/** SQS batch → one media job per record, partial batch response. */
export function createMediaHandler(wiring: MediaWiring) {
  return middy<SQSEvent, SQSBatchResponse>({ timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(wiring.logger, { resetKeys: true }))
    .handler(async (event: SQSEvent, context: Context) => {
      const receivedAt = Date.now();
      const signal = AbortSignal.timeout(Math.max(1000, Math.floor(context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS)));
      // A processor per invocation: it holds the batch's state, and batches may run concurrently.
      // One record at a time: memory is sized for one stream, whatever the batch size.
      return processPartialResponse(event, (record: SQSRecord) => handleRecord(record, signal, receivedAt, wiring), new BatchProcessor(EventType.SQS), {
        context,
        throwOnFullBatchFailure: false,
        processInParallel: false,
      });
    });
}
