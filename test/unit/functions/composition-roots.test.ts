/** The composition roots: each validates its function's environment once and says what is wrong. */
import { describe, expect, it } from 'vitest';
import { ENV } from '#contract/resources.ts';
import { StaticWebhookTokens } from '#bin/local/local-secrets.ts';
import { ingestDeps } from '#functions/ingest/deps.ts';
import { insightDeps } from '#functions/insight/deps.ts';
import { mediaDeps } from '#functions/media/deps.ts';

const resources = {
  [ENV.config]: '{}',
  [ENV.callsTable]: 'calls',
  [ENV.contactsTable]: 'contacts',
  [ENV.bucket]: 'archive',
  [ENV.mediaQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/media',
  [ENV.insightQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/insight',
  [ENV.replayQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/replay',
};

describe('ingestDeps', () => {
  it('names every missing variable of the ingest function in one message', () => {
    expect(() => ingestDeps({})).toThrow(
      /Environment of the ingest function: CALLVAULT_CONFIG is not set; CALLS_TABLE is not set;.*WEBHOOK_SECRETS is not set/,
    );
  });

  it('needs WEBHOOK_SECRETS deployed, but not when the local stack passes its own token store', () => {
    expect(() => ingestDeps(resources)).toThrow(/WEBHOOK_SECRETS is not set/);
    expect(ingestDeps(resources, { tokens: new StaticWebhookTokens('a-local-token') }).deps.tokens).toBeInstanceOf(StaticWebhookTokens);
  });

  it('refuses a WEBHOOK_SECRETS that is not a JSON object of strings, naming it', () => {
    expect(() => ingestDeps({ ...resources, [ENV.webhookSecrets]: '["arn"]' })).toThrow(
      /WEBHOOK_SECRETS must be a JSON object of strings keyed by source id/,
    );
  });

  it('reports an invalid config with the config path that is wrong', () => {
    expect(() => ingestDeps({ ...resources, [ENV.webhookSecrets]: '{}', [ENV.config]: '{"defaultCountry": "Britain"}' })).toThrow(
      /CALLVAULT_CONFIG.*defaultCountry/s,
    );
    expect(() => ingestDeps({ ...resources, [ENV.webhookSecrets]: '{}', [ENV.config]: '{not json' })).toThrow(
      /CALLVAULT_CONFIG is not JSON/,
    );
  });

  it('passes the local media delay through, and none when the stack does not set one', () => {
    const tokens = new StaticWebhookTokens('a-local-token');
    expect(ingestDeps(resources, { tokens, mediaDelaySeconds: 0 }).deps.mediaDelayOverride).toBe(0);
    expect(ingestDeps(resources, { tokens }).deps.mediaDelayOverride).toBeUndefined();
  });
});

describe('mediaDeps', () => {
  it('keeps https-only and no exempt hosts unless the local stack passes them', () => {
    const deployed = mediaDeps(resources).worker;
    expect(deployed.local).toBe(false);
    expect(deployed.exemptHostPorts).toEqual([]);
    const local = mediaDeps(resources, { allowHttp: true, fetchAllow: ['127.0.0.1:9999'] }).worker;
    expect(local.local).toBe(true);
    expect(local.exemptHostPorts).toEqual(['127.0.0.1:9999']);
  });

  it('reads the tunables, and names one that is out of range', () => {
    expect(mediaDeps({ ...resources, CALLVAULT_MEDIA_BACKOFF_BASE_SECONDS: '7' }).worker.timing.baseSeconds).toBe(7);
    expect(() => mediaDeps({ ...resources, CALLVAULT_MEDIA_PART_SIZE_MIB: '1' })).toThrow(
      /Environment of the media function: CALLVAULT_MEDIA_PART_SIZE_MIB/,
    );
  });

  it('lets only sources with both an API secret and a base URL refresh expired links', () => {
    const config = JSON.stringify({
      sources: [
        { id: 'hipcall', provider: 'hipcall', hipcallApiBaseUrl: 'https://use.hipcall.com/api/v3' },
        { id: 'bare', provider: 'hipcall' },
      ],
    });
    const deps = mediaDeps({ ...resources, [ENV.config]: config, [ENV.hipcallApiSecrets]: '{"hipcall": "arn:1", "bare": "arn:2"}' }).worker;
    expect(['hipcall', 'bare'].filter((id) => deps.hipcall?.canRefresh(id))).toEqual(['hipcall']);
    const local = mediaDeps(
      { ...resources, [ENV.config]: config },
      { hipcall: { baseUrls: { bare: 'http://127.0.0.1:1/api' }, secrets: { bare: 't' } } },
    ).worker;
    expect(['hipcall', 'bare'].filter((id) => local.hipcall?.canRefresh(id))).toEqual(['bare']);
  });
});

describe('insightDeps', () => {
  it('needs the contacts table', () => {
    const { [ENV.contactsTable]: _omitted, ...rest } = resources;
    expect(() => insightDeps(rest)).toThrow(/Environment of the insight function: CONTACTS_TABLE is not set/);
  });

  it("uses the local stack's stand-in Hipcall API over the configured base URL", async () => {
    const config = JSON.stringify({
      sources: [{ id: 'hipcall', provider: 'hipcall', hipcallApiBaseUrl: 'https://use.hipcall.com/api/v3' }],
    });
    expect(insightDeps({ ...resources, [ENV.config]: config }).deps.apiBaseUrls.get('hipcall')).toBe('https://use.hipcall.com/api/v3');
    const local = insightDeps(
      { ...resources, [ENV.config]: config },
      { hipcall: { baseUrls: { hipcall: 'http://127.0.0.1:3000/_local/hipcall/api/v3' }, secrets: { hipcall: 'local-token' } } },
    ).deps;
    expect(local.apiBaseUrls.get('hipcall')).toBe('http://127.0.0.1:3000/_local/hipcall/api/v3');
    expect(await local.token('hipcall')).toBe('local-token');
  });
});
