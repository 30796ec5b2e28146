/** Reads CloudWatch EMF lines (as the functions write them) back into metrics, for tests to look for. */
import { existsSync, readFileSync } from 'node:fs';

export interface EmfMetric {
  namespace: string;
  name: string;
  unit: string;
  /** Each dimension set, as its dimension names. */
  dimensionSets: string[][];
  /** The line's dimension values and other fields (source, status, service). */
  fields: Record<string, unknown>;
  values: number[];
}

interface EmfLine {
  _aws?: { CloudWatchMetrics?: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit?: string }[] }[] };
  [key: string]: unknown;
}

/** Every metric in the EMF lines of `text`; lines that are not EMF (log lines) are skipped. */
export function parseEmf(text: string): EmfMetric[] {
  const metrics: EmfMetric[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{"_aws"')) continue;
    const doc = JSON.parse(line) as EmfLine;
    for (const directive of doc._aws?.CloudWatchMetrics ?? []) {
      for (const m of directive.Metrics) {
        const value = doc[m.Name];
        metrics.push({
          namespace: directive.Namespace,
          name: m.Name,
          unit: m.Unit ?? 'None',
          dimensionSets: directive.Dimensions,
          fields: doc,
          values: [value].flat() as number[],
        });
      }
    }
  }
  return metrics;
}

export const readEmfFile = (path: string): EmfMetric[] => (existsSync(path) ? parseEmf(readFileSync(path, 'utf8')) : []);

/** True when `m` is filed under `source` (when given) and also under the total without it. */
export function filedBySourceAndTotal(m: EmfMetric, source: string | undefined): boolean {
  const sets = m.dimensionSets.map((s) => [...s].sort().join(','));
  const rest = m.dimensionSets.flat().filter((d) => d !== 'source');
  const total = [...new Set(rest)].sort().join(',');
  if (source === undefined) return sets.includes(total);
  return m.fields.source === source && sets.includes(['source', ...new Set(rest)].sort().join(',')) && sets.includes(total);
}
