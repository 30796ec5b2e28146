import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, METRIC_DIMENSION, type MetricName } from '#core/metrics.ts';
import { pipelineMetric } from './monitoring.ts';
import type { WorkerQueue } from './worker-queue.ts';

export interface PipelineDashboardProps {
  readonly api: apigwv2.HttpApi;
  readonly ingest: lambda.Function;
  readonly media: lambda.Function;
  readonly insight: lambda.Function;
  /** The work queues, by name (media, insight, replay). */
  readonly queues: readonly WorkerQueue[];
  /** Configured source ids, in config order: one row of graphs each. */
  readonly sourceIds: readonly string[];
}

const PERIOD = Duration.minutes(5);
const FULL = 24;
const HALF = 12;
const THIRD = 8;
const HEIGHT = 6;

/** Every delivery outcome the ingest counts, in the order a reader expects them. */
const DELIVERY_OUTCOMES: readonly [MetricName, string][] = [
  [METRIC.deliveryStored, 'stored'],
  [METRIC.deliveryDuplicate, 'duplicate'],
  [METRIC.deliveryArchived, 'archived'],
  [METRIC.deliveryIgnored, 'ignored'],
  [METRIC.deliveryQueuedForReplay, 'queued for replay'],
  [METRIC.deliveryUnapplied, 'unapplied'],
  [METRIC.deliveryUnrecognised, 'unrecognised'],
  [METRIC.replayApplied, 'replay applied'],
];
const MEDIA_OUTCOMES: readonly [MetricName, string][] = [
  [METRIC.mediaStored, 'stored'],
  [METRIC.mediaExpired, 'expired'],
  [METRIC.mediaRejected, 'rejected'],
  [METRIC.mediaFailed, 'failed'],
];
const INSIGHT_OUTCOMES: readonly [MetricName, string][] = [
  [METRIC.insightSent, 'sent'],
  [METRIC.insightNoMatch, 'no match'],
  [METRIC.insightStale, 'stale'],
  [METRIC.insightFailed, 'failed'],
];

/**
 * Refused deliveries carry a `status` dimension as well, so they are found by search rather than
 * named: one line per status, for the whole pipeline or one source.
 */
function refusedByStatus(source?: string): cloudwatch.MathExpression {
  const dims = source ? `${METRIC_DIMENSION.source},${METRIC_DIMENSION.status}` : `${METRIC_DIMENSION.status}`;
  const filter = source ? ` ${METRIC_DIMENSION.source}="${source}"` : '';
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${METRICS_NAMESPACE},${dims}} MetricName="${METRIC.deliveryRefused}"${filter}', 'Sum', ${PERIOD.toSeconds()})`,
    label: 'refused',
    period: PERIOD,
    usingMetrics: {},
  });
}

/**
 * One dashboard, the pipeline end to end from top to bottom: the API, the ingest and its outcomes,
 * then one row per source, the queues and their DLQs, and the two workers. Named after the stack
 * (`{stack}-pipeline`) so an operator finds it from the stack name; the URL is a stack output.
 */
export class PipelineDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;
  public readonly dashboardName: string;

  constructor(scope: Construct, id: string, props: PipelineDashboardProps) {
    super(scope, id);
    const { api, ingest, media, insight } = props;
    this.dashboardName = `${Stack.of(this).stackName}-pipeline`;
    const outcomes = (list: readonly [MetricName, string][], source?: string) =>
      list.map(([name, label]) => pipelineMetric(name, { source, label, period: PERIOD }));
    const percentiles = (name: MetricName) =>
      (['p50', 'p90', 'Maximum'] as const).map((statistic) => pipelineMetric(name, { statistic, period: PERIOD, label: statistic }));
    const graph = (title: string, left: cloudwatch.IMetric[], width: number, opts: Partial<cloudwatch.GraphWidgetProps> = {}) =>
      new cloudwatch.GraphWidget({ title, left, width, height: HEIGHT, period: PERIOD, ...opts });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: this.dashboardName,
      defaultInterval: Duration.hours(6),
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          '# CallVault pipeline\nprovider → **API** → **ingest** → calls table + raw/ → media and insight queues → **workers** → recordings in S3, Insight Cards in Hipcall. ' +
          'Alarms and what to do first: docs/operating.md, "Alarms".',
        width: FULL,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph(
        'API requests, 4xx, 5xx',
        [
          api.metricCount({ period: PERIOD, statistic: 'Sum', label: 'requests' }),
          api.metricClientError({ period: PERIOD, label: '4xx' }),
          api.metricServerError({ period: PERIOD, label: '5xx' }),
        ],
        THIRD,
      ),
      graph(
        'API latency (ms)',
        [
          api.metricLatency({ period: PERIOD, statistic: 'p50', label: 'p50' }),
          api.metricLatency({ period: PERIOD, statistic: 'p99', label: 'p99' }),
          api.metricIntegrationLatency({ period: PERIOD, statistic: 'p99', label: 'integration p99' }),
        ],
        THIRD,
      ),
      graph(
        'Ingest duration (ms), throttles, errors',
        [
          ingest.metricDuration({ period: PERIOD, statistic: 'p50', label: 'p50' }),
          ingest.metricDuration({ period: PERIOD, statistic: 'p99', label: 'p99' }),
        ],
        THIRD,
        {
          right: [ingest.metricThrottles({ period: PERIOD, label: 'throttles' }), ingest.metricErrors({ period: PERIOD, label: 'errors' })],
        },
      ),
    );
    this.dashboard.addWidgets(
      graph('Deliveries by outcome: all sources', [...outcomes(DELIVERY_OUTCOMES), refusedByStatus()], FULL, { stacked: true }),
    );
    for (const source of props.sourceIds) {
      this.dashboard.addWidgets(
        graph(`Deliveries: ${source}`, [...outcomes(DELIVERY_OUTCOMES, source), refusedByStatus(source)], HALF, {
          stacked: true,
          // 1 while the silence check finds the source quiet inside its working hours (sources with `silence` only).
          right: [pipelineMetric(METRIC.sourceSilent, { source, statistic: cloudwatch.Stats.MAXIMUM, period: PERIOD, label: 'silent' })],
          rightYAxis: { min: 0, max: 1, showUnits: false },
        }),
        graph(
          `Media and cards: ${source}`,
          [
            ...outcomes(MEDIA_OUTCOMES, source).map((m) => m.with({ label: `media ${m.label ?? ''}` })),
            ...outcomes(INSIGHT_OUTCOMES, source).map((m) => m.with({ label: `card ${m.label ?? ''}` })),
          ],
          HALF,
        ),
      );
    }
    this.dashboard.addWidgets(
      graph(
        'Queue depth (visible)',
        props.queues.map((q) =>
          q.queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum', label: q.node.id }),
        ),
        THIRD,
      ),
      graph(
        'Oldest message age (s)',
        props.queues.map((q) => q.queue.metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: 'Maximum', label: q.node.id })),
        THIRD,
      ),
      graph(
        'DLQ depth',
        props.queues.map((q) =>
          q.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum', label: `${q.node.id} DLQ` }),
        ),
        THIRD,
      ),
    );
    this.dashboard.addWidgets(
      graph('Media outcomes', outcomes(MEDIA_OUTCOMES), THIRD, {
        right: [media.metricThrottles({ period: PERIOD, label: 'throttles' }), media.metricErrors({ period: PERIOD, label: 'errors' })],
      }),
      graph('Media bytes stored', [pipelineMetric(METRIC.mediaBytes, { period: PERIOD, label: 'bytes' })], THIRD),
      graph('Hangup to stored (s)', percentiles(METRIC.mediaHangupToStoredSeconds), THIRD),
    );
    this.dashboard.addWidgets(
      graph('Insight outcomes', outcomes(INSIGHT_OUTCOMES), HALF, {
        right: [insight.metricThrottles({ period: PERIOD, label: 'throttles' }), insight.metricErrors({ period: PERIOD, label: 'errors' })],
      }),
      graph('call_init to card (ms)', percentiles(METRIC.insightCallInitToCardMs), HALF),
    );
    // The scheduled functions' own failures: what their handlers caught (their crashes are in Errors).
    this.dashboard.addWidgets(
      graph(
        'Scheduled runs: failures',
        [
          pipelineMetric(METRIC.reconcileFailed, { period: PERIOD, label: 'reconcile: calls not reconciled' }),
          pipelineMetric(METRIC.silenceCheckFailed, { period: PERIOD, label: 'silence check: sources not read' }),
        ],
        FULL,
      ),
    );
  }
}
