/**
 * The Powertools batch processor behind the ingest's replay chain, in a module of its own so that the
 * chain loads it on the first replay batch: most cold starts are webhooks, which never need it. It
 * imports nothing the webhook path shares, so bundling it lazily wraps only the batch package.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/** Each record's body applied by `apply`; a record that throws is reported as a batch item failure and stays on the queue. */
export function replayBatch(event: SQSEvent, context: Context, apply: (body: string) => Promise<unknown>): Promise<SQSBatchResponse> {
  // A processor per invocation: it holds the batch's state, and batches may run concurrently.
  return processPartialResponse(event, (record: SQSRecord) => apply(record.body), new BatchProcessor(EventType.SQS), {
    context,
    throwOnFullBatchFailure: false,
  });
}
