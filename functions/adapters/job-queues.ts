/** The queues the ingest feeds: media jobs (delayed), insight jobs (immediate) and the replay queue. */
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { InsightJob, MediaJob } from '#core/types.ts';

/** What the replay queue carries: enough to apply the delivery again, later, exactly as first received. */
export interface ReplayMessage {
  source: string;
  receivedAt: string;
  contentType?: string;
  /** The body as received (UTF-8), when it fits in a message. */
  body?: string;
  /** Otherwise the raw/ key the body was archived under. */
  rawKey?: string;
  /** Why the first attempt could not finish (for the logs; never contains the body). */
  reason: string;
}

/** SQS allows 256 KiB per message; keep headroom for the envelope. */
export const MAX_INLINE_REPLAY_BYTES = 200 * 1024;

export class JobQueues {
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
          Entries: batch.map((job, n) => ({ Id: String(n), MessageBody: JSON.stringify(job), DelaySeconds: Math.min(900, Math.max(0, delaySeconds)) })),
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
