/**
 * The scheduled silence check (every 5 minutes): for each source with `silence` config, ask when it last
 * delivered, decide with core's `isSilent`, and publish `SourceSilent` 1 or 0 under the source. The
 * alarm on that metric (one per source) does the notifying, so a check that stops running never alarms
 * by itself and never leaves an alarm stuck: missing data is "not breaching".
 */
import type { CallVaultConfig } from '#contract/config.ts';
import { METRIC } from '#core/metrics.ts';
import type { Clock } from '#core/ports/clock.ts';
import type { Log } from '#core/ports/log.ts';
import type { Metrics } from '#core/ports/metrics.ts';
import type { DeliveryHistory } from '#core/ports/delivery-history.ts';
import { isSilent, silenceScheduleOf } from '#core/silence.ts';

export { DELIVERY_METRICS } from '#core/silence.ts';

export interface SilenceDeps {
  config: CallVaultConfig;
  history: DeliveryHistory;
  metrics: Metrics;
  log: Log;
  now?: Clock;
}

export interface SourceVerdict {
  source: string;
  silent: boolean;
  /** Undefined when the source delivered nothing in the last `minutes`. */
  lastDeliveryAt?: string;
}

/**
 * Check every source with silence config, in parallel. A source whose history cannot be read publishes
 * nothing this round (its alarm keeps its state) and is logged; the others are still checked.
 */
export async function checkSilence(deps: SilenceDeps): Promise<SourceVerdict[]> {
  const now = new Date((deps.now ?? Date.now)());
  const watched = deps.config.sources.flatMap((s) => (s.silence ? [{ id: s.id, schedule: silenceScheduleOf(s.silence) }] : []));
  const verdicts = await Promise.all(
    watched.map(async ({ id, schedule }): Promise<SourceVerdict | undefined> => {
      try {
        const lastDeliveryAt = await deps.history.lastDeliveryAt(id, new Date(now.getTime() - schedule.minutes * 60_000), now);
        const silent = isSilent({ now, lastDeliveryAt, schedule });
        deps.metrics.count(METRIC.sourceSilent, { source: id }, silent ? 1 : 0);
        if (silent) deps.log.warn('source silent inside its working hours', { source: id, minutes: schedule.minutes });
        return { source: id, silent, ...(lastDeliveryAt ? { lastDeliveryAt: lastDeliveryAt.toISOString() } : {}) };
      } catch (err) {
        // AccessDenied or a throttled GetMetricData would otherwise leave the silence alarm blind without a word.
        deps.metrics.count(METRIC.silenceCheckFailed, { source: id });
        deps.log.error('could not read the delivery history of a source; its silence alarm keeps its state until the next check', {
          source: id,
          error: (err as Error).name,
          reason: (err as Error).message,
        });
        return undefined;
      }
    }),
  );
  return verdicts.filter((v): v is SourceVerdict => v !== undefined);
}
