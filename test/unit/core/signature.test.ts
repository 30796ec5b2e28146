/**
 * The Standard Webhooks verifier, against signatures made by the `standardwebhooks` package (the
 * reference implementation, written by no one here).
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  SIGNATURE_TOLERANCE_SECONDS,
  signingKeyOf,
  standardWebhookSignature,
  verifyStandardWebhook,
  type SignedDelivery,
} from '#core/signature.ts';
import { match } from '#test/support/match.ts';

const secret = `whsec_${randomBytes(24).toString('base64')}`;
const NOW = Date.parse('2026-04-02T10:00:45Z');
const body = Buffer.from('{"event":"call_hangup","data":{"uuid":"c-1","caller_number":"+442045205757"}}', 'utf8');

/** A delivery signed by the reference implementation `ageSeconds` before NOW. */
function signed(options: { ageSeconds?: number; withSecret?: string; payload?: Buffer; id?: string } = {}): SignedDelivery {
  const id = options.id ?? 'msg_2Ld8Y5cTBTbTq3bSk3fF0nN1x';
  const at = new Date(NOW - (options.ageSeconds ?? 0) * 1000);
  const payload = options.payload ?? body;
  return {
    id,
    timestamp: String(Math.floor(at.getTime() / 1000)),
    signature: new Webhook(options.withSecret ?? secret).sign(id, at, payload.toString('utf8')),
    body: payload,
  };
}

const reasonOf = (delivery: SignedDelivery, key = secret, now = NOW) => {
  const check = verifyStandardWebhook(delivery, key, now);
  return check.ok ? 'ok' : check.reason;
};

describe('verifyStandardWebhook', () => {
  it('accepts a delivery signed by the standardwebhooks package', () => {
    expect(verifyStandardWebhook(signed(), secret, NOW)).toEqual({ ok: true });
  });

  it('accepts the secret without its whsec_ prefix too', () => {
    expect(reasonOf(signed(), secret.slice('whsec_'.length))).toBe('ok');
  });

  it('accepts the second of two space-separated signatures: the sender is rotating its secret', () => {
    const old = `whsec_${randomBytes(24).toString('base64')}`;
    const delivery = signed({ withSecret: old });
    const current = signed();
    delivery.signature = `${delivery.signature} ${current.signature}`;
    expect(reasonOf(delivery)).toBe('ok');
    // Each alone: only the current one verifies.
    expect(reasonOf(signed({ withSecret: old }))).toBe('no_match');
  });

  it('skips signatures of other versions and accepts a v1 among them', () => {
    const delivery = signed();
    delivery.signature = `v1a,${randomBytes(64).toString('base64')} ${delivery.signature}`;
    expect(reasonOf(delivery)).toBe('ok');
  });

  it('refuses a delivery with one byte changed: the signature covers the body exactly', () => {
    const delivery = signed();
    const tampered = Buffer.from(delivery.body);
    tampered[tampered.indexOf('+'.charCodeAt(0)) + 1] = '9'.charCodeAt(0);
    expect(reasonOf({ ...delivery, body: tampered })).toBe('no_match');
  });

  it('refuses the same JSON re-serialised: it verifies the bytes as received, not the parsed value', () => {
    const spaced = Buffer.from('{ "event": "call_hangup" }\n', 'utf8');
    const delivery = signed({ payload: spaced });
    expect(reasonOf(delivery)).toBe('ok');
    expect(reasonOf({ ...delivery, body: Buffer.from(JSON.stringify(JSON.parse(spaced.toString('utf8')))) })).toBe('no_match');
  });

  it('refuses a changed webhook-id or webhook-timestamp: both are signed', () => {
    const delivery = signed();
    expect(reasonOf({ ...delivery, id: 'msg_other' })).toBe('no_match');
    expect(reasonOf({ ...delivery, timestamp: String(Number(delivery.timestamp) - 1) })).toBe('no_match');
  });

  it(`accepts a timestamp ${SIGNATURE_TOLERANCE_SECONDS} s old or ahead, and refuses one a second beyond either way`, () => {
    expect(reasonOf(signed({ ageSeconds: SIGNATURE_TOLERANCE_SECONDS }))).toBe('ok');
    expect(reasonOf(signed({ ageSeconds: -SIGNATURE_TOLERANCE_SECONDS }))).toBe('ok');
    expect(reasonOf(signed({ ageSeconds: SIGNATURE_TOLERANCE_SECONDS + 1 }))).toBe('stale_timestamp');
    expect(reasonOf(signed({ ageSeconds: -SIGNATURE_TOLERANCE_SECONDS - 1 }))).toBe('future_timestamp');
  });

  it('says how old a stale timestamp is and how far ahead a future one is', () => {
    expect(verifyStandardWebhook(signed({ ageSeconds: 600 }), secret, NOW)).toMatchObject({
      ok: false,
      message: match.stringMatching(/600 s old.*more than 300 s old are refused/),
    });
    expect(verifyStandardWebhook(signed({ ageSeconds: -900 }), secret, NOW)).toMatchObject({
      ok: false,
      message: match.stringMatching(/900 s in the future/),
    });
  });

  it('refuses a delivery missing any of the three headers, naming the ones missing', () => {
    for (const header of ['id', 'timestamp', 'signature'] as const) {
      const check = verifyStandardWebhook({ ...signed(), [header]: undefined }, secret, NOW);
      expect(check).toMatchObject({
        ok: false,
        reason: 'missing_header',
        message: match.stringContaining(`webhook-${header} header is missing`),
      });
    }
    expect(verifyStandardWebhook({ id: undefined, timestamp: '', signature: ' ', body }, secret, NOW)).toMatchObject({
      reason: 'missing_header',
      message: match.stringContaining('webhook-id, webhook-timestamp, webhook-signature headers are missing'),
    });
  });

  it('refuses a signature of the wrong length without throwing', () => {
    const delivery = signed();
    const full = delivery.signature!;
    for (const wrong of ['v1,', 'v1,abc', full.slice(0, -1), `${full}A`, `${full}==`, 'v1,' + randomBytes(64).toString('base64')]) {
      expect(() => verifyStandardWebhook({ ...delivery, signature: wrong }, secret, NOW)).not.toThrow();
      expect(reasonOf({ ...delivery, signature: wrong })).toBe('no_match');
    }
  });

  it('refuses a timestamp that is not unix seconds', () => {
    for (const timestamp of ['abc', '-1', '1775124045.5', '1e9', '2026-04-02T10:00:45Z', '0x69b']) {
      expect(reasonOf({ ...signed(), timestamp })).toBe('bad_timestamp');
    }
  });

  it('reports a configured secret that is not whsec_ base64 as such, and never echoes it', () => {
    for (const bad of ['', 'whsec_', 'whsec_not base64!', 'hunter2']) {
      const check = verifyStandardWebhook(signed(), bad, NOW);
      expect(check).toMatchObject({ ok: false, reason: 'bad_secret' });
    }
    expect(JSON.stringify(verifyStandardWebhook(signed(), 'whsec_not base64!', NOW))).not.toContain('not base64!');
    expect(JSON.stringify(verifyStandardWebhook(signed(), 'hunter2', NOW))).not.toContain('hunter2');
  });

  it('never puts the secret, the expected signature or the body in a refusal', () => {
    const delivery = signed();
    const expected = delivery.signature!.slice(3);
    const check = verifyStandardWebhook({ ...delivery, signature: 'v1,AAAA' }, secret, NOW);
    const text = JSON.stringify(check);
    expect(text).not.toContain(secret.slice(6));
    expect(text).not.toContain(expected);
    expect(text).not.toContain('442045205757');
  });

  it('never throws on hostile headers', () => {
    const junk = ['\u0000', 'v1,'.repeat(1000), ' '.repeat(100), 'v1,\uD800', '💥'.repeat(50)];
    for (const value of junk) {
      for (const header of ['id', 'timestamp', 'signature'] as const) {
        expect(() => verifyStandardWebhook({ ...signed(), [header]: value }, secret, NOW)).not.toThrow();
        expect(verifyStandardWebhook({ ...signed(), [header]: value }, secret, NOW).ok).toBe(false);
      }
    }
  });
});

describe('standardWebhookSignature', () => {
  it('computes exactly what the standardwebhooks package signs', () => {
    const id = 'msg_1';
    const at = new Date(NOW);
    const ours = standardWebhookSignature(signingKeyOf(secret)!, id, String(NOW / 1000), body);
    expect(ours).toBe(new Webhook(secret).sign(id, at, body.toString('utf8')));
  });
});
