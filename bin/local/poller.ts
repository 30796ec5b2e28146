/**
 * Local stand-in for Lambda's SQS event source: long-polls a queue, hands batches to the real handler
 * as an SQSEvent, deletes what succeeded and leaves the `batchItemFailures` for redelivery
 * (with whatever visibility the handler set), so the DLQ redrive behaves as deployed.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface PollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  handler: SqsHandler;
  batchSize?: number;
  region?: string;
  /** Function name used in the fake Lambda context. */
  name: string;
  /** Simulated function timeout (for `getRemainingTimeInMillis`). */
  timeoutMs?: number;
  waitTimeSeconds?: number;
  /** How many batches may run at once (Lambda scales out; keep it small locally). */
  concurrency?: number;
  onError?: (err: unknown) => void;
}

export function queueArnOf(queueUrl: string, region: string): string {
  const [account, name] = new URL(queueUrl).pathname.split('/').filter(Boolean);
  return `arn:aws:sqs:${region}:${account}:${name}`;
}

export function toSqsRecord(m: Message, queueArn: string, region: string): SQSRecord {
  const attrs = m.Attributes ?? {};
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attrs.ApproximateReceiveCount ?? '1',
      SentTimestamp: attrs.SentTimestamp ?? String(Date.now()),
      SenderId: attrs.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attrs.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

export function fakeContext(name: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
    memoryLimitInMB: '256',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Start polling; the returned function stops it and waits for in-flight batches. */
export function startPoller(opts: PollerOptions): () => Promise<void> {
  const region = opts.region ?? 'us-east-1';
  const arn = queueArnOf(opts.queueUrl, region);
  const abort = new AbortController();
  const inflight = new Set<Promise<void>>();
  const concurrency = opts.concurrency ?? 2;

  const runBatch = async (messages: Message[]) => {
    const event: SQSEvent = { Records: messages.map((m) => toSqsRecord(m, arn, region)) };
    let failed = new Set<string>(messages.map((m) => m.MessageId!));
    try {
      const res = await opts.handler(event, fakeContext(opts.name, opts.timeoutMs ?? 30_000));
      failed = new Set((res?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (err) {
      opts.onError?.(err);
    }
    const done = messages.filter((m) => !failed.has(m.MessageId!));
    if (done.length) {
      await opts.sqs
        .send(
          new DeleteMessageBatchCommand({
            QueueUrl: opts.queueUrl,
            Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }),
        )
        .catch((err) => opts.onError?.(err));
    }
  };

  // local-aws-sqs holds a long poll until MaxNumberOfMessages have arrived or the wait ends (SQS answers
  // as soon as any message is there), which would add up to WaitTimeSeconds to every job. So when idle,
  // long-poll for one message; once messages flow, take batches without waiting until one comes back empty.
  let busy = false;
  const loop = async () => {
    while (!abort.signal.aborted) {
      if (inflight.size >= concurrency) {
        await Promise.race(inflight);
        continue;
      }
      try {
        const { Messages } = await opts.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: opts.queueUrl,
            MaxNumberOfMessages: busy ? (opts.batchSize ?? 10) : 1,
            WaitTimeSeconds: busy ? 0 : (opts.waitTimeSeconds ?? 1),
            MessageSystemAttributeNames: ['All'],
            // local-aws-sqs only answers the older parameter (without it, ApproximateReceiveCount is missing).
            AttributeNames: ['All'],
          }),
          // Not aborted on stop: an abandoned long poll would still take messages off the queue and hide
          // them for a whole visibility timeout. Stopping waits for it instead (<= WaitTimeSeconds).
        );
        busy = Boolean(Messages?.length);
        if (!Messages?.length) continue;
        const p = runBatch(Messages).finally(() => inflight.delete(p));
        inflight.add(p);
      } catch (err) {
        if (abort.signal.aborted) break;
        opts.onError?.(err);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  const running = loop();
  return async () => {
    abort.abort();
    await running.catch(() => undefined);
    await Promise.allSettled([...inflight]);
  };
}
