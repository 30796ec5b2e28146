import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { throttleOf, type CallVaultConfig } from '#contract/config.ts';
import { ENV, INGEST_TIMEOUT_SECONDS, PREFIX, REPLAY_QUEUE, SECRET_KINDS, secretName } from '#contract/resources.ts';
import { CallVaultFunction } from './callvault-function.ts';
import { DEFAULT_ACCESS_LOG_RETENTION, grantKeyUse, logRetentionFor } from './protection.ts';
import type { Storage } from './storage.ts';
import { WorkerQueue } from './worker-queue.ts';

/** The webhook route; `{token}` is the source's secret, compared in constant time by the ingest function. */
export const WEBHOOK_PATH = '/webhooks/{source}/{token}';

/** A configured source's own route (the ingest reads the source from the route key): its throttle is its own. */
export const sourceWebhookPath = (sourceId: string): string => `/webhooks/${sourceId}/{token}`;

/** The methods every webhook route takes. HTTP APIs route HEAD only where a route names it; the handler answers it like GET (URL checks). */
export const WEBHOOK_METHODS = [apigwv2.HttpMethod.POST, apigwv2.HttpMethod.GET, apigwv2.HttpMethod.HEAD] as const;

/** Route keys of the generic route, which only unknown sources (and wrong URLs) reach. */
export const GENERIC_ROUTE_KEYS: readonly string[] = WEBHOOK_METHODS.map((m) => `${m} ${WEBHOOK_PATH}`);

/**
 * Throttle of the generic `{source}` route, which only unknown sources reach (and paths that spell a
 * source id with percent-escapes): small, so a flood of wrong URLs is refused there with 429s and
 * never spends a real source's allowance.
 */
export const UNKNOWN_SOURCE_THROTTLE = { rateLimit: 5, burstLimit: 10 } as const;

/** Name of a source's webhook token secret (functions/contract/resources.ts secretName: the ingest derives the same). */
export const webhookTokenSecretName = (stackName: string, sourceId: string): string => secretName(`${stackName}/`, sourceId, 'webhook');

/** Name of a signing source's Standard Webhooks secret (the sender's `whsec_…`), named like the token secret. */
export const signingSecretName = (stackName: string, sourceId: string): string => secretName(`${stackName}/`, sourceId, 'signing');

/**
 * The ARN pattern of every secret of one kind this stack names (`{stack}/*\/{kind}` plus Secrets Manager's
 * 6-character suffix): one statement whatever the number of sources, where an ARN per source made the
 * ingest's policy outgrow IAM's limits at about 50 sources. It matches this stack's secrets and no other.
 */
export function stackSecretsArn(scope: Construct, kind: keyof typeof SECRET_KINDS): string {
  const stack = Stack.of(scope);
  return stack.formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${stack.stackName}/*/${SECRET_KINDS[kind]}-??????`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

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
  /** Throttle of the generic route that unknown sources reach. @default UNKNOWN_SOURCE_THROTTLE */
  readonly unknownSourceThrottle?: { readonly rateLimit: number; readonly burstLimit: number };
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
 * one such route per configured source with its own throttle (plus the generic route for unknown sources,
 * throttled low), and access-logged (as JSON, without the path: it carries the token). The ingest
 * function is also the consumer of the replay queue, where it parks deliveries it could not write; its
 * reserved concurrency (config `concurrency.ingestReserved`) keeps the workers from taking its executions.
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
    // 0 reserves nothing (an account with a low concurrency quota cannot reserve); never a reserved 0, which would stop the function.
    if (config.concurrency.ingestReserved > 0) {
      (ingest.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = config.concurrency.ingestReserved;
    }
    // The calls table adapter reads, then upserts with UpdateItem: never PutItem.
    storage.bindCalls(ingest, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    storage.bindArchive(ingest, [PREFIX.raw, PREFIX.quarantine, PREFIX.extras, PREFIX.cdr], ['s3:PutObject']);
    // A replay whose body was too big for the message reads it back from raw/.
    storage.bindArchive(ingest, [PREFIX.raw], ['s3:GetObject']);
    props.mediaQueue.bindProducer(ingest, ENV.mediaQueueUrl);
    props.insightQueue.bindProducer(ingest, ENV.insightQueueUrl);

    this.replayQueue = new WorkerQueue(this, REPLAY_QUEUE.name, {
      definition: REPLAY_QUEUE,
      alarmTopic: props.alarmTopic,
      consumer: ingest,
      encryptionKey: storage.encryptionKey,
      // After a brownout the replay queue is full just when webhooks return: replays must leave them executions.
      maxConcurrency: config.concurrency.replayMax,
    });
    this.replayQueue.bindProducer(ingest, ENV.replayQueueUrl);

    const stackName = Stack.of(this).stackName;
    /** A secret whose value is set by hand (pasted into a dashboard, or received from the sender), never rotated by a Lambda. */
    const handKept = (
      id: string,
      props: { name: string; description: string; template: object; key: string; length: number; why: string },
    ) => {
      const secret = new secretsmanager.Secret(this, id, {
        secretName: props.name,
        description: props.description,
        generateSecretString: {
          secretStringTemplate: JSON.stringify(props.template),
          generateStringKey: props.key,
          excludePunctuation: true,
          passwordLength: props.length,
        },
        encryptionKey: storage.encryptionKey,
        // Pasted into a provider dashboard, or a copy of the sender's: deleting the stack must not break them.
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: props.why });
      return secret;
    };
    this.tokenSecrets = new Map(
      config.sources.map((source) => [
        source.id,
        handKept(`WebhookToken-${source.id}`, {
          name: webhookTokenSecretName(stackName, source.id),
          description: `CallVault webhook token of source "${source.id}" (${source.provider}): {"current": "..."}; add "previous" while rotating`,
          template: {},
          key: 'current',
          // 64 characters of [A-Za-z0-9]: about 381 bits, URL-safe in a path segment.
          length: 64,
          why: 'Rotated by hand on purpose: the token is pasted into the provider dashboard, so a scheduled rotation would break deliveries. Add the new value as "current", keep the old as "previous" until the dashboard is updated.',
        }),
      ]),
    );
    // A generated placeholder keeps any value out of the template; the ingest reads it as "not put yet".
    this.signingSecrets = new Map(
      config.sources
        .filter((s) => s.signature)
        .map((source) => [
          source.id,
          handKept(`SigningSecret-${source.id}`, {
            name: signingSecretName(stackName, source.id),
            description: `CallVault signing secret of source "${source.id}" (${source.signature}): put the sender's whsec_... secret here; until then its deliveries are refused with 401`,
            template: { unset: "Replace this whole value with the sender's whsec_ secret" },
            key: 'placeholder',
            length: 32,
            why: 'The sender (the provider or a signing relay) owns this secret and rotates it on its side; CallVault only holds a copy. During a rotation the sender signs with old and new secrets at once, so the copy is replaced by hand without losing deliveries.',
          }),
        ]),
    );

    ingest.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [stackSecretsArn(this, 'webhook'), ...(this.signingSecrets.size > 0 ? [stackSecretsArn(this, 'signing')] : [])],
      }),
    );
    Validations.of(ingest.executionRole).acknowledge(
      ...(this.signingSecrets.size > 0 ? (['webhook', 'signing'] as const) : (['webhook'] as const)).map((kind) => ({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${stackName}/*/${SECRET_KINDS[kind]}-??????]`,
        reason: `Every ${kind} secret of this stack by its name pattern ({stack}/{source}/${SECRET_KINDS[kind]} plus the 6-character suffix Secrets Manager adds): one statement instead of an ARN per source, which outgrew IAM's policy limits.`,
      })),
    );
    if (storage.encryptionKey) grantKeyUse(ingest, storage.encryptionKey, 'secretsmanager', ['kms:Decrypt']);
    // One prefix, not a name per source: the ingest derives every secret's name from it and the config.
    ingest.addEnvironment(ENV.secretPrefix, `${stackName}/`);

    this.api = new apigwv2.HttpApi(this, 'HttpApi', {
      description: 'CallVault webhooks: POST /webhooks/{source}/{token}',
      createDefaultStage: false,
    });
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? logRetentionFor(config.protection, DEFAULT_ACCESS_LOG_RETENTION),
      encryptionKey: storage.encryptionKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // The stage default covers any route without settings of its own; every webhook route has its own below.
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

    // One integration for every route; API Gateway picks a source's literal route over the generic one.
    // One Lambda permission for the whole API rather than one per route: 3 routes per source would pass
    // Lambda's 20 KB resource policy at about 15 sources (lib/deploy-limits.ts estimates it).
    const integration = new HttpLambdaIntegration('IngestIntegration', ingest, { scopePermissionToRoute: false });
    const routeSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    const addWebhookRoutes = (path: string, throttle: { rateLimit: number; burstLimit: number }): void => {
      for (const route of this.api.addRoutes({ path, methods: [...WEBHOOK_METHODS], integration })) {
        routeSettings[(route.node.defaultChild as apigwv2.CfnRoute).routeKey] = {
          ThrottlingRateLimit: throttle.rateLimit,
          ThrottlingBurstLimit: throttle.burstLimit,
        };
        // CloudFormation refuses route settings that name a route key it has not created yet.
        this.stage.node.addDependency(route);
      }
    };
    addWebhookRoutes(WEBHOOK_PATH, props.unknownSourceThrottle ?? UNKNOWN_SOURCE_THROTTLE);
    for (const source of config.sources) addWebhookRoutes(sourceWebhookPath(source.id), throttleOf(config, source));
    (this.stage.node.defaultChild as apigwv2.CfnStage).routeSettings = routeSettings;
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Providers cannot sign requests or send custom auth headers; each URL carries a 256-bit per-source token that the ingest function checks in constant time against Secrets Manager.',
    });

    this.baseUrl = `${this.api.apiEndpoint}/webhooks`;
    this.endpoints = config.sources.map((source) => ({
      sourceId: source.id,
      urlPattern: `${this.baseUrl}/${source.id}/<token>`,
      tokenSecret: this.tokenSecrets.get(source.id) as secretsmanager.Secret,
    }));
  }
}
