/** The composition roots: each validates its function's environment once and says what is wrong. */
import { describe, expect, it } from 'vitest';
import { ENV } from '#contract/resources.ts';
import { StaticWebhookTokens } from '#bin/local/local-secrets.ts';
import { SecretsManagerWebhookTokens } from '#adapters/webhook-tokens.ts';
import { parseConfig } from '#contract/config-schema.ts';
import { bundledConfig, parseBundledConfig } from '#adapters/bundled-config.ts';
import { ingestDeps } from '#functions/ingest/deps.ts';
import { insightDeps } from '#functions/insight/deps.ts';
import { mediaDeps } from '#functions/media/deps.ts';

const resources = {
  [ENV.callsTable]: 'calls',
  [ENV.contactsTable]: 'contacts',
  [ENV.bucket]: 'archive',
  [ENV.mediaQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/media',
  [ENV.insightQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/insight',
  [ENV.replayQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/replay',
};
const config = parseConfig({});

describe('ingestDeps', () => {
  it('names every missing variable of the ingest function in one message', () => {
    expect(() => ingestDeps({}, { config })).toThrow(
      /Environment of the ingest function: CALLS_TABLE is not set; ARCHIVE_BUCKET is not set;.*CALLVAULT_SECRET_PREFIX is not set/,
    );
  });

  it('needs the secret prefix deployed, but not when the local stack passes its own token store', () => {
    expect(() => ingestDeps(resources, { config })).toThrow(/CALLVAULT_SECRET_PREFIX is not set/);
    expect(ingestDeps({ ...resources, [ENV.secretPrefix]: 'CallVault/' }, { config }).deps.tokens).toBeInstanceOf(
      SecretsManagerWebhookTokens,
    );
    expect(ingestDeps(resources, { config, tokens: new StaticWebhookTokens('a-local-token') }).deps.tokens).toBeInstanceOf(
      StaticWebhookTokens,
    );
  });

  it('refuses a WEBHOOK_SECRETS that is not a JSON object of strings, naming it', () => {
    expect(() => ingestDeps({ ...resources, [ENV.webhookSecrets]: '["arn"]' }, { config })).toThrow(
      /WEBHOOK_SECRETS must be a JSON object of strings keyed by source id/,
    );
  });

  it('runs with the config it is given, and says where the config comes from when it has none', () => {
    const given = parseConfig({ defaultCountry: 'GB' });
    expect(ingestDeps({ ...resources, [ENV.webhookSecrets]: '{}' }, { config: given }).deps.config).toBe(given);
    // Outside a bundle built by the stack nothing is compiled in: the message names both ways a config arrives.
    expect(() => ingestDeps({ ...resources, [ENV.webhookSecrets]: '{}' })).toThrow(
      /no CallVault config: the CDK stack compiles it into the bundle.*local\.config/,
    );
  });

  it('passes the local media delay through, and none when the stack does not set one', () => {
    const tokens = new StaticWebhookTokens('a-local-token');
    expect(ingestDeps(resources, { config, tokens, mediaDelaySeconds: 0 }).deps.mediaDelayOverride).toBe(0);
    expect(ingestDeps(resources, { config, tokens }).deps.mediaDelayOverride).toBeUndefined();
  });
});

describe('the config compiled into a bundle', () => {
  it('is read back as JSON, every default already applied', () => {
    const full = parseConfig({ defaultCountry: 'gb', sources: [{ id: 'a', provider: 'hipcall' }] });
    expect(parseBundledConfig(JSON.stringify(full))).toEqual(full);
    expect(parseBundledConfig(JSON.stringify(full)).sources[0]!.mediaDelaySeconds).toBe(10);
  });

  it('is refused with a message when it is missing or not a config', () => {
    expect(() => parseBundledConfig(undefined)).toThrow(/compiles it into the bundle \(cdk deploy\)/);
    expect(() => parseBundledConfig('[]')).toThrow(/not a config object: redeploy the stack/);
    // Run from source, as here, nothing replaced the global.
    expect(() => bundledConfig()).toThrow(/has no CallVault config/);
  });
});

describe('mediaDeps', () => {
  it('keeps https-only and no exempt hosts unless the local stack passes them', () => {
    const deployed = mediaDeps(resources, { config }).worker;
    expect(deployed.local).toBe(false);
    expect(deployed.exemptHostPorts).toEqual([]);
    const local = mediaDeps(resources, { config, allowHttp: true, fetchAllow: ['127.0.0.1:9999'] }).worker;
    expect(local.local).toBe(true);
    expect(local.exemptHostPorts).toEqual(['127.0.0.1:9999']);
  });

  it('reads the tunables, and names one that is out of range', () => {
    expect(mediaDeps({ ...resources, CALLVAULT_MEDIA_BACKOFF_BASE_SECONDS: '7' }, { config }).worker.timing.baseSeconds).toBe(7);
    expect(() => mediaDeps({ ...resources, CALLVAULT_MEDIA_PART_SIZE_MIB: '1' }, { config })).toThrow(
      /Environment of the media function: CALLVAULT_MEDIA_PART_SIZE_MIB/,
    );
  });

  it('lets only sources with both an API secret and a base URL refresh expired links', () => {
    const twoSources = parseConfig({
      sources: [
        { id: 'hipcall', provider: 'hipcall', hipcallApiBaseUrl: 'https://use.hipcall.com/api/v3' },
        { id: 'bare', provider: 'hipcall' },
      ],
    });
    const deps = mediaDeps(
      { ...resources, [ENV.hipcallApiSecrets]: '{"hipcall": "arn:1", "bare": "arn:2"}' },
      { config: twoSources },
    ).worker;
    expect(['hipcall', 'bare'].filter((id) => deps.hipcall?.canRefresh(id))).toEqual(['hipcall']);
    const local = mediaDeps(resources, {
      config: twoSources,
      hipcall: { baseUrls: { bare: 'http://127.0.0.1:1/api' }, secrets: { bare: 't' } },
    }).worker;
    expect(['hipcall', 'bare'].filter((id) => local.hipcall?.canRefresh(id))).toEqual(['bare']);
  });
});

describe('insightDeps', () => {
  it('needs the contacts table', () => {
    const { [ENV.contactsTable]: _omitted, ...rest } = resources;
    expect(() => insightDeps(rest, { config })).toThrow(/Environment of the insight function: CONTACTS_TABLE is not set/);
  });

  it("uses the local stack's stand-in Hipcall API over the configured base URL", async () => {
    const withApi = parseConfig({
      sources: [{ id: 'hipcall', provider: 'hipcall', hipcallApiBaseUrl: 'https://use.hipcall.com/api/v3' }],
    });
    expect(insightDeps(resources, { config: withApi }).deps.apiBaseUrls.get('hipcall')).toBe('https://use.hipcall.com/api/v3');
    const local = insightDeps(resources, {
      config: withApi,
      hipcall: { baseUrls: { hipcall: 'http://127.0.0.1:3000/_local/hipcall/api/v3' }, secrets: { hipcall: 'local-token' } },
    }).deps;
    expect(local.apiBaseUrls.get('hipcall')).toBe('http://127.0.0.1:3000/_local/hipcall/api/v3');
    expect(await local.token('hipcall')).toBe('local-token');
  });
});
