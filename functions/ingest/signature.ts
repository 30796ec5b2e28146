/** The Standard Webhooks signature of a delivery to a source that sets `signature` (core/signature.ts verifies it). */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { SourceConfig } from '#contract/config.ts';
import { headerValue, type BodyResult } from '#core/request.ts';
import { SIGNATURE_HEADERS, verifyStandardWebhook } from '#core/signature.ts';
import { json, type Answer } from './answers.ts';
import type { AuthenticateDeps, SecretRead } from './authenticate.ts';
import { quarantine } from './quarantine.ts';

export interface SignedRequest {
  event: APIGatewayProxyEventV2;
  source: SourceConfig;
  signing: Promise<SecretRead>;
  now: Date;
  body: BodyResult;
  contentType: string | undefined;
}

/**
 * For a source that sets `signature`: the answer when the delivery's signature does not verify (401,
 * quarantined with the reason), or undefined when it does. Checked before anything about the body is
 * answered, so an unsigned sender learns nothing else. Only the secret store being down answers 503, as
 * for the token store: nothing a sender changes would help.
 */
export async function refuseUnsigned(deps: AuthenticateDeps, request: SignedRequest): Promise<Answer | undefined> {
  const { event, source, now, body, contentType } = request;
  const read = await request.signing;
  if (!read.ok) {
    deps.log.error('signing secret read failed', { source: source.id, error: read.error.name });
    return json(503, {
      message: "CallVault could not read this source's signing secret right now; the delivery was not accepted. Retry shortly.",
    });
  }
  let reason: string;
  let message: string;
  if ('unset' in read.value) {
    reason = 'secret_unset';
    message = read.value.unset;
  } else {
    const check = verifyStandardWebhook(
      {
        id: headerValue(event.headers, SIGNATURE_HEADERS.id),
        timestamp: headerValue(event.headers, SIGNATURE_HEADERS.timestamp),
        signature: headerValue(event.headers, SIGNATURE_HEADERS.signature),
        body: body.bytes,
      },
      read.value.secret,
      now.getTime(),
    );
    if (check.ok) return undefined;
    reason = check.reason;
    message = check.message;
  }
  const receivedAt = now.toISOString();
  await quarantine(deps, { source, receivedAt, body: body.bytes, sha256: body.sha256, status: 401, reason: message, contentType });
  deps.log.warn('webhook refused: signature not verified', { source: source.id, reason });
  return json(401, { message });
}
