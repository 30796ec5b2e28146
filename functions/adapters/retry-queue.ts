/**
 * A worker's queue as a RetryQueue: hands a message back to come again later (ChangeMessageVisibility).
 * The queue URL is found from the record's event source ARN: the configured URL when it names the same
 * queue (no call), else GetQueueUrl, cached per ARN (a failed lookup is not cached, so the next message
 * asks again). The delay is capped so the message's total visibility stays within SQS's 12 h.
 */
import { ChangeMessageVisibilityCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { SQS_MAX_VISIBILITY_SECONDS } from '#core/redelivery.ts';
import type { Log } from '#core/ports/log.ts';
import type { QueueMessageRef, RetryQueue } from '#core/ports/retry-queue.ts';

/** Seconds kept back from the 12 h cap: the clock between receive and the call is not exact. */
const CAP_MARGIN_SECONDS = 5;

export interface QueueArn {
  region: string;
  account: string;
  name: string;
}

/** The parts of an SQS queue ARN (`arn:aws:sqs:{region}:{account}:{name}`); undefined when it is not one. */
export function parseQueueArn(arn: string): QueueArn | undefined {
  const parts = arn.split(':');
  if (parts.length !== 6 || parts[0] !== 'arn' || parts[2] !== 'sqs') return undefined;
  const [, , , region, account, name] = parts as [string, string, string, string, string, string];
  return name ? { region, account, name } : undefined;
}

/**
 * The visibility timeout to set: `delaySeconds` rounded, never negative, and never so long that the
 * message's visibility since it was received (`spentSeconds` ago) would pass SQS's 12 h.
 */
export function cappedVisibility(delaySeconds: number, spentSeconds = 0): number {
  const room = SQS_MAX_VISIBILITY_SECONDS - Math.max(0, Math.ceil(spentSeconds)) - CAP_MARGIN_SECONDS;
  return Math.max(0, Math.min(Math.round(delaySeconds), room));
}

/** Pure rule, kept in core beside the other retry decisions. */
export { isLastDelivery } from '#core/redelivery.ts';

export interface SqsRetryQueueOptions {
  /** The queue's URL as configured (e.g. MEDIA_QUEUE_URL): used without a lookup for records from that queue. */
  queueUrl?: string | undefined;
  log: Log;
  /** Epoch ms; for the 12 h cap. */
  now?: () => number;
}

export class SqsRetryQueue implements RetryQueue {
  private readonly urls = new Map<string, Promise<string>>();

  constructor(
    private readonly sqs: Pick<SQSClient, 'send'>,
    private readonly options: SqsRetryQueueOptions,
  ) {}

  /** Make the message visible again in `delaySeconds` (capped to the 12 h SQS allows). Logs, never throws. */
  async delay(message: QueueMessageRef, delaySeconds: number): Promise<void> {
    const now = this.options.now ?? Date.now;
    const spent = message.receivedAt === undefined ? 0 : (now() - message.receivedAt) / 1000;
    try {
      const QueueUrl = await this.queueUrlOf(message.queueArn);
      await this.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl,
          ReceiptHandle: message.receiptHandle,
          VisibilityTimeout: cappedVisibility(delaySeconds, spent),
        }),
      );
    } catch (err) {
      // The message still comes back, after the queue's visibility timeout.
      this.options.log.warn('could not delay the message', { messageId: message.messageId, error: (err as Error).name });
    }
  }

  /** The queue URL for an event source ARN: the configured one when the names match, else GetQueueUrl (cached). */
  queueUrlOf(arn: string): Promise<string> {
    let url = this.urls.get(arn);
    if (url) return url;
    const parsed = parseQueueArn(arn);
    if (!parsed) return Promise.reject(new Error(`"${arn}" is not an SQS queue ARN: the event source mapping must name an SQS queue`));
    const configured = this.options.queueUrl;
    url =
      configured && configured.split('/').pop() === parsed.name
        ? Promise.resolve(configured)
        : this.sqs.send(new GetQueueUrlCommand({ QueueName: parsed.name, QueueOwnerAWSAccountId: parsed.account })).then((r) => {
            if (!r.QueueUrl) throw new Error(`GetQueueUrl returned no URL for queue ${parsed.name}`);
            return r.QueueUrl;
          });
    // A failed lookup is forgotten, so the next message asks again.
    url.catch(() => this.urls.delete(arn));
    this.urls.set(arn, url);
    return url;
  }
}
