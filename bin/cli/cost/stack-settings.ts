/**
 * The settings the cost model reads from the synthesised CallVault stack (not from constants): each
 * function's memory, timeout, architecture and concurrency, the queues its event source mappings poll,
 * log retention, alarms, dashboards, secrets, KMS keys, schedules, tables and the archive's lifecycle.
 * Change the stack and the estimate follows.
 */
import { readFileSync } from 'node:fs';
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { createApp } from '#bin/app.ts';
import type { CallVaultConfig } from '#contract/config.ts';

type Json = Record<string, unknown>;
/** A synthesised CloudFormation template as JSON (with aws:cdk:path metadata). */
export interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Json; Metadata?: Json }>;
}

/** The functions the model knows by role; any other function is kept under its construct path. */
export const FUNCTION_ROLES: Record<string, string> = {
  'WebhookApi/IngestFunction': 'ingest',
  'MediaPipeline/Worker': 'media',
  'InsightCards/Worker': 'insight',
  'SilenceCheck/Function': 'silence',
};

export interface FunctionSettings {
  /** `ingest`, `media`, `insight`, `silence`, or the construct path of a function the model does not know. */
  name: string;
  memoryMb: number;
  timeoutSeconds: number;
  architecture: 'arm64' | 'x86_64';
  reservedConcurrency?: number;
  /** Retention of the function's log group, days (undefined: never expires). */
  logRetentionDays?: number;
  environment: Record<string, string>;
  /** Secrets its role may read (GetSecretValue), by logical id. */
  secretsRead: number;
}

export interface QueueConsumer {
  /** The function's name (see FunctionSettings.name). */
  fn: string;
  batchSize: number;
  maximumConcurrency?: number;
}

export interface LifecycleTier {
  storageClass: string;
  afterDays: number;
}

export interface StackSettings {
  functions: Record<string, FunctionSettings>;
  /** SQS event source mappings: each one polls its queue all month, messages or not. */
  queueConsumers: QueueConsumer[];
  queues: number;
  alarms: number;
  dashboards: number;
  secrets: number;
  kmsKeys: number;
  /** Scheduled rules: the function they invoke and how many times a 30-day month. */
  schedules: { fn: string; perMonth: number }[];
  /** The calls table: global secondary indexes (each write is written again to each) and point-in-time recovery. */
  callsTable: { gsis: number; pitr: boolean; ttl: boolean };
  /** API access log group retention (days; undefined when there is no access log). */
  accessLogRetentionDays?: number;
  /** Archive bucket lifecycle by top-level prefix (`recordings/`): storage class moves and expiry. */
  archive: {
    tiers: Record<string, LifecycleTier[]>;
    expireDays: Record<string, number>;
    noncurrentExpireDays?: number;
    versioned: boolean;
    bucketKey: boolean;
  };
  /** Athena workgroups and Glue tables, when the stack has them. */
  athena: { workgroups: number; glueTables: number };
}

const pathOf = (r: { Metadata?: Json }): string =>
  ((r.Metadata?.['aws:cdk:path'] as string | undefined) ?? '')
    .split('/')
    .slice(1)
    .join('/')
    .replace(/\/Resource$/, '');
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const refOf = (v: unknown): string | undefined => {
  const o = v as Json | undefined;
  if (typeof o?.Ref === 'string') return o.Ref;
  const att = o?.['Fn::GetAtt'];
  return Array.isArray(att) ? String(att[0]) : undefined;
};

/** `rate(5 minutes)` / `rate(1 hour)` / `cron(...)` → runs per 30-day month (cron: once a day per listed time, a good-enough upper bound is not attempted). */
export function runsPerMonth(expression: string): number {
  const rate = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  const month = 30 * 24 * 60;
  if (rate) {
    const n = Number(rate[1]);
    const unit = rate[2]!.startsWith('minute') ? 1 : rate[2]!.startsWith('hour') ? 60 : 24 * 60;
    return Math.round(month / (n * unit));
  }
  const cron = /^cron\((\S+)\s+(\S+)/.exec(expression.trim());
  if (cron) {
    const count = (field: string, span: number) =>
      field === '*'
        ? span
        : field.startsWith('*/') || field.startsWith('0/')
          ? Math.ceil(span / Number(field.split('/')[1]))
          : field.split(',').length;
    return count(cron[1]!, 60) * count(cron[2]!, 24) * 30;
  }
  throw new Error(`Unknown schedule expression "${expression}": the cost model reads rate(...) and cron(...) only.`);
}

/** Read the settings from a synthesised template (with aws:cdk:path metadata). */
export function settingsFromTemplate(template: CfnTemplate): StackSettings {
  const resources = Object.entries(template.Resources);
  const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);
  const logRetention = new Map(ofType('AWS::Logs::LogGroup').map(([id, r]) => [id, r.Properties?.RetentionInDays as number | undefined]));
  const policies = ofType('AWS::IAM::Policy');
  const secretIds = new Set(ofType('AWS::SecretsManager::Secret').map(([id]) => id));

  const functions: Record<string, FunctionSettings> = {};
  const nameById = new Map<string, string>();
  for (const [id, r] of ofType('AWS::Lambda::Function')) {
    const p = r.Properties ?? {};
    const path = pathOf(r);
    const name = FUNCTION_ROLES[path] ?? path;
    const roleId = refOf(p.Role);
    const readable = new Set<string>();
    for (const [, policy] of policies) {
      if (!list(policy.Properties?.Roles as unknown[]).some((ref) => refOf(ref) === roleId)) continue;
      for (const st of list((policy.Properties?.PolicyDocument as Json | undefined)?.Statement as Json[])) {
        if (!list(st.Action as string | string[]).some((a) => a === 'secretsmanager:GetSecretValue' || a === 'secretsmanager:*')) continue;
        for (const res of list(st.Resource)) {
          const ref = refOf(res);
          if (ref && secretIds.has(ref)) readable.add(ref);
        }
      }
    }
    const logGroup = refOf((p.LoggingConfig as Json | undefined)?.LogGroup);
    functions[name] = {
      name,
      memoryMb: (p.MemorySize as number | undefined) ?? 128,
      timeoutSeconds: (p.Timeout as number | undefined) ?? 3,
      architecture: list(p.Architectures as string[])[0] === 'arm64' ? 'arm64' : 'x86_64',
      ...(p.ReservedConcurrentExecutions !== undefined ? { reservedConcurrency: p.ReservedConcurrentExecutions as number } : {}),
      ...(logGroup && logRetention.get(logGroup) !== undefined ? { logRetentionDays: logRetention.get(logGroup)! } : {}),
      environment: Object.fromEntries(
        Object.entries(((p.Environment as Json | undefined)?.Variables as Json | undefined) ?? {}).filter(([, v]) => typeof v === 'string'),
      ) as Record<string, string>,
      secretsRead: readable.size,
    };
    nameById.set(id, name);
  }

  const queueConsumers = ofType('AWS::Lambda::EventSourceMapping')
    .filter(([, r]) => JSON.stringify(r.Properties?.EventSourceArn ?? '').includes('Queue'))
    .map(([, r]) => {
      const p = r.Properties ?? {};
      const max = (p.ScalingConfig as Json | undefined)?.MaximumConcurrency as number | undefined;
      return {
        fn: nameById.get(refOf(p.FunctionName) ?? '') ?? 'unknown',
        batchSize: (p.BatchSize as number | undefined) ?? 10,
        ...(max !== undefined ? { maximumConcurrency: max } : {}),
      };
    });

  const schedules = [...ofType('AWS::Events::Rule'), ...ofType('AWS::Scheduler::Schedule')]
    .filter(([, r]) => typeof r.Properties?.ScheduleExpression === 'string' && (r.Properties?.State ?? 'ENABLED') === 'ENABLED')
    .flatMap(([, r]) => {
      const targets = list((r.Properties?.Targets ?? r.Properties?.Target) as Json[]);
      const perMonth = runsPerMonth(r.Properties!.ScheduleExpression as string);
      return targets.map((t) => ({ fn: nameById.get(refOf(t.Arn) ?? '') ?? 'unknown', perMonth }));
    });

  const calls = ofType('AWS::DynamoDB::Table').find(([, r]) => pathOf(r).endsWith('/calls'))?.[1].Properties ?? {};
  const accessLog = ofType('AWS::ApiGatewayV2::Stage')
    .map(([, r]) => refOf((r.Properties?.AccessLogSettings as Json | undefined)?.DestinationArn))
    .find(Boolean);

  const bucket = ofType('AWS::S3::Bucket').find(([, r]) => pathOf(r).endsWith('ArchiveBucket'))?.[1].Properties ?? {};
  const tiers: Record<string, LifecycleTier[]> = {};
  const expireDays: Record<string, number> = {};
  let noncurrentExpireDays: number | undefined;
  for (const rule of list((bucket.LifecycleConfiguration as Json | undefined)?.Rules as Json[])) {
    if (rule.Status !== 'Enabled') continue;
    const prefix = (rule.Prefix as string | undefined) ?? ((rule.Filter as Json | undefined)?.Prefix as string | undefined) ?? '';
    const transitions = list(rule.Transitions as Json[]).map((t) => ({
      storageClass: String(t.StorageClass),
      afterDays: Number(t.TransitionInDays),
    }));
    if (transitions.length > 0) tiers[prefix] = [...(tiers[prefix] ?? []), ...transitions].sort((a, b) => a.afterDays - b.afterDays);
    if (typeof rule.ExpirationInDays === 'number') expireDays[prefix] = rule.ExpirationInDays;
    const nc = (rule.NoncurrentVersionExpiration as Json | undefined)?.NoncurrentDays ?? rule.NoncurrentVersionExpirationInDays;
    if (typeof nc === 'number' && prefix === '') noncurrentExpireDays = nc;
  }
  const encryption = list((bucket.BucketEncryption as Json | undefined)?.ServerSideEncryptionConfiguration as Json[]);

  return {
    functions,
    queueConsumers,
    queues: ofType('AWS::SQS::Queue').length,
    alarms: ofType('AWS::CloudWatch::Alarm').length,
    dashboards: ofType('AWS::CloudWatch::Dashboard').length,
    secrets: secretIds.size,
    kmsKeys: ofType('AWS::KMS::Key').length,
    schedules,
    callsTable: {
      gsis: list(calls.GlobalSecondaryIndexes as unknown[]).length,
      pitr: Boolean((calls.PointInTimeRecoverySpecification as Json | undefined)?.PointInTimeRecoveryEnabled),
      ttl: Boolean((calls.TimeToLiveSpecification as Json | undefined)?.Enabled),
    },
    ...(accessLog && logRetention.get(accessLog) !== undefined ? { accessLogRetentionDays: logRetention.get(accessLog)! } : {}),
    archive: {
      tiers,
      expireDays,
      ...(noncurrentExpireDays !== undefined ? { noncurrentExpireDays } : {}),
      versioned: (bucket.VersioningConfiguration as Json | undefined)?.Status === 'Enabled',
      bucketKey: encryption.some((e) => e.BucketKeyEnabled === true),
    },
    athena: { workgroups: ofType('AWS::Athena::WorkGroup').length, glueTables: ofType('AWS::Glue::Table').length },
  };
}

/** The CallVault stack built as `cdk synth` would (cdk.json context; `config` replaces its callvault block), without bundling or cdk-nag. */
export function synthStack(config?: CallVaultConfig, cdkJsonPath = 'cdk.json'): Stack {
  let context: Json = {};
  try {
    context = (JSON.parse(readFileSync(cdkJsonPath, 'utf8')) as { context?: Json }).context ?? {};
  } catch {
    // No cdk.json: the defaults of functions/contract/config.ts, as `cdk synth` would use them.
  }
  const { stack } = createApp({
    nag: false,
    context: { ...context, ...(config ? { callvault: config } : {}), 'aws:cdk:enable-path-metadata': true, 'aws:cdk:bundling-stacks': [] },
  });
  return stack;
}

/** The settings of a synthesised stack. */
export const settingsOfStack = (stack: Stack): StackSettings => settingsFromTemplate(Template.fromStack(stack).toJSON() as CfnTemplate);
