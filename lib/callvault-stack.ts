import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { CallVaultConfig } from '#contract/config.ts';
import { Analytics } from './constructs/analytics.ts';
import { HIPCALL_API_SECRET_SHAPE, InsightCards } from './constructs/insight-cards.ts';
import { MediaPipeline } from './constructs/media-pipeline.ts';
import { Monitoring, type PipelineAlarms } from './constructs/monitoring.ts';
import { PipelineDashboard } from './constructs/pipeline-dashboard.ts';
import { Reconcile } from './constructs/reconcile.ts';
import { SilenceCheck } from './constructs/silence-check.ts';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Storage } from './constructs/storage.ts';
import { WebhookApi } from './constructs/webhook-api.ts';
import { pascal } from '#contract/resources.ts';

export interface CallVaultStackProps extends StackProps {
  /** The validated `callvault` block of cdk.json (see functions/contract/config.ts). */
  readonly config: CallVaultConfig;
}

/**
 * CallVault: composes the constructs and prints what a user needs after `cdk deploy`.
 * Construct ids are a contract: renaming one replaces its resources (and a retained table or bucket
 * would be orphaned), so they never change.
 */
export class CallVaultStack extends Stack {
  public readonly monitoring: Monitoring;
  public readonly storage: Storage;
  public readonly insightCards: InsightCards;
  public readonly mediaPipeline: MediaPipeline;
  public readonly webhookApi: WebhookApi;
  public readonly pipelineAlarms: PipelineAlarms;
  public readonly dashboard: PipelineDashboard;
  /** The scheduled silence check and one alarm per watched source, when any source sets `silence`. */
  public readonly silenceCheck?: SilenceCheck;
  public readonly silenceAlarms?: ReadonlyMap<string, cloudwatch.Alarm>;
  /** The Glue table `calls` over cdr/, the Athena workgroup and named queries, when `analytics.glue` is on. */
  public readonly analytics?: Analytics;
  /** The scheduled reconcile with Hipcall, when any source sets `reconcile`. */
  public readonly reconcile?: Reconcile;

  constructor(scope: Construct, id: string, props: CallVaultStackProps) {
    super(scope, id, { description: 'CallVault: call records, recordings and transcripts archived in your own AWS account', ...props });
    const { config } = props;

    this.monitoring = new Monitoring(this, 'Monitoring', { alarmEmail: config.alarmEmail });
    const alarmTopic = this.monitoring.alarmTopic;
    this.storage = new Storage(this, 'Storage', { retention: config.retention, protection: config.protection });
    this.insightCards = new InsightCards(this, 'InsightCards', { config, storage: this.storage, alarmTopic });
    this.mediaPipeline = new MediaPipeline(this, 'MediaPipeline', { config, storage: this.storage, alarmTopic });
    // The media worker asks the Hipcall API for fresh recording URLs with the same token.
    this.insightCards.bindHipcallApiSecrets(this.mediaPipeline.worker);
    this.webhookApi = new WebhookApi(this, 'WebhookApi', {
      config,
      storage: this.storage,
      mediaQueue: this.mediaPipeline.jobs,
      insightQueue: this.insightCards.jobs,
      alarmTopic,
    });
    // Only when some source asks to be watched for silence.
    if (config.sources.some((s) => s.silence)) {
      this.silenceCheck = new SilenceCheck(this, 'SilenceCheck', { config, encryptionKey: this.storage.encryptionKey });
      this.silenceAlarms = this.monitoring.watchSilence(config.sources);
    }
    if (config.analytics.glue) {
      this.analytics = new Analytics(this, 'Analytics', { analytics: config.analytics, storage: this.storage });
      new CfnOutput(this, 'AthenaWorkGroup', {
        value: config.analytics.workGroup,
        description: `Athena workgroup of the named queries; the table is ${config.analytics.database}.calls`,
      });
    }
    if (config.sources.some((s) => s.reconcile)) {
      this.reconcile = new Reconcile(this, 'Reconcile', {
        config,
        storage: this.storage,
        mediaQueue: this.mediaPipeline.jobs,
        insightCards: this.insightCards,
      });
    }
    // Every variable is set by now: a config too big for Lambda's 4 KB environment stops here, as a ConfigError.
    for (const fn of [
      this.webhookApi.ingestFunction,
      this.mediaPipeline.worker,
      this.insightCards.worker,
      ...(this.silenceCheck ? [this.silenceCheck.function] : []),
      ...(this.reconcile ? [this.reconcile.function] : []),
    ])
      fn.assertEnvironmentFits();
    const ingest = this.webhookApi.ingestFunction;
    // The handler answers every request it can, fallbacks included; Errors counts only invocations that threw or timed out.
    this.monitoring.alarmOnErrors(
      'IngestErrorsAlarm',
      ingest,
      'The ingest function crashed or timed out (a bug or a hung dependency, not a refused delivery: those are answered, and the API 5xx alarm counts them). ' +
        `A webhook request it was serving got a 5xx from API Gateway; a replay batch is retried. First: aws logs tail ${ingest.logGroup.logGroupName} --since 1h`,
    );
    this.pipelineAlarms = this.monitoring.watchPipeline({
      api: this.webhookApi.api,
      accessLogGroupName: this.webhookApi.accessLogGroup.logGroupName,
      ingest,
      media: this.mediaPipeline.worker,
      insight: this.insightCards.worker,
      replayQueue: this.webhookApi.replayQueue.queue,
    });
    this.dashboard = new PipelineDashboard(this, 'Dashboard', {
      api: this.webhookApi.api,
      ingest,
      media: this.mediaPipeline.worker,
      insight: this.insightCards.worker,
      queues: [this.mediaPipeline.jobs, this.insightCards.jobs, this.webhookApi.replayQueue],
      sourceIds: config.sources.map((s) => s.id),
    });

    new CfnOutput(this, 'WebhookBaseUrl', {
      value: this.webhookApi.baseUrl,
      description: 'Base of every webhook URL: {base}/{source}/{token}',
    });
    for (const endpoint of this.webhookApi.endpoints) {
      const name = pascal(endpoint.sourceId);
      new CfnOutput(this, `WebhookUrl${name}`, {
        value: endpoint.urlPattern,
        description: `Webhook URL of source "${endpoint.sourceId}": replace <token> with the "current" value printed by WebhookTokenCommand${name}`,
      });
      new CfnOutput(this, `WebhookTokenCommand${name}`, {
        value: `aws secretsmanager get-secret-value --secret-id ${endpoint.tokenSecret.secretArn} --query SecretString --output text`,
        description: `Prints {"current": "<token>"} of source "${endpoint.sourceId}"`,
      });
    }
    for (const [sourceId, secret] of this.insightCards.hipcallApiSecrets) {
      const name = pascal(sourceId);
      new CfnOutput(this, `HipcallApiTokenSecretArn${name}`, {
        value: secret.secretArn,
        description: `Hipcall API token secret of source "${sourceId}"`,
      });
      new CfnOutput(this, `HipcallApiTokenCommand${name}`, {
        value: `aws secretsmanager put-secret-value --secret-id ${secret.secretArn} --secret-string '${HIPCALL_API_SECRET_SHAPE}'`,
        description: `Run once after deploy with your Hipcall API token: Insight Cards and fresh recording URLs of "${sourceId}" need it`,
      });
    }
    for (const [sourceId, secret] of this.webhookApi.signingSecrets) {
      new CfnOutput(this, `SigningSecretCommand${pascal(sourceId)}`, {
        value: `aws secretsmanager put-secret-value --secret-id ${secret.secretArn} --secret-string 'whsec_...'`,
        description: `Run once after deploy with the sender's Standard Webhooks secret: until then "${sourceId}" refuses every delivery with 401`,
      });
    }
    new CfnOutput(this, 'CallsTableName', { value: this.storage.callsTable.tableName });
    new CfnOutput(this, 'ContactsTableName', { value: this.storage.contactsTable.tableName });
    new CfnOutput(this, 'ArchiveBucketName', { value: this.storage.bucket.bucketName });
    new CfnOutput(this, 'MediaQueueUrl', { value: this.mediaPipeline.jobs.queue.queueUrl });
    new CfnOutput(this, 'MediaDlqUrl', { value: this.mediaPipeline.jobs.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'InsightQueueUrl', { value: this.insightCards.jobs.queue.queueUrl });
    new CfnOutput(this, 'InsightDlqUrl', { value: this.insightCards.jobs.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'ReplayQueueUrl', { value: this.webhookApi.replayQueue.queue.queueUrl });
    new CfnOutput(this, 'ReplayDlqUrl', { value: this.webhookApi.replayQueue.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: alarmTopic.topicArn,
      description: 'Subscribe here to receive every CallVault alarm (docs/operating.md, "Alarms")',
    });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${this.dashboard.dashboardName}`,
      description: 'The pipeline end to end, per source',
    });
  }
}
