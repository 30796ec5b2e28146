/**
 * `npm start` with a signing source: CALLVAULT_LOCAL_SIGNING_SECRET reaches the real ingest handler, and
 * the signature headers travel through the local HTTP API as API Gateway passes them.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hipcallHangup } from '#test/support/ingest-harness.ts';
import { startLocalStackProcess, type LocalStackProcess } from '#test/support/local-stack-process.ts';
import { match } from '#test/support/match.ts';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

describe('local stack: a signed source', () => {
  let stack: LocalStackProcess;
  beforeAll(async () => {
    const sources = [
      { id: 'signed', provider: 'hipcall', signature: 'standard-webhooks' },
      { id: 'plain', provider: 'postcall' },
    ];
    stack = await startLocalStackProcess({ CALLVAULT_CONFIG: JSON.stringify({ sources }), CALLVAULT_LOCAL_SIGNING_SECRET: SECRET });
  });
  afterAll(async () => stack?.stop());

  const urlOf = (id: string) => stack.endpoints.sources.find((s) => s.id === id)!.url;
  const post = async (id: string, body: string, headers: Record<string, string> = {}) => {
    const res = await fetch(urlOf(id), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it('stores a delivery signed with CALLVAULT_LOCAL_SIGNING_SECRET, posted over HTTP', async () => {
    const body = hipcallHangup(randomUUID());
    const id = `msg_${randomUUID()}`;
    const at = new Date();
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(SECRET).sign(id, at, body),
    };
    expect(await post('signed', body, headers)).toMatchObject({ status: 200, json: { status: 'stored' } });
  });

  it('answers 401 to the same source unsigned, or signed with another secret', async () => {
    const body = hipcallHangup(randomUUID());
    expect(await post('signed', body)).toMatchObject({ status: 401, json: { message: match.stringContaining('webhook-id') } });
    const id = 'msg_1';
    const at = new Date();
    const other = new Webhook(`whsec_${randomBytes(32).toString('base64')}`).sign(id, at, body);
    expect(
      await post('signed', body, {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': other,
      }),
    ).toMatchObject({ status: 401 });
  });

  it('leaves a source without `signature` as it was: garbage signature headers are ignored', async () => {
    const body = JSON.stringify({ callId: `signed-e2e-${randomUUID()}`, callerDetails: { name: 'Test User' } });
    expect(await post('plain', body, { 'webhook-signature': 'v1,garbage', 'webhook-timestamp': '0' })).toMatchObject({
      status: 200,
      json: { status: 'stored' },
    });
  });
});
