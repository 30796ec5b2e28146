/**
 * The media worker (SQS, partial batch responses): each message is one media job handed to
 * processMediaJob. A retry decision delays that message with ChangeMessageVisibility and reports it
 * failed; a final failure lets it go on to the DLQ (the item already says `failed` and why).
 */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ENV, MEDIA_QUEUE } from '#lib/resources.ts';
import { backoffSeconds } from '#core/media.ts';
import { dynamoDocument, PATIENT, s3Client, sqsClient } from '#adapters/aws.ts';
import { CallsTable } from '#adapters/calls-table.ts';
import { HipcallCallsApi } from '#adapters/hipcall-api.ts';
import { MediaStore } from '#adapters/media-store.ts';
import { SafeFetcher } from '#adapters/safe-fetch.ts';
import { hipcallApiToken } from '#adapters/secrets.ts';
import { powertoolsLog } from '#adapters/log.ts';
import { isLastDelivery, SqsRetryQueue } from '#adapters/retry-queue.ts';
import { parseMediaJob, processMediaJob, type MediaWorkerDeps } from './process.ts';
import { mediaSettingsFromEnv } from './settings.ts';

/** Time kept back from the function timeout to record the attempt and delay the message. */
const DEADLINE_MARGIN_MS = 20_000;

// Cold start: environment, clients and the connection pool, once.
const logger = new Logger({ serviceName: 'callvault-media' });
const settings = mediaSettingsFromEnv(process.env);
if (!settings.local && process.env[ENV.fetchAllow]) logger.warn(`${ENV.fetchAllow} is ignored outside local mode`);
const sqs = sqsClient(PATIENT);
const log = powertoolsLog(logger);
const deps: MediaWorkerDeps = {
  config: settings.config,
  calls: new CallsTable(dynamoDocument(PATIENT), settings.callsTable),
  store: new MediaStore(s3Client(PATIENT), settings.bucket, { partSize: settings.partSize, queueSize: settings.queueSize }),
  fetcher: new SafeFetcher({
    exemptHostPorts: settings.fetchAllow,
    connectTimeoutMs: settings.connectTimeoutMs,
    headersTimeoutMs: settings.idleTimeoutMs,
    idleTimeoutMs: settings.idleTimeoutMs,
  }),
  hipcall: new HipcallCallsApi({ baseUrlFor: (id) => settings.hipcallApi.get(id), tokenFor: hipcallApiToken }),
  local: settings.local,
  exemptHostPorts: settings.fetchAllow,
  timing: settings.timing,
  maxAttempts: settings.maxAttempts,
  log,
};
const processor = new BatchProcessor(EventType.SQS);
const retryQueue = new SqsRetryQueue(sqs, { queueUrl: settings.queueUrl, log });
/** The local SQS emulator counts every ChangeMessageVisibility as a receive (see isLastDelivery). */
const receivesPerDelay = settings.local ? 1 : 0;

/** Make the message visible again in `delaySeconds` (capped so the total stays within SQS's 12 h). */
const delayMessage = (record: SQSRecord, delaySeconds: number, startedAt: number): Promise<void> =>
  retryQueue.delay({ messageId: record.messageId, receiptHandle: record.receiptHandle, queueArn: record.eventSourceARN, receivedAt: startedAt }, delaySeconds);

class JobNotDone extends Error {
  override readonly name = 'JobNotDone';
}

async function handleRecord(record: SQSRecord, signal: AbortSignal, startedAt: number): Promise<void> {
  const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
  const lastDelivery = isLastDelivery(receiveCount, MEDIA_QUEUE.maxReceiveCount, receivesPerDelay);
  let job;
  try {
    job = parseMediaJob(record.body);
  } catch (err) {
    logger.error('invalid media job; on to the DLQ', { messageId: record.messageId, error: (err as Error).message });
    await delayMessage(record, 0, startedAt);
    throw err;
  }
  let result;
  try {
    result = await processMediaJob(job, { receiveCount, lastDelivery, signal }, deps);
  } catch (err) {
    // The calls table could not be read or written: the attempt is not recorded; try again later.
    logger.error('media job could not be processed', { provider: job.provider, callId: job.callId, media: job.media, error: (err as Error).name });
    await delayMessage(record, backoffSeconds(receiveCount, settings.timing.baseSeconds, settings.timing.maxDelaySeconds), startedAt);
    throw err;
  }
  if (result.outcome === 'retry') {
    await delayMessage(record, result.delaySeconds, startedAt);
    throw new JobNotDone(`retry in ${result.delaySeconds} s`);
  }
  if (result.outcome === 'failed') {
    await delayMessage(record, 0, startedAt);
    throw new JobNotDone('failed: on to the DLQ');
  }
}

/** SQS batch → one media job per record, partial batch response. */
export const handler = middy<SQSEvent, SQSBatchResponse>({ timeoutEarlyInMillis: 0 })
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event: SQSEvent, context: Context) => {
    const startedAt = Date.now();
    const signal = AbortSignal.timeout(Math.max(1000, context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS));
    // One at a time: memory is sized for one stream, whatever the batch size.
    return processPartialResponse(event, (record: SQSRecord) => handleRecord(record, signal, startedAt), processor, {
      context,
      throwOnFullBatchFailure: false,
      processInParallel: false,
    });
  });
