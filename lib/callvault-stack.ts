import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { CallVaultConfig } from './config.ts';
import { HIPCALL_API_SECRET_SHAPE, InsightCards } from './constructs/insight-cards.ts';
import { MediaPipeline } from './constructs/media-pipeline.ts';
import { Monitoring } from './constructs/monitoring.ts';
import { Storage } from './constructs/storage.ts';
import { WebhookApi } from './constructs/webhook-api.ts';
import { pascal } from './resources.ts';

export interface CallVaultStackProps extends StackProps {
  /** The validated `callvault` block of cdk.json (see lib/config.ts). */
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
    // Every variable is set by now: a config too big for Lambda's 4 KB environment stops here, as a ConfigError.
    for (const fn of [this.webhookApi.ingestFunction, this.mediaPipeline.worker, this.insightCards.worker]) fn.assertEnvironmentFits();
    this.monitoring.alarmOnErrors('IngestErrorsAlarm', this.webhookApi.ingestFunction, 'The ingest function failed: a provider may have received a 5xx. Check its logs.');

    new CfnOutput(this, 'WebhookBaseUrl', { value: this.webhookApi.baseUrl, description: 'Base of every webhook URL: {base}/{source}/{token}' });
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
      new CfnOutput(this, `HipcallApiTokenSecretArn${name}`, { value: secret.secretArn, description: `Hipcall API token secret of source "${sourceId}"` });
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
    new CfnOutput(this, 'AlarmTopicArn', { value: alarmTopic.topicArn, description: 'Subscribe here to receive the DLQ and ingest alarms' });
  }
}
