/**
 * The Metrics port over Powertools Metrics: CloudWatch embedded metric format (EMF) lines, namespace
 * `CallVault`. Powertools builds and validates each line; this adapter decides how metrics are grouped
 * and where the lines go (stdout in Lambda, where CloudWatch Logs turns them into metrics; a file locally).
 */
import { Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import { METRIC_DIMENSION, METRICS_NAMESPACE, type MetricName } from '#core/metrics.ts';
import type { MetricDims, Metrics, MetricUnit } from '#core/ports.ts';

/** Where EMF lines go: one JSON document per call, without a newline. */
export type MetricsOut = (line: string) => void;

const stdout: MetricsOut = (line) => void process.stdout.write(`${line}\n`);

/**
 * Powertools' own notices. Its one warning here is that `status` sits in both dimension sets, which is the
 * point; left on, it would print to stdout next to every refused delivery's line.
 */
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (...args: unknown[]) => console.error(...args) };

/**
 * Buffers an invocation's metrics and publishes them on `flush()` (the `flushMetrics` middleware).
 *
 * A Powertools `Metrics` instance gives all its metrics the same dimensions, but one invocation can touch
 * several sources (a replay or media batch). So metrics are grouped by their dimension values, one
 * Powertools instance per group, and each group becomes one EMF line with two dimension sets:
 * `[source(, status)]` and `[(status)]`. CloudWatch then files every value under the source and under
 * the total at once, with no second emission. Powertools' default `service` dimension is dropped (it is
 * kept as a plain field) so alarms and the dashboard address a metric by the names in core/metrics.ts only.
 */
export class EmfMetrics implements Metrics {
  readonly #groups = new Map<string, { metrics: PowertoolsMetrics; values: number }>();

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
    const keys = [...this.#groups.keys()];
    for (const key of keys) this.#publish(key);
  }

  #add(name: MetricName, unit: MetricUnit, value: number, dims: MetricDims): void {
    const key = JSON.stringify([dims.source ?? null, dims.status ?? null]);
    const group = this.#groups.get(key) ?? this.#open(key, dims);
    group.metrics.addMetric(name, unit, value);
    // Powertools publishes a full instance by itself (100 values), to its own stdout and dropping the
    // dimensions: publishing first keeps every line on `out` and in its group.
    if (++group.values >= MAX_VALUES_PER_LINE) this.#publish(key);
  }

  #open(key: string, dims: MetricDims) {
    const status: Record<string, string> = dims.status === undefined ? {} : { [METRIC_DIMENSION.status]: String(dims.status) };
    const metrics = new PowertoolsMetrics({ namespace: METRICS_NAMESPACE, serviceName: this.serviceName, logger: quiet });
    metrics.clearDefaultDimensions();
    metrics.addMetadata('service', this.serviceName);
    if (dims.source) metrics.addDimensions({ [METRIC_DIMENSION.source]: dims.source, ...status });
    metrics.addDimensions(status);
    const group = { metrics, values: 0 };
    this.#groups.set(key, group);
    return group;
  }

  #publish(key: string): void {
    const group = this.#groups.get(key);
    this.#groups.delete(key);
    try {
      if (group?.metrics.hasStoredMetrics()) this.out(JSON.stringify(group.metrics.serializeMetrics()));
    } catch {
      // Powertools refuses an invalid metric: drop the line, keep the invocation.
    }
  }
}

/** Below Powertools' own limit of 100 values per metric and 100 metrics per instance. */
const MAX_VALUES_PER_LINE = 90;

/** Middy middleware: publish the invocation's metrics when the handler returns or throws. */
export function flushMetrics(metrics: Pick<EmfMetrics, 'flush'>): MiddlewareObj {
  const flush = async () => metrics.flush();
  return { after: flush, onError: flush };
}
