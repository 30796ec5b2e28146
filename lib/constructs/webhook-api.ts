import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { CallVaultConfig } from '#lib/config.ts';
import { ENV, INGEST_TIMEOUT_SECONDS, PREFIX, REPLAY_QUEUE } from '#lib/resources.ts';
import { CallVaultFunction } from './callvault-function.ts';
import { DEFAULT_ACCESS_LOG_RETENTION, grantKeyUse, logRetentionFor } from './protection.ts';
import type { Storage } from './storage.ts';
import { WorkerQueue } from './worker-queue.ts';

/** The webhook route; `{token}` is the source's secret, compared in constant time by the ingest function. */
export const WEBHOOK_PATH = '/webhooks/{source}/{token}';

/**
 * Name of a source's webhook token secret. Named (not generated) so WEBHOOK_SECRETS can hold short
 * names; it ends in `/webhook`, never in `-` plus six characters, which Secrets Manager could
 * mistake for the random suffix of a partial ARN.
 */
export const webhookTokenSecretName = (stackName: string, sourceId: string): string => `${stackName}/${sourceId}/webhook`;

/** Name of a signing source's Standard Webhooks secret (the sender's `whsec_…`), named like the token secret. */
export const signingSecretName = (stackName: string, sourceId: string): string => `${stackName}/${sourceId}/signing`;

export interface WebhookApiProps {
  /** The validated config: sources, throttle, and what the function reads at cold start. */
  readonly config: CallVaultConfig;
  readonly storage: Storage;
  /** Queue of media download jobs (the ingest only sends). */
  readonly mediaQueue: WorkerQueue;
  /** Queue of Insight Card jobs (the ingest only sends). */
  readonly insightQueue: WorkerQueue;
  /** Topic the replay DLQ alarm notifies. */
  readonly alarmTopic: sns.ITopic;
  /** Memory of the ingest function, in MB. @default 512 */
  readonly memorySize?: number;
  /** How long API access logs are kept. @default config.protection.logRetentionDays, else logs.RetentionDays.THREE_MONTHS */
  readonly accessLogRetention?: logs.RetentionDays;
}

/** A configured source's webhook endpoint, for outputs and the CLI. */
export interface WebhookEndpoint {
  readonly sourceId: string;
  /** `https://.../webhooks/{sourceId}/<token>`: the token is read from `tokenSecret`. */
  readonly urlPattern: string;
  readonly tokenSecret: secretsmanager.Secret;
}

/**
 * The front door: an HTTP API with `POST`, `GET` and `HEAD /webhooks/{source}/{token}` on the ingest function,
 * throttled per config and access-logged (as JSON, without the path: it carries the token). The ingest
 * function is also the consumer of the replay queue, where it parks deliveries it could not write.
 */
export class WebhookApi extends Construct {
  public readonly api: apigwv2.HttpApi;
  public readonly stage: apigwv2.HttpStage;
  public readonly ingestFunction: CallVaultFunction;
  /** Deliveries the ingest could not write in time, applied later by the same function. */
  public readonly replayQueue: WorkerQueue;
  /** Webhook token secret of each source id: `{"current": "...", "previous": "..."}`. */
  public readonly tokenSecrets: ReadonlyMap<string, secretsmanager.Secret>;
  /** Signing secret of each source that sets `signature`: a placeholder until the user puts the sender's `whsec_…`. */
  public readonly signingSecrets: ReadonlyMap<string, secretsmanager.Secret>;
  public readonly accessLogGroup: logs.LogGroup;
  /** `https://{api}.execute-api.{region}.amazonaws.com/webhooks` */
  public readonly baseUrl: string;
  /** One endpoint per configured source, in config order. */
  public readonly endpoints: readonly WebhookEndpoint[];

  constructor(scope: Construct, id: string, props: WebhookApiProps) {
    super(scope, id);
    const { config, storage } = props;

    this.ingestFunction = new CallVaultFunction(this, 'IngestFunction', {
      name: 'ingest',
      config,
      description: 'CallVault ingest: authenticate, validate, store and enqueue webhook deliveries',
      timeout: Duration.seconds(INGEST_TIMEOUT_SECONDS),
      memorySize: props.memorySize ?? 512,
      encryptionKey: storage.encryptionKey,
    });
    const ingest = this.ingestFunction;
    // The calls table adapter reads, then upserts with UpdateItem: never PutItem.
    storage.bindCalls(ingest, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    storage.bindArchive(ingest, [PREFIX.raw, PREFIX.quarantine, PREFIX.extras], ['s3:PutObject']);
    // A replay whose body was too big for the message reads it back from raw/.
    storage.bindArchive(ingest, [PREFIX.raw], ['s3:GetObject']);
    props.mediaQueue.bindProducer(ingest, ENV.mediaQueueUrl);
    props.insightQueue.bindProducer(ingest, ENV.insightQueueUrl);

    this.replayQueue = new WorkerQueue(this, REPLAY_QUEUE.name, {
      definition: REPLAY_QUEUE,
      alarmTopic: props.alarmTopic,
      consumer: ingest,
      encryptionKey: storage.encryptionKey,
    });
    this.replayQueue.bindProducer(ingest, ENV.replayQueueUrl);

    const secrets = new Map<string, secretsmanager.Secret>();
    const stackName = Stack.of(this).stackName;
    for (const source of config.sources) {
      const secret = new secretsmanager.Secret(this, `WebhookToken-${source.id}`, {
        secretName: webhookTokenSecretName(stackName, source.id),
        description: `CallVault webhook token of source "${source.id}" (${source.provider}): {"current": "..."}; add "previous" while rotating`,
        generateSecretString: {
          secretStringTemplate: JSON.stringify({}),
          generateStringKey: 'current',
          excludePunctuation: true,
          // 64 characters of [A-Za-z0-9]: about 381 bits, URL-safe in a path segment.
          passwordLength: 64,
        },
        encryptionKey: storage.encryptionKey,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Rotated by hand on purpose: the token is pasted into the provider dashboard, so a scheduled rotation would break deliveries. Add the new value as "current", keep the old as "previous" until the dashboard is updated.',
      });
      secrets.set(source.id, secret);
    }
    this.tokenSecrets = secrets;

    const signing = new Map<string, secretsmanager.Secret>();
    for (const source of config.sources.filter((s) => s.signature)) {
      const secret = new secretsmanager.Secret(this, `SigningSecret-${source.id}`, {
        secretName: signingSecretName(stackName, source.id),
        description: `CallVault signing secret of source "${source.id}" (${source.signature}): put the sender's whsec_... secret here; until then its deliveries are refused with 401`,
        // A generated placeholder keeps any value out of the template; the ingest reads it as "not put yet".
        generateSecretString: {
          secretStringTemplate: JSON.stringify({ unset: "Replace this whole value with the sender's whsec_ secret" }),
          generateStringKey: 'placeholder',
          excludePunctuation: true,
          passwordLength: 32,
        },
        encryptionKey: storage.encryptionKey,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The sender (the provider or a signing relay) owns this secret and rotates it on its side; CallVault only holds a copy. During a rotation the sender signs with old and new secrets at once, so the copy is replaced by hand without losing deliveries.',
      });
      signing.set(source.id, secret);
    }
    this.signingSecrets = signing;

    ingest.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [...secrets.values(), ...signing.values()].map((s) => s.secretArn) }),
    );
    if (storage.encryptionKey) grantKeyUse(ingest, storage.encryptionKey, 'secretsmanager', ['kms:Decrypt']);
    // Names, not ARNs: GetSecretValue takes either, and a full ARN per source would outgrow Lambda's 4 KB environment.
    ingest.addEnvironment(ENV.webhookSecrets, JSON.stringify(Object.fromEntries(config.sources.map((source) => [source.id, webhookTokenSecretName(stackName, source.id)]))));
    // Only sources that sign: the others pay nothing of the 4 KB.
    if (signing.size > 0) ingest.addEnvironment(ENV.signingSecrets, JSON.stringify(Object.fromEntries([...signing.keys()].map((id) => [id, signingSecretName(stackName, id)]))));

    this.api = new apigwv2.HttpApi(this, 'HttpApi', {
      description: 'CallVault webhooks: POST /webhooks/{source}/{token}',
      createDefaultStage: false,
    });
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? logRetentionFor(config.protection, DEFAULT_ACCESS_LOG_RETENTION),
      encryptionKey: storage.encryptionKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Throttling goes in the stage's defaultRouteSettings, which covers every route; per-route
    // routeSettings would have to name route keys that CloudFormation may not have created yet.
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      autoDeploy: true,
      throttle: { rateLimit: config.throttle.rateLimit, burstLimit: config.throttle.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        // No $context.path: the path carries the webhook token.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            sourceIp: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            responseLatency: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            error: '$context.error.message',
          }),
        ),
      },
    });

    this.api.addRoutes({
      path: WEBHOOK_PATH,
      // HTTP APIs route HEAD only where a route names it; the handler answers it like GET (URL checks).
      methods: [apigwv2.HttpMethod.POST, apigwv2.HttpMethod.GET, apigwv2.HttpMethod.HEAD],
      integration: new HttpLambdaIntegration('IngestIntegration', ingest),
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Providers cannot sign requests or send custom auth headers; each URL carries a 256-bit per-source token that the ingest function checks in constant time against Secrets Manager.',
    });

    this.baseUrl = `${this.api.apiEndpoint}/webhooks`;
    this.endpoints = config.sources.map((source) => ({
      sourceId: source.id,
      urlPattern: `${this.baseUrl}/${source.id}/<token>`,
      tokenSecret: secrets.get(source.id) as secretsmanager.Secret,
    }));
  }
}
