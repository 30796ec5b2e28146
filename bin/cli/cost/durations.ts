/**
 * How long each function runs per invocation: measured by the benchmark when `npm run bench` has
 * written results under `{CALLVAULT_DATA_DIR}/bench/`, else documented defaults. The estimate says
 * which were used.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Billed duration of one invocation, ms; media also per MB of recording. */
export interface Duration {
  ms: number;
  /** Extra ms per MB of media streamed (media only). */
  msPerMb?: number;
  source: 'default' | string;
}

/**
 * Defaults when nothing was measured: ingest writes in parallel with short timeouts (tens of ms against
 * real DynamoDB/S3/SQS); media streams at about 12 MB/s from the provider to S3 plus its record updates;
 * insight makes one lookup and one HTTPS call to the Hipcall API; the silence check one GetMetricData.
 */
export const DEFAULT_DURATIONS: Record<string, Duration> = {
  ingest: { ms: 80, source: 'default' },
  media: { ms: 400, msPerMb: 80, source: 'default' },
  insight: { ms: 250, source: 'default' },
  silence: { ms: 500, source: 'default' },
};
/** Any function the model does not know. */
export const UNKNOWN_DURATION: Duration = { ms: 1000, source: 'default' };

type Json = Record<string, unknown>;

/**
 * Per-function durations found in the benchmark's JSON files: any object with a `function` (or `fn`)
 * naming ingest/media/insight and a `p50Ms` (or `durationMs`) number, the newest file winning.
 */
export function measuredDurations(benchDir: string): Record<string, Duration> {
  if (!existsSync(benchDir)) return {};
  const found: Record<string, Duration> = {};
  const files = readdirSync(benchDir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  for (const file of files) {
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(join(benchDir, file), 'utf8'));
    } catch {
      continue;
    }
    const visit = (v: unknown): void => {
      if (Array.isArray(v)) return v.forEach(visit);
      if (!v || typeof v !== 'object') return;
      const o = v as Json;
      const fn = o.function ?? o.fn;
      const ms = o.p50Ms ?? o.durationMs;
      if (typeof fn === 'string' && typeof ms === 'number' && ms > 0 && fn in DEFAULT_DURATIONS) {
        found[fn] = { ms, ...(typeof o.msPerMb === 'number' ? { msPerMb: o.msPerMb } : {}), source: `${join(benchDir, file)}` };
      }
      Object.values(o).forEach(visit);
    };
    visit(doc);
  }
  return found;
}

/** Measured durations over defaults. */
export function durationsFor(benchDir: string): Record<string, Duration> {
  return { ...DEFAULT_DURATIONS, ...measuredDurations(benchDir) };
}
