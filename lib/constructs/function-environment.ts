/**
 * How big a function's environment will be once deployed. Lambda caps the whole environment (the
 * JSON of every variable, keys and values: its error quotes the "String measured") at 4 KB, and
 * CloudFormation only fails at deploy time. At synth most values are still tokens (queue URLs,
 * table and bucket names), so each token is replaced by the longest text it can resolve to.
 *
 * The estimator reads CloudFormation JSON (`Ref`, `Fn::GetAtt`, `Fn::Join`), so the construct and
 * the infra tests (which read the synthesised template) measure with the same rules.
 */
import { Stack, Token, CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Lambda's limit on a function's environment variables, in bytes. */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;

/**
 * The longest value each deploy-time unknown can take. Regions: `ap-southeast-2`, `cn-northwest-1`
 * and `eusc-de-east-1` are 14 characters, the longest codes today. CloudFormation names a resource
 * without a physical name `{stack}-{logicalId}-{random}` (the random part at most 13 characters),
 * cut to the service's limit; a name set in the template is used as is.
 */
export const LONGEST = {
  region: 14,
  account: 12,
  /** `aws-us-gov` */
  partition: 10,
  /** `amazonaws.com.cn` */
  urlSuffix: 16,
  randomSuffix: 13,
  /** The 6 random characters Secrets Manager appends to a secret's ARN, with their dash. */
  secretArnSuffix: 7,
  /** Any intrinsic these rules do not know: generous, so an unknown never passes by luck. */
  unknown: 256,
} as const;

/** Service limits on generated physical names, and the template property that sets one. */
const NAMES: Record<string, { max: number; property: string }> = {
  'AWS::SQS::Queue': { max: 80, property: 'QueueName' },
  'AWS::DynamoDB::Table': { max: 255, property: 'TableName' },
  'AWS::S3::Bucket': { max: 63, property: 'BucketName' },
  'AWS::SecretsManager::Secret': { max: 512, property: 'Name' },
  'AWS::SNS::Topic': { max: 256, property: 'TopicName' },
  'AWS::Lambda::Function': { max: 64, property: 'FunctionName' },
  'AWS::Logs::LogGroup': { max: 512, property: 'LogGroupName' },
  'AWS::Events::Rule': { max: 64, property: 'Name' },
};

/** Lengths of ids AWS generates whatever the stack: an HTTP API id, a KMS key id (a UUID). */
const GENERATED_ID = { httpApi: 10, kmsKey: 36 } as const;

/** A template resource as the estimator needs it. */
export interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

export interface EstimateContext {
  stackName: string;
  /** The stack's region when known at synth. */
  region?: string;
  /** The stack's account when known at synth. */
  account?: string;
  /** The template's resources by logical id. */
  resources: Record<string, TemplateResource>;
}

export interface EnvironmentEstimate {
  /** Bytes of the JSON of all variables with every token at its longest. */
  bytes: number;
  /** Each variable's estimated bytes (key and value, as in the JSON), largest first. */
  variables: { name: string; bytes: number }[];
}

const x = (n: number) => 'x'.repeat(n);

function physicalName(logicalId: string, ctx: EstimateContext): string {
  const resource = ctx.resources[logicalId];
  const naming = resource && NAMES[resource.Type];
  const given = naming && resource.Properties?.[naming.property];
  if (typeof given === 'string') return given;
  const generated = ctx.stackName.length + 1 + logicalId.length + 1 + LONGEST.randomSuffix;
  return x(Math.min(naming?.max ?? LONGEST.unknown, generated));
}

function pseudo(name: string, ctx: EstimateContext): string | undefined {
  const region = ctx.region ?? x(LONGEST.region);
  const account = ctx.account ?? x(LONGEST.account);
  switch (name) {
    case 'AWS::Region':
      return region;
    case 'AWS::AccountId':
      return account;
    case 'AWS::Partition':
      return x(LONGEST.partition);
    case 'AWS::URLSuffix':
      return x(LONGEST.urlSuffix);
    case 'AWS::StackName':
      return ctx.stackName;
    case 'AWS::NoValue':
      return '';
    default:
      return undefined;
  }
}

function ref(logicalId: string, ctx: EstimateContext): string {
  const p = pseudo(logicalId, ctx);
  if (p !== undefined) return p;
  const type = ctx.resources[logicalId]?.Type;
  const region = ctx.region ?? x(LONGEST.region);
  const account = ctx.account ?? x(LONGEST.account);
  switch (type) {
    case 'AWS::SQS::Queue':
      return `https://sqs.${region}.${x(LONGEST.urlSuffix)}/${account}/${physicalName(logicalId, ctx)}`;
    case 'AWS::SecretsManager::Secret':
      return `arn:${x(LONGEST.partition)}:secretsmanager:${region}:${account}:secret:${physicalName(logicalId, ctx)}${x(LONGEST.secretArnSuffix)}`;
    case 'AWS::SNS::Topic':
      return `arn:${x(LONGEST.partition)}:sns:${region}:${account}:${physicalName(logicalId, ctx)}`;
    case 'AWS::DynamoDB::Table':
    case 'AWS::S3::Bucket':
    case 'AWS::Lambda::Function':
    case 'AWS::Logs::LogGroup':
    case 'AWS::Events::Rule':
      return physicalName(logicalId, ctx);
    case 'AWS::ApiGatewayV2::Api':
      return x(GENERATED_ID.httpApi);
    case 'AWS::KMS::Key':
      return x(GENERATED_ID.kmsKey);
    default:
      return x(LONGEST.unknown);
  }
}

function getAtt(logicalId: string, attribute: string, ctx: EstimateContext): string {
  const type = ctx.resources[logicalId]?.Type;
  const region = ctx.region ?? x(LONGEST.region);
  const account = ctx.account ?? x(LONGEST.account);
  const partition = x(LONGEST.partition);
  if (attribute === 'Arn') {
    if (type === 'AWS::SQS::Queue') return `arn:${partition}:sqs:${region}:${account}:${physicalName(logicalId, ctx)}`;
    if (type === 'AWS::DynamoDB::Table') return `arn:${partition}:dynamodb:${region}:${account}:table/${physicalName(logicalId, ctx)}`;
    if (type === 'AWS::S3::Bucket') return `arn:${partition}:s3:::${physicalName(logicalId, ctx)}`;
    if (type === 'AWS::Lambda::Function') return `arn:${partition}:lambda:${region}:${account}:function:${physicalName(logicalId, ctx)}`;
    if (type === 'AWS::Logs::LogGroup') return `arn:${partition}:logs:${region}:${account}:log-group:${physicalName(logicalId, ctx)}:*`;
    if (type === 'AWS::Events::Rule') return `arn:${partition}:events:${region}:${account}:rule/${physicalName(logicalId, ctx)}`;
    if (type === 'AWS::KMS::Key') return `arn:${partition}:kms:${region}:${account}:key/${x(GENERATED_ID.kmsKey)}`;
    if (type === 'AWS::SecretsManager::Secret') return ref(logicalId, ctx);
  }
  if (type === 'AWS::SQS::Queue' && attribute === 'QueueName') return physicalName(logicalId, ctx);
  if (type === 'AWS::SQS::Queue' && attribute === 'QueueUrl') return ref(logicalId, ctx);
  return x(LONGEST.unknown);
}

/** The longest text a CloudFormation value can resolve to. */
export function longestValue(value: unknown, ctx: EstimateContext): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    if (typeof v.Ref === 'string') return ref(v.Ref, ctx);
    if (Array.isArray(v['Fn::GetAtt'])) {
      const [id, attribute] = v['Fn::GetAtt'] as [string, string];
      return getAtt(id, attribute, ctx);
    }
    if (Array.isArray(v['Fn::Join'])) {
      const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map((part) => longestValue(part, ctx)).join(sep);
    }
  }
  return x(LONGEST.unknown);
}

/** The deployed size of `variables` (CloudFormation's `Environment.Variables`), tokens at their longest. */
export function estimateEnvironment(variables: Record<string, unknown>, ctx: EstimateContext): EnvironmentEstimate {
  const values = Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, longestValue(value, ctx)]));
  const bytes = Buffer.byteLength(JSON.stringify(values));
  const each = Object.entries(values)
    .map(([name, value]) => ({ name, bytes: Buffer.byteLength(JSON.stringify({ [name]: value })) - 2 }))
    .sort((a, b) => b.bytes - a.bytes);
  return { bytes, variables: each };
}

/** The estimate context of a stack being built: its resources' types and physical names, from the construct tree. */
export function estimateContextOf(scope: IConstruct): EstimateContext {
  const stack = Stack.of(scope);
  const resources: Record<string, TemplateResource> = {};
  for (const node of stack.node.findAll()) {
    if (!CfnResource.isCfnResource(node) || Stack.of(node) !== stack) continue;
    const naming = NAMES[node.cfnResourceType];
    // The L1 property is the camel-case template property: QueueName → queueName, Name → name.
    const key = naming && naming.property[0]!.toLowerCase() + naming.property.slice(1);
    const name: unknown = key ? stack.resolve((node as unknown as Record<string, unknown>)[key]) : undefined;
    resources[stack.getLogicalId(node)] = {
      Type: node.cfnResourceType,
      Properties: naming && typeof name === 'string' ? { [naming.property]: name } : {},
    };
  }
  return {
    stackName: stack.stackName,
    region: Token.isUnresolved(stack.region) ? undefined : stack.region,
    account: Token.isUnresolved(stack.account) ? undefined : stack.account,
    resources,
  };
}
