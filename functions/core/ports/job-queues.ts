/** The JobQueues port: the queues the ingest feeds (adapter: adapters/job-queues.ts, SqsJobQueues). */
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

/** The queues the ingest feeds. */
export interface JobQueues {
  sendMedia(jobs: MediaJob[], delaySeconds: number, abortSignal?: AbortSignal): Promise<void>;
  sendInsight(job: InsightJob, abortSignal?: AbortSignal): Promise<void>;
  sendReplay(message: ReplayMessage, abortSignal?: AbortSignal): Promise<void>;
}
