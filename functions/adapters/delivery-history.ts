/**
 * The DeliveryHistory port over CloudWatch GetMetricData: the source's delivery metrics (the EMF the ingest
 * emits, namespace `CallVault`, dimension `source`) at one-minute resolution, newest first; the latest
 * minute with any delivery is the last delivery. Metrics rather than the calls table: a delivery that is
 * archived, duplicate or for another source's call counts as "still sending", and no table scan is needed.
 *
 * Written against the request and answer shapes only, so the composition root passes
 * `(input) => client.send(new GetMetricDataCommand(input))` of @aws-sdk/client-cloudwatch.
 */
import { METRICS_NAMESPACE, METRIC_DIMENSION } from '#core/metrics.ts';
import type { DeliveryHistory } from '#core/ports/delivery-history.ts';
import { DELIVERY_METRICS } from '#core/silence.ts';

/** The part of a GetMetricData request this adapter sends. */
export interface MetricDataRequest {
  StartTime: Date;
  EndTime: Date;
  ScanBy: 'TimestampDescending';
  NextToken?: string;
  MetricDataQueries: {
    Id: string;
    ReturnData: boolean;
    MetricStat: {
      Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: string }[] };
      Period: number;
      Stat: string;
    };
  }[];
}

/** The part of a GetMetricData answer this adapter reads. */
export interface MetricDataAnswer {
  MetricDataResults?: { Id?: string; Timestamps?: Date[]; Values?: number[] }[];
  NextToken?: string;
}

export type GetMetricData = (request: MetricDataRequest) => Promise<MetricDataAnswer>;

/** One-minute resolution: EMF metrics are stored per minute. */
const PERIOD_SECONDS = 60;

export class CloudWatchDeliveryHistory implements DeliveryHistory {
  constructor(private readonly getMetricData: GetMetricData) {}

  async lastDeliveryAt(source: string, since: Date, until: Date): Promise<Date | undefined> {
    const request: MetricDataRequest = {
      StartTime: since,
      EndTime: until,
      ScanBy: 'TimestampDescending',
      MetricDataQueries: DELIVERY_METRICS.map((name, i) => ({
        Id: `m${i}`,
        ReturnData: true,
        MetricStat: {
          Metric: { Namespace: METRICS_NAMESPACE, MetricName: name, Dimensions: [{ Name: METRIC_DIMENSION.source, Value: source }] },
          Period: PERIOD_SECONDS,
          Stat: 'Sum',
        },
      })),
    };
    let latest: number | undefined;
    let token: string | undefined;
    do {
      const answer = await this.getMetricData(token ? { ...request, NextToken: token } : request);
      for (const result of answer.MetricDataResults ?? []) {
        const { Timestamps = [], Values = [] } = result;
        Timestamps.forEach((t, i) => {
          const ms = new Date(t).getTime();
          if ((Values[i] ?? 0) > 0 && (latest === undefined || ms > latest)) latest = ms;
        });
      }
      token = answer.NextToken;
    } while (token);
    return latest === undefined ? undefined : new Date(latest);
  }
}
