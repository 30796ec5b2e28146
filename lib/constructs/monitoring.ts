/**
 * Alarms to one SNS topic. The CallVault metrics (functions/core/metrics.ts) are read as the functions emit
 * them (functions/adapters/metrics.ts): every value is filed under `[source]` and under no dimension at all
 * (`DeliveryRefused` under `[source, status]` and `[status]`). The whole-pipeline alarms read the series
 * without dimensions; the dashboard's per-source graphs read `[source]`. Powertools' `service` dimension
 * is not used, so a metric is addressed by its name and these dimensions alone.
 */
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { METRIC, METRICS_NAMESPACE, METRIC_DIMENSION, type MetricName } from '#core/metrics.ts';
import { REPLAY_QUEUE, pascal, queueLifetimeSeconds } from '#contract/resources.ts';

/** Period of every count alarm. */
const ALARM_PERIOD = Duration.minutes(5);
/** The silence check runs every 5 minutes; a 10-minute period bridges one late or missed run without flapping to OK. */
const SILENCE_PERIOD = Duration.minutes(10);

/**
 * Refusals of configured sources (`DeliveryRefused` without dimensions: a wrong token 404, a failing
 * signature 401, a disallowed address 403, an invalid or oversized body 400/413/415). Hipcall stops after
 * 2-3 failed deliveries, so one refusal is already worth a look; an unknown source's 404 (a scanner on a
 * public hostname) is not in this series, so it never pages.
 */
export const REFUSALS = { threshold: 1, period: Duration.minutes(5) } as const;

/**
 * Requests API Gateway throttled (429) on a configured source's own route, counted from the access log:
 * the ingest never sees them, and the generic route's 429s (a flood of wrong URLs) are left out.
 */
export const SOURCE_ROUTE_THROTTLED_METRIC = 'SourceRouteThrottled';

/** A CallVault metric from its namespace: the whole pipeline (no dimension), or one source (`[source]`). */
export function pipelineMetric(
  name: MetricName,
  opts: { source?: string; statistic?: string; period?: Duration; label?: string } = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: opts.source ? { [METRIC_DIMENSION.source]: opts.source } : {},
    statistic: opts.statistic ?? cloudwatch.Stats.SUM,
    period: opts.period ?? Duration.minutes(5),
    label: opts.label,
  });
}

/** What the pipeline alarms watch. */
export interface PipelineWatchProps {
  readonly api: apigwv2.HttpApi;
  /** Name of the API's access log group, quoted in the 4xx alarm. */
  readonly accessLogGroupName: string;
  readonly ingest: lambda.Function;
  readonly media: lambda.Function;
  readonly insight: lambda.Function;
  readonly replayQueue: sqs.Queue;
  /** The API's access log group, from which throttled requests on the sources' own routes are counted. */
  readonly accessLogGroup: logs.ILogGroup;
  /** Route keys of the generic route (unknown sources only): their 429s are a flood of wrong URLs, not a provider. */
  readonly genericRouteKeys: readonly string[];
  /** When the refusals alarm fires. @default REFUSALS */
  readonly refusals?: { readonly threshold: number; readonly period: Duration };
}

/** The alarms `watchPipeline` creates. */
export interface PipelineAlarms {
  readonly apiServerErrors: cloudwatch.Alarm;
  /** Deliveries of configured sources refused with a 4xx by the ingest. */
  readonly deliveryRefused: cloudwatch.Alarm;
  /** Requests API Gateway throttled on a configured source's route. */
  readonly sourceRouteThrottled: cloudwatch.Alarm;
  /** By function: ingest, media, insight. */
  readonly throttles: ReadonlyMap<string, cloudwatch.Alarm>;
  readonly deliveryQueuedForReplay: cloudwatch.Alarm;
  readonly deliveryUnapplied: cloudwatch.Alarm;
  readonly replayQueueAge: cloudwatch.Alarm;
  readonly mediaFailed: cloudwatch.Alarm;
  readonly mediaExpired: cloudwatch.Alarm;
  readonly mediaRejected: cloudwatch.Alarm;
  readonly insightFailed: cloudwatch.Alarm;
}

export interface MonitoringProps {
  /**
   * Address subscribed to every alarm (it must confirm the subscription email once).
   * @default - no subscription: subscribe to the topic yourself
   */
  readonly alarmEmail?: string;
}

/**
 * Where alarms go: one encrypted, TLS-only SNS topic. The topic key is a customer-managed key because
 * CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed `aws/sns` key.
 */
export class Monitoring extends Construct {
  /** Every CallVault alarm notifies this topic. */
  public readonly alarmTopic: sns.Topic;
  /** Encrypts the alarm topic (rotated yearly). */
  public readonly topicKey: kms.Key;

  constructor(scope: Construct, id: string, props: MonitoringProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    this.topicKey = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the CallVault alarm topic',
      enableKeyRotation: true,
      // It only protects alarm notifications in flight: nothing to keep once the stack is gone.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const cloudwatchPrincipal = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [cloudwatchPrincipal],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'CallVault alarms',
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [cloudwatchPrincipal],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );

    if (props.alarmEmail) {
      const subscription = new subscriptions.EmailSubscription(props.alarmEmail);
      this.alarmTopic.addSubscription(subscription);
      Validations.of(this.alarmTopic).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason: 'An email subscription: a DLQ of undelivered alarm emails would itself need watching; CloudWatch keeps the alarm state.',
      });
    }
  }

  /** Alarm as soon as `fn` reports an error: an invocation that threw or timed out (not a request the handler answered). */
  public alarmOnErrors(id: string, fn: lambda.Function, description: string): cloudwatch.Alarm {
    return this.alarm(id, fn.metricErrors({ period: ALARM_PERIOD, statistic: cloudwatch.Stats.SUM }), 1, description);
  }

  /**
   * The scheduled functions' own failures, which their handlers catch (so Errors never sees them): a
   * reconcile that could not reconcile some calls or a whole source, and a silence check that could not
   * read a source's delivery history (its silence alarm is then blind).
   */
  public watchScheduled(props: {
    readonly reconcile?: lambda.Function;
    readonly silence?: lambda.Function;
  }): Map<string, cloudwatch.Alarm> {
    const tail = (fn: lambda.Function) => `aws logs tail ${fn.logGroup.logGroupName} --since 1h`;
    const count = (name: MetricName) => pipelineMetric(name, { statistic: cloudwatch.Stats.SUM, period: ALARM_PERIOD });
    const alarms = new Map<string, cloudwatch.Alarm>();
    if (props.reconcile) {
      alarms.set(
        'reconcile',
        this.alarm(
          'ReconcileFailedAlarm',
          count(METRIC.reconcileFailed),
          1,
          'A scheduled reconcile with Hipcall could not reconcile some calls, or a whole source (the Hipcall API token never set, Hipcall down, AccessDenied). ' +
            `Calls Hipcall never delivered stay missing until a run succeeds. First: ${tail(props.reconcile)}; then npx callvault reconcile hipcall --source ID --since <day> to close the gap by hand`,
        ),
      );
    }
    if (props.silence) {
      alarms.set(
        'silence',
        this.alarm(
          'SilenceCheckFailedAlarm',
          count(METRIC.silenceCheckFailed),
          1,
          "The silence check could not read a source's delivery metrics from CloudWatch (AccessDenied, throttling): that source's silence alarm cannot fire until it can. " +
            `First: ${tail(props.silence)}`,
        ),
      );
    }
    return alarms;
  }

  /**
   * The pipeline's alarms, each to the topic, each saying what it means and the first command to run:
   * API 5xx and a 4xx spike, throttles of each function, ingest fallbacks, the replay queue's age,
   * media failed/expired/rejected and insight failed. (DLQ alarms belong to each WorkerQueue.)
   */
  public watchPipeline(props: PipelineWatchProps): PipelineAlarms {
    const { api, ingest, media, insight, replayQueue } = props;
    const tail = (fn: lambda.Function) => `aws logs tail ${fn.logGroup.logGroupName} --since 1h`;
    const refusals = props.refusals ?? REFUSALS;
    // Access log lines are JSON whose values are all strings (lib/constructs/webhook-api.ts's format).
    const throttled = new logs.MetricFilter(this, 'SourceRouteThrottledFilter', {
      logGroup: props.accessLogGroup,
      filterPattern: logs.FilterPattern.all(
        logs.FilterPattern.stringValue('$.status', '=', '429'),
        ...props.genericRouteKeys.map((key) => logs.FilterPattern.stringValue('$.routeKey', '!=', key)),
      ),
      metricNamespace: METRICS_NAMESPACE,
      metricName: SOURCE_ROUTE_THROTTLED_METRIC,
      metricValue: '1',
    });
    const replayAgeSeconds = queueLifetimeSeconds(REPLAY_QUEUE);
    const count = (name: MetricName) => pipelineMetric(name, { statistic: cloudwatch.Stats.SUM, period: ALARM_PERIOD });

    const throttles = new Map<string, cloudwatch.Alarm>();
    const throttleHints: [string, lambda.Function, string][] = [
      [
        'Ingest',
        ingest,
        'API Gateway answered those webhook requests with a 5xx and the provider may not retry. Raise concurrency.ingestReserved in cdk.json (or 0 to reserve nothing and share the account pool), then redeploy',
      ],
      [
        'Media',
        media,
        'media jobs wait on their queue and are retried; concurrency.mediaMax normally keeps this away, so the account is short of concurrency. Check: aws lambda get-account-settings',
      ],
      [
        'Insight',
        insight,
        'Insight Cards may arrive late (and go stale); concurrency.insightMax normally keeps this away, so the account is short of concurrency. Check: aws lambda get-account-settings',
      ],
    ];
    for (const [name, fn, hint] of throttleHints) {
      throttles.set(
        name.toLowerCase(),
        this.alarm(
          `${name}ThrottlesAlarm`,
          fn.metricThrottles({ period: ALARM_PERIOD, statistic: cloudwatch.Stats.SUM }),
          1,
          `Lambda throttled the ${name.toLowerCase()} function: ${hint}. First: ${tail(fn)}`,
        ),
      );
    }

    return {
      apiServerErrors: this.alarm(
        'ApiServerErrorsAlarm',
        api.metricServerError({ period: ALARM_PERIOD, statistic: cloudwatch.Stats.SUM }),
        1,
        'The webhook API answered a 5xx: a provider may have lost a delivery (Hipcall never retries, and marks the integration Broken after 2-3 failures). ' +
          `First: ${tail(ingest)}. Then re-enable any integration the provider dashboard shows as Broken.`,
      ),
      deliveryRefused: this.alarm(
        'DeliveryRefusedAlarm',
        pipelineMetric(METRIC.deliveryRefused, { statistic: cloudwatch.Stats.SUM, period: refusals.period }),
        refusals.threshold,
        'A configured source had a delivery refused (Hipcall marks an integration Broken after 2-3): a wrong webhook token (404), a failing signature (401), an address outside allowedSourceIps (403), or a body that is not a delivery (400/413/415, kept in quarantine/). ' +
          `The dashboard's "refused" graph shows the status per source. First: npx callvault urls, and compare each URL with the provider dashboard; then ${tail(ingest)}`,
      ),
      sourceRouteThrottled: this.alarm(
        'SourceRouteThrottledAlarm',
        throttled.metric({ statistic: cloudwatch.Stats.SUM, period: ALARM_PERIOD }),
        1,
        "API Gateway throttled (429) requests on a configured source's route: that provider sent more than its throttle allows, and Hipcall never retries. " +
          `Raise the source's "throttle" (or the global "throttle") in cdk.json and redeploy. First, to see which route: aws logs tail ${props.accessLogGroupName} --since 1h --filter-pattern '{ $.status = "429" }'`,
      ),
      throttles,
      deliveryQueuedForReplay: this.alarm(
        'DeliveryQueuedForReplayAlarm',
        count(METRIC.deliveryQueuedForReplay),
        1,
        'A write to DynamoDB or S3 failed, so the ingest put the delivery on the replay queue (the provider got 202); the ingest applies it within minutes. ' +
          `First: ${tail(ingest)} to see which write failed; if the ReplayQueueAge or replay DLQ alarm follows: npx callvault replay --dlq replay`,
      ),
      deliveryUnapplied: this.alarm(
        'DeliveryUnappliedAlarm',
        count(METRIC.deliveryUnapplied),
        1,
        'A write failed and the replay queue failed too: the delivery is kept in raw/ as .unapplied.json and is NOT in the calls table until it is replayed. ' +
          `First: npx callvault replay --unapplied (then ${tail(ingest)} for the cause)`,
      ),
      replayQueueAge: this.alarm(
        'ReplayQueueAgeAlarm',
        replayQueue.metricApproximateAgeOfOldestMessage({ period: ALARM_PERIOD, statistic: cloudwatch.Stats.MAXIMUM }),
        replayAgeSeconds,
        `A replay has waited ${replayAgeSeconds} s or more, longer than its ${REPLAY_QUEUE.maxReceiveCount} receives can take: the ingest is not consuming the replay queue (event source mapping disabled, throttled, or every replay failing). ` +
          `First: aws lambda list-event-source-mappings --function-name ${ingest.functionName}, then ${tail(ingest)}`,
      ),
      mediaFailed: this.alarm(
        'MediaFailedAlarm',
        count(METRIC.mediaFailed),
        1,
        `A recording, voicemail or transcript download failed for good: the call item shows state "failed" and the job is in the media DLQ. First: ${tail(media)}; once fixed: npx callvault replay --dlq media`,
      ),
      mediaExpired: this.alarm(
        'MediaExpiredAlarm',
        count(METRIC.mediaExpired),
        1,
        `A media URL stayed refused past its lifetime (state "expired"): the worker could not download it in time, often after a backlog, or for Hipcall while its API token is unset (fresh URLs need it: run the HipcallApiTokenCommand output). First: ${tail(media)}`,
      ),
      mediaRejected: this.alarm(
        'MediaRejectedAlarm',
        count(METRIC.mediaRejected),
        1,
        `A media URL was refused before any fetch (state "rejected"): not https, a private or blocked address, a host outside mediaHostAllowlist, or over limits.mediaMaxBytes. First: ${tail(media)} for the reason; fix the source's mediaHostAllowlist in cdk.json if the host is genuine`,
      ),
      insightFailed: this.alarm(
        'InsightFailedAlarm',
        count(METRIC.insightFailed),
        1,
        'An Insight Card could not be posted to Hipcall. Every call_init fails until the Hipcall API token placeholder is replaced: run the HipcallApiTokenCommand output of the stack with your token. ' +
          `First: ${tail(insight)}`,
      ),
    };
  }

  /**
   * One alarm per source with `silence` config, on the `SourceSilent` gauge the scheduled silence check
   * publishes (1 = no delivery for `minutes`, all inside working hours). Missing data is not breaching:
   * outside working hours the check still publishes 0, and a check that stops running never pages.
   */
  public watchSilence(
    sources: readonly { id: string; silence?: { minutes: number; days: string; hours: string; timeZone: string } | undefined }[],
  ): Map<string, cloudwatch.Alarm> {
    const alarms = new Map<string, cloudwatch.Alarm>();
    for (const source of sources) {
      const s = source.silence;
      if (!s) continue;
      alarms.set(
        source.id,
        this.alarm(
          `SourceSilentAlarm${pascal(source.id)}`,
          pipelineMetric(METRIC.sourceSilent, { source: source.id, statistic: cloudwatch.Stats.MAXIMUM, period: SILENCE_PERIOD }),
          1,
          `Source "${source.id}" has delivered nothing for ${s.minutes} minutes inside its working hours (${s.days} ${s.hours} ${s.timeZone}). ` +
            'Hipcall never retries and silently stops sending to an integration it marks Broken: check the integration in the provider dashboard and re-enable it. ' +
            'First: npx callvault calls --day <today> to see the last calls that arrived, then npx callvault urls and compare the webhook URL with the provider dashboard.',
        ),
      );
    }
    return alarms;
  }

  /** A count (or gauge) alarm at `threshold` or above, to the topic; no data is no problem. */
  private alarm(id: string, metric: cloudwatch.IMetric, threshold: number, description: string): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmDescription: description,
      metric,
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.alarmTopic));
    return alarm;
  }
}
