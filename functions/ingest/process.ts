/**
 * The ingest path, one step per module: authenticate (authenticate.ts, then signature.ts once the body
 * is read), read and normalise (normalise.ts), write every leg in parallel (write.ts), fall back when a
 * write fails (fallback.ts), answer (answers.ts). The replay queue applies deliveries again through the
 * same steps (replay.ts).
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { sourceById } from '#contract/config.ts';
import { METRIC } from '#core/metrics.ts';
import { headerValue, readBody } from '#core/request.ts';
import { answerApplied, answerArchived, endpointOk, methodNotAllowed, type Answer } from './answers.ts';
import { authenticate, routeSourceId, type AuthenticateDeps } from './authenticate.ts';
import { writeOrFallBack, type FallbackDeps } from './fallback.ts';
import { normalise } from './normalise.ts';
import { refuseUnsigned } from './signature.ts';
import type { ReplayDeps } from './replay.ts';
import { archiveDelivery, writeDelivery } from './write.ts';

/** Everything the ingest runs on (deps.ts builds it); each step takes the part it needs. */
export interface IngestDeps extends AuthenticateDeps, ReplayDeps, FallbackDeps {
  now?: () => Date;
}

/** Handle one HTTP request from API Gateway (HTTP API, payload v2). Never throws. */
export async function handleWebhook(event: APIGatewayProxyEventV2, deps: IngestDeps): Promise<Answer> {
  const answer = await answerWebhook(event, deps);
  // Every refusal leaves through here, whichever check made it: one place counts them all, by status.
  // Only a configured source id becomes a dimension: the path's id is whatever a caller typed.
  if (answer.statusCode >= 400)
    deps.metrics.count(METRIC.deliveryRefused, { source: sourceById(deps.config, routeSourceId(event))?.id, status: answer.statusCode });
  return answer;
}

async function answerWebhook(event: APIGatewayProxyEventV2, deps: IngestDeps): Promise<Answer> {
  const started = Date.now();
  const now = deps.now?.() ?? new Date();
  const receivedAt = now.toISOString();
  const method = event.requestContext?.http?.method ?? 'POST';

  const auth = await authenticate(deps, event, method);
  if (!auth.ok) return auth.answer;
  const { source, signing } = auth;
  if (method === 'GET' || method === 'HEAD') return endpointOk();
  if (method !== 'POST') return methodNotAllowed(method);

  const contentType = headerValue(event.headers, 'content-type');
  const body = readBody({
    body: event.body,
    isBase64Encoded: event.isBase64Encoded,
    contentType,
    maxBytes: deps.config.limits.maxBodyBytes,
  });
  const unsigned = signing && (await refuseUnsigned(deps, { event, source, signing, now, body, contentType }));
  if (unsigned) return unsigned;
  const read = await normalise(deps, { source, receivedAt, body, contentType });
  if (!read.ok) return read.answer;

  const { delivery } = read;
  return writeOrFallBack(deps, {
    delivery,
    started,
    write: async (signal) => {
      if (!delivery.archived) return answerApplied(deps, delivery, await writeDelivery(deps, delivery, signal), started);
      await archiveDelivery(deps, delivery, signal);
      return answerArchived(deps, delivery);
    },
  });
}
