/**
 * Running CallVault in production: the alarms and their SNS action, the dashboard, the
 * concurrency limits and a throttle per source, on synthesised stacks.
 */
import { Stack, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '#bin/app.ts';
import { METRIC, METRICS_NAMESPACE } from '#core/metrics.ts';
import type { CallVaultStack } from '#lib/callvault-stack.ts';
import { REFUSALS, SOURCE_ROUTE_THROTTLED_METRIC } from '#lib/constructs/monitoring.ts';
import { ConfigError, parseConfig } from '#contract/config-schema.ts';
import { throttleOf } from '#contract/config.ts';
import { UNKNOWN_SOURCE_THROTTLE } from '#lib/constructs/webhook-api.ts';
import { REPLAY_QUEUE, queueLifetimeSeconds } from '#contract/resources.ts';
import { match } from '#test/support/match.ts';

type Json = Record<string, unknown>;
type Resource = { Type: string; Properties?: Json; DependsOn?: string[] };

const idOf = (c: IConstruct) => Stack.of(c).getLogicalId(c.node.defaultChild as CfnElement);

function synth(callvault: Json) {
  // cdk-nag and bundling run on cdk.json's stack in callvault-stack.test.ts; these stacks only vary the config.
  const { stack } = createApp({ context: { callvault, 'aws:cdk:bundling-stacks': [] }, nag: false });
  const template = Template.fromStack(stack);
  return { stack, template, resources: template.toJSON().Resources as Record<string, Resource> };
}

const sources = [
  { id: 'hipcall', provider: 'hipcall', throttle: { rateLimit: 20, burstLimit: 40 } },
  { id: 'callhippo', provider: 'callhippo' },
  { id: 'postcall-eu', provider: 'postcall' },
];

let stack: CallVaultStack;
let resources: Record<string, Resource>;
const alarms = () => Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');
const alarmOf = (c: IConstruct) => resources[idOf(c)]?.Properties ?? {};

beforeAll(() => {
  ({ stack, resources } = synth({
    sources,
    throttle: { rateLimit: 30, burstLimit: 60 },
    concurrency: { ingestReserved: 40, mediaMax: 3, insightMax: 7 },
  }));
});

describe('alarms', () => {
  it('sends every alarm to the alarm topic, and to nothing else', () => {
    const topic = { Ref: idOf(stack.monitoring.alarmTopic) };
    // 3 DLQs, 3 function errors, API 5xx, refusals, source-route 429s, 3 throttles, 2 fallbacks, replay age, 3 media, 1 insight.
    expect(alarms()).toHaveLength(19);
    for (const [id, alarm] of alarms()) {
      expect(alarm.Properties?.AlarmActions, id).toEqual([topic]);
      expect(alarm.Properties?.TreatMissingData, id).toBe('notBreaching');
    }
  });

  it('tells the operator in every alarm what it means and the first command to run', () => {
    expect(alarms()).toHaveLength(19);
    for (const [id, alarm] of alarms()) {
      const text = JSON.stringify(alarm.Properties?.AlarmDescription);
      expect(text.length, id).toBeGreaterThan(80);
      expect(text, id).toMatch(/npx callvault |aws (logs|lambda|sqs)|redrive|HipcallApiTokenCommand/);
    }
  });

  it('alarms on any API 5xx of the webhook API', () => {
    expect(alarmOf(stack.pipelineAlarms.apiServerErrors)).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [{ Name: 'ApiId', Value: { Ref: idOf(stack.webhookApi.api) } }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it("alarms on a configured source's refused deliveries (the series without dimensions), not on the API's 4xx a scanner makes", () => {
    expect(alarmOf(stack.pipelineAlarms.deliveryRefused)).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.deliveryRefused,
      Statistic: 'Sum',
      Period: REFUSALS.period.toSeconds(),
      Threshold: REFUSALS.threshold,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(alarmOf(stack.pipelineAlarms.deliveryRefused).Dimensions ?? []).toEqual([]);
    expect(JSON.stringify(alarmOf(stack.pipelineAlarms.deliveryRefused).AlarmDescription)).toContain('npx callvault urls');
    expect(
      alarms()
        .filter(([, a]) => a.Properties?.Namespace === 'AWS/ApiGateway')
        .map(([, a]) => a.Properties?.MetricName),
    ).toEqual(['5xx']);
  });

  it("alarms on 429s of a configured source's own routes, counted from the access log without the generic route's", () => {
    const filters = Object.values(resources).filter((r) => r.Type === 'AWS::Logs::MetricFilter');
    expect(filters).toHaveLength(1);
    expect(filters[0]!.Properties).toMatchObject({
      LogGroupName: { Ref: idOf(stack.webhookApi.accessLogGroup) },
      MetricTransformations: [{ MetricNamespace: METRICS_NAMESPACE, MetricName: SOURCE_ROUTE_THROTTLED_METRIC, MetricValue: '1' }],
    });
    expect(filters[0]!.Properties?.FilterPattern).toBe(
      '{ ($.status = "429") && ($.routeKey != "POST /webhooks/{source}/{token}") && ($.routeKey != "GET /webhooks/{source}/{token}") && ($.routeKey != "HEAD /webhooks/{source}/{token}") }',
    );
    expect(alarmOf(stack.pipelineAlarms.sourceRouteThrottled)).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: SOURCE_ROUTE_THROTTLED_METRIC,
      Statistic: 'Sum',
      Threshold: 1,
    });
  });

  it('alarms on the errors of every function, the scheduled ones included', () => {
    const withScheduled = synth({
      sources: [
        {
          id: 'hipcall',
          provider: 'hipcall',
          hipcallApiBaseUrl: 'https://use.hipcall.com/api/v3',
          reconcile: {},
          silence: { minutes: 30, hours: '09:00-17:00', timeZone: 'Europe/London' },
        },
      ],
    });
    const s = withScheduled.stack;
    const functions = {
      ingest: s.webhookApi.ingestFunction,
      media: s.mediaPipeline.worker,
      insight: s.insightCards.worker,
      silence: s.silenceCheck!.function,
      reconcile: s.reconcile!.function,
    };
    expect([...s.errorAlarms.keys()].sort()).toEqual(Object.keys(functions).sort());
    const errorAlarms = Object.values(withScheduled.resources).filter(
      (r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties?.MetricName === 'Errors',
    );
    expect(errorAlarms).toHaveLength(5);
    for (const [name, fn] of Object.entries(functions)) {
      expect(withScheduled.resources[idOf(s.errorAlarms.get(name)!)]?.Properties, name).toMatchObject({
        Namespace: 'AWS/Lambda',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: idOf(fn) } }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [{ Ref: idOf(s.monitoring.alarmTopic) }],
      });
    }
    // A media worker that crashes at start is heard of within one 5-minute period.
    expect(withScheduled.resources[idOf(s.errorAlarms.get('media')!)]?.Properties).toMatchObject({ Period: 300, EvaluationPeriods: 1 });
  });

  it('gives each scheduled function an EventInvokeConfig without retries, and alarms on its caught failures', () => {
    const withScheduled = synth({
      sources: [
        {
          id: 'hipcall',
          provider: 'hipcall',
          hipcallApiBaseUrl: 'https://use.hipcall.com/api/v3',
          reconcile: {},
          silence: { minutes: 30, hours: '09:00-17:00', timeZone: 'Europe/London' },
        },
      ],
    });
    const s = withScheduled.stack;
    const configs = Object.values(withScheduled.resources).filter((r) => r.Type === 'AWS::Lambda::EventInvokeConfig');
    expect(configs.map((c) => c.Properties?.FunctionName).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual(
      [{ Ref: idOf(s.reconcile!.function) }, { Ref: idOf(s.silenceCheck!.function) }].sort((a, b) =>
        JSON.stringify(a).localeCompare(JSON.stringify(b)),
      ),
    );
    for (const c of configs) expect(c.Properties).toMatchObject({ MaximumRetryAttempts: 0, Qualifier: '$LATEST' });
    for (const [name, metric] of [
      ['reconcile', METRIC.reconcileFailed],
      ['silence', METRIC.silenceCheckFailed],
    ] as const) {
      expect(withScheduled.resources[idOf(s.scheduledAlarms.get(name)!)]?.Properties, name).toMatchObject({
        Namespace: METRICS_NAMESPACE,
        MetricName: metric,
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [{ Ref: idOf(s.monitoring.alarmTopic) }],
      });
    }
    // No schedule, no EventInvokeConfig and no failure alarm: the default stack has neither function.
    expect(Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::EventInvokeConfig')).toEqual([]);
    expect(stack.scheduledAlarms.size).toBe(0);
  });

  it('alarms on any throttle of each function', () => {
    const functions = { ingest: stack.webhookApi.ingestFunction, media: stack.mediaPipeline.worker, insight: stack.insightCards.worker };
    expect([...stack.pipelineAlarms.throttles.keys()].sort()).toEqual(Object.keys(functions).sort());
    for (const [name, fn] of Object.entries(functions)) {
      expect(alarmOf(stack.pipelineAlarms.throttles.get(name)!), name).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Throttles',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: idOf(fn) } }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
  });

  it('alarms on a single CallVault count of each failure, over the whole pipeline (the series without dimensions, as the functions emit it)', () => {
    const a = stack.pipelineAlarms;
    const cases: [IConstruct, string, RegExp][] = [
      [a.deliveryQueuedForReplay, METRIC.deliveryQueuedForReplay, /replay queue/],
      [a.deliveryUnapplied, METRIC.deliveryUnapplied, /npx callvault replay --unapplied/],
      [a.mediaFailed, METRIC.mediaFailed, /npx callvault replay --dlq media/],
      [a.mediaExpired, METRIC.mediaExpired, /expired/],
      [a.mediaRejected, METRIC.mediaRejected, /mediaHostAllowlist/],
      [a.insightFailed, METRIC.insightFailed, /Hipcall API token placeholder is replaced/],
    ];
    for (const [alarm, metricName, hint] of cases) {
      const p = alarmOf(alarm);
      expect(p, metricName).toMatchObject({
        Namespace: METRICS_NAMESPACE,
        MetricName: metricName,
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
      // The total: the functions file every value also under no dimension (functions/adapters/metrics.ts).
      expect(p.Dimensions ?? [], metricName).toEqual([]);
      expect(JSON.stringify(p.AlarmDescription), metricName).toMatch(hint);
    }
  });

  it("alarms when the replay queue's oldest message outlives every receive its definition allows", () => {
    expect(alarmOf(stack.pipelineAlarms.replayQueueAge)).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf(stack.webhookApi.replayQueue.queue), 'QueueName'] } }],
      Statistic: 'Maximum',
      Threshold: queueLifetimeSeconds(REPLAY_QUEUE),
    });
  });

  it('no longer claims that an ingest error means a provider got a refused delivery', () => {
    const [, errors] = alarms().find(([, r]) => r.Properties?.MetricName === 'Errors')!;
    const text = JSON.stringify(errors.Properties?.AlarmDescription);
    expect(text).not.toMatch(/may have received a 5xx/);
    expect(text).toMatch(/crashed or timed out.*aws logs tail/);
  });
});

describe('dashboard', () => {
  it('is one dashboard, named after the stack, with a graph of deliveries for each source and every part of the pipeline', () => {
    const dashboards = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0]![1].Properties?.DashboardName).toBe('CallVault-pipeline');
    // The body is JSON joined around tokens (region, ARNs): put a placeholder in each and read it back.
    const [, parts] = (dashboards[0]![1].Properties?.DashboardBody as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
    const text = parts.map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
    const widgets = (JSON.parse(text) as { widgets: { properties: { title?: string; metrics?: unknown[][] } }[] }).widgets.map(
      (w) => w.properties,
    );
    const titled = (title: string) => widgets.filter((w) => w.title === title);
    for (const s of sources) {
      const [deliveries] = titled(`Deliveries: ${s.id}`);
      expect(deliveries?.metrics?.length, s.id).toBeGreaterThanOrEqual(7);
      // Every line of a source's graph reads that source's metric (or searches for it).
      for (const line of deliveries!.metrics!)
        expect(JSON.stringify(line), s.id).toMatch(new RegExp(`"source","${s.id}"|source=\\\\"${s.id}\\\\"`));
      expect(titled(`Media and cards: ${s.id}`), s.id).toHaveLength(1);
    }
    for (const title of [
      'API requests, 4xx, 5xx',
      'API latency (ms)',
      'Ingest duration (ms), throttles, errors',
      'Deliveries by outcome: all sources',
      'Queue depth (visible)',
      'Oldest message age (s)',
      'DLQ depth',
      'Media outcomes',
      'Media bytes stored',
      'Hangup to stored (s)',
      'Insight outcomes',
      'call_init to card (ms)',
    ]) {
      expect(titled(title), title).toHaveLength(1);
    }
    for (const name of Object.values(METRIC)) expect(text, name).toContain(name);
  });
});

describe('isolation', () => {
  it('reserves the configured concurrency for the ingest only', () => {
    expect(resources[idOf(stack.webhookApi.ingestFunction)]?.Properties?.ReservedConcurrentExecutions).toBe(40);
    expect(resources[idOf(stack.mediaPipeline.worker)]?.Properties?.ReservedConcurrentExecutions).toBeUndefined();
    expect(resources[idOf(stack.insightCards.worker)]?.Properties?.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('reserves nothing when concurrency.ingestReserved is 0 (never a reserved 0, which would stop the function)', () => {
    const off = synth({ sources, concurrency: { ingestReserved: 0 } });
    expect(off.resources[idOf(off.stack.webhookApi.ingestFunction)]?.Properties).not.toHaveProperty('ReservedConcurrentExecutions');
  });

  it('caps the media, insight and replay event sources at their configured MaximumConcurrency', () => {
    const mappings = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(3);
    const capOf = (fn: IConstruct) =>
      mappings.find((m) => JSON.stringify(m.Properties?.FunctionName) === JSON.stringify({ Ref: idOf(fn) }))?.Properties?.ScalingConfig;
    expect(capOf(stack.mediaPipeline.worker)).toEqual({ MaximumConcurrency: 3 });
    expect(capOf(stack.insightCards.worker)).toEqual({ MaximumConcurrency: 7 });
    // Replays after a brownout share the ingest with returning webhooks: by default 2 at most.
    expect(capOf(stack.webhookApi.ingestFunction)).toEqual({ MaximumConcurrency: 2 });
  });

  it('refuses a replay cap that would take every reserved ingest execution, naming both keys', () => {
    expect(() => parseConfig({ concurrency: { ingestReserved: 4, replayMax: 4 } })).toThrow(
      /callvault\.concurrency\.replayMax: must be less than concurrency\.ingestReserved \(4\)/,
    );
    expect(parseConfig({ concurrency: { ingestReserved: 5, replayMax: 4 } }).concurrency.replayMax).toBe(4);
  });

  it('gives the API one Lambda permission, for any route of this API, however many sources there are', () => {
    const permissions = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Permission');
    expect(permissions).toHaveLength(1);
    expect(permissions[0]!.Properties).toMatchObject({
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [idOf(stack.webhookApi.ingestFunction), 'Arn'] },
      Principal: 'apigateway.amazonaws.com',
    });
    expect(JSON.stringify(permissions[0]!.Properties?.SourceArn)).toContain(`{"Ref":"${idOf(stack.webhookApi.api)}"},"/*/*/*"`);
  });

  it('gives each source its own POST, GET and HEAD routes, and keeps the generic route for unknown sources', () => {
    const routeKeys = Object.values(resources)
      .filter((r) => r.Type === 'AWS::ApiGatewayV2::Route')
      .map((r) => r.Properties?.RouteKey as string);
    const expected = ['{source}', ...sources.map((s) => s.id)].flatMap((seg) =>
      ['POST', 'GET', 'HEAD'].map((m) => `${m} /webhooks/${seg}/{token}`),
    );
    expect(routeKeys.sort()).toEqual(expected.sort());
  });

  it("throttles each source's routes in the stage's RouteSettings (its own throttle, else the global one), the generic route low, after the routes exist", () => {
    const stage = resources[idOf(stack.webhookApi.stage)]!;
    const settings = stage.Properties?.RouteSettings as Record<string, Json>;
    for (const m of ['POST', 'GET', 'HEAD']) {
      expect(settings[`${m} /webhooks/hipcall/{token}`]).toEqual({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 });
      expect(settings[`${m} /webhooks/callhippo/{token}`]).toEqual({ ThrottlingRateLimit: 30, ThrottlingBurstLimit: 60 });
      expect(settings[`${m} /webhooks/postcall-eu/{token}`]).toEqual({ ThrottlingRateLimit: 30, ThrottlingBurstLimit: 60 });
      expect(settings[`${m} /webhooks/{source}/{token}`]).toEqual({
        ThrottlingRateLimit: UNKNOWN_SOURCE_THROTTLE.rateLimit,
        ThrottlingBurstLimit: UNKNOWN_SOURCE_THROTTLE.burstLimit,
      });
    }
    expect(Object.keys(settings)).toHaveLength(12);
    const routeIds = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Route')
      .map(([id]) => id);
    // CloudFormation refuses route settings naming a route key it has not created yet.
    expect(stage.DependsOn ?? []).toEqual(match.arrayContaining(routeIds));
  });

  it("stays far below CloudFormation's 500 resources with 20 sources, each with its own routes", () => {
    const twenty = Array.from({ length: 20 }, (_, i) => ({
      id: `source-${i}`,
      provider: (['hipcall', 'callhippo', 'postcall'] as const)[i % 3],
    }));
    const big = synth({ sources: twenty });
    const count = Object.keys(big.resources).length;
    const routes = Object.values(big.resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
    expect(routes).toHaveLength(21 * 3);
    expect(Object.keys(big.resources[idOf(big.stack.webhookApi.stage)]?.Properties?.RouteSettings as Json)).toHaveLength(21 * 3);
    expect(count).toBeLessThan(400);
  });
});

describe('the concurrency and throttle config', () => {
  it('defaults to nothing reserved for the ingest (a new account could not deploy a reservation), 5 media, 10 insight and 2 replay executions at most', () => {
    expect(parseConfig({}).concurrency).toEqual({ ingestReserved: 0, mediaMax: 5, insightMax: 10, replayMax: 2 });
  });

  it("refuses a MaximumConcurrency under AWS's minimum of 2, naming the key", () => {
    expect(() => parseConfig({ concurrency: { mediaMax: 1 } })).toThrow(ConfigError);
    expect(() => parseConfig({ concurrency: { mediaMax: 1 } })).toThrow(/callvault\.concurrency\.mediaMax: must be at least 2/);
    expect(() => parseConfig({ concurrency: { ingestReserved: -1 } })).toThrow(/callvault\.concurrency\.ingestReserved/);
  });

  it('gives a source its own throttle, else the global one, and refuses a misspelt key', () => {
    const config = parseConfig({
      throttle: { rateLimit: 7 },
      sources: [
        { id: 'a', provider: 'postcall', throttle: { rateLimit: 3, burstLimit: 4 } },
        { id: 'b', provider: 'postcall' },
      ],
    });
    expect(config.sources.map((source) => throttleOf(config, source))).toEqual([
      { rateLimit: 3, burstLimit: 4 },
      { rateLimit: 7, burstLimit: 100 },
    ]);
    expect(() => parseConfig({ sources: [{ id: 'a', provider: 'postcall', throttle: { rate: 3 } }] })).toThrow(
      /callvault\.sources\[0\]\.throttle/,
    );
  });
});
