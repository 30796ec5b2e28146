import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { CallVaultConfig } from '#contract/config.ts';
import { dlqName, queueRetentionProblems, type QueueDefinition } from '#contract/resources.ts';
import { CallVaultFunction, type FunctionName } from './callvault-function.ts';
import { grantKeyUse } from './protection.ts';

/** AWS guidance for SQS event sources: visibility timeout at least six times the function timeout. */
export const VISIBILITY_TO_TIMEOUT_RATIO = 6;

export interface WorkerQueueProps {
  /** Settings from functions/contract/resources.ts (visibility, redrive, retention, batching). */
  readonly definition: QueueDefinition;
  /** Topic the DLQ alarm notifies. */
  readonly alarmTopic: sns.ITopic;
  /**
   * Function fed by the queue through an event source with partial batch responses.
   * @default - no consumer: the queue is only produced to
   */
  readonly consumer?: lambda.Function;
  /**
   * Customer-managed key for the queue and its DLQ (protection.kms); producers get its use in bindProducer.
   * @default - SQS-managed encryption
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Most concurrent executions the event source may invoke (SQS `MaximumConcurrency`, 2-1000).
   * @default - no cap: the source scales up to the function's concurrency
   */
  readonly maxConcurrency?: number;
}

/**
 * One queue of work and what keeps it honest: the queue, its dead-letter queue (both SQS-encrypted,
 * TLS-only), an alarm as soon as anything lands in the DLQ, and optionally the consuming function.
 */
export class WorkerQueue extends Construct {
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  /** In alarm while the DLQ holds any message. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  /** The consumer's event source, when there is a consumer. */
  public readonly eventSource?: SqsEventSource;
  /** The queues' customer-managed key, when protection.kms is on. */
  public readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: WorkerQueueProps) {
    super(scope, id);
    const { definition, consumer, encryptionKey } = props;
    this.encryptionKey = encryptionKey;
    const encryption: Pick<sqs.QueueProps, 'encryption' | 'encryptionMasterKey'> = encryptionKey
      ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: encryptionKey }
      : { encryption: sqs.QueueEncryption.SQS_MANAGED };
    if (consumer) assertVisibilityCoversConsumer(definition, consumer);
    assertRetentionKeepsDeadLetters(definition);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      ...encryption,
      enforceSSL: true,
      retentionPeriod: Duration.days(definition.dlqRetentionDays),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason: `This is the dead-letter queue of the ${definition.name} queue (${dlqName(definition)}): the end of the line, watched by an alarm.`,
    });

    this.queue = new sqs.Queue(this, 'Queue', {
      ...encryption,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(definition.retentionDays),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: definition.maxReceiveCount },
    });

    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: `Messages in the ${definition.name} dead-letter queue: jobs failed ${definition.maxReceiveCount} times. Inspect them, fix the cause, then redrive the DLQ.`,
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.deadLetterAlarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));

    if (consumer) {
      this.eventSource = new SqsEventSource(this.queue, {
        batchSize: definition.batchSize,
        maxBatchingWindow: definition.maxBatchingWindowSeconds > 0 ? Duration.seconds(definition.maxBatchingWindowSeconds) : undefined,
        reportBatchItemFailures: true,
        maxConcurrency: props.maxConcurrency,
      });
      consumer.addEventSource(this.eventSource);
      Validations.of(consumer).acknowledge({
        id: 'Serverless-LambdaEventSourceMappingDestination',
        reason: 'SQS event source mappings take no on-failure destination; failed messages go to the queue redrive DLQ, which is alarmed.',
      });
    }
  }

  /** Let `fn` send to this queue (sqs:SendMessage only) and set `envName` to the queue URL. */
  public bindProducer(fn: lambda.Function, envName: string): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
    // SQS encrypts each message under a data key it asks KMS for as the sender.
    if (this.encryptionKey) grantKeyUse(fn, this.encryptionKey, 'sqs', ['kms:GenerateDataKey', 'kms:Decrypt']);
    fn.addEnvironment(envName, this.queue.queueUrl);
  }
}

/** Throws at synth when the queue could redeliver a message the consumer is still working on. */
export function assertVisibilityCoversConsumer(definition: QueueDefinition, consumer: lambda.Function): void {
  const timeoutSeconds = Math.max(consumer.timeout?.toSeconds() ?? 3, definition.consumerTimeoutSeconds);
  const needed = VISIBILITY_TO_TIMEOUT_RATIO * timeoutSeconds;
  if (definition.visibilityTimeoutSeconds < needed) {
    throw new Error(
      `The ${definition.name} queue's visibility timeout (${definition.visibilityTimeoutSeconds} s) must be at least ${VISIBILITY_TO_TIMEOUT_RATIO}x its consumer's timeout (${timeoutSeconds} s), i.e. ${needed} s: raise visibilityTimeoutSeconds of the ${definition.name} queue in functions/contract/resources.ts or lower the function timeout.`,
    );
  }
}

/** Throws at synth when a message could expire on the queue before its last receive, or in the DLQ before an operator sees it. */
export function assertRetentionKeepsDeadLetters(definition: QueueDefinition): void {
  const problems = queueRetentionProblems(definition);
  if (problems.length)
    throw new Error(
      `Queue retention of "${definition.name}" in functions/contract/resources.ts would lose messages:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
}

/** The config key that caps each worker's event source (the ingest is capped by its reserved concurrency instead). */
const WORKER_CONCURRENCY_KEY = { media: 'mediaMax', insight: 'insightMax' } as const satisfies Partial<
  Record<FunctionName, keyof CallVaultConfig['concurrency']>
>;

/** What a worker takes from its construct's props. */
export interface QueueWorkerProps {
  readonly config: CallVaultConfig;
  readonly alarmTopic: sns.ITopic;
  /** Memory of the worker, in MB. @default 256 */
  readonly memorySize?: number;
  /** Customer-managed key for the queues and the worker's log group. @default - AWS-managed encryption */
  readonly encryptionKey?: kms.IKey;
}

/**
 * A worker and the queue that feeds it, as one piece: the function `name` (timeout from the queue's
 * definition) under construct id `Worker`, and its WorkerQueue under the definition's name, in `scope`.
 */
export function queueWorker(
  scope: Construct,
  name: keyof typeof WORKER_CONCURRENCY_KEY,
  definition: QueueDefinition,
  description: string,
  props: QueueWorkerProps,
): { worker: CallVaultFunction; jobs: WorkerQueue } {
  const timeout = Duration.seconds(definition.consumerTimeoutSeconds);
  const { encryptionKey } = props;
  const worker = new CallVaultFunction(scope, 'Worker', {
    name,
    config: props.config,
    description,
    timeout,
    memorySize: props.memorySize ?? 256,
    encryptionKey,
  });
  const maxConcurrency = props.config.concurrency[WORKER_CONCURRENCY_KEY[name]];
  const jobs = new WorkerQueue(scope, definition.name, {
    definition,
    alarmTopic: props.alarmTopic,
    consumer: worker,
    encryptionKey,
    maxConcurrency,
  });
  return { worker, jobs };
}
