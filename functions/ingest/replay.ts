/**
 * The replay queue's side of the ingest: a delivery the webhook path could not write is applied again,
 * exactly as first received, through the same normalise and write steps. A failure throws, so SQS
 * delivers the message again (then to the DLQ); one that can never apply is quarantined and let go.
 */
import { sourceById } from '#contract/config.ts';
import { isPermanentWriteError, ValidationError } from '#core/errors.ts';
import { METRIC } from '#core/metrics.ts';
import type { ReplayMessage } from '#core/ports/job-queues.ts';
import type { Metrics } from '#core/ports/metrics.ts';
import { normaliseDelivery } from '#core/providers/index.ts';
import { messageJson } from '#core/queue-message.ts';
import { readBody } from '#core/request.ts';
import { deliveryOf, timeout } from './delivery.ts';
import { putQuarantined, unstorableMessage } from './quarantine.ts';
import { archiveDelivery, writeDelivery, type WriteDeps } from './write.ts';

export interface ReplayDeps extends WriteDeps {
  metrics: Metrics;
}

/** The replay queue's message body; ValidationError when it is not one (it will never apply). */
export function parseReplayMessage(body: string): ReplayMessage {
  const m = (messageJson(body, 'replay message') ?? {}) as Partial<Record<keyof ReplayMessage, unknown>>;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const source = text(m.source);
  const receivedAt = text(m.receivedAt);
  const inline = text(m.body);
  const rawKey = text(m.rawKey);
  if (!source || !receivedAt || (inline === undefined && !rawKey))
    throw new ValidationError('the replay message has no source, receivedAt, or body/rawKey');
  return {
    source,
    receivedAt,
    contentType: text(m.contentType),
    reason: text(m.reason) ?? '',
    ...(inline !== undefined ? { body: inline } : { rawKey }),
  };
}

/**
 * Apply one delivery from the replay queue. Throws when it could not be applied: the caller reports the
 * message failed, and SQS delivers it again (then to the DLQ).
 */
export async function replayDelivery(body: string, deps: ReplayDeps): Promise<void> {
  let message: ReplayMessage | undefined;
  try {
    message = parseReplayMessage(body);
    await replayOne(deps, message);
  } catch (err) {
    // A message that is not ours to read goes on to the DLQ, where an operator can look at it.
    if (message && !(err instanceof UnknownSourceError) && isPermanentWriteError(err)) {
      // It would fail the same way on every receive: keep the bytes in quarantine/ with the reason, and let the message go.
      await quarantineReplay(deps, message, err);
      return;
    }
    deps.log.warn('replay failed; will retry', { error: (err as Error).name });
    throw err;
  }
}

class UnknownSourceError extends Error {
  override readonly name = 'UnknownSourceError';
}

/** The delivery's bytes: inline in the message, or the raw/ object it names. */
const bytesOf = (deps: Pick<ReplayDeps, 'archive'>, message: ReplayMessage): Promise<Buffer> =>
  message.body !== undefined ? Promise.resolve(Buffer.from(message.body, 'utf8')) : deps.archive.getBytes(message.rawKey!);

async function quarantineReplay(deps: ReplayDeps, message: ReplayMessage, err: unknown): Promise<void> {
  const source = sourceById(deps.config, message.source)!;
  const reason = err instanceof ValidationError ? err.message : unstorableMessage(err);
  const { receivedAt, contentType } = message;
  await putQuarantined(
    deps.archive,
    { source, receivedAt, body: await bytesOf(deps, message), status: 422, reason, contentType },
    timeout(1500),
  );
  deps.log.error('replayed delivery refused as sent; quarantined, not retried', { source: source.id, error: (err as Error).name });
}

async function replayOne(deps: ReplayDeps, message: ReplayMessage): Promise<void> {
  const source = sourceById(deps.config, message.source);
  if (!source) {
    deps.log.error('replay for a source that is no longer configured; on to the DLQ', { source: message.source });
    throw new UnknownSourceError(`source "${message.source}" is not in the config: add it back, then redrive the replay DLQ`);
  }
  const bytes = await bytesOf(deps, message);
  const body = readBody({ body: bytes.toString('utf8'), contentType: message.contentType, maxBytes: Number.MAX_SAFE_INTEGER });
  if (!body.ok) throw new ValidationError(body.refusal.message);
  const { receivedAt, contentType } = message;
  const result = normaliseDelivery(source.provider, body.json, { defaultCountry: deps.config.defaultCountry, receivedAt });
  const delivery = deliveryOf({ source, receivedAt, bytes: body.bytes, sha256: body.sha256, contentType }, result);
  if (delivery.archived) {
    // No deadline of its own: the Lambda's timeout bounds it.
    await archiveDelivery(deps, delivery);
  } else {
    await writeDelivery(deps, delivery, timeout(4_500));
    deps.log.info('replayed delivery applied', { source: source.id, eventType: delivery.eventType });
  }
  deps.metrics.count(METRIC.replayApplied, { source: source.id });
}
