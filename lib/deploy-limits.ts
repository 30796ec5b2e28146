/**
 * The AWS limits a deploy meets only once CloudFormation or a service applies them, estimated at synth
 * over the rendered template, so a config that would fail `cdk deploy` (and leave a rollback behind)
 * stops at `cdk synth` with a message instead. Each estimate takes every deploy-time unknown at its
 * longest (function-environment.ts: names, regions, account ids), so it errs on the side of refusing.
 *
 * Measured here: each function's environment (4 KB) and resource policy (20 KB), each role's inline
 * policies (10,240 characters together) and each managed policy (6,144), the resource-side policies of
 * buckets, keys, queues and topics, the stack's resources (500) and template (1 MB), each HTTP API's
 * routes (300), and the webhook body cap against Lambda's 6 MB synchronous event.
 */
import type { CallVaultConfig } from '#contract/config.ts';
import {
  LAMBDA_ENVIRONMENT_LIMIT_BYTES,
  estimateEnvironment,
  longestValue,
  type EstimateContext,
  type TemplateResource,
} from './constructs/function-environment.ts';

/** AWS's limits, as documented; "KB" and "MB" are 1024-based where the service says so. */
export const DEPLOY_LIMITS = {
  /** Lambda: a function's environment variables, as the JSON of all of them. */
  lambdaEnvironmentBytes: LAMBDA_ENVIRONMENT_LIMIT_BYTES,
  /** Lambda: a function's resource-based policy. */
  lambdaResourcePolicyBytes: 20 * 1024,
  /** Lambda: a synchronous invocation's request event (the whole event, body base64 or escaped, headers and context). */
  lambdaSyncEventBytes: 6 * 1024 * 1024,
  /** IAM: all inline policies of one role together, whitespace not counted. */
  roleInlinePolicyChars: 10_240,
  /** IAM: one customer managed policy, whitespace not counted. */
  managedPolicyChars: 6_144,
  /** S3: a bucket policy. */
  bucketPolicyBytes: 20 * 1024,
  /** KMS: a key policy. */
  keyPolicyBytes: 32 * 1024,
  /** SQS: a queue's access policy. */
  queuePolicyBytes: 8 * 1024,
  /** SNS: a topic's access policy. */
  topicPolicyBytes: 30 * 1024,
  /** CloudFormation: resources in one stack. */
  stackResources: 500,
  /** CloudFormation: a template uploaded through S3 (as `cdk deploy` does). */
  templateBytes: 1024 * 1024,
  /** API Gateway: routes of one HTTP API. */
  httpApiRoutes: 300,
} as const;

/**
 * The largest webhook body the ingest may accept. API Gateway hands Lambda the body inside a JSON event
 * with the headers and request context, base64-encoded when it is not text (4/3 of its size): 4.5 MB
 * leaves that event about 290 KB under Lambda's 6 MB. A bigger body fails before the handler runs, so
 * nothing of it would reach raw/ or quarantine/.
 */
export const MAX_BODY_CAP_BYTES = 4_500_000;

/** One measured limit. */
export interface LimitMeasurement {
  /** What is limited, as AWS names it, e.g. "Lambda resource policy". */
  limit: string;
  /** The construct path (or logical id) of the resource it applies to. */
  resource: string;
  /** The estimate, in `unit`. */
  value: number;
  /** AWS's limit, in `unit`. */
  max: number;
  unit: 'bytes' | 'characters' | 'resources' | 'routes';
  /** What to change when `value` is over `max`. */
  change: string;
}

/** The template as the estimator reads it. */
export interface RenderedTemplate {
  Resources?: Record<string, TemplateResource & { Metadata?: Record<string, unknown> }>;
  [key: string]: unknown;
}

export interface DeployLimitInput {
  /** The stack's rendered (resolved) template. */
  template: RenderedTemplate;
  /** Names the estimator gives unresolved values (stack name, region, account, resource types). */
  context: EstimateContext;
  /** Construct path of each logical id, for messages. */
  pathOf: (logicalId: string) => string;
  config: CallVaultConfig;
}

type Json = Record<string, unknown>;
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** A CloudFormation value with every token at its longest, as JSON: what AWS will store and count. */
function concrete(value: unknown, ctx: EstimateContext): unknown {
  if (Array.isArray(value)) return value.map((v) => concrete(v, ctx));
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::'))) return longestValue(value, ctx);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, concrete(v, ctx)]));
  }
  return value;
}

/** Characters of a policy document as IAM counts them: compact JSON, tokens at their longest. */
const policyChars = (doc: unknown, ctx: EstimateContext): number => JSON.stringify(concrete(doc, ctx)).length;
const policyBytes = (doc: unknown, ctx: EstimateContext): number => Buffer.byteLength(JSON.stringify(concrete(doc, ctx)));

/** The logical id a `Ref` or `Fn::GetAtt` points at. */
function targetOf(value: unknown): string | undefined {
  const v = value as Json | undefined;
  if (typeof v?.Ref === 'string') return v.Ref;
  if (Array.isArray(v?.['Fn::GetAtt'])) return (v['Fn::GetAtt'] as string[])[0];
  return undefined;
}

/**
 * The statement Lambda adds to a function's policy for one AWS::Lambda::Permission. CloudFormation uses
 * the permission's physical id as the statement id: `{stack}-{logicalId}-{random}`, at most 100 characters.
 */
function permissionStatement(logicalId: string, p: Json, ctx: EstimateContext, functionArn: string): Json {
  const principal = longestValue(p.Principal, ctx);
  const condition: Json = {};
  if (p.SourceArn !== undefined) condition.ArnLike = { 'AWS:SourceArn': longestValue(p.SourceArn, ctx) };
  if (p.SourceAccount !== undefined) condition.StringEquals = { 'AWS:SourceAccount': longestValue(p.SourceAccount, ctx) };
  return {
    Sid: 'x'.repeat(Math.min(100, ctx.stackName.length + 1 + logicalId.length + 1 + 12)),
    Effect: 'Allow',
    Principal: /\.amazonaws\.com(\.cn)?$/.test(principal) ? { Service: principal } : { AWS: principal },
    Action: longestValue(p.Action, ctx),
    Resource: functionArn,
    ...(Object.keys(condition).length ? { Condition: condition } : {}),
  };
}

/** Every limit measured on the template; those over their limit are `deployLimitProblems`. */
export function measureDeployLimits(input: DeployLimitInput): LimitMeasurement[] {
  const { template, context: ctx, pathOf, config } = input;
  const resources = template.Resources ?? {};
  const entries = Object.entries(resources);
  const ofType = (type: string) => entries.filter(([, r]) => r.Type === type);
  const out: LimitMeasurement[] = [];
  const split = 'or split the sources across two stacks (each its own "cdk deploy" with its own stack name)';

  for (const [id, fn] of ofType('AWS::Lambda::Function')) {
    const variables = ((fn.Properties?.Environment as Json | undefined)?.Variables ?? {}) as Record<string, unknown>;
    const env = estimateEnvironment(variables, ctx);
    const largest = env.variables
      .slice(0, 3)
      .map((v) => `${v.name} ${v.bytes} B`)
      .join(', ');
    out.push({
      limit: 'Lambda environment',
      resource: pathOf(id),
      value: env.bytes,
      max: DEPLOY_LIMITS.lambdaEnvironmentBytes - 1,
      unit: 'bytes',
      change: `shorten what it carries (largest: ${largest}): source ids in callvault.sources (WEBHOOK_SECRETS, SIGNING_SECRETS, HIPCALL_API_SECRETS) or the stack name; ${split}`,
    });

    const arn = longestValue({ 'Fn::GetAtt': [id, 'Arn'] }, ctx);
    const permissions = ofType('AWS::Lambda::Permission').filter(([, p]) => targetOf(p.Properties?.FunctionName) === id);
    const statements = permissions.map(([pid, p]) => permissionStatement(pid, p.Properties ?? {}, ctx, arn));
    const bytes = Buffer.byteLength(JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: statements }));
    const schedules = permissions.filter(([, p]) => String(p.Properties?.Principal).startsWith('events.')).length;
    out.push({
      limit: 'Lambda resource policy',
      resource: pathOf(id),
      value: permissions.length ? bytes : 0,
      max: DEPLOY_LIMITS.lambdaResourcePolicyBytes,
      unit: 'bytes',
      change:
        `it holds ${permissions.length} permission(s)` +
        (schedules
          ? `, ${schedules} of them one per schedule: fewer sources with "reconcile" in callvault.sources, `
          : ': fewer callvault.sources, ') +
        split,
    });
  }

  for (const [id, role] of ofType('AWS::IAM::Role')) {
    const inline = list(role.Properties?.Policies as Json[]).map((p) => p.PolicyDocument);
    const attached = entries
      .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && list(r.Properties?.Roles as unknown[]).some((ref) => targetOf(ref) === id))
      .map(([, r]) => r.Properties?.PolicyDocument);
    const docs = [...inline, ...attached];
    out.push({
      limit: 'IAM inline policies of a role',
      resource: pathOf(id),
      value: docs.reduce<number>((n, doc) => n + policyChars(doc, ctx), 0),
      max: DEPLOY_LIMITS.roleInlinePolicyChars,
      unit: 'characters',
      change: `every source adds the secrets its function may read (a webhook token, a signing secret with "signature", a Hipcall API token): fewer callvault.sources, ${split}`,
    });
  }
  for (const [id, policy] of ofType('AWS::IAM::ManagedPolicy')) {
    out.push({
      limit: 'IAM managed policy',
      resource: pathOf(id),
      value: policyChars(policy.Properties?.PolicyDocument, ctx),
      max: DEPLOY_LIMITS.managedPolicyChars,
      unit: 'characters',
      change: 'split its statements across two managed policies, or use wildcards that cover several resources',
    });
  }

  const resourcePolicies: [string, string, string, number][] = [
    ['AWS::S3::BucketPolicy', 'PolicyDocument', 'S3 bucket policy', DEPLOY_LIMITS.bucketPolicyBytes],
    ['AWS::KMS::Key', 'KeyPolicy', 'KMS key policy', DEPLOY_LIMITS.keyPolicyBytes],
    ['AWS::SQS::QueuePolicy', 'PolicyDocument', 'SQS queue policy', DEPLOY_LIMITS.queuePolicyBytes],
    ['AWS::SNS::TopicPolicy', 'PolicyDocument', 'SNS topic policy', DEPLOY_LIMITS.topicPolicyBytes],
  ];
  for (const [type, property, limit, max] of resourcePolicies) {
    for (const [id, r] of ofType(type)) {
      out.push({
        limit,
        resource: pathOf(id),
        value: policyBytes(r.Properties?.[property], ctx),
        max,
        unit: 'bytes',
        change: 'remove the statements added to it outside CallVault, or merge them',
      });
    }
  }

  for (const [id] of ofType('AWS::ApiGatewayV2::Api')) {
    const routes = ofType('AWS::ApiGatewayV2::Route').filter(([, r]) => targetOf(r.Properties?.ApiId) === id).length;
    out.push({
      limit: 'HTTP API routes',
      resource: pathOf(id),
      value: routes,
      max: DEPLOY_LIMITS.httpApiRoutes,
      unit: 'routes',
      change: `each source has 3 routes (POST, GET, HEAD) besides the generic 3, so one stack holds at most 99 sources: fewer callvault.sources, ${split}`,
    });
  }

  out.push({
    limit: 'CloudFormation resources per stack',
    resource: ctx.stackName,
    value: entries.length,
    max: DEPLOY_LIMITS.stackResources,
    unit: 'resources',
    change: `each source adds its routes, secrets and alarms (more with "reconcile", "silence" and "signature"): fewer callvault.sources, ${split}`,
  });
  out.push({
    limit: 'CloudFormation template size',
    resource: ctx.stackName,
    // As the CDK writes the template file it uploads.
    value: Buffer.byteLength(JSON.stringify(template, undefined, 1)),
    max: DEPLOY_LIMITS.templateBytes,
    unit: 'bytes',
    change: `fewer callvault.sources, ${split}`,
  });
  out.push({
    limit: "Lambda's synchronous event (6 MB) against the webhook body cap",
    resource: 'the ingest function',
    value: config.limits.maxBodyBytes,
    max: MAX_BODY_CAP_BYTES,
    unit: 'bytes',
    change: `set limits.maxBodyBytes to at most ${MAX_BODY_CAP_BYTES}: a larger body travels base64-encoded with its headers in one event, which Lambda refuses before the handler runs, so nothing of it would be kept`,
  });
  return out;
}

/** One line per limit a deploy would cross: the limit, the resource, the estimate and what to change. */
export function deployLimitProblems(input: DeployLimitInput): string[] {
  return measureDeployLimits(input)
    .filter((m) => m.value > m.max)
    .map(
      (m) =>
        `${m.limit}: ${m.resource} would be about ${m.value} ${m.unit} once deployed, and AWS allows ${m.max}. To deploy, ${m.change}.`,
    );
}
