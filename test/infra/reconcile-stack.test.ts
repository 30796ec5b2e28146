/**
 * The scheduled reconcile in the real stack: one schedule per Hipcall source that sets `reconcile`, at
 * its interval, naming its source; one function that may read and update call items, put raw/ objects,
 * send media jobs and read the Hipcall API token secrets, and nothing else; none of it without config.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { Stack, type App, type CfnElement } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '#bin/app.ts';
import type { CallVaultStack } from '#lib/callvault-stack.ts';
import { match } from '#test/support/match.ts';

const idOf = (c: IConstruct) => Stack.of(c).getLogicalId(c.node.defaultChild as CfnElement);
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
type Json = Record<string, unknown>;

const API = 'https://use.hipcall.com/api/v3';

function synth(sources: unknown[]): { app: App; stack: CallVaultStack; template: Template } {
  // Bundling skipped: these tests read the template, not the code (the other infra tests bundle every function).
  const { app, stack } = createApp({ context: { callvault: { sources }, 'aws:cdk:bundling-stacks': [] } });
  return { app, stack, template: Template.fromStack(stack) };
}

describe('scheduled reconcile in the stack', () => {
  let on: ReturnType<typeof synth>;
  beforeAll(() => {
    on = synth([
      { id: 'hipcall', provider: 'hipcall', hipcallApiBaseUrl: API, reconcile: { everyMinutes: 30, lookBackHours: 6 } },
      { id: 'hipcall-tr', provider: 'hipcall', hipcallApiBaseUrl: 'https://use.hipcall.com.tr/api/v3', reconcile: {} },
      { id: 'hipcall-quiet', provider: 'hipcall', hipcallApiBaseUrl: API },
      { id: 'postcall', provider: 'postcall' },
    ]);
  }, 120_000);

  it('runs one schedule per source with reconcile config, at its interval, naming its source, without retries', () => {
    const fnId = idOf(on.stack.reconcile!.function);
    const rules = (Object.values(on.template.findResources('AWS::Events::Rule')) as { Properties: Json }[]).filter((r) =>
      list(r.Properties.Targets as Json[]).some((t) => JSON.stringify(t.Arn).includes(fnId)),
    );
    const bySource = Object.fromEntries(
      rules.map((r) => {
        const target = list(r.Properties.Targets as Json[])[0]!;
        return [
          (JSON.parse(target.Input as string) as { reconcileSource: string }).reconcileSource,
          { rate: r.Properties.ScheduleExpression, retries: (target.RetryPolicy as Json)?.MaximumRetryAttempts },
        ];
      }),
    );
    expect(bySource).toEqual({ hipcall: { rate: 'rate(30 minutes)', retries: 0 }, 'hipcall-tr': { rate: 'rate(1 hour)', retries: 0 } });
  });

  it('grants the function only what a reconcile does: call items, raw/ and cdr/ puts, media jobs, the Hipcall API tokens', () => {
    const fn = on.stack.reconcile!.function;
    const roleId = idOf(fn.executionRole);
    const statements = Object.values(on.template.findResources('AWS::IAM::Policy'))
      .filter((p) => list((p as { Properties: Json }).Properties.Roles as Json[]).some((r) => r.Ref === roleId))
      .flatMap((p) => list(((p as { Properties: Json }).Properties.PolicyDocument as Json).Statement as Json[]))
      .filter((s) => !list(s.Action as string[]).every((a) => a.startsWith('logs:')));
    const grants = statements.map((s) => ({ actions: list(s.Action as string[]).sort(), resources: JSON.stringify(s.Resource) }));
    const tableId = idOf(on.stack.storage.callsTable);
    const bucketId = idOf(on.stack.storage.bucket);
    const queueId = idOf(on.stack.mediaPipeline.jobs.queue);
    expect(grants).toHaveLength(4);
    expect(grants).toContainEqual({ actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: match.stringContaining(tableId) });
    const s3 = grants.find((g) => g.actions.includes('s3:PutObject'))!;
    expect(s3.actions).toEqual(['s3:PutObject']);
    expect(s3.resources).toContain(bucketId);
    expect(s3.resources).toContain('/raw/*');
    // A backfilled call without a recording gets its SQL row from the reconcile itself.
    expect(s3.resources).toContain('/cdr/*');
    expect(s3.resources).not.toMatch(/recordings|quarantine/);
    expect(grants).toContainEqual({ actions: ['sqs:SendMessage'], resources: match.stringContaining(queueId) });
    const secrets = grants.find((g) => g.actions.includes('secretsmanager:GetSecretValue'))!;
    // Every Hipcall API token secret of this stack (hipcall, hipcall-tr, hipcall-quiet), by name pattern.
    expect(secrets.resources).toContain(':secret:CallVault/*/hipcall-api-??????');
    const resources = on.template.toJSON().Resources as Record<string, { Properties: { Environment: { Variables: Json } } }>;
    const env = resources[idOf(fn)]!.Properties.Environment.Variables;
    expect(Object.keys(env).sort()).toEqual([
      'ARCHIVE_BUCKET',
      'CALLS_TABLE',
      'CALLVAULT_SECRET_PREFIX',
      'MEDIA_QUEUE_URL',
      'NODE_OPTIONS',
    ]);
  });

  it('bundles the reconcile function like the others: Node.js 24 on arm64', () => {
    on.template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Description: 'CallVault reconcile: fill the gaps Hipcall leaves from its calls list',
    });
  });

  it('passes cdk-nag', () => {
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      expect(pack.validateScope(on.app).violations.map((v) => v.ruleName)).toEqual([]);
    }
  });

  it('adds no reconcile function or schedule when no source sets reconcile', () => {
    const off = synth([{ id: 'hipcall', provider: 'hipcall', hipcallApiBaseUrl: API }]);
    expect(off.stack.reconcile).toBeUndefined();
    expect(JSON.stringify(off.template.findResources('AWS::Lambda::Function'))).not.toContain('reconcile');
  });
});
