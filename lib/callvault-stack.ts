import { Aws, CfnMapping, CfnOutput, CfnResource, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ConfigError, type CallVaultConfig } from '#contract/config.ts';
import {
  deployLimitProblems,
  measureDeployLimits,
  type DeployLimitInput,
  type LimitMeasurement,
  type RenderedTemplate,
} from './deploy-limits.ts';
import { estimateContextOf } from './constructs/function-environment.ts';
import { Analytics } from './constructs/analytics.ts';
import { HIPCALL_API_SECRET_SHAPE, InsightCards } from './constructs/insight-cards.ts';
import { MediaPipeline } from './constructs/media-pipeline.ts';
import { Monitoring, type PipelineAlarms } from './constructs/monitoring.ts';
import { PipelineDashboard } from './constructs/pipeline-dashboard.ts';
import { Reconcile } from './constructs/reconcile.ts';
import { SilenceCheck } from './constructs/silence-check.ts';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Storage } from './constructs/storage.ts';
import type { CallVaultFunction } from './constructs/callvault-function.ts';
import { WebhookApi } from './constructs/webhook-api.ts';
import { pascal } from '#contract/resources.ts';
import { GENERIC_ROUTE_KEYS } from './constructs/webhook-api.ts';

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
  /** The validated config the stack was built from. */
  public readonly config: CallVaultConfig;
  /** One `Errors` alarm per function, by function name (ingest, media, insight, silence, reconcile). */
  public readonly errorAlarms: ReadonlyMap<string, cloudwatch.Alarm>;
  /** The scheduled functions' failure alarms (ReconcileFailed, SilenceCheckFailed), by function name. */
  public readonly scheduledAlarms: ReadonlyMap<string, cloudwatch.Alarm>;

  constructor(scope: Construct, id: string, props: CallVaultStackProps) {
    super(scope, id, { description: 'CallVault: call records, recordings and transcripts archived in your own AWS account', ...props });
    const { config } = props;
    this.config = config;
    // Checked on the finished template at synth (after every construct and aspect), before anything deploys.
    this.node.addValidation({
      validate: () => {
        const problems = deployLimitProblems(this.deployLimitInput());
        if (problems.length === 0) return [];
        throw new ConfigError(
          `CallVault would not deploy: AWS limits would be crossed (estimated at synth, every generated name at its longest):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
        );
      },
    });

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
    const ingest = this.webhookApi.ingestFunction;
    this.errorAlarms = this.alarmOnEveryFunctionError();
    this.scheduledAlarms = this.monitoring.watchScheduled({ reconcile: this.reconcile?.function, silence: this.silenceCheck?.function });
    this.pipelineAlarms = this.monitoring.watchPipeline({
      api: this.webhookApi.api,
      accessLogGroupName: this.webhookApi.accessLogGroup.logGroupName,
      accessLogGroup: this.webhookApi.accessLogGroup,
      genericRouteKeys: GENERIC_ROUTE_KEYS,
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
    new CfnOutput(this, 'IngestFunctionName', {
      value: ingest.functionName,
      description: 'The ingest function: "callvault check" invokes it directly for sources that only accept allowedSourceIps',
    });
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
    // Each partition has its own console host (China's is not the URL suffix's): looked up at deploy time.
    const consoles = new CfnMapping(this, 'ConsoleHost', {
      mapping: {
        aws: { host: 'console.aws.amazon.com' },
        'aws-cn': { host: 'console.amazonaws.cn' },
        'aws-us-gov': { host: 'console.amazonaws-us-gov.com' },
      },
    });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://${consoles.findInMap(Aws.PARTITION, 'host')}/cloudwatch/home?region=${this.region}#dashboards:name=${this.dashboard.dashboardName}`,
      description: 'The pipeline end to end, per source',
    });
  }

  /**
   * An `Errors` alarm on every function: an invocation that threw or timed out, a crash at start included
   * (each function catches and answers what it can, so Errors counts only what nobody handled).
   */
  /** Every deploy-time limit (lib/deploy-limits.ts) as measured on this stack's template now. */
  public measureDeployLimits(): LimitMeasurement[] {
    return measureDeployLimits(this.deployLimitInput());
  }

  private deployLimitInput(): DeployLimitInput {
    const paths = new Map<string, string>();
    for (const node of this.node.findAll()) {
      if (CfnResource.isCfnResource(node) && Stack.of(node) === this) paths.set(this.getLogicalId(node), node.node.path);
    }
    return {
      template: this._toCloudFormation() as RenderedTemplate,
      context: estimateContextOf(this),
      pathOf: (id) => paths.get(id) ?? id,
      config: this.config,
    };
  }

  private alarmOnEveryFunctionError(): Map<string, cloudwatch.Alarm> {
    const tail = (fn: CallVaultFunction) => `aws logs tail ${fn.logGroup.logGroupName} --since 1h`;
    const functions: [string, CallVaultFunction | undefined, string][] = [
      [
        'ingest',
        this.webhookApi.ingestFunction,
        'The ingest function crashed or timed out (a bug or a hung dependency, not a refused delivery: those are answered, and the API 5xx alarm counts them). ' +
          'A webhook request it was serving got a 5xx from API Gateway; a replay batch is retried.',
      ],
      [
        'media',
        this.mediaPipeline.worker,
        'The media worker crashed or timed out. A crash at start (a bad deploy, a broken environment) fails every job within minutes of the first: ' +
          'the jobs wait on the media queue and are retried (up to 8 receives over days), so fix and redeploy; nothing is lost meanwhile.',
      ],
      [
        'insight',
        this.insightCards.worker,
        'The insight worker crashed or timed out: Insight Cards are not posted meanwhile (a card is worthless after staleSeconds), and the jobs go to the insight DLQ after 5 tries.',
      ],
      [
        'silence',
        this.silenceCheck?.function,
        "The silence check crashed or timed out: no source's silence alarm can fire until it runs again (every 5 minutes).",
      ],
      [
        'reconcile',
        this.reconcile?.function,
        'A scheduled reconcile with Hipcall crashed or ran out of its 10 minutes: it is not retried (the next scheduled run looks back over the same window). If it keeps timing out, lower reconcile.lookBackHours.',
      ],
    ];
    const alarms = new Map<string, cloudwatch.Alarm>();
    for (const [name, fn, what] of functions) {
      if (!fn) continue;
      alarms.set(name, this.monitoring.alarmOnErrors(`${pascal(name)}ErrorsAlarm`, fn, `${what} First: ${tail(fn)}`));
    }
    return alarms;
  }
}
