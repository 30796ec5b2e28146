/**
 * Data protection options in the synthesised stack: with them on, one rotated, retained
 * customer-managed key on every store, Object Lock, recording expiry, the calls table's TTL and log
 * retention; with them off, none of it. Both stacks run the cdk-nag packs at synthesis.
 */
import { Stack, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '#bin/app.ts';
import type { CallVaultStack } from '#lib/callvault-stack.ts';
import { ConfigError, parseConfig } from '#contract/config.ts';
import { CALLS_TTL_ATTRIBUTE } from '#lib/constructs/storage.ts';

type Json = Record<string, unknown>;
type Resource = { Type: string; Properties?: Json; DeletionPolicy?: string; UpdateReplacePolicy?: string };

const SOURCES = [
  { id: 'hipcall', provider: 'hipcall' },
  { id: 'relay', provider: 'postcall', signature: 'standard-webhooks' },
];
const PROTECTION = {
  kms: { alias: 'callvault-data' },
  objectLock: { mode: 'COMPLIANCE', days: 365 },
  recordingsExpireDays: 730,
  itemTtlDays: 1095,
  logRetentionDays: 180,
};

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function synth(callvault: Json) {
  // Bundling skipped: these tests read resource properties, not code. cdk-nag runs as in `cdk synth`.
  const { app, stack } = createApp({ context: { 'aws:cdk:bundling-stacks': [], callvault } });
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
  const idOf = (c: IConstruct) => Stack.of(c).getLogicalId(c.node.defaultChild as CfnElement);
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const propsOf = (c: IConstruct): Json => resources[idOf(c)]?.Properties ?? {};
  const nagFindings = () =>
    [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) => pack.validateScope(app).violations.map((v) => v.ruleName));
  return { stack, resources, idOf, ofType, propsOf, nagFindings };
}

/** `{"Fn::GetAtt": ["Key", "Arn"]}` → the logical id it points at. */
const refTo = (value: unknown): string | undefined => {
  const v = value as Json | undefined;
  if (typeof v?.Ref === 'string') return v.Ref;
  if (Array.isArray(v?.['Fn::GetAtt'])) return (v['Fn::GetAtt'] as string[])[0];
  return undefined;
};

/** The KMS statements of `roleId`'s policies: `action via-service` per action. */
function keyGrants(resources: Record<string, Resource>, roleId: string, keyId: string): string[] {
  const grants: string[] = [];
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::IAM::Policy' || !list(r.Properties?.Roles as Json[]).some((ref) => ref.Ref === roleId)) continue;
    for (const st of list((r.Properties?.PolicyDocument as Json).Statement as Json[])) {
      const actions = list(st.Action as string[]).filter((a) => a.startsWith('kms:'));
      if (actions.length === 0) continue;
      expect(list(st.Resource as unknown[]).map(refTo), 'a KMS grant names the data key only').toEqual([keyId]);
      const via = (st.Condition as { StringEquals?: Json } | undefined)?.StringEquals?.['kms:ViaService'];
      const service = via === undefined ? 'direct' : String(JSON.stringify(via).match(/(dynamodb|s3|sqs|secretsmanager)\./)?.[1]);
      for (const action of actions) grants.push(`${action} ${service}`);
    }
  }
  return [...new Set(grants)].sort();
}

describe('a stack with every data protection option on', () => {
  let s: ReturnType<typeof synth>;
  let stack: CallVaultStack;
  let keyId: string;
  beforeAll(() => {
    s = synth({ sources: SOURCES, retention: { rawExpireDays: 400 }, protection: PROTECTION });
    stack = s.stack;
    expect(stack.storage.encryptionKey).toBeDefined();
    keyId = s.idOf(stack.storage.encryptionKey!);
  });

  it('creates one data key, rotated yearly and kept when the stack is deleted, under its alias', () => {
    const key = s.resources[keyId]!;
    expect(key.Properties?.EnableKeyRotation).toBe(true);
    expect(key.DeletionPolicy).toBe('Retain');
    expect(key.UpdateReplacePolicy).toBe('Retain');
    const aliases = s.ofType('AWS::KMS::Alias').map(([, r]) => r.Properties!);
    expect(aliases).toEqual([
      expect.objectContaining({ AliasName: 'alias/callvault-data', TargetKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } }),
    ]);
    // The alarm topic's own key is the only other one.
    expect(
      s
        .ofType('AWS::KMS::Key')
        .map(([id]) => id)
        .sort(),
    ).toEqual([keyId, s.idOf(stack.monitoring.topicKey)].sort());
  });

  it('lets CloudWatch Logs use the key only for log groups of this account and region', () => {
    const statements = ((s.resources[keyId]!.Properties!.KeyPolicy as Json).Statement as Json[]).filter((st) =>
      JSON.stringify(st.Principal).includes('logs.'),
    );
    expect(statements).toHaveLength(1);
    const condition = JSON.stringify(statements[0]!.Condition);
    expect(condition).toContain('kms:EncryptionContext:aws:logs:arn');
    expect(condition).toContain(':log-group:*');
    expect(JSON.stringify(statements[0]!.Principal)).toContain('AWS::Region');
  });

  it('encrypts the archive bucket with SSE-KMS under the key, with a bucket key', () => {
    expect(s.propsOf(stack.storage.bucket).BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [
        {
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] } },
        },
      ],
    });
  });

  it('keeps the access log bucket on SSE-S3: S3 server access logging cannot write to an SSE-KMS bucket', () => {
    const rule = (s.propsOf(stack.storage.accessLogsBucket).BucketEncryption as { ServerSideEncryptionConfiguration: Json[] })
      .ServerSideEncryptionConfiguration[0]!;
    expect(rule.ServerSideEncryptionByDefault).toEqual({ SSEAlgorithm: 'AES256' });
  });

  it('encrypts both tables with the key', () => {
    for (const table of [stack.storage.callsTable, stack.storage.contactsTable]) {
      expect(s.propsOf(table).SSESpecification, table.node.id).toEqual({
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      });
    }
  });

  it('encrypts every queue and dead-letter queue with the key', () => {
    const queues = s.ofType('AWS::SQS::Queue');
    expect(queues).toHaveLength(6);
    for (const [id, queue] of queues) expect(queue.Properties?.KmsMasterKeyId, id).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
  });

  it('encrypts every secret with the key: webhook tokens, the signing secret and the Hipcall API token', () => {
    const secrets = s.ofType('AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(4);
    for (const [id, secret] of secrets) expect(secret.Properties?.KmsKeyId, id).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
  });

  it('encrypts every log group with the key and keeps it logRetentionDays', () => {
    const groups = s.ofType('AWS::Logs::LogGroup');
    // Three functions and the API access logs.
    expect(groups).toHaveLength(4);
    expect(groups.map(([id]) => id)).toContain(s.idOf(stack.webhookApi.accessLogGroup));
    for (const [id, group] of groups) {
      expect(group.Properties?.KmsKeyId, id).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
      expect(group.Properties?.RetentionInDays, id).toBe(180);
    }
  });

  it('grants each function the key only through the services it uses, and only what each use needs', () => {
    const roleOf = (fn: { role?: IConstruct }) => s.idOf(fn.role!);
    const consume = 'kms:Decrypt direct'; // the SQS event source's grant (CDK's grantConsumeMessages)
    expect(keyGrants(s.resources, roleOf(stack.webhookApi.ingestFunction), keyId)).toEqual(
      [
        consume,
        'kms:Decrypt dynamodb',
        'kms:DescribeKey dynamodb',
        'kms:Encrypt dynamodb',
        'kms:GenerateDataKey dynamodb',
        'kms:Decrypt s3',
        'kms:GenerateDataKey s3',
        'kms:Decrypt secretsmanager',
        'kms:Decrypt sqs',
        'kms:GenerateDataKey sqs',
      ].sort(),
    );
    expect(keyGrants(s.resources, roleOf(stack.mediaPipeline.worker), keyId)).toEqual(
      [
        consume,
        'kms:Decrypt dynamodb',
        'kms:DescribeKey dynamodb',
        'kms:Encrypt dynamodb',
        'kms:GenerateDataKey dynamodb',
        'kms:Decrypt s3',
        'kms:GenerateDataKey s3',
        'kms:Decrypt secretsmanager',
      ].sort(),
    );
    expect(keyGrants(s.resources, roleOf(stack.insightCards.worker), keyId)).toEqual(
      [
        consume,
        'kms:Decrypt dynamodb',
        'kms:DescribeKey dynamodb',
        'kms:Encrypt dynamodb',
        'kms:GenerateDataKey dynamodb',
        'kms:Decrypt secretsmanager',
      ].sort(),
    );
  });

  it('stays clean under cdk-nag', () => {
    expect(s.nagFindings()).toEqual([]);
  });

  it('turns on Object Lock with the default retention asked for', () => {
    expect(s.propsOf(stack.storage.bucket)).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 365 } } },
      VersioningConfiguration: { Status: 'Enabled' },
    });
  });

  it('expires recordings, voicemails and transcripts after recordingsExpireDays, and their old versions a day later', () => {
    const rules = (s.propsOf(stack.storage.bucket).LifecycleConfiguration as { Rules: Json[] }).Rules;
    const expiring = rules.filter((r) => String(r.Id).startsWith('Expire-'));
    expect(expiring.map((r) => r.Prefix).sort()).toEqual(['recordings/', 'transcripts/', 'voicemails/']);
    for (const rule of expiring) {
      expect(rule).toMatchObject({ Status: 'Enabled', ExpirationInDays: 730, NoncurrentVersionExpiration: { NoncurrentDays: 1 } });
    }
    // Tiering stays, and raw/ keeps its own expiry.
    expect(rules.filter((r) => String(r.Id).startsWith('Tier-'))).toHaveLength(3);
    expect(rules.find((r) => r.Id === 'ExpireRaw')).toMatchObject({ Prefix: 'raw/', ExpirationInDays: 400 });
  });

  it(`gives the calls table a TTL on ${CALLS_TTL_ATTRIBUTE}, and the contacts table none`, () => {
    expect(s.propsOf(stack.storage.callsTable).TimeToLiveSpecification).toEqual({ AttributeName: CALLS_TTL_ATTRIBUTE, Enabled: true });
    expect(s.propsOf(stack.storage.contactsTable).TimeToLiveSpecification).toBeUndefined();
  });

  it('tells the functions itemTtlDays through CALLVAULT_CONFIG', () => {
    const variables = (s.propsOf(stack.webhookApi.ingestFunction).Environment as { Variables: Json }).Variables;
    expect(parseConfig(JSON.parse(String(variables.CALLVAULT_CONFIG))).protection.itemTtlDays).toBe(1095);
  });
});

describe('GOVERNANCE mode and kms: true', () => {
  it('locks in GOVERNANCE mode and creates the key without an alias', () => {
    const s = synth({ protection: { kms: true, objectLock: { mode: 'GOVERNANCE', days: 30 } } });
    expect(s.ofType('AWS::KMS::Alias')).toEqual([]);
    expect(s.stack.storage.encryptionKey).toBeDefined();
    expect(s.propsOf(s.stack.storage.bucket).ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 30 } },
    });
  });
});

describe('a stack with the data protection options off (the default)', () => {
  let s: ReturnType<typeof synth>;
  beforeAll(() => {
    s = synth({ sources: SOURCES });
  });

  it('creates no data key: only the alarm topic has one, and no role may use a key', () => {
    expect(s.stack.storage.encryptionKey).toBeUndefined();
    expect(s.ofType('AWS::KMS::Key').map(([id]) => id)).toEqual([s.idOf(s.stack.monitoring.topicKey)]);
    for (const [id, policy] of s.ofType('AWS::IAM::Policy'))
      expect(JSON.stringify(policy.Properties?.PolicyDocument), id).not.toContain('kms:');
  });

  it('keeps AWS-managed encryption on the bucket, tables, queues, secrets and log groups', () => {
    expect(JSON.stringify(s.propsOf(s.stack.storage.bucket).BucketEncryption)).toContain('AES256');
    for (const [id, table] of s.ofType('AWS::DynamoDB::Table'))
      expect(table.Properties?.SSESpecification, id).toEqual({ SSEEnabled: true });
    for (const [id, queue] of s.ofType('AWS::SQS::Queue')) expect(queue.Properties?.SqsManagedSseEnabled, id).toBe(true);
    for (const [id, r] of [...s.ofType('AWS::SecretsManager::Secret'), ...s.ofType('AWS::Logs::LogGroup')])
      expect(r.Properties?.KmsKeyId, id).toBeUndefined();
  });

  it('stays clean under cdk-nag', () => {
    expect(s.nagFindings()).toEqual([]);
  });

  it('has no Object Lock, no recording expiry and no TTL', () => {
    const bucket = s.propsOf(s.stack.storage.bucket);
    expect(bucket.ObjectLockEnabled).toBeUndefined();
    expect(bucket.ObjectLockConfiguration).toBeUndefined();
    const rules = (bucket.LifecycleConfiguration as { Rules: Json[] }).Rules;
    expect(rules.filter((r) => String(r.Id).startsWith('Expire-'))).toEqual([]);
    for (const [id, table] of s.ofType('AWS::DynamoDB::Table')) expect(table.Properties?.TimeToLiveSpecification, id).toBeUndefined();
  });

  it('still keeps every log group for a bounded time: 30 days for the functions, 90 for the API access logs', () => {
    const accessLogs = s.idOf(s.stack.webhookApi.accessLogGroup);
    const groups = s.ofType('AWS::Logs::LogGroup');
    expect(groups).toHaveLength(4);
    for (const [id, group] of groups) expect(group.Properties?.RetentionInDays, id).toBe(id === accessLogs ? 90 : 30);
  });
});

describe('the protection config', () => {
  const fails = (protection: Json, retention: Json = {}) => {
    try {
      parseConfig({ protection, retention });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it('is all off by default', () => {
    expect(parseConfig({}).protection).toEqual({ kms: false });
  });

  it('refuses a recording expiry that comes before the last storage-class move', () => {
    expect(fails({ recordingsExpireDays: 180 })).toContain('callvault.protection.recordingsExpireDays: must be more than 180');
    expect(
      parseConfig({ protection: { recordingsExpireDays: 7 }, retention: { recordingsInfrequentAccessDays: 0, recordingsGlacierDays: 0 } })
        .protection.recordingsExpireDays,
    ).toBe(7);
  });

  it('refuses an Object Lock longer than the recording expiry: S3 cannot delete a locked version', () => {
    expect(fails({ recordingsExpireDays: 365, objectLock: { mode: 'GOVERNANCE', days: 400 } })).toContain(
      'callvault.protection.objectLock.days: must be at most recordingsExpireDays (365)',
    );
  });

  it('refuses an Object Lock longer than the raw expiry: raw/ is locked too', () => {
    expect(fails({ objectLock: { mode: 'COMPLIANCE', days: 100 } }, { rawExpireDays: 30 })).toContain(
      'callvault.protection.objectLock.days: must be at most retention.rawExpireDays (30)',
    );
  });

  it('names the two lock modes when given another', () => {
    expect(fails({ objectLock: { mode: 'LEGAL_HOLD', days: 1 } })).toContain('callvault.protection.objectLock.mode: must be "GOVERNANCE"');
  });

  it('refuses a log retention CloudWatch Logs does not offer, listing the ones it does', () => {
    expect(fails({ logRetentionDays: 45 })).toMatch(/callvault\.protection\.logRetentionDays: must be one of .*30, 60, 90/);
  });

  it('refuses an alias in the reserved aws/ namespace', () => {
    expect(fails({ kms: { alias: 'alias/aws/s3' } })).toContain('callvault.protection.kms.alias: must not start with "aws/"');
  });
});
