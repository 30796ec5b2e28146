/**
 * Handing an SQS message back to its queue to come again later: ChangeMessageVisibility on the queue the
 * message came from. Lambda gives the queue's ARN, SQS wants its URL: the function's own queue URL is
 * known from the stack; any other queue (e.g. a DLQ redriven into the function) is looked up once.
 */
import { ChangeMessageVisibilityCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { SQS_MAX_VISIBILITY_SECONDS } from '#core/media.ts';
import type { Log, QueueMessageRef, RetryQueue } from '#core/ports.ts';

export class SqsRetryQueue implements RetryQueue {
  private readonly urls = new Map<string, Promise<string>>();

  constructor(
    private readonly sqs: SQSClient,
    /** Queue URLs known without asking (the function's own queue). */
    private readonly knownUrls: readonly string[],
    private readonly log: Log,
    private readonly now: () => number = Date.now,
  ) {}

  async delay(message: QueueMessageRef, delaySeconds: number): Promise<void> {
    // SQS refuses a visibility that would end more than 12 h after the receive: keep a margin.
    const spent = message.receivedAtMs === undefined ? 0 : Math.ceil((this.now() - message.receivedAtMs) / 1000);
    const visibility = Math.max(0, Math.min(Math.round(delaySeconds), SQS_MAX_VISIBILITY_SECONDS - spent - 5));
    try {
      const url = await this.urlOf(message.queueArn);
      await this.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message.receiptHandle, VisibilityTimeout: visibility }));
    } catch (err) {
      // The message still comes back, after the queue's visibility timeout.
      this.log.warn('could not delay the message', { messageId: message.messageId, error: (err as Error).name });
    }
  }

  /** The queue URL of an ARN (`arn:aws:sqs:region:account:name`), cached; a failed lookup is not. */
  private urlOf(arn: string): Promise<string> {
    let url = this.urls.get(arn);
    if (!url) {
      const [, , , , account, name] = arn.split(':');
      const known = this.knownUrls.find((u) => u.split('/').pop() === name);
      url = known
        ? Promise.resolve(known)
        : this.sqs.send(new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account })).then((r) => r.QueueUrl!);
      url.catch(() => this.urls.delete(arn));
      this.urls.set(arn, url);
    }
    return url;
  }
}
