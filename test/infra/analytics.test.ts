/**
 * SQL over the archive in the real stack: with `analytics.glue`, a Glue table `calls` whose columns and
 * partition keys are CDR_COLUMNS and CDR_PARTITIONS (the schema the cdr/ writer and `callvault query
 * --local` use), partition projection onto DESIGN's cdr/ key layout, an encrypted Athena workgroup and the
 * example queries of docs/querying.md as named queries; without it, none of that. cdk-nag stays clean.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { Stack, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '#bin/app.ts';
import { CDR_COLUMNS, CDR_EXAMPLE_QUERIES, CDR_PARTITIONS } from '#core/cdr-schema.ts';
import type { CallVaultStack } from '#lib/callvault-stack.ts';

type Json = Record<string, unknown>;

function synth(callvault: unknown): { app: App; stack: CallVaultStack; template: Template } {
  // No Lambda bundling: these tests read the Glue and Athena resources only.
  const { app, stack } = createApp({ context: { 'aws:cdk:bundling-stacks': [], callvault } });
  return { app, stack, template: Template.fromStack(stack) };
}

const only = (template: Template, type: string): Json => {
  const found = Object.values(template.findResources(type)) as { Properties: Json }[];
  expect(found, type).toHaveLength(1);
  return found[0]!.Properties;
};

/** The bucket's logical id inside a Fn::Join, as CloudFormation will resolve its name. */
const bucketRef = (stack: CallVaultStack) => ({ Ref: stack.getLogicalId(stack.storage.bucket.node.defaultChild as never) });

describe('analytics: the Glue table and Athena', () => {
  let on: { app: App; stack: CallVaultStack; template: Template };
  let kms: { app: App; stack: CallVaultStack; template: Template };
  beforeAll(() => {
    on = synth({ analytics: { glue: true, since: '2024-01-01' } });
    kms = synth({ analytics: { glue: true }, protection: { kms: true } });
  }, 120_000);

  it('creates none of it by default', () => {
    const { template } = synth({});
    for (const type of ['AWS::Glue::Database', 'AWS::Glue::Table', 'AWS::Athena::WorkGroup', 'AWS::Athena::NamedQuery'])
      template.resourceCountIs(type, 0);
  });

  it("gives the table exactly the schema's columns and partition keys, in order, with their types", () => {
    const input = only(on.template, 'AWS::Glue::Table').TableInput as Json;
    const storage = input.StorageDescriptor as Json;
    expect(input.Name).toBe('calls');
    expect((storage.Columns as Json[]).map((c) => [c.Name, c.Type])).toEqual(CDR_COLUMNS.map((c) => [c.name, c.type]));
    expect((input.PartitionKeys as Json[]).map((c) => [c.Name, c.Type])).toEqual(CDR_PARTITIONS.map((c) => [c.name, c.type]));
    expect(storage.SerdeInfo).toEqual({ SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' });
  });

  it('projects provider and day onto cdr/{provider}/{YYYY}/{MM}/{DD}/ of the archive bucket, from analytics.since to today', () => {
    const params = (only(on.template, 'AWS::Glue::Table').TableInput as Json).Parameters as Json;
    expect(params).toMatchObject({
      'projection.enabled': 'true',
      'projection.provider.type': 'enum',
      'projection.provider.values': 'hipcall,callhippo,postcall',
      'projection.day.type': 'date',
      'projection.day.format': 'yyyy/MM/dd',
      'projection.day.range': '2024/01/01,NOW',
      'projection.day.interval': '1',
      'projection.day.interval.unit': 'DAYS',
    });
    // Every projected column has a projection, and nothing else does.
    const projected = Object.keys(params)
      .filter((k) => /^projection\.[^.]+\.type$/.test(k))
      .map((k) => k.split('.')[1]);
    expect(projected).toEqual(CDR_PARTITIONS.map((c) => c.name));
    expect(params['storage.location.template']).toEqual({ 'Fn::Join': ['', ['s3://', bucketRef(on.stack), '/cdr/${provider}/${day}/']] });
  });

  it('saves each example query, word for word, in the workgroup and database', () => {
    const named = Object.values(on.template.findResources('AWS::Athena::NamedQuery')).map((r) => (r as { Properties: Json }).Properties);
    expect(named.map((q) => q.QueryString).sort()).toEqual(CDR_EXAMPLE_QUERIES.map((q) => q.sql).sort());
    for (const q of named) expect(q).toMatchObject({ Database: 'callvault', WorkGroup: 'callvault' });
  });

  it("writes query results encrypted into the archive bucket, with the workgroup's settings enforced", () => {
    const config = only(on.template, 'AWS::Athena::WorkGroup').WorkGroupConfiguration as Json;
    expect(config).toMatchObject({
      EnforceWorkGroupConfiguration: true,
      ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } },
    });
    expect((config.ResultConfiguration as Json).OutputLocation).toEqual({
      'Fn::Join': ['', ['s3://', bucketRef(on.stack), '/athena-results/']],
    });
    const withKey = only(kms.template, 'AWS::Athena::WorkGroup').WorkGroupConfiguration as Json;
    expect(withKey).toMatchObject({
      ResultConfiguration: {
        EncryptionConfiguration: {
          EncryptionOption: 'SSE_KMS',
          KmsKey: { 'Fn::GetAtt': [Stack.of(kms.stack).getLogicalId(kms.stack.storage.encryptionKey!.node.defaultChild as never), 'Arn'] },
        },
      },
    });
  });

  it('expires query results after a week', () => {
    const archive = on.template.toJSON().Resources[bucketRef(on.stack).Ref] as { Properties: Json };
    const rules = (archive.Properties.LifecycleConfiguration as { Rules: Json[] } | undefined)?.Rules ?? [];
    expect(rules.find((r) => r.Prefix === 'athena-results/')).toMatchObject({ ExpirationInDays: 7, Status: 'Enabled' });
  });

  it('passes cdk-nag', () => {
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()])
      expect(pack.validateScope(on.app).violations.map((v) => v.ruleName)).toEqual([]);
  });
});
