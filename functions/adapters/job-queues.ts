/** The queues the ingest feeds: media jobs (delayed), insight jobs (immediate) and the replay queue. */
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { JobQueues, ReplayMessage } from '#core/ports/job-queues.ts';
import type { InsightJob, MediaJob } from '#core/types.ts';

/** The three queues over SQS. */
export class SqsJobQueues implements JobQueues {
  constructor(
    private readonly sqs: SQSClient,
    private readonly urls: { media: string; insight: string; replay: string },
  ) {}

  async sendMedia(jobs: MediaJob[], delaySeconds: number, abortSignal?: AbortSignal): Promise<void> {
    for (let i = 0; i < jobs.length; i += 10) {
      const batch = jobs.slice(i, i + 10);
      const res = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.urls.media,
          Entries: batch.map((job, n) => ({
            Id: String(n),
            MessageBody: JSON.stringify(job),
            DelaySeconds: Math.min(900, Math.max(0, delaySeconds)),
          })),
        }),
        { abortSignal },
      );
      if (res.Failed?.length) throw new Error(`media queue refused ${res.Failed.length} job(s): ${res.Failed[0]!.Code}`);
    }
  }

  async sendInsight(job: InsightJob, abortSignal?: AbortSignal): Promise<void> {
    await this.sqs.send(new SendMessageCommand({ QueueUrl: this.urls.insight, MessageBody: JSON.stringify(job) }), { abortSignal });
  }

  async sendReplay(message: ReplayMessage, abortSignal?: AbortSignal): Promise<void> {
    await this.sqs.send(new SendMessageCommand({ QueueUrl: this.urls.replay, MessageBody: JSON.stringify(message) }), { abortSignal });
  }
}
