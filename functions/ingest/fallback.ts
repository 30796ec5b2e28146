/**
 * Falling back: a failed write never costs a delivery. The verbatim delivery goes on the replay queue
 * (or, failing that, into raw/ for a manual replay) and the provider still gets a 2xx, within 3 s. A
 * write AWS refuses as sent would only fail again: it is quarantined and refused with a 422 instead.
 */
import { INGEST_ANSWER_BUDGET_MS } from '#contract/resources.ts';
import { isPermanentWriteError } from '#core/errors.ts';
import { METRIC } from '#core/metrics.ts';
import type { DeliveryArchive } from '#core/ports/delivery-archive.ts';
import type { JobQueues, ReplayMessage } from '#core/ports/job-queues.ts';
import type { Log } from '#core/ports/log.ts';
import type { Metrics } from '#core/ports/metrics.ts';
import { json, type Answer } from './answers.ts';
import { rawKeyOf, rawMetaOf, timeout, type Delivery } from './delivery.ts';
import { quarantine, unstorableMessage } from './quarantine.ts';

export interface FallbackDeps {
  archive: DeliveryArchive;
  queues: JobQueues;
  log: Log;
  metrics: Metrics;
  /** Share of the 3 s answer budget for the parallel writes; the rest is for the fallback. */
  writeBudgetMs?: number;
}

/** SQS allows 256 KiB per message: a body up to this size travels inline, a larger one via raw/. */
export const MAX_INLINE_REPLAY_BYTES = 200 * 1024;

export interface Attempt {
  delivery: Delivery;
  /** When the request arrived (epoch ms): the fallback gets what is left of the 3 s. */
  started: number;
  /** The writes, answering when they all landed; aborted by `signal` when the write budget runs out. */
  write: (signal: AbortSignal) => Promise<Answer>;
}

/** Run the writes within the write budget; if they fail, make the delivery durable another way and still answer. */
export async function writeOrFallBack(deps: FallbackDeps, { delivery, started, write }: Attempt): Promise<Answer> {
  try {
    return await write(timeout(deps.writeBudgetMs ?? 1600, 1));
  } catch (err) {
    if (isPermanentWriteError(err)) {
      const message = unstorableMessage(err);
      const { source, receivedAt, bytes, sha256, contentType } = delivery;
      await quarantine(deps, { source, receivedAt, body: bytes, sha256, status: 422, reason: message, contentType });
      deps.log.error('delivery refused by storage; quarantined, not replayed', { source: delivery.source.id, error: (err as Error).name });
      return json(422, { message });
    }
    const reason = `${(err as Error).name}: ${(err as Error).message}`.slice(0, 300);
    deps.log.warn('write failed; falling back to the replay queue', { source: delivery.source.id, error: (err as Error).name });
    return fallBack(deps, { delivery, reason, budgetMs: Math.max(300, INGEST_ANSWER_BUDGET_MS - 300 - (Date.now() - started)) });
  }
}

/** The replay queue, else raw/ as `.unapplied.json`: 202 either way; 503 only when neither would keep the delivery. */
async function fallBack(deps: FallbackDeps, { delivery, reason, budgetMs }: { delivery: Delivery; reason: string; budgetMs: number }) {
  const deadline = Date.now() + budgetMs;
  const { source, bytes, eventType } = delivery;
  const inline = bytes.length <= MAX_INLINE_REPLAY_BYTES && Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
  const rawKey = rawKeyOf(delivery, delivery.events[0]);
  const message: ReplayMessage = {
    source: source.id,
    receivedAt: delivery.receivedAt,
    contentType: delivery.contentType,
    reason,
    ...(inline ? { body: bytes.toString('utf8') } : { rawKey }),
  };
  try {
    if (!inline) await deps.archive.putRaw(rawKey, bytes, rawMetaOf(delivery), timeout((deadline - Date.now()) / 2));
    await deps.queues.sendReplay(message, timeout(deadline - Date.now() - 50));
    deps.log.warn('delivery queued for replay', { source: source.id, eventType });
    deps.metrics.count(METRIC.deliveryQueuedForReplay, { source: source.id });
    return json(202, { status: 'queued', event: eventType, message: 'Accepted; it will be applied shortly.' });
  } catch (err) {
    deps.log.error('replay queue unavailable', { source: source.id, error: (err as Error).name });
  }
  try {
    // Last resort: keep the bytes in raw/, where `callvault replay --unapplied` can apply them later.
    await deps.archive.putRaw(
      `${rawKey.replace(/\.json$/, '')}.unapplied.json`,
      bytes,
      rawMetaOf(delivery),
      timeout(deadline - Date.now()),
    );
    deps.log.error('delivery kept in raw/ for a manual replay', { source: source.id, eventType });
    deps.metrics.count(METRIC.deliveryUnapplied, { source: source.id });
    return json(202, { status: 'queued', event: eventType, message: 'Accepted and archived; it will be applied by a replay.' });
  } catch (err) {
    deps.log.error('delivery could not be made durable', { source: source.id, error: (err as Error).name });
    return json(503, { message: 'CallVault could not store this delivery right now. Please retry it.' });
  }
}
