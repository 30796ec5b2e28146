/**
 * The signing-secret adapters. Secrets Manager has no emulator here, so a local HTTP server answers the
 * SDK's real GetSecretValue requests (JSON protocol) the way Secrets Manager does.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FAST, secretsClient } from '#adapters/aws.ts';
import { parseSigningSecret, SecretsManagerSigningSecrets } from '#adapters/signing-secrets.ts';
import { StaticSigningSecrets, StaticWebhookTokens } from '#bin/local/local-secrets.ts';
import { ingestDeps } from '#functions/ingest/deps.ts';
import { ENV } from '#contract/resources.ts';
import { match } from '#test/support/match.ts';
import { parseConfig } from '#contract/config-schema.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
/** What the stack's generated placeholder looks like once Secrets Manager has filled it in. */
const PLACEHOLDER = JSON.stringify({
  unset: "Replace this whole value with the sender's whsec_ secret",
  placeholder: 'Zx81kQpL0aB7cD9eF2gH4iJ6kL8mN0oP',
});

let server: Server;
let endpoint: string;
/** Secret name → its value, or an error name Secrets Manager answers with (status 400, or 500 for `InternalServiceError`). */
let values: Record<string, string | { error: string }> = {};
let requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      const { SecretId } = JSON.parse(text) as { SecretId: string };
      requests.push(`${String(req.headers['x-amz-target'])} ${SecretId}`);
      const value = values[SecretId] ?? { error: 'ResourceNotFoundException' };
      if (typeof value === 'string') {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(
          JSON.stringify({
            ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${SecretId}-AbCdEf`,
            Name: SecretId,
            SecretString: value,
          }),
        );
        return;
      }
      res.writeHead(value.error === 'InternalServiceError' ? 500 : 400, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-errortype': value.error,
      });
      res.end(JSON.stringify({ __type: value.error, message: 'refused' }));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));
beforeEach(() => {
  values = {};
  requests = [];
});

function store(names: Record<string, string>, clock: { now: number }) {
  const client = secretsClient(FAST, {
    endpoints: { secretsmanager: endpoint },
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  return new SecretsManagerSigningSecrets(client, names, () => clock.now);
}

describe('parseSigningSecret', () => {
  it('reads a bare whsec_ value or {"secret": ...}, and nothing from the stack placeholder or an empty value', () => {
    expect(parseSigningSecret(`  ${SECRET}\n`)).toBe(SECRET);
    expect(parseSigningSecret(JSON.stringify({ secret: SECRET }))).toBe(SECRET);
    expect(parseSigningSecret(PLACEHOLDER)).toBeUndefined();
    expect(parseSigningSecret('')).toBeUndefined();
    expect(parseSigningSecret('{not json')).toBeUndefined();
  });
});

describe('SecretsManagerSigningSecrets', () => {
  const names = { signed: 'CallVault/signed/signing' };

  it("reads the source's secret by name, then serves it from the cache for five minutes", async () => {
    values['CallVault/signed/signing'] = SECRET;
    const clock = { now: 0 };
    const secrets = store(names, clock);
    expect(await secrets.get('signed')).toEqual({ secret: SECRET });
    clock.now = 5 * 60_000 - 1;
    expect(await secrets.get('signed')).toEqual({ secret: SECRET });
    expect(requests).toEqual(['secretsmanager.GetSecretValue CallVault/signed/signing']);
    clock.now = 5 * 60_000;
    await secrets.get('signed');
    expect(requests).toHaveLength(2);
  });

  it("answers unset, with the command to put it, while the secret still holds the stack's placeholder; and re-reads it within 30 s", async () => {
    values['CallVault/signed/signing'] = PLACEHOLDER;
    const clock = { now: 0 };
    const secrets = store(names, clock);
    const answer = await secrets.get('signed');
    expect(answer).toEqual({
      unset: match.stringContaining("aws secretsmanager put-secret-value --secret-id CallVault/signed/signing --secret-string 'whsec_...'"),
    });
    values['CallVault/signed/signing'] = SECRET;
    clock.now = 30_000;
    expect(await secrets.get('signed')).toEqual({ secret: SECRET });
  });

  it('answers unset without asking AWS for a source the deployment has no secret for', async () => {
    const answer = await store(names, { now: 0 }).get('other');
    expect(answer).toEqual({ unset: match.stringMatching(/redeploy the stack/) });
    expect(requests).toEqual([]);
  });

  it('answers unset, saying to redeploy, when the secret does not exist', async () => {
    expect(await store(names, { now: 0 }).get('signed')).toEqual({
      unset: match.stringMatching(/CallVault\/signed\/signing .*does not exist: redeploy/),
    });
  });

  it('throws when Secrets Manager fails and nothing is cached, and keeps serving a cached secret when a refresh fails', async () => {
    values['CallVault/signed/signing'] = { error: 'InternalServiceError' };
    const clock = { now: 0 };
    await expect(store(names, clock).get('signed')).rejects.toMatchObject({ name: 'InternalServiceError' });
    const secrets = store(names, clock);
    values['CallVault/signed/signing'] = SECRET;
    await secrets.get('signed');
    values['CallVault/signed/signing'] = { error: 'InternalServiceError' };
    clock.now = 10 * 60_000;
    expect(await secrets.get('signed')).toEqual({ secret: SECRET });
  });
});

describe('StaticSigningSecrets', () => {
  it('gives every source the one local secret, or says where to set it when there is none', async () => {
    expect(await new StaticSigningSecrets(SECRET, 'set X').get('a')).toEqual({ secret: SECRET });
    expect(await new StaticSigningSecrets(undefined, 'set CALLVAULT_LOCAL_SIGNING_SECRET').get('a')).toEqual({
      unset: 'No signing secret for source "a": set CALLVAULT_LOCAL_SIGNING_SECRET',
    });
    expect(await new StaticSigningSecrets('  ', 'set X').get('a')).toMatchObject({ unset: match.any(String) });
  });
});

describe('the ingest composition root', () => {
  const config = parseConfig({ sources: [{ id: 'relay', provider: 'postcall', signature: 'standard-webhooks' }] });
  const env = {
    [ENV.callsTable]: 'calls',
    [ENV.bucket]: 'archive',
    [ENV.mediaQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/media',
    [ENV.insightQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/insight',
    [ENV.replayQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/replay',
    [ENV.webhookSecrets]: '{"relay": "CallVault/relay/webhook"}',
  };

  it('refuses a SIGNING_SECRETS that is not a JSON object of strings, naming it', () => {
    expect(() => ingestDeps({ ...env, [ENV.signingSecrets]: '["CallVault/relay/signing"]' }, { config })).toThrow(
      /SIGNING_SECRETS must be a JSON object of strings keyed by source id/,
    );
  });

  it('reads the signing secrets SIGNING_SECRETS names, from Secrets Manager', async () => {
    values['CallVault/relay/signing'] = SECRET;
    const target = {
      endpoints: { secretsmanager: endpoint },
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    };
    const { deps } = ingestDeps({ ...env, [ENV.signingSecrets]: '{"relay": "CallVault/relay/signing"}' }, { config, target });
    expect(await deps.signingSecrets!.get('relay')).toEqual({ secret: SECRET });
    expect(requests).toEqual(['secretsmanager.GetSecretValue CallVault/relay/signing']);
  });

  it('without SIGNING_SECRETS, answers a signing source unset without asking AWS; the local stack passes its own', async () => {
    const { deps } = ingestDeps(env, { config, target: { endpoints: { secretsmanager: endpoint } } });
    expect(await deps.signingSecrets!.get('relay')).toMatchObject({ unset: match.stringMatching(/redeploy/) });
    expect(requests).toEqual([]);
    const local = new StaticSigningSecrets(SECRET, 'set it');
    expect(ingestDeps(env, { config, tokens: new StaticWebhookTokens('a-local-token'), signingSecrets: local }).deps.signingSecrets).toBe(
      local,
    );
  });
});
