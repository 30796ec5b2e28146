/**
 * The permissions contract: every AWS call a function made in the tests (recorded by
 * bin/aws-fidelity/aws-contract.ts) must be allowed by that function's execution role in the synthesised
 * template, and every grant should be used by some call. The emulators check no IAM, so this is
 * where a missing grant (AccessDenied in AWS) or a superfluous one (least privilege) shows up.
 *
 * Template resources are named as the local stack names them: the construct ids come from
 * functions/contract/resources.ts (table `calls`, queue `media`, DLQ `media-dlq`), the archive bucket is the local
 * bucket, and a secret is named by its construct id (`WebhookToken-hipcall`).
 */
import { readFileSync } from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import { createApp } from '#bin/app.ts';
import { LOCAL_BUCKET, LOCAL_REGION } from '#bin/local/emulators.ts';
import type { CallVaultConfig } from '#contract/config.ts';
import { QUEUES, dlqName } from '#contract/resources.ts';
import type { AwsCall, ContractFunction } from '#bin/aws-fidelity/aws-contract.ts';

type Json = Record<string, unknown>;
/** A synthesised CloudFormation template as JSON. */
export interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Json; Metadata?: Json }>;
}

/** The account id ARNs are built with on both sides: recorded calls and resolved template ARNs. */
const ACCOUNT = '000000000000';
const PARTITION = 'aws';

/** Construct path (below the stack) of each function: construct ids are a contract of the stack. */
/** Functions only some configs deploy (reconcile needs a source with `reconcile`). */
const OPTIONAL_FUNCTIONS: ReadonlySet<ContractFunction> = new Set(['reconcile']);

export const FUNCTION_PATHS: Record<ContractFunction, string> = {
  ingest: 'WebhookApi/IngestFunction',
  media: 'MediaPipeline/Worker',
  insight: 'InsightCards/Worker',
  reconcile: 'Reconcile/Function',
};

/**
 * Synthesise the CallVault stack with `config` (default: cdk.json's callvault block) and return its
 * template, with `aws:cdk:path` metadata (the checker names resources by construct path). Bundling is
 * skipped and cdk-nag is off: the checker reads IAM only, and this keeps synthesis to seconds.
 */
export function synthTemplate(config?: CallVaultConfig): CfnTemplate {
  const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Json };
  const context: Json = {
    ...cdkJson.context,
    ...(config ? { callvault: config } : {}),
    'aws:cdk:enable-path-metadata': true,
    'aws:cdk:bundling-stacks': [],
  };
  const { stack } = createApp({ nag: false, context });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

/** One grant of a role, resolved: an action pattern and an ARN pattern (IAM wildcards). */
export interface ResolvedStatement {
  effect: 'Allow' | 'Deny';
  actions: string[];
  /** `NotAction`: the statement applies to every action except these. */
  notActions: boolean;
  /** ARN patterns; `undefined` entries could not be resolved (they match nothing) and are shown raw. */
  resources: { arn: string | undefined; raw: string }[];
  notResources: boolean;
  /** Policy logical id and statement index, for messages. */
  source: string;
}

export interface PermissionReport {
  /** One readable line per distinct call a role does not allow. */
  violations: string[];
  /** One readable line per grant (action × resource) no recorded call used. */
  unexercised: string[];
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const pathOf = (r: { Metadata?: Json }): string | undefined => r.Metadata?.['aws:cdk:path'] as string | undefined;

/** The stack-relative construct path of a resource, without the trailing `/Resource`. */
function constructPath(r: { Metadata?: Json }): string | undefined {
  return pathOf(r)
    ?.split('/')
    .slice(1)
    .join('/')
    .replace(/\/Resource$/, '');
}

/** The name the local stack gives a resource, from its construct path. */
function localName(type: string, path: string): string {
  const parts = path.split('/');
  const id = parts.at(-1)!;
  if (type === 'AWS::SQS::Queue') {
    const definition = QUEUES.find((q) => q.name === parts.at(-2));
    if (definition) return id === 'DeadLetterQueue' ? dlqName(definition) : definition.name;
  }
  if (type === 'AWS::S3::Bucket' && id === 'ArchiveBucket') return LOCAL_BUCKET;
  return id;
}

/** A resolver of CloudFormation intrinsics to strings, with the template's resources as local ARNs. */
function resolver(template: CfnTemplate) {
  const arns = new Map<string, { ref: string; arn: string }>();
  for (const [logicalId, r] of Object.entries(template.Resources)) {
    const path = constructPath(r);
    if (!path) continue;
    const name = localName(r.Type, path);
    if (r.Type === 'AWS::DynamoDB::Table')
      arns.set(logicalId, { ref: name, arn: `arn:${PARTITION}:dynamodb:${LOCAL_REGION}:${ACCOUNT}:table/${name}` });
    if (r.Type === 'AWS::S3::Bucket') arns.set(logicalId, { ref: name, arn: `arn:${PARTITION}:s3:::${name}` });
    if (r.Type === 'AWS::SQS::Queue') {
      arns.set(logicalId, {
        ref: `https://sqs.${LOCAL_REGION}.amazonaws.com/${ACCOUNT}/${name}`,
        arn: `arn:${PARTITION}:sqs:${LOCAL_REGION}:${ACCOUNT}:${name}`,
      });
    }
    if (r.Type === 'AWS::SecretsManager::Secret') {
      const arn = `arn:${PARTITION}:secretsmanager:${LOCAL_REGION}:${ACCOUNT}:secret:${name}`;
      arns.set(logicalId, { ref: arn, arn });
    }
  }
  const pseudo: Record<string, string> = {
    'AWS::Partition': PARTITION,
    'AWS::Region': LOCAL_REGION,
    'AWS::AccountId': ACCOUNT,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const resolve = (value: unknown): string | undefined => {
    if (typeof value === 'string') return value;
    const v = value as Json;
    if (typeof v?.Ref === 'string') return pseudo[v.Ref] ?? arns.get(v.Ref)?.ref;
    if (Array.isArray(v?.['Fn::GetAtt'])) {
      const [id, attr] = v['Fn::GetAtt'] as [string, string];
      return attr === 'Arn' ? arns.get(id)?.arn : undefined;
    }
    if (Array.isArray(v?.['Fn::Join'])) {
      const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
      const resolved = parts.map(resolve);
      return resolved.every((p) => p !== undefined) ? resolved.join(sep) : undefined;
    }
    if (typeof v?.['Fn::Sub'] === 'string') {
      let unresolved = false;
      const out = v['Fn::Sub'].replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
        const [id, attr] = name.split('.');
        const r = attr ? resolve({ 'Fn::GetAtt': [id, attr] }) : resolve({ Ref: id });
        if (r === undefined) unresolved = true;
        return r ?? '';
      });
      return unresolved ? undefined : out;
    }
    return undefined;
  };
  return resolve;
}

const describeRaw = (value: unknown): string => {
  if (typeof value === 'string') return value;
  const v = value as Json;
  if (v?.Ref) return String(v.Ref);
  if (v?.['Fn::GetAtt']) return (v['Fn::GetAtt'] as string[]).join('.');
  if (v?.['Fn::Join']) return (v['Fn::Join'] as [string, unknown[]])[1].map(describeRaw).join((v['Fn::Join'] as [string])[0]);
  return JSON.stringify(value);
};

/** The function and role logical ids of each function, found by the function's construct path. */
export function functionRoles(template: CfnTemplate): Partial<Record<ContractFunction, { functionId: string; roleId: string }>> {
  const functions = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
  if (functions.length > 0 && functions.every(([, r]) => !pathOf(r))) {
    throw new Error(
      'The template has no aws:cdk:path metadata: synthesise it with synthTemplate() from test/support/permissions-contract.ts (it sets aws:cdk:enable-path-metadata).',
    );
  }
  const roles: Partial<Record<ContractFunction, { functionId: string; roleId: string }>> = {};
  for (const [fn, path] of Object.entries(FUNCTION_PATHS) as [ContractFunction, string][]) {
    const found = functions.find(([, r]) => constructPath(r) === path);
    if (!found && OPTIONAL_FUNCTIONS.has(fn)) continue;
    if (!found) {
      throw new Error(
        `No Lambda function at construct path ${path} (the ${fn} function): if it moved, update FUNCTION_PATHS in test/support/permissions-contract.ts.`,
      );
    }
    const roleRef = found[1].Properties?.Role as Json | undefined;
    const roleId = (roleRef?.['Fn::GetAtt'] as string[] | undefined)?.[0];
    if (!roleId || template.Resources[roleId]?.Type !== 'AWS::IAM::Role') {
      throw new Error(
        `The ${fn} function's Role is not a role of this template (${JSON.stringify(roleRef)}): the checker needs the execution role in the same stack.`,
      );
    }
    roles[fn] = { functionId: found[0], roleId };
  }
  return roles;
}

/** Every statement of every policy attached to `roleId`: inline, AWS::IAM::Policy and customer managed policies of this template. */
export function roleStatements(template: CfnTemplate, roleId: string): ResolvedStatement[] {
  const resolve = resolver(template);
  const role = template.Resources[roleId]!;
  const documents: { doc: Json; source: string }[] = list(role.Properties?.Policies as { PolicyDocument: Json; PolicyName: string }[]).map(
    (p) => ({
      doc: p.PolicyDocument,
      source: `${roleId} inline ${p.PolicyName}`,
    }),
  );
  const attachedHere = (r: { Properties?: Json }) => list(r.Properties?.Roles as unknown[]).some((ref) => (ref as Json)?.Ref === roleId);
  for (const [logicalId, r] of Object.entries(template.Resources)) {
    if ((r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') && attachedHere(r)) {
      documents.push({ doc: r.Properties?.PolicyDocument as Json, source: logicalId });
    }
  }
  for (const arn of list(role.Properties?.ManagedPolicyArns as unknown[])) {
    const id = (arn as Json)?.Ref;
    const managed = typeof id === 'string' ? template.Resources[id] : undefined;
    if (managed?.Type === 'AWS::IAM::ManagedPolicy') {
      if (!attachedHere(managed)) documents.push({ doc: managed.Properties?.PolicyDocument as Json, source: id as string });
    } else {
      throw new Error(
        `${roleId} has a managed policy the checker cannot read (${describeRaw(arn)}): CallVault roles carry their own statements only.`,
      );
    }
  }
  return documents.flatMap(({ doc, source }) =>
    list(doc.Statement as Json[]).map((st, i) => {
      const rawResources = list(st.Resource ?? st.NotResource);
      return {
        effect: st.Effect === 'Deny' ? 'Deny' : 'Allow',
        actions: list((st.Action ?? st.NotAction) as string | string[]),
        notActions: st.NotAction !== undefined,
        resources: rawResources.map((r) => ({ arn: resolve(r), raw: describeRaw(r) })),
        notResources: st.NotResource !== undefined,
        source: `${source}#${i}`,
      } satisfies ResolvedStatement;
    }),
  );
}

/** IAM's wildcard match: `*` any run of characters, `?` one character. */
export function iamMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, caseInsensitive ? 'si' : 's').test(value);
}

/** The ARN AWS authorises a recorded call against (same region/account as the resolved template). */
export function arnOfCall(call: Pick<AwsCall, 'action' | 'resource'>): string {
  const service = call.action.split(':')[0];
  if (call.resource === '*') return '*';
  switch (service) {
    case 'dynamodb':
      return `arn:${PARTITION}:dynamodb:${LOCAL_REGION}:${ACCOUNT}:table/${call.resource}`;
    case 's3':
      return `arn:${PARTITION}:s3:::${call.resource}`;
    case 'sqs':
      return `arn:${PARTITION}:sqs:${LOCAL_REGION}:${ACCOUNT}:${call.resource}`;
    case 'secretsmanager':
      return `arn:${PARTITION}:secretsmanager:${LOCAL_REGION}:${ACCOUNT}:secret:${call.resource}`;
    default:
      return call.resource;
  }
}

/** An ARN pattern as a person reads it (`arn:aws:s3:::callvault-archive/raw/*` → `callvault-archive/raw/*`). */
export function readableArn(arn: string): string {
  return arn
    .replace(/^arn:[^:]*:s3:::/, '')
    .replace(/^arn:[^:]*:dynamodb:[^:]*:[^:]*:table\//, '')
    .replace(/^arn:[^:]*:secretsmanager:[^:]*:[^:]*:secret:/, '')
    .replace(/^arn:[^:]*:sqs:[^:]*:[^:]*:/, '');
}

function statementMatches(st: ResolvedStatement, action: string, arn: string): boolean {
  const actionHit = st.actions.some((a) => iamMatch(a, action, true));
  const resourceHit = st.resources.some((r) => r.arn !== undefined && iamMatch(r.arn, arn));
  return (st.notActions ? !actionHit : actionHit) && (st.notResources ? !resourceHit : resourceHit);
}

/**
 * What Lambda itself does with the function's role for each SQS event source mapping of the function:
 * the poller receives, deletes and reads attributes (AWS's documented minimum for an SQS trigger).
 * No test client makes these calls (bin/local's poller stands in for the mapping), so they count as used.
 */
const EVENT_SOURCE_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'];

function eventSourceUses(template: CfnTemplate, functionId: string): Pick<AwsCall, 'action' | 'resource'>[] {
  const resolve = resolver(template);
  return Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping' && (r.Properties?.FunctionName as Json | undefined)?.Ref === functionId)
    .map((r) => resolve(r.Properties?.EventSourceArn))
    .filter((arn): arn is string => arn?.startsWith(`arn:${PARTITION}:sqs:`) ?? false)
    .flatMap((arn) => EVENT_SOURCE_ACTIONS.map((action) => ({ action, resource: readableArn(arn) })));
}

/** Log writes to the function's own log group are granted by CallVaultFunction and out of the contract. */
const outOfScope = (action: string) => /^logs:/i.test(action);

/**
 * Check recorded calls against the roles of a synthesised template. A call is allowed when an Allow
 * statement of its function's role matches its action and resource (IAM wildcards) and no Deny does.
 * Conditions are not evaluated: an Allow with a condition counts as allowing (optimistic), a Deny as
 * denying (pessimistic). A grant counts as exercised when a recorded call or the function's own SQS
 * event source mapping uses it.
 */
export function checkPermissions(template: CfnTemplate, calls: readonly AwsCall[]): PermissionReport {
  const roles = functionRoles(template);
  const violations: string[] = [];
  const unexercised: string[] = [];
  for (const fn of new Set(calls.map((c) => c.fn))) {
    if (!roles[fn])
      violations.push(`${fn}: made AWS calls, but the template has no ${fn} function to grant them: synthesise a config that deploys it.`);
  }
  for (const [fn, { functionId, roleId }] of Object.entries(roles) as [ContractFunction, { functionId: string; roleId: string }][]) {
    const statements = roleStatements(template, roleId);
    const mine = calls.filter((c) => c.fn === fn);
    const used: Pick<AwsCall, 'action' | 'resource'>[] = [...mine, ...eventSourceUses(template, functionId)];
    const seen = new Set<string>();
    for (const call of mine) {
      const key = `${call.action} ${call.resource}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const arn = arnOfCall(call);
      const allowed = statements.some((st) => st.effect === 'Allow' && statementMatches(st, call.action, arn));
      const denied = statements.some((st) => st.effect === 'Deny' && statementMatches(st, call.action, arn));
      if (!allowed || denied) {
        const count = mine.filter((c) => c.action === call.action && c.resource === call.resource).length;
        violations.push(
          `${fn}: ${call.action} on ${call.resource} is ${denied ? 'denied' : 'not granted'} by the ${fn} role (${roleId}); ${count} call(s) via ${call.command}. ` +
            (denied
              ? 'Remove the Deny or stop making the call.'
              : 'Grant it in the construct that owns the resource, or stop making the call.'),
        );
      }
    }
    for (const st of statements) {
      if (st.effect !== 'Allow' || st.notActions || st.notResources) continue;
      for (const action of st.actions) {
        if (outOfScope(action)) continue;
        for (const resource of st.resources) {
          const exercised =
            resource.arn !== undefined && used.some((c) => iamMatch(action, c.action, true) && iamMatch(resource.arn!, arnOfCall(c)));
          if (!exercised) {
            const where = resource.arn !== undefined ? readableArn(resource.arn) : `${resource.raw} (not resolvable to a local resource)`;
            unexercised.push(`${fn}: ${action} on ${where} (${st.source}) was used by no recorded call`);
          }
        }
      }
    }
  }
  return { violations, unexercised };
}
