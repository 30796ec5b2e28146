/**
 * The silence check on one machine. Deployed, a schedule runs the silence function every 5 minutes and
 * it reads each source's delivery metrics from CloudWatch. Locally there is no CloudWatch: the same
 * process (functions/silence) reads them from the EMF lines the functions write to metrics.log, and
 * runs every minute (or on `POST /_local/silence-check`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { METRICS_NAMESPACE } from '#core/metrics.ts';
import type { DeliveryHistory } from '#core/ports/delivery-history.ts';
import { DELIVERY_METRICS } from '#core/silence.ts';

export const SILENCE_CHECK_PATH = '/_local/silence-check';
export const LOCAL_SILENCE_EVERY_MS = 60_000;

interface EmfDoc {
  _aws?: { Timestamp?: number; CloudWatchMetrics?: { Namespace?: string; Metrics?: { Name: string }[] }[] };
  source?: unknown;
  [name: string]: unknown;
}

/**
 * Each source's latest delivery, kept from the EMF lines as they are written (and, at start, from the
 * log the stack wrote before).
 */
export class EmfDeliveryHistory implements DeliveryHistory {
  readonly #latest = new Map<string, number>();

  /** Read what an earlier run wrote, so a restart does not forget when a source last delivered. */
  static fromLog(path: string): EmfDeliveryHistory {
    const history = new EmfDeliveryHistory();
    if (existsSync(path)) for (const line of readFileSync(path, 'utf8').split('\n')) history.observe(line);
    return history;
  }

  /** Take note of one EMF line (anything else is ignored). */
  observe(line: string): void {
    if (!line.startsWith('{"_aws"')) return;
    let doc: EmfDoc;
    try {
      doc = JSON.parse(line) as EmfDoc;
    } catch {
      return;
    }
    const at = doc._aws?.Timestamp;
    if (typeof doc.source !== 'string' || typeof at !== 'number') return;
    const delivered = (doc._aws?.CloudWatchMetrics ?? []).some(
      (d) =>
        d.Namespace === METRICS_NAMESPACE &&
        (d.Metrics ?? []).some(
          (m) => DELIVERY_METRICS.includes(m.Name as never) && [doc[m.Name]].flat().some((v) => typeof v === 'number' && v > 0),
        ),
    );
    if (delivered && at > (this.#latest.get(doc.source) ?? 0)) this.#latest.set(doc.source, at);
  }

  lastDeliveryAt(source: string, since: Date, until: Date): Promise<Date | undefined> {
    const at = this.#latest.get(source);
    if (at === undefined || at < since.getTime() || at > until.getTime()) return Promise.resolve(undefined);
    return Promise.resolve(new Date(at));
  }
}
