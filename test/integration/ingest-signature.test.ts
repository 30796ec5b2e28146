/**
 * Signed sources through the real ingest handler on the emulators: deliveries are signed with the
 * `standardwebhooks` package (the reference implementation) and sent as API Gateway hands them over.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticSigningSecrets } from '#bin/local/local-secrets.ts';
import type { SigningSecrets } from '#core/ports/signing-secrets.ts';
import { hipcallHangup, startIngestHarness, type IngestHarness } from '#test/support/ingest-harness.ts';
import { match } from '#test/support/match.ts';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

/** `signed`: the local stack's one secret; `pending`: none put yet; `broken`: the secret store is down. */
const signingSecrets: SigningSecrets = {
  get(sourceId) {
    if (sourceId === 'broken') return Promise.reject(Object.assign(new Error('Secrets Manager unreachable'), { name: 'TimeoutError' }));
    const secret = sourceId === 'pending' ? undefined : SECRET;
    return new StaticSigningSecrets(secret, "put the sender's whsec_ secret in CallVault/pending/signing.").get(sourceId);
  },
};

/** Standard Webhooks headers for `body`, signed at `at` with `secret`. */
function signedHeaders(body: string, options: { at?: Date; secret?: string; id?: string } = {}): Record<string, string> {
  const at = options.at ?? new Date();
  const id = options.id ?? `msg_${randomUUID()}`;
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(options.secret ?? SECRET).sign(id, at, body),
  };
}

describe('ingest handler: signed sources (Standard Webhooks)', () => {
  let h: IngestHarness;
  beforeAll(async () => {
    h = await startIngestHarness(
      {
        sources: [
          { id: 'signed', provider: 'hipcall', signature: 'standard-webhooks' },
          { id: 'pending', provider: 'hipcall', signature: 'standard-webhooks' },
          { id: 'broken', provider: 'hipcall', signature: 'standard-webhooks' },
          { id: 'plain', provider: 'hipcall' },
        ],
      },
      { local: { signingSecrets } },
    );
  });
  afterAll(async () => h?.close());

  /** The quarantine/ document of the delivery that carried `uuid`. */
  async function quarantined(uuid: string) {
    const keys = await h.objects('quarantine/hipcall/');
    const docs = await Promise.all(
      keys.map(async (k) => JSON.parse(await h.object(k)) as { source: string; status: number; reason: string; body?: string }),
    );
    return docs.filter((d) => d.body?.includes(uuid));
  }

  /** A refusal as the sender sees it, and what was kept of it. */
  async function expectRefused(uuid: string, res: { status: number; json: Record<string, unknown> }, message: RegExp) {
    expect(res.status).toBe(401);
    expect(Object.keys(res.json)).toEqual(['message']);
    expect(String(res.json.message)).toMatch(message);
    expect(String(res.json.message)).not.toContain(SECRET.slice('whsec_'.length, 20));
    expect(await h.item(`hipcall#${uuid}`)).toBeUndefined();
    expect(await quarantined(uuid)).toEqual([match.objectContaining({ source: 'signed', status: 401, reason: String(res.json.message) })]);
  }

  it('stores a delivery whose signature verifies', async () => {
    const uuid = randomUUID();
    const body = hipcallHangup(uuid);
    const res = await h.post('signed', body, { headers: signedHeaders(body) });
    expect(res).toMatchObject({ status: 200, json: { status: 'stored', callIds: [uuid] } });
    expect(await h.item(`hipcall#${uuid}`)).toMatchObject({ source: 'signed', callId: uuid, status: 'completed' });
    expect(await quarantined(uuid)).toEqual([]);
  });

  it('stores a delivery whose second signature verifies: the sender is rotating its secret', async () => {
    const uuid = randomUUID();
    const body = hipcallHangup(uuid);
    const at = new Date();
    const id = `msg_${randomUUID()}`;
    const old = signedHeaders(body, { at, id, secret: `whsec_${randomBytes(32).toString('base64')}` });
    const current = signedHeaders(body, { at, id });
    const res = await h.post('signed', body, {
      headers: { ...current, 'webhook-signature': `${old['webhook-signature']} ${current['webhook-signature']}` },
    });
    expect(res).toMatchObject({ status: 200, json: { status: 'stored' } });
    expect(await h.item(`hipcall#${uuid}`)).toMatchObject({ source: 'signed' });
  });

  it('verifies the bytes API Gateway base64-decodes, exactly as the sender signed them', async () => {
    const uuid = randomUUID();
    const body = `\uFEFF${hipcallHangup(uuid)}\n`;
    const res = await h.post('signed', body, { base64: true, headers: signedHeaders(body) });
    expect(res).toMatchObject({ status: 200, json: { status: 'stored' } });
  });

  it('refuses a delivery with one byte changed after signing, with 401, and quarantines it', async () => {
    const uuid = randomUUID();
    const body = hipcallHangup(uuid);
    const headers = signedHeaders(body);
    const tampered = body.replace('"call_duration":45', '"call_duration":46');
    expect(tampered).not.toBe(body);
    await expectRefused(uuid, await h.post('signed', tampered, { headers }), /No signature in the webhook-signature header matches/);
  });

  it('refuses a delivery signed more than 5 minutes ago', async () => {
    const uuid = randomUUID();
    const body = hipcallHangup(uuid);
    const res = await h.post('signed', body, { headers: signedHeaders(body, { at: new Date(Date.now() - 6 * 60_000) }) });
    await expectRefused(uuid, res, /webhook-timestamp is 3\d\d s old/);
  });

  it('refuses a delivery signed more than 5 minutes in the future', async () => {
    const uuid = randomUUID();
    const body = hipcallHangup(uuid);
    const res = await h.post('signed', body, { headers: signedHeaders(body, { at: new Date(Date.now() + 6 * 60_000) }) });
    await expectRefused(uuid, res, /webhook-timestamp is 3\d\d s in the future/);
  });

  it('refuses a delivery missing a signature header, naming it', async () => {
    const uuid = randomUUID();
    const body = hipcallHangup(uuid);
    const { 'webhook-timestamp': _dropped, ...headers } = signedHeaders(body);
    await expectRefused(uuid, await h.post('signed', body, { headers }), /webhook-timestamp header is missing/);
  });

  it('refuses a delivery with no signature at all, before looking at its body', async () => {
    const uuid = randomUUID();
    // Not JSON either: an unsigned sender learns nothing about the body rules.
    await expectRefused(
      uuid,
      await h.post('signed', `{"uuid": "${uuid}"`),
      /webhook-id, webhook-timestamp, webhook-signature headers are missing/,
    );
  });

  it('refuses a signature of the wrong length with 401, not a 5xx', async () => {
    const uuid = randomUUID();
    const body = hipcallHangup(uuid);
    const headers = signedHeaders(body);
    const res = await h.post('signed', body, { headers: { ...headers, 'webhook-signature': `${headers['webhook-signature']}AAAA` } });
    await expectRefused(uuid, res, /No signature .* matches/);
  });

  it('answers a signed GET (a URL check) without any signature', async () => {
    expect(await h.post('signed', undefined, { method: 'GET' })).toMatchObject({ status: 200, json: { status: 'ok' } });
  });

  it('still answers 404 for a wrong token on a signing source, even when the signature verifies', async () => {
    const body = hipcallHangup(randomUUID());
    expect((await h.post('signed', body, { token: 'wrong-token-wrong-token', headers: signedHeaders(body) })).status).toBe(404);
  });

  it('answers 401 saying where to put the secret while a signing source has none, and quarantines the delivery', async () => {
    const uuid = randomUUID();
    const body = hipcallHangup(uuid);
    const res = await h.post('pending', body, { headers: signedHeaders(body) });
    expect(res).toMatchObject({
      status: 401,
      json: { message: match.stringContaining("put the sender's whsec_ secret in CallVault/pending/signing") },
    });
    expect(await quarantined(uuid)).toEqual([match.objectContaining({ source: 'pending', status: 401 })]);
  });

  it('answers 503, as for the token store, when the signing secret cannot be read', async () => {
    const body = hipcallHangup(randomUUID());
    const res = await h.post('broken', body, { headers: signedHeaders(body) });
    expect(res).toMatchObject({ status: 503, json: { message: match.stringMatching(/signing secret.*Retry shortly/) } });
  });

  it('ignores signature headers on a source without `signature`, even garbage ones', async () => {
    const uuid = randomUUID();
    const body = hipcallHangup(uuid);
    const res = await h.post('plain', body, {
      headers: { 'webhook-id': 'x', 'webhook-timestamp': 'yesterday', 'webhook-signature': 'v1,garbage' },
    });
    expect(res).toMatchObject({ status: 200, json: { status: 'stored' } });
    expect(await h.item(`hipcall#${uuid}`)).toMatchObject({ source: 'plain' });
  });
});
