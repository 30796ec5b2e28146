/** The Metrics port in memory: what the processes emitted, for tests to assert on. */
import type { MetricName } from '#core/metrics.ts';
import type { MetricDims, Metrics, MetricUnit } from '#core/ports/metrics.ts';

export interface RecordedMetric {
  name: MetricName;
  value: number;
  unit: MetricUnit;
  dims: MetricDims;
}

export class MemoryMetrics implements Metrics {
  readonly recorded: RecordedMetric[] = [];

  count(name: MetricName, dims: MetricDims = {}, value = 1): void {
    this.recorded.push({ name, value, unit: 'Count', dims });
  }

  measure(name: MetricName, value: number, unit: MetricUnit, dims: MetricDims = {}): void {
    this.recorded.push({ name, value, unit, dims });
  }

  /** The names emitted, in order. */
  names(): MetricName[] {
    return this.recorded.map((m) => m.name);
  }
}
