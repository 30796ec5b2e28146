/**
 * The Metrics port as CloudWatch embedded metric format (EMF) lines, namespace `CallVault`: this adapter
 * decides how metrics are grouped, writes each group's line, and sends the lines where they go (stdout in
 * Lambda, where CloudWatch Logs turns them into metrics; a file locally).
 *
 * It writes the EMF document itself rather than through Powertools Metrics, whose one dimension set per
 * instance does not fit the grouping below (docs/decisions.md, "Metrics are EMF lines the adapter writes itself").
 */
import type { MiddlewareObj } from '@middy/core';
import { METRIC_DIMENSION, METRICS_NAMESPACE, type MetricName } from '#core/metrics.ts';
import type { MetricDims, Metrics, MetricUnit } from '#core/ports.ts';

/** Where EMF lines go: one JSON document per call, without a newline. */
export type MetricsOut = (line: string) => void;

const stdout: MetricsOut = (line) => void process.stdout.write(`${line}\n`);

/** Below EMF's limit of 100 values per metric (and 100 metrics per document). */
const MAX_VALUES_PER_LINE = 90;

interface Group {
  /** The dimension values the line carries (`source`, `status`). */
  dimensions: Record<string, string>;
  /** The dimension sets CloudWatch files every value under. */
  sets: string[][];
  metrics: Map<MetricName, { unit: MetricUnit; values: number[] }>;
  values: number;
}

/**
 * Buffers an invocation's metrics and publishes them on `flush()` (the `flushMetrics` middleware).
 *
 * One invocation can touch several sources (a replay or media batch), so metrics are grouped by their
 * dimension values, and each group becomes one EMF line with two dimension sets: `[source(, status)]` and
 * `[(status)]`. CloudWatch then files every value under the source and under the total at once, with no
 * second emission. `service` is a plain field, not a dimension, so alarms and the dashboard address a
 * metric by the names in core/metrics.ts only.
 */
export class EmfMetrics implements Metrics {
  readonly #groups = new Map<string, Group>();

  constructor(
    private readonly serviceName: string,
    private readonly out: MetricsOut = stdout,
  ) {}

  count(name: MetricName, dims: MetricDims = {}, value = 1): void {
    this.#add(name, 'Count', value, dims);
  }

  measure(name: MetricName, value: number, unit: MetricUnit, dims: MetricDims = {}): void {
    // A negative duration is a clock skew between provider and AWS, not a measurement.
    if (!Number.isFinite(value) || value < 0) return;
    this.#add(name, unit, value, dims);
  }

  /** Write one EMF line per dimension group, then start empty. Never throws: a metric is never worth a failed invocation. */
  flush(): void {
    for (const key of [...this.#groups.keys()]) this.#publish(key);
  }

  #add(name: MetricName, unit: MetricUnit, value: number, dims: MetricDims): void {
    if (!Number.isFinite(value)) return;
    const key = JSON.stringify([dims.source ?? null, dims.status ?? null]);
    const group = this.#groups.get(key) ?? this.#open(key, dims);
    const metric = group.metrics.get(name);
    if (metric) metric.values.push(value);
    else group.metrics.set(name, { unit, values: [value] });
    if (++group.values >= MAX_VALUES_PER_LINE) this.#publish(key);
  }

  #open(key: string, dims: MetricDims): Group {
    const status = dims.status === undefined ? [] : [METRIC_DIMENSION.status];
    const dimensions: Record<string, string> = {};
    if (dims.source) dimensions[METRIC_DIMENSION.source] = dims.source;
    if (dims.status !== undefined) dimensions[METRIC_DIMENSION.status] = String(dims.status);
    const group: Group = {
      dimensions,
      sets: dims.source ? [[METRIC_DIMENSION.source, ...status], status] : [status],
      metrics: new Map(),
      values: 0,
    };
    this.#groups.set(key, group);
    return group;
  }

  #publish(key: string): void {
    const group = this.#groups.get(key);
    this.#groups.delete(key);
    if (!group?.metrics.size) return;
    const doc: Record<string, unknown> = {
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: group.sets,
            Metrics: [...group.metrics].map(([name, m]) => ({ Name: name, Unit: m.unit })),
          },
        ],
      },
      service: this.serviceName,
      ...group.dimensions,
    };
    for (const [name, m] of group.metrics) doc[name] = m.values.length === 1 ? m.values[0] : m.values;
    try {
      this.out(JSON.stringify(doc));
    } catch {
      // An output that fails (a closed file locally) loses the line, not the invocation.
    }
  }
}

/** Middy middleware: publish the invocation's metrics when the handler returns or throws. */
export function flushMetrics(metrics: Pick<EmfMetrics, 'flush'>): MiddlewareObj {
  const flush = async () => metrics.flush();
  return { after: flush, onError: flush };
}
