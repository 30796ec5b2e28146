/**
 * The silence check in the real stack: when a source sets `silence`, a function on a 5-minute schedule
 * that may read metrics (and nothing else), and one SourceSilent alarm per watched source to the topic;
 * without any `silence`, none of it. cdk-nag stays clean.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { Stack, type App, type CfnElement } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '#bin/app.ts';
import type { CallVaultStack } from '#lib/callvault-stack.ts';

const idOf = (c: IConstruct) => Stack.of(c).getLogicalId(c.node.defaultChild as CfnElement);
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
type Json = Record<string, unknown>;

function synth(sources: unknown[]): { app: App; stack: CallVaultStack; template: Template } {
  const { app, stack } = createApp({ context: { callvault: { sources }, 'aws:cdk:bundling-stacks': [] } });
  return { app, stack, template: Template.fromStack(stack) };
}

describe('silence check in the stack', () => {
  let watched: { app: App; stack: CallVaultStack; template: Template };
  beforeAll(() => {
    watched = synth([
      { id: 'hipcall', provider: 'hipcall', silence: { minutes: 60, days: 'Mon-Fri', hours: '08:00-18:00', timeZone: 'Europe/Istanbul' } },
      { id: 'postcall', provider: 'postcall' },
    ]);
  }, 120_000);

  it('runs the check every 5 minutes, without retries of a missed run', () => {
    const fn = watched.stack.silenceCheck!.function;
    const rules = Object.values(watched.template.findResources('AWS::Events::Rule')) as { Properties: Json }[];
    const rule = rules.find((r) => list(r.Properties.Targets as Json[]).some((t) => JSON.stringify(t.Arn).includes(idOf(fn))));
    expect(rule?.Properties.ScheduleExpression).toBe('rate(5 minutes)');
    expect(list(rule?.Properties.Targets as Json[])[0]).toMatchObject({ RetryPolicy: { MaximumRetryAttempts: 0 } });
  });

  it('lets the check read metrics and nothing else beyond its own logs', () => {
    const roleId = idOf(watched.stack.silenceCheck!.function.executionRole);
    const statements = Object.values(watched.template.findResources('AWS::IAM::Policy'))
      .filter((p) => list((p as { Properties: Json }).Properties.Roles as Json[]).some((r) => r.Ref === roleId))
      .flatMap((p) => list(((p as { Properties: Json }).Properties.PolicyDocument as Json).Statement as Json[]));
    const actions = statements.flatMap((s) => list(s.Action as string[])).filter((a) => !a.startsWith('logs:'));
    expect(actions).toEqual(['cloudwatch:GetMetricData']);
  });

  it('alarms for the watched source only, to the alarm topic', () => {
    expect([...watched.stack.silenceAlarms!.keys()]).toEqual(['hipcall']);
    const alarms = Object.values(
      watched.template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'SourceSilent' } }),
    ) as { Properties: Json }[];
    expect(alarms).toHaveLength(1);
    expect(alarms[0]!.Properties).toMatchObject({
      Dimensions: [{ Name: 'source', Value: 'hipcall' }],
      AlarmActions: [{ Ref: idOf(watched.stack.monitoring.alarmTopic) }],
    });
  });

  it('passes cdk-nag with the GetMetricData wildcard acknowledged', () => {
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      expect(pack.validateScope(watched.app).violations.map((v) => v.ruleName)).toEqual([]);
    }
  });

  it('deploys no check, rule or silence alarm when no source sets silence', () => {
    const plain = synth([{ id: 'hipcall', provider: 'hipcall' }]);
    expect(plain.stack.silenceCheck).toBeUndefined();
    expect(Object.keys(plain.template.findResources('AWS::Events::Rule'))).toHaveLength(0);
    expect(
      Object.keys(plain.template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'SourceSilent' } })),
    ).toHaveLength(0);
  });
});
