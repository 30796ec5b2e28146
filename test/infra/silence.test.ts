/**
 * The silence alarms: one per source with `silence` config, on SourceSilent under that source, to the
 * alarm topic, none for the other sources.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '#contract/config-schema.ts';
import { Monitoring } from '#lib/constructs/monitoring.ts';
import { match } from '#test/support/match.ts';

const config = parseConfig({
  sources: [
    { id: 'hipcall-eu', provider: 'hipcall', silence: { minutes: 60, days: 'Mon-Fri', hours: '08:00-18:00', timeZone: 'Europe/Istanbul' } },
    { id: 'callhippo', provider: 'callhippo' },
    {
      id: 'night-desk',
      provider: 'postcall',
      silence: { minutes: 30, days: 'Mon,Wed,Sat', hours: '22:00-06:00', timeZone: 'America/New_York' },
    },
  ],
});

let template: Template;
let monitoring: Monitoring;
let alarms: Map<string, unknown>;

beforeAll(() => {
  const stack = new Stack(new App(), 'SilenceTest');
  monitoring = new Monitoring(stack, 'Monitoring');
  alarms = monitoring.watchSilence(config.sources);
  template = Template.fromStack(stack);
});

const silenceAlarms = () =>
  Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'SourceSilent' } })) as {
    Properties: Record<string, unknown>;
  }[];

describe('silence alarms', () => {
  it('are one per source with silence config, and none for a source without', () => {
    expect([...alarms.keys()]).toEqual(['hipcall-eu', 'night-desk']);
    const bySource = silenceAlarms().map(
      (a) => (a.Properties.Dimensions as { Name: string; Value: string }[]).find((d) => d.Name === 'source')?.Value,
    );
    expect(bySource.sort()).toEqual(['hipcall-eu', 'night-desk']);
  });

  it('fire when SourceSilent reaches 1 in one period, and treat missing data as fine', () => {
    expect(silenceAlarms()).toHaveLength(2);
    for (const alarm of silenceAlarms()) {
      expect(alarm.Properties).toMatchObject({
        Namespace: 'CallVault',
        MetricName: 'SourceSilent',
        Statistic: 'Maximum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
      expect(alarm.Properties.Dimensions).toEqual([{ Name: 'source', Value: match.any(String) }]);
    }
  });

  it('notify the alarm topic', () => {
    const topicId = Stack.of(monitoring).getLogicalId(monitoring.alarmTopic.node.defaultChild as never);
    expect(silenceAlarms()).toHaveLength(2);
    for (const alarm of silenceAlarms()) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
  });

  it('say which source went quiet, over which hours, and the first command to run', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'SourceSilent',
      AlarmDescription: Match.stringLikeRegexp(
        'Source "night-desk" has delivered nothing for 30 minutes inside its working hours \\(Mon,Wed,Sat 22:00-06:00 America/New_York\\).*First: npx callvault',
      ),
    });
  });

  it('are none when no source sets silence', () => {
    const stack = new Stack(new App(), 'NoSilence');
    const m = new Monitoring(stack, 'Monitoring');
    expect(m.watchSilence(parseConfig({}).sources).size).toBe(0);
    expect(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'SourceSilent' } })).toEqual({});
  });
});
