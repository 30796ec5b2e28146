/**
 * The synthesised CallVault stack (cdk.json's own config), built once for the whole file: the
 * properties that matter for durability, security and the contract with the handlers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stack, Validations, type App, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks, type NagPack } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '#bin/app.ts';
import type { CallVaultStack } from '#lib/callvault-stack.ts';
import { parseConfig } from '#contract/config-schema.ts';
import { LAMBDA_ENVIRONMENT_LIMIT_BYTES, estimateEnvironment, type TemplateResource } from '#lib/constructs/function-environment.ts';
import { webhookTokenSecretName } from '#lib/constructs/webhook-api.ts';
import {
  CALLS_TABLE,
  CONTACTS_TABLE,
  DLQ_OPERATOR_DAYS,
  ENV,
  INGEST_TIMEOUT_SECONDS,
  INSIGHT_QUEUE,
  MEDIA_QUEUE,
  QUEUES,
  REPLAY_QUEUE,
  SQS_MAX_RETENTION_DAYS,
  queueLifetimeSeconds,
  secretNamesOf,
} from '#contract/resources.ts';
import { match } from '#test/support/match.ts';

type Json = Record<string, unknown>;
type Resource = { Type: string; Properties?: Json; DeletionPolicy?: string; UpdateReplacePolicy?: string };

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Json };
const config = parseConfig(cdkJson.context.callvault);

let app: App;
let stack: CallVaultStack;
let template: Template;
let resources: Record<string, Resource>;

beforeAll(() => {
  ({ app, stack } = createApp({ context: cdkJson.context }));
  // Synthesis also runs the registered cdk-nag packs: an unacknowledged finding fails here, as in `cdk synth`.
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Record<string, Resource>;
});

const idOf = (construct: IConstruct): string => Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
const ofType = (type: string): [string, Resource][] => Object.entries(resources).filter(([, r]) => r.Type === type);
const props = (construct: IConstruct): Json => resources[idOf(construct)]?.Properties ?? {};

/** An intrinsic as readable text: `{"Fn::GetAtt": ["Bucket", "Arn"]}` + "/raw/*" → `Bucket.Arn/raw/*`. */
function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Json;
  if ('Ref' in v) return String(v.Ref);
  if ('Fn::GetAtt' in v) return (v['Fn::GetAtt'] as string[]).join('.');
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(flatten).join(sep);
  }
  return JSON.stringify(value);
}
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every `action resource` pair a role is allowed, from its inline and attached policies; fails on managed policies or Deny-less surprises. */
function grantsOf(role: IConstruct): string[] {
  const roleId = idOf(role);
  const roleProps = resources[roleId]?.Properties ?? {};
  expect(roleProps.ManagedPolicyArns ?? [], `${role.node.path} has managed policies`).toEqual([]);
  const documents = [
    ...list(roleProps.Policies as { PolicyDocument: Json }[]).map((p) => p.PolicyDocument),
    ...ofType('AWS::IAM::Policy')
      .filter(([, r]) => list(r.Properties?.Roles as unknown[]).some((ref) => flatten(ref) === roleId))
      .map(([, r]) => r.Properties?.PolicyDocument as Json),
  ];
  const grants: string[] = [];
  for (const doc of documents) {
    for (const st of list(doc.Statement as Json[])) {
      expect(st.Effect).toBe('Allow');
      for (const action of list(st.Action as string[])) for (const res of list(st.Resource)) grants.push(`${action} ${flatten(res)}`);
    }
  }
  return grants.sort();
}
const sorted = (xs: string[]) => [...xs].sort();

describe('functions', () => {
  it('runs every function on nodejs24.x and arm64, with its own log group', () => {
    const fns = ofType('AWS::Lambda::Function');
    expect(fns).toHaveLength(3);
    for (const [, fn] of fns) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
      expect(flatten((fn.Properties?.LoggingConfig as Json).LogGroup)).toMatch(/LogGroup/);
      expect((fn.Properties?.Environment as { Variables: Json }).Variables).toMatchObject({ NODE_OPTIONS: '--enable-source-maps' });
    }
    const logGroups = ofType('AWS::Logs::LogGroup');
    // One per function and the API's access logs.
    expect(logGroups).toHaveLength(4);
    for (const [, lg] of logGroups) expect(lg.Properties?.RetentionInDays).toBeGreaterThan(0);
  });

  it('sizes each function as designed', () => {
    expect(props(stack.webhookApi.ingestFunction)).toMatchObject({ Timeout: INGEST_TIMEOUT_SECONDS, MemorySize: 512 });
    expect(props(stack.mediaPipeline.worker)).toMatchObject({ Timeout: MEDIA_QUEUE.consumerTimeoutSeconds, MemorySize: 256 });
    expect(props(stack.insightCards.worker)).toMatchObject({ Timeout: INSIGHT_QUEUE.consumerTimeoutSeconds, MemorySize: 256 });
  });

  it('gives each function exactly the environment its handler reads', () => {
    const envKeys = (fn: IConstruct) => Object.keys((props(fn).Environment as { Variables: Json }).Variables).sort();
    // No config: it is compiled into the bundle (see below), not carried in Lambda's 4 KB.
    const common = ['NODE_OPTIONS'];
    expect(envKeys(stack.webhookApi.ingestFunction)).toEqual(
      sorted([...common, ENV.callsTable, ENV.bucket, ENV.mediaQueueUrl, ENV.insightQueueUrl, ENV.replayQueueUrl, ENV.secretPrefix]),
    );
    expect(envKeys(stack.mediaPipeline.worker)).toEqual(
      sorted([...common, ENV.callsTable, ENV.bucket, ENV.mediaQueueUrl, ENV.secretPrefix, 'MALLOC_MMAP_THRESHOLD_']),
    );
    // The allocator setting the media memory benchmark was measured with.
    expect((props(stack.mediaPipeline.worker).Environment as { Variables: Json }).Variables.MALLOC_MMAP_THRESHOLD_).toBe('131072');
    expect(envKeys(stack.insightCards.worker)).toEqual(sorted([...common, ENV.callsTable, ENV.contactsTable, ENV.secretPrefix]));
  });

  it('gives the functions the prefix every secret name derives from, and names each secret so, whatever the number of sources', () => {
    for (const fn of [stack.webhookApi.ingestFunction, stack.mediaPipeline.worker, stack.insightCards.worker]) {
      expect((props(fn).Environment as { Variables: Json }).Variables[ENV.secretPrefix], fn.node.path).toBe('CallVault/');
    }
    // What the ingest derives from the prefix is what the stack named.
    expect(secretNamesOf('CallVault/', ['hipcall'], 'webhook')).toEqual({ hipcall: webhookTokenSecretName(stack.stackName, 'hipcall') });
    for (const source of config.sources) {
      expect(props(stack.webhookApi.tokenSecrets.get(source.id)!).Name).toBe(webhookTokenSecretName(stack.stackName, source.id));
    }
  });

  it("keeps every function environment under Lambda's 4 KB once every token is at its longest", () => {
    const context = { stackName: stack.stackName, resources: resources as Record<string, TemplateResource> };
    const estimateOf = (fn: IConstruct) => estimateEnvironment((props(fn).Environment as { Variables: Json }).Variables, context);
    for (const fn of [stack.webhookApi.ingestFunction, stack.mediaPipeline.worker, stack.insightCards.worker]) {
      const fromTemplate = estimateOf(fn);
      expect(fromTemplate.bytes, fn.node.path).toBeLessThan(LAMBDA_ENVIRONMENT_LIMIT_BYTES);
      // The construct measures the same thing at synth.
      expect(fn.estimateEnvironment().bytes).toBe(fromTemplate.bytes);
    }
    // A queue URL counts as its longest: https://sqs.{14}.{16}/{12}/{name of up to 80}. The ingest and the media worker send media jobs.
    for (const fn of [stack.webhookApi.ingestFunction, stack.mediaPipeline.worker])
      expect(estimateOf(fn).variables.find((v) => v.name === ENV.mediaQueueUrl)?.bytes, fn.node.path).toBeGreaterThan(100);
  });

  const bundleOf = (fn: IConstruct) => {
    const key = flatten((props(fn).Code as Json).S3Key);
    const dir = join(app.outdir, `asset.${key.replace(/\.zip$/, '')}`);
    const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
    const map = existsSync(join(dir, 'index.mjs.map'))
      ? (JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8')) as { sources: string[] })
      : undefined;
    return { code, sources: map?.sources };
  };

  it('bundles minified ESM with a require shim and source maps, without aws-cdk-lib', () => {
    for (const fn of [stack.webhookApi.ingestFunction, stack.mediaPipeline.worker, stack.insightCards.worker]) {
      const { code, sources } = bundleOf(fn);
      expect(code.startsWith('import { createRequire as __cvCreateRequire }')).toBe(true);
      expect(sources).toBeDefined();
      expect(sources!.filter((s) => s.includes('aws-cdk-lib') || s.includes('/constructs/'))).toEqual([]);
    }
  });

  it('compiles the validated config, defaults applied, into every bundle, and leaves the config schema out', () => {
    for (const fn of [stack.webhookApi.ingestFunction, stack.mediaPipeline.worker, stack.insightCards.worker]) {
      const { code, sources } = bundleOf(fn);
      // The JSON text once, as a string literal (cdk.json's config has no character a JS string would escape):
      // exactly what the handler's JSON.parse reads at cold start.
      expect(code.split(JSON.stringify(config)), fn.node.path).toHaveLength(2);
      expect(
        sources!.filter((s) => s.endsWith('functions/contract/config-schema.ts')),
        fn.node.path,
      ).toEqual([]);
      expect(
        sources!.filter((s) => s.endsWith('functions/contract/config.ts')),
        fn.node.path,
      ).toHaveLength(1);
    }
  });
});

describe('storage', () => {
  it('sorts both indexes by callAt, the time every call has', () => {
    const indexes = props(stack.storage.callsTable).GlobalSecondaryIndexes as {
      IndexName: string;
      KeySchema: { AttributeName: string; KeyType: string }[];
    }[];
    for (const index of indexes) expect(index.KeySchema.find((k) => k.KeyType === 'RANGE')?.AttributeName, index.IndexName).toBe('callAt');
    expect(props(stack.storage.callsTable).AttributeDefinitions).toContainEqual({ AttributeName: 'callAt', AttributeType: 'S' });
  });

  it('keeps extras/ like the items that point to it: never expired, never tiered', () => {
    const rules = (props(stack.storage.bucket).LifecycleConfiguration as { Rules: Json[] }).Rules;
    expect(rules.filter((r) => typeof r.Prefix === 'string' && 'extras/'.startsWith(r.Prefix))).toEqual([]);
  });

  it('keys the calls table on callKey with both indexes projecting everything', () => {
    const calls = resources[idOf(stack.storage.callsTable)]!;
    expect(calls.Properties).toMatchObject({
      KeySchema: [{ AttributeName: CALLS_TABLE.partitionKey.name, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      SSESpecification: { SSEEnabled: true },
    });
    const indexes = calls.Properties?.GlobalSecondaryIndexes as Json[];
    expect(indexes.map((i) => i.IndexName).sort()).toEqual(['byCustomerNumber', 'byDay']);
    for (const def of CALLS_TABLE.indexes) {
      expect(indexes).toContainEqual({
        IndexName: def.indexName,
        KeySchema: [
          { AttributeName: def.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: def.sortKey!.name, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      });
    }
  });

  it('retains both tables, with PITR and deletion protection', () => {
    for (const table of [stack.storage.callsTable, stack.storage.contactsTable]) {
      const r = resources[idOf(table)]!;
      expect(r.DeletionPolicy).toBe('Retain');
      expect(r.UpdateReplacePolicy).toBe('Retain');
      expect(r.Properties).toMatchObject({
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
      });
    }
    expect(props(stack.storage.contactsTable).KeySchema).toEqual([{ AttributeName: CONTACTS_TABLE.partitionKey.name, KeyType: 'HASH' }]);
  });

  it('keeps the archive bucket private, encrypted, versioned, retained and access-logged', () => {
    const bucket = resources[idOf(stack.storage.bucket)]!;
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: { DestinationBucketName: { Ref: idOf(stack.storage.accessLogsBucket) } },
    });
  });

  it('denies every request to the buckets that is not over TLS', () => {
    for (const bucket of [stack.storage.bucket, stack.storage.accessLogsBucket]) {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: idOf(bucket) },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  it('aborts stale multipart uploads, expires old versions and tiers media per config.retention', () => {
    const rules = (props(stack.storage.bucket).LifecycleConfiguration as { Rules: Json[] }).Rules;
    expect(rules).toContainEqual({
      Id: 'AbortIncompleteMultipartUploads',
      Status: 'Enabled',
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
    });
    expect(rules).toContainEqual(match.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } }));
    const transitions = [
      { StorageClass: 'STANDARD_IA', TransitionInDays: config.retention.recordingsInfrequentAccessDays },
      { StorageClass: 'GLACIER_IR', TransitionInDays: config.retention.recordingsGlacierDays },
    ];
    for (const prefix of ['recordings/', 'voicemails/', 'transcripts/']) {
      expect(rules).toContainEqual(match.objectContaining({ Prefix: prefix, Status: 'Enabled', Transitions: transitions }));
    }
    // Abort rule covers the whole bucket; nothing expires raw/ while rawExpireDays is 0.
    expect(rules.find((r) => r.Id === 'AbortIncompleteMultipartUploads')).not.toHaveProperty('Prefix');
    expect(rules.filter((r) => r.Prefix === 'raw/' || r.ExpirationInDays !== undefined)).toEqual([]);
  });
});

describe('queues', () => {
  const workerQueues = () => [stack.mediaPipeline.jobs, stack.insightCards.jobs, stack.webhookApi.replayQueue];

  it('gives every work queue a dead-letter queue with the defined maxReceiveCount, printed for `callvault replay --dlq`', () => {
    const queues = ofType('AWS::SQS::Queue');
    expect(queues).toHaveLength(QUEUES.length * 2);
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    for (const [def, worker, output] of [
      [MEDIA_QUEUE, stack.mediaPipeline.jobs, 'MediaDlqUrl'],
      [INSIGHT_QUEUE, stack.insightCards.jobs, 'InsightDlqUrl'],
      [REPLAY_QUEUE, stack.webhookApi.replayQueue, 'ReplayDlqUrl'],
    ] as const) {
      expect(props(worker.queue)).toMatchObject({
        VisibilityTimeout: def.visibilityTimeoutSeconds,
        MessageRetentionPeriod: def.retentionDays * 86400,
        SqsManagedSseEnabled: true,
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [idOf(worker.deadLetterQueue), 'Arn'] },
          maxReceiveCount: def.maxReceiveCount,
        },
      });
      expect(props(worker.deadLetterQueue)).toMatchObject({
        MessageRetentionPeriod: def.dlqRetentionDays * 86400,
        SqsManagedSseEnabled: true,
      });
      expect(worker.node.id).toBe(def.name);
      // The CLI finds each DLQ by this output: it must name the worker's own dead-letter queue.
      expect(flatten(outputs[output]?.Value)).toBe(idOf(worker.deadLetterQueue));
    }
  });

  it('keeps every message until its last receive, and every dead letter at least a week longer than its queue would', () => {
    for (const worker of workerQueues()) {
      const queueSeconds = props(worker.queue).MessageRetentionPeriod as number;
      const dlqSeconds = props(worker.deadLetterQueue).MessageRetentionPeriod as number;
      const def = QUEUES.find((q) => q.name === worker.node.id)!;
      expect(dlqSeconds, worker.node.path).toBe(SQS_MAX_RETENTION_DAYS * 86400);
      // A standard queue's dead letter keeps its first enqueue time: the DLQ must outlast the queue.
      expect(dlqSeconds - queueSeconds, worker.node.path).toBeGreaterThanOrEqual(DLQ_OPERATOR_DAYS * 86400);
      expect(queueSeconds, worker.node.path).toBeGreaterThanOrEqual(queueLifetimeSeconds(def));
    }
    // Media: 8 receives, each hidden up to SQS's 12 h by the worker's backoff, after up to 15 min of delay.
    expect(queueLifetimeSeconds(MEDIA_QUEUE)).toBe(900 + 8 * 12 * 3600);
  });

  it('denies non-TLS access to every queue', () => {
    const queues = ofType('AWS::SQS::Queue');
    expect(queues).toHaveLength(QUEUES.length * 2);
    for (const [id] of queues) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
        },
      });
    }
  });

  it('alarms to the topic as soon as any DLQ holds a message', () => {
    const topic = idOf(stack.monitoring.alarmTopic);
    for (const worker of workerQueues()) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Namespace: 'AWS/SQS',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf(worker.deadLetterQueue), 'QueueName'] } }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [{ Ref: topic }],
      });
    }
  });

  it('feeds each consumer with partial batch responses and a visibility timeout of at least 6x its timeout', () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(3);
    const expected = new Map([
      [idOf(stack.mediaPipeline.jobs.queue), [MEDIA_QUEUE, stack.mediaPipeline.worker]],
      [idOf(stack.insightCards.jobs.queue), [INSIGHT_QUEUE, stack.insightCards.worker]],
      [idOf(stack.webhookApi.replayQueue.queue), [REPLAY_QUEUE, stack.webhookApi.ingestFunction]],
    ] as const);
    for (const [, m] of mappings) {
      const queueId = flatten(m.Properties?.EventSourceArn).replace(/\.Arn$/, '');
      const [def, fn] = expected.get(queueId)!;
      expect(m.Properties).toMatchObject({
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: def.batchSize,
        FunctionName: { Ref: idOf(fn) },
      });
      const visibility = resources[queueId]!.Properties!.VisibilityTimeout as number;
      expect(visibility).toBeGreaterThanOrEqual(6 * (props(fn).Timeout as number));
    }
  });
});

describe('webhook API', () => {
  it("routes POST, GET and HEAD /webhooks/{source}/{token}, and the same on each source's own route, to the ingest function", () => {
    const integration = ofType('AWS::ApiGatewayV2::Integration');
    expect(integration).toHaveLength(1);
    expect(integration[0]![1].Properties).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
    expect(flatten(integration[0]![1].Properties?.IntegrationUri)).toBe(`${idOf(stack.webhookApi.ingestFunction)}.Arn`);
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties?.RouteKey);
    // HTTP APIs answer 404 to a HEAD no route names; the handler answers it as a URL check.
    const expected = ['{source}', ...config.sources.map((s) => s.id)].flatMap((segment) =>
      ['GET', 'HEAD', 'POST'].map((m) => `${m} /webhooks/${segment}/{token}`),
    );
    expect(routes.sort()).toEqual(expected.sort());
  });

  it('throttles the stage from config.throttle and access-logs as JSON without the token-bearing path', () => {
    const stage = props(stack.webhookApi.stage);
    expect(stage).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: config.throttle.rateLimit, ThrottlingBurstLimit: config.throttle.burstLimit },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [idOf(stack.webhookApi.accessLogGroup), 'Arn'] } },
    });
    const format = (stage.AccessLogSettings as { Format: string }).Format;
    expect(JSON.parse(format)).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
    expect(format).not.toMatch(/\$context\.(path|resourcePath)|\$request/);
  });

  it('creates one generated 64-character webhook token per source', () => {
    expect(stack.webhookApi.tokenSecrets.size).toBe(config.sources.length);
    for (const secret of stack.webhookApi.tokenSecrets.values()) {
      expect(props(secret).GenerateSecretString).toEqual({
        SecretStringTemplate: '{}',
        GenerateStringKey: 'current',
        ExcludePunctuation: true,
        PasswordLength: 64,
      });
    }
  });
});

describe('least privilege', () => {
  const bucket = () => idOf(stack.storage.bucket);
  const calls = () => `${idOf(stack.storage.callsTable)}.Arn`;
  const logWrites = (logGroupId: string) => [`logs:CreateLogStream ${logGroupId}.Arn`, `logs:PutLogEvents ${logGroupId}.Arn`];
  const consume = (queue: IConstruct) =>
    ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'].map(
      (a) => `${a} ${idOf(queue)}.Arn`,
    );
  const secretsOf = (kind: string) => `arn:AWS::Partition:secretsmanager:AWS::Region:AWS::AccountId:secret:CallVault/*/${kind}-??????`;
  const logGroupOf = (fn: IConstruct) => flatten((props(fn).LoggingConfig as Json).LogGroup);

  it('lets the ingest upsert calls, write raw/, quarantine/, extras/ and cdr/, read raw/ back, enqueue, consume replays and read webhook tokens: nothing else', () => {
    const fn = stack.webhookApi.ingestFunction;
    expect(grantsOf(fn.executionRole)).toEqual(
      sorted([
        ...logWrites(logGroupOf(fn)),
        // The calls table adapter reads and then upserts with UpdateItem; it never puts a whole item.
        ...['GetItem', 'UpdateItem'].map((a) => `dynamodb:${a} ${calls()}`),
        `s3:PutObject ${bucket()}.Arn/raw/*`,
        `s3:PutObject ${bucket()}.Arn/quarantine/*`,
        `s3:PutObject ${bucket()}.Arn/extras/*`,
        // A call that ends with no media gets its cdr/ row from the ingest (the media worker writes the others).
        `s3:PutObject ${bucket()}.Arn/cdr/*`,
        // A replay whose body did not fit the message reads it back from raw/.
        `s3:GetObject ${bucket()}.Arn/raw/*`,
        ...[stack.mediaPipeline.jobs, stack.insightCards.jobs, stack.webhookApi.replayQueue].map(
          (w) => `sqs:SendMessage ${idOf(w.queue)}.Arn`,
        ),
        ...consume(stack.webhookApi.replayQueue.queue),
        // This stack's webhook token secrets by name pattern: one statement, whatever the number of sources.
        `secretsmanager:GetSecretValue ${secretsOf('webhook')}`,
      ]),
    );
  });

  it('lets the media worker update calls, write media and cdr objects, handle its own queue and read Hipcall tokens', () => {
    const fn = stack.mediaPipeline.worker;
    const prefixes = ['recordings/', 'voicemails/', 'transcripts/'];
    expect(grantsOf(fn.executionRole)).toEqual(
      sorted([
        ...logWrites(logGroupOf(fn)),
        `dynamodb:GetItem ${calls()}`,
        `dynamodb:UpdateItem ${calls()}`,
        // What lib-storage's Upload sends: multipart calls come under PutObject; it never lists parts.
        ...prefixes.flatMap((p) => ['s3:PutObject', 's3:AbortMultipartUpload'].map((a) => `${a} ${bucket()}.Arn/${p}*`)),
        // The cdr/ record is a single PutObject, never a multipart upload.
        `s3:PutObject ${bucket()}.Arn/cdr/*`,
        ...consume(stack.mediaPipeline.jobs.queue),
        `secretsmanager:GetSecretValue ${secretsOf('hipcall-api')}`,
      ]),
    );
  });

  it('lets the insight worker claim calls, get contacts and read Hipcall tokens: no S3', () => {
    const fn = stack.insightCards.worker;
    expect(grantsOf(fn.executionRole)).toEqual(
      sorted([
        ...logWrites(logGroupOf(fn)),
        // Claims and outcomes are conditional UpdateItems; a refused claim reads the item to name its owner.
        `dynamodb:GetItem ${calls()}`,
        `dynamodb:UpdateItem ${calls()}`,
        `dynamodb:GetItem ${idOf(stack.storage.contactsTable)}.Arn`,
        ...consume(stack.insightCards.jobs.queue),
        `secretsmanager:GetSecretValue ${secretsOf('hipcall-api')}`,
      ]),
    );
  });

  it('keeps each role away from what it does not own', () => {
    const contacts = idOf(stack.storage.contactsTable);
    const ingest = grantsOf(stack.webhookApi.ingestFunction.executionRole);
    const media = grantsOf(stack.mediaPipeline.worker.executionRole);
    const insight = grantsOf(stack.insightCards.worker.executionRole);
    expect(ingest.filter((g) => g.includes(contacts))).toEqual([]);
    expect(ingest.filter((g) => g.startsWith('s3:') && !/\/(raw|quarantine|extras|cdr)\/\*$/.test(g))).toEqual([]);
    expect(ingest.filter((g) => g.startsWith('s3:GetObject') && !g.endsWith('/raw/*'))).toEqual([]);
    expect(media.filter((g) => g.includes(contacts))).toEqual([]);
    expect(insight.filter((g) => g.startsWith('s3:') || g.includes(bucket()))).toEqual([]);
    // The grants the three tests above list, one by one.
    expect([ingest.length, media.length, insight.length]).toEqual([18, 17, 11]);
    for (const g of [...ingest, ...media, ...insight]) {
      expect(g).not.toMatch(
        / \*$|:\*( |$)|dynamodb:(Scan|DeleteItem|BatchWriteItem|PutItem)|s3:(DeleteObject|ListBucket|ListMultipartUploadParts)/,
      );
    }
  });

  it('attaches no AWS-managed policy to any role', () => {
    const roles = ofType('AWS::IAM::Role');
    // One per function.
    expect(roles).toHaveLength(3);
    for (const [, role] of roles) expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
  });
});

describe('monitoring', () => {
  it('encrypts the alarm topic with a rotated key CloudWatch may use, and denies non-TLS publishing', () => {
    expect(props(stack.monitoring.alarmTopic)).toMatchObject({
      KmsMasterKeyId: { 'Fn::GetAtt': [idOf(stack.monitoring.topicKey), 'Arn'] },
    });
    expect(props(stack.monitoring.topicKey)).toMatchObject({ EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish' }),
        ]),
      },
    });
    expect(ofType('AWS::SNS::Subscription')).toEqual([]);
  });

  it('alarms on any ingest error', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: idOf(stack.webhookApi.ingestFunction) } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: idOf(stack.monitoring.alarmTopic) }],
    });
  });
});

describe('outputs', () => {
  it('prints the webhook URLs, the token commands, the names and the Hipcall API token commands', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const value = (key: string) => flatten(outputs[key]?.Value);
    const api = `${idOf(stack.webhookApi.api)}.ApiEndpoint`;
    expect(value('WebhookBaseUrl')).toBe(`${api}/webhooks`);
    expect(value('WebhookUrlHipcall')).toBe(`${api}/webhooks/hipcall/<token>`);
    expect(value('WebhookUrlCallhippo')).toBe(`${api}/webhooks/callhippo/<token>`);
    expect(value('WebhookTokenCommandPostcall')).toBe(
      `aws secretsmanager get-secret-value --secret-id ${idOf(stack.webhookApi.tokenSecrets.get('postcall')!)} --query SecretString --output text`,
    );
    const hipcallSecret = idOf(stack.insightCards.hipcallApiSecrets.get('hipcall')!);
    expect(value('HipcallApiTokenSecretArnHipcall')).toBe(hipcallSecret);
    expect(value('HipcallApiTokenCommandHipcall')).toBe(
      `aws secretsmanager put-secret-value --secret-id ${hipcallSecret} --secret-string '{"token":"<your Hipcall API token>"}'`,
    );
    expect(value('CallsTableName')).toBe(idOf(stack.storage.callsTable));
    expect(value('ContactsTableName')).toBe(idOf(stack.storage.contactsTable));
    expect(value('ArchiveBucketName')).toBe(idOf(stack.storage.bucket));
  });

  it('creates Hipcall API token secrets for Hipcall sources only, without a plaintext value', () => {
    const hipcallIds = config.sources.filter((s) => s.provider === 'hipcall').map((s) => s.id);
    expect([...stack.insightCards.hipcallApiSecrets.keys()]).toEqual(hipcallIds);
    for (const secret of stack.insightCards.hipcallApiSecrets.values()) {
      expect(props(secret).SecretString).toBeUndefined();
      expect(props(secret).GenerateSecretString).toMatchObject({ SecretStringTemplate: '{"token":""}' });
    }
  });
});

describe('cdk-nag', () => {
  const packs = (): NagPack[] => [new AwsSolutionsChecks(), new ServerlessChecks()];
  const describeFindings = (pack: NagPack) =>
    pack
      .validateScope(app)
      .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath ?? r.resourceLogicalId}`));

  /** Every acknowledgment in the tree: where it was made, the rule id, the reason. */
  const acknowledgments = () => {
    const found: { path: string; id: string; reason: string }[] = [];
    for (const node of app.node.findAll()) {
      for (const entry of node.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          found.push({ path: node.node.path, id: id.replace(/^annotation::/i, ''), reason });
        }
      }
    }
    return found;
  };

  it('reports no unacknowledged AwsSolutions or Serverless finding', () => {
    for (const pack of packs()) expect(describeFindings(pack), pack.readPackName).toEqual([]);
  });

  it('gives every acknowledgment a reason a reviewer can check', () => {
    const acks = acknowledgments();
    const perRule: Record<string, number> = {};
    for (const ack of acks) {
      const rule = ack.id.replace(/\[.*$/, '');
      perRule[rule] = (perRule[rule] ?? 0) + 1;
    }
    // Per function, per DLQ, per secret, and IAM5 per S3 prefix grant and per secret-name pattern.
    expect(perRule).toEqual({
      'AwsSolutions-APIG4': 1,
      'AwsSolutions-IAM5': 12,
      'AwsSolutions-SMG4': 4,
      'Serverless-LambdaDLQ': 3,
      'Serverless-LambdaEventSourceMappingDestination': 3,
      'Serverless-LambdaTracing': 3,
      'Serverless-SQSRedrivePolicy': 3,
    });
    for (const ack of acks) expect(ack.reason.trim().length, `${ack.id} at ${ack.path}`).toBeGreaterThan(40);
  });

  it('acknowledges only findings that exist, on the construct that has them', () => {
    // Re-run the packs blind to acknowledgments (a private hook of cdk-nag 3's NagPack) to list raw findings.
    const raw = packs().flatMap((pack) => {
      (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
      return pack
        .validateScope(app)
        .violations.flatMap((v) => v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '' })));
    });
    const acks = acknowledgments();
    expect(acks).toHaveLength(29);
    for (const ack of acks) {
      expect(
        raw.some((f) => f.rule === ack.id && (f.path === ack.path || f.path.startsWith(`${ack.path}/`))),
        `stale acknowledgment ${ack.id} at ${ack.path}`,
      ).toBe(true);
    }
  });
});
