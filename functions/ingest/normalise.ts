/**
 * Reading a delivery: the body the request carried, through its source's provider adapter. A body that
 * cannot be read, or that the adapter refuses, is quarantined and answered with what to fix.
 */
import type { CallVaultConfig, SourceConfig } from '#contract/config.ts';
import { ValidationError } from '#core/errors.ts';
import type { DeliveryArchive } from '#core/ports/delivery-archive.ts';
import type { Log } from '#core/ports/log.ts';
import { normaliseDelivery } from '#core/providers/index.ts';
import type { BodyResult } from '#core/request.ts';
import { json, type Answer } from './answers.ts';
import { deliveryOf, type Delivery } from './delivery.ts';
import { quarantine } from './quarantine.ts';

export interface NormaliseDeps {
  config: CallVaultConfig;
  archive: DeliveryArchive;
  log: Log;
}

export interface ReceivedBody {
  source: SourceConfig;
  receivedAt: string;
  body: BodyResult;
  contentType: string | undefined;
}

/** The delivery, normalised; or the refusal's answer (its bytes quarantined). */
export async function normalise(
  deps: NormaliseDeps,
  { source, receivedAt, body, contentType }: ReceivedBody,
): Promise<{ ok: true; delivery: Delivery } | { ok: false; answer: Answer }> {
  const refuse = async (status: number, message: string): Promise<{ ok: false; answer: Answer }> => {
    await quarantine(deps, { source, receivedAt, body: body.bytes, sha256: body.sha256, status, reason: message, contentType });
    deps.log.warn('delivery refused', { source: source.id, status, ...(body.ok ? {} : { bytes: body.bytes.length }) });
    return { ok: false, answer: json(status, { message }) };
  };
  if (!body.ok) return refuse(body.refusal.status, body.refusal.message);
  try {
    const result = normaliseDelivery(source.provider, body.json, { defaultCountry: deps.config.defaultCountry, receivedAt });
    return { ok: true, delivery: deliveryOf({ source, receivedAt, bytes: body.bytes, sha256: body.sha256, contentType }, result) };
  } catch (err) {
    const message = err instanceof ValidationError ? err.message : `The delivery could not be read as a ${source.provider} event.`;
    if (!(err instanceof ValidationError)) deps.log.error('adapter failed', { source: source.id, error: (err as Error).name });
    return refuse(400, message);
  }
}
