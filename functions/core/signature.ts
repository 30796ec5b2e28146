/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): a signing source's deliveries carry
 * `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature` (space-separated `v1,<base64>`
 * entries, several while the sender rotates its secret), where each signature is HMAC-SHA256 over
 * `{id}.{timestamp}.{body}` with the secret's bytes. Pure: never throws, whatever the input.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a signature's timestamp may be from now, either way: a stale one may be a replay, a future one a bad clock. */
export const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

export const SIGNATURE_HEADERS = { id: 'webhook-id', timestamp: 'webhook-timestamp', signature: 'webhook-signature' } as const;

/** Why a signed delivery was refused. */
export type SignatureFailure = 'missing_header' | 'bad_timestamp' | 'stale_timestamp' | 'future_timestamp' | 'bad_secret' | 'no_match';

export type SignatureCheck = { ok: true } | { ok: false; reason: SignatureFailure; message: string };

export interface SignedDelivery {
  /** The three headers as received (undefined when absent). */
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  /** The body exactly as received: base64-decoded when API Gateway delivered it so, never re-encoded. */
  body: Buffer;
}

const WHSEC_PREFIX = 'whsec_';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// Seconds since the epoch: digits only (a sign, a fraction or an exponent is not a Standard Webhooks timestamp).
const UNIX_SECONDS = /^[0-9]{1,12}$/;

/** The key bytes of a `whsec_<base64>` secret (the prefix is optional); undefined when it is not one. */
export function signingKeyOf(secret: string): Buffer | undefined {
  const text = secret.trim();
  const encoded = text.startsWith(WHSEC_PREFIX) ? text.slice(WHSEC_PREFIX.length) : text;
  if (!encoded || !BASE64.test(encoded)) return undefined;
  const key = Buffer.from(encoded, 'base64');
  return key.length > 0 ? key : undefined;
}

/** `v1,<base64>` of the delivery's content, as a sender computes it. */
export function standardWebhookSignature(key: Buffer, id: string, timestamp: string, body: Buffer): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(body).digest('base64');
  return `v1,${mac}`;
}

const fail = (reason: SignatureFailure, message: string): SignatureCheck => ({ ok: false, reason, message });

/**
 * Verify a delivery against `secret` at `nowMs`. Any one `v1` signature that matches passes (rotation);
 * entries of other versions are skipped. Comparisons are constant-time on equal-length buffers.
 */
export function verifyStandardWebhook(delivery: SignedDelivery, secret: string, nowMs: number): SignatureCheck {
  const missing = (Object.keys(SIGNATURE_HEADERS) as (keyof typeof SIGNATURE_HEADERS)[])
    .filter((k) => !delivery[k]?.trim())
    .map((k) => SIGNATURE_HEADERS[k]);
  if (missing.length > 0) {
    return fail(
      'missing_header',
      `This source only accepts Standard Webhooks-signed deliveries, and the ${missing.join(', ')} header${missing.length > 1 ? 's are' : ' is'} missing. Have the sender sign its deliveries (webhook-id, webhook-timestamp, webhook-signature).`,
    );
  }
  const id = delivery.id!.trim();
  const timestamp = delivery.timestamp!.trim();
  if (!UNIX_SECONDS.test(timestamp)) {
    return fail(
      'bad_timestamp',
      'The webhook-timestamp header is not a time in unix seconds. Have the sender put the signing time there, as Standard Webhooks specifies.',
    );
  }
  const skew = Math.floor(nowMs / 1000) - Number(timestamp);
  if (skew > SIGNATURE_TOLERANCE_SECONDS) {
    return fail(
      'stale_timestamp',
      `The webhook-timestamp is ${skew} s old; signed deliveries more than ${SIGNATURE_TOLERANCE_SECONDS} s old are refused, so a captured delivery cannot be replayed. Send deliveries when they are signed, and check the sender's clock.`,
    );
  }
  if (-skew > SIGNATURE_TOLERANCE_SECONDS) {
    return fail(
      'future_timestamp',
      `The webhook-timestamp is ${-skew} s in the future; more than ${SIGNATURE_TOLERANCE_SECONDS} s ahead is refused. Check the sender's clock.`,
    );
  }
  const key = signingKeyOf(secret);
  if (!key) {
    return fail(
      'bad_secret',
      'The signing secret configured for this source is not a Standard Webhooks secret ("whsec_" followed by base64). Put the secret the sender signs with.',
    );
  }
  const expected = Buffer.from(standardWebhookSignature(key, id, timestamp, delivery.body), 'utf8');
  let matched = false;
  // Every entry is compared (no early exit), so timing does not tell which one matched.
  for (const entry of delivery.signature!.split(' ')) {
    if (!entry.startsWith('v1,')) continue;
    const presented = Buffer.from(entry, 'utf8');
    if (presented.length === expected.length && timingSafeEqual(presented, expected)) matched = true;
  }
  if (!matched) {
    return fail(
      'no_match',
      'No signature in the webhook-signature header matches this delivery. Check that the sender signs with the secret configured for this source, and that nothing between them changes the body.',
    );
  }
  return { ok: true };
}
