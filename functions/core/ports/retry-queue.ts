/** The RetryQueue port: a worker hands a message back to come again later (adapter: adapters/retry-queue.ts, SqsRetryQueue). */

/** A received SQS message, as a worker needs to hand it back. */
export interface QueueMessageRef {
  messageId: string;
  receiptHandle: string;
  /** The ARN of the queue it came from (the event source). */
  queueArn: string;
  /** When the worker received it (epoch ms): the 12 h visibility cap counts from here. */
  receivedAt?: number;
}

/** Hands a message back to its queue to come again later (ChangeMessageVisibility). */
export interface RetryQueue {
  /** Make the message visible again in `delaySeconds` (capped to what SQS allows); never throws. */
  delay(message: QueueMessageRef, delaySeconds: number): Promise<void>;
}
