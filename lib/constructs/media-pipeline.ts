import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { CallVaultConfig } from '#contract/config.ts';
import { ENV, MEDIA_FUNCTION_ENV, MEDIA_QUEUE, PREFIX } from '#contract/resources.ts';
import type { CallVaultFunction } from './callvault-function.ts';
import type { Storage } from './storage.ts';
import { queueWorker, type WorkerQueue } from './worker-queue.ts';

export interface MediaPipelineProps {
  readonly config: CallVaultConfig;
  readonly storage: Storage;
  /** Topic the media DLQ alarm notifies. */
  readonly alarmTopic: sns.ITopic;
  /**
   * Memory of the worker, in MB. Streaming keeps memory flat whatever the file size, so this buys CPU
   * for hashing and TLS, not buffer room.
   * @default 256
   */
  readonly memorySize?: number;
}

/**
 * Media downloads: the media queue (jobs delayed per source by the ingest) and its worker, which
 * streams each recording, voicemail or transcript into S3 with a multipart upload and records it on
 * the call item. The worker may write media and CDR objects, never read them.
 */
export class MediaPipeline extends Construct {
  public readonly worker: CallVaultFunction;
  public readonly jobs: WorkerQueue;

  constructor(scope: Construct, id: string, props: MediaPipelineProps) {
    super(scope, id);
    ({ worker: this.worker, jobs: this.jobs } = queueWorker(
      this,
      'media',
      MEDIA_QUEUE,
      'CallVault media: stream provider recordings, voicemails and transcripts into S3',
      {
        ...props,
        encryptionKey: props.storage.encryptionKey,
      },
    ));
    // The worker sets a per-message backoff with ChangeMessageVisibility, so it needs its own queue URL.
    this.worker.addEnvironment(ENV.mediaQueueUrl, this.jobs.queue.queueUrl);
    // glibc's moving mmap threshold fragments the heap around the 8 MiB part buffers; pinning it keeps
    // peak RSS flat whatever the file size (measured by `npm run bench -- media`).
    for (const [name, value] of Object.entries(MEDIA_FUNCTION_ENV)) this.worker.addEnvironment(name, value);

    props.storage.bindCalls(this.worker, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    props.storage.bindArchive(
      this.worker,
      [PREFIX.recordings, PREFIX.voicemails, PREFIX.transcripts],
      // What @aws-sdk/lib-storage's Upload sends: PutObject, or CreateMultipartUpload, UploadPart and
      // CompleteMultipartUpload (all under s3:PutObject) and AbortMultipartUpload; never ListParts.
      ['s3:PutObject', 's3:AbortMultipartUpload'],
    );
    // The call record is one plain PutObject: no multipart upload to abort there.
    props.storage.bindArchive(this.worker, [PREFIX.cdr], ['s3:PutObject']);
  }
}
