/** The Metrics port: outcomes and measures by source (adapter: adapters/metrics.ts, EmfMetrics). */
import type { MetricName } from '#core/metrics.ts';

/** What a metric is about: the configured source, and for a refused delivery the HTTP status answered. */
export interface MetricDims {
  source?: string | undefined;
  status?: number | undefined;
}

export type MetricUnit = 'Count' | 'Bytes' | 'Seconds' | 'Milliseconds';

/**
 * Metrics (names in core/metrics.ts), emitted where an outcome is decided. The adapter publishes each with
 * `source` and also without it, so an alarm can watch one source or the whole pipeline.
 */
export interface Metrics {
  /** Count one outcome (or `value` of them). */
  count(name: MetricName, dims?: MetricDims, value?: number): void;
  /** Record a size or a duration. */
  measure(name: MetricName, value: number, unit: MetricUnit, dims?: MetricDims): void;
}
