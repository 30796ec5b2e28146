/** The ingest's HTTP answers: a JSON body that says what happened and, for a refusal, what to fix. */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { METRIC } from '#core/metrics.ts';
import type { ApplyOutcome } from '#core/ports/calls-store.ts';
import type { Log } from '#core/ports/log.ts';
import type { Metrics } from '#core/ports/metrics.ts';
import { unrecognisedWarnings } from '#core/unrecognised.ts';
import type { Delivery } from './delivery.ts';

export type Answer = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };

export const json = (statusCode: number, body: Record<string, unknown>): Answer => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

export const notFound = (): Answer =>
  json(404, { message: 'Not found. Check the webhook URL: it must be /webhooks/{source}/{token} as printed by CallVault.' });

/** A provider checking the URL (GET or HEAD) learns it is the right one. */
export const endpointOk = (): Answer => json(200, { status: 'ok', message: 'CallVault webhook endpoint: POST deliveries here.' });

export const methodNotAllowed = (method: string): Answer =>
  json(405, { message: `${method} is not accepted here: providers POST deliveries (GET answers 200 for URL checks).` });

const STATUS_METRIC = { stored: METRIC.deliveryStored, duplicate: METRIC.deliveryDuplicate, ignored: METRIC.deliveryIgnored } as const;

/**
 * One answer for a delivery's events: all duplicates, all `ignored` (each call belongs to another source,
 * its first deliverer: the delivery is archived and changes nothing), or stored.
 */
function statusOf(outcomes: readonly ApplyOutcome[]): 'stored' | 'duplicate' | 'ignored' {
  if (outcomes.length > 0 && outcomes.every((o) => o.outcome === 'foreign')) return 'ignored';
  return outcomes.every((o) => o.outcome !== 'stored') ? 'duplicate' : 'stored';
}

/** The answer for a call delivery whose writes all landed, logged and counted by its status. */
export function answerApplied(deps: { log: Log; metrics: Metrics }, delivery: Delivery, outcomes: ApplyOutcome[], started: number): Answer {
  const { source, eventType } = delivery;
  const status = statusOf(outcomes);
  deps.log.info('delivery applied', { source: source.id, eventType, status, ms: Date.now() - started });
  deps.metrics.count(STATUS_METRIC[status], { source: source.id });
  const callIds = delivery.events.map((e) => e.callId);
  if (status !== 'ignored') {
    const warnings = unrecognisedWarnings(delivery.events);
    if (warnings.length) deps.metrics.count(METRIC.deliveryUnrecognised, { source: source.id });
    return json(200, { status, event: eventType, callIds, ...(warnings.length ? { warnings } : {}) });
  }
  deps.log.warn('delivery for a call another source owns: archived, not applied', {
    source: source.id,
    owners: [...new Set(outcomes.map((o) => (o.outcome === 'foreign' ? o.owner : undefined)))],
  });
  return json(200, {
    status,
    event: eventType,
    callIds,
    message:
      'This call was first delivered through another CallVault source, which owns it: the delivery was archived as received and changed nothing.',
  });
}

/** The answer for a non-call event, kept in raw/ as received. */
export function answerArchived(deps: { log: Log; metrics: Metrics }, delivery: Delivery): Answer {
  deps.log.info('delivery archived', { source: delivery.source.id, eventType: delivery.eventType });
  deps.metrics.count(METRIC.deliveryArchived, { source: delivery.source.id });
  return json(200, {
    status: 'archived',
    event: delivery.eventType,
    message: `${delivery.eventType} is not a call event: archived as received.`,
  });
}
