import { describe, expect, it } from 'vitest';
import { MemoryMetrics } from '#test/support/memory-metrics.ts';
import {
  CARD_RETRY,
  customerNumberOf,
  insightJobOf,
  isClaimable,
  isRetryableStatus,
  redactNumbers,
  retryAfterMs,
  retryDecision,
  stalenessOf,
} from '#core/insight.ts';
import { contactFromCrm, crmUrl } from '#adapters/crm-directory.ts';
import { SECRET_CACHE_MS } from '#adapters/cached-secret.ts';
import { SecretsManagerHipcallApiSecrets, StaticHipcallApiSecrets, parseHipcallApiSecret } from '#adapters/hipcall-api-secrets.ts';
import { parseInsightJob, processInsightJob, type InsightDeps } from '#functions/insight/process.ts';
import type { Contact } from '#core/contact.ts';
import { PermanentError, RetryableError } from '#core/errors.ts';
import type { PostResult } from '#core/insight.ts';
import { normaliseDelivery } from '#core/providers/index.ts';
import type { InsightInfo } from '#core/types.ts';
import { parseConfig } from '#contract/config-schema.ts';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { match } from '#test/support/match.ts';

const NOW = Date.parse('2026-03-01T10:00:30.000Z');
const iso = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();

describe('customerNumberOf', () => {
  const job = { fromNumber: '+442045205757', toNumber: '+441234567890', customerNumber: '+15551234567' };

  it('is the caller on an inbound call and the callee on an outbound call', () => {
    expect(customerNumberOf({ ...job, direction: 'inbound' })).toBe('+442045205757');
    expect(customerNumberOf({ ...job, direction: 'outbound' })).toBe('+441234567890');
  });

  it('is the number the ingest normalised: a national or 00-prefixed number reaches the worker in E.164', () => {
    const viaIngest = (caller: string, defaultCountry: string) => {
      const at = '2026-03-01T10:00:00.000Z';
      const result = normaliseDelivery(
        'hipcall',
        { event: 'call_init', data: { uuid: 'c1', direction: 'inbound', caller_number: caller, callee_number: '1001', started_at: at } },
        { defaultCountry, receivedAt: at },
      );
      if (result.outcome !== 'events') throw new Error(result.outcome);
      return insightJobOf('hipcall', result.events[0]!, at);
    };
    expect(customerNumberOf(viaIngest('020 4520 5757', 'GB'))).toBe('+442045205757');
    expect(customerNumberOf(viaIngest('00442045205757', 'US'))).toBe('+442045205757');
    expect(customerNumberOf(viaIngest('(202) 555-0143', 'US'))).toBe('+12025550143');
    expect(viaIngest('020 4520 5757', 'GB')).toMatchObject({
      source: 'hipcall',
      callId: 'c1',
      direction: 'inbound',
      fromNumber: '+442045205757',
      receivedAt: '2026-03-01T10:00:00.000Z',
    });
  });

  it('has no customer on an internal call, and falls back to customerNumber without a direction', () => {
    expect(customerNumberOf({ ...job, direction: 'internal' })).toBeUndefined();
    expect(customerNumberOf({ ...job, direction: 'unknown' })).toBe('+15551234567');
  });

  it('is undefined for an extension, a withheld number, or anything the ingest kept as sent (not E.164)', () => {
    expect(customerNumberOf({ direction: 'inbound', fromNumber: '1001' })).toBeUndefined();
    expect(customerNumberOf({ direction: 'inbound', fromNumber: 'anonymous' })).toBeUndefined();
    expect(customerNumberOf({ direction: 'inbound' })).toBeUndefined();
    expect(customerNumberOf({ direction: 'inbound', fromNumber: '020 4520 5757' })).toBeUndefined();
    expect(customerNumberOf({ direction: 'inbound', fromNumber: '+0442045205757' })).toBeUndefined();
    expect(customerNumberOf({ direction: 'inbound', fromNumber: '+4420452057571234567' })).toBeUndefined();
  });
});

describe('stalenessOf', () => {
  it('measures from the earlier of occurredAt and receivedAt', () => {
    expect(stalenessOf({ occurredAt: iso(-5000), receivedAt: iso(-1000) }, NOW, 20)).toEqual({
      stale: false,
      ageMs: 5000,
      remainingMs: 15_000,
    });
    expect(stalenessOf({ occurredAt: iso(-1000), receivedAt: iso(-8000) }, NOW, 20).ageMs).toBe(8000);
  });

  it('is stale once the limit has passed', () => {
    expect(stalenessOf({ occurredAt: iso(-20_001), receivedAt: iso(-100) }, NOW, 20)).toMatchObject({ stale: true, remainingMs: 0 });
    expect(stalenessOf({ occurredAt: iso(-19_999), receivedAt: iso(-100) }, NOW, 20).stale).toBe(false);
  });

  it('counts an occurredAt in the future (clock skew) as now', () => {
    expect(stalenessOf({ occurredAt: iso(60_000), receivedAt: iso(60_000) }, NOW, 20)).toEqual({
      stale: false,
      ageMs: 0,
      remainingMs: 20_000,
    });
    expect(stalenessOf({ occurredAt: iso(60_000), receivedAt: iso(-3000) }, NOW, 20).ageMs).toBe(3000);
  });

  it('ignores an unreadable time', () => {
    expect(stalenessOf({ occurredAt: 'yesterday', receivedAt: iso(-2000) }, NOW, 20).ageMs).toBe(2000);
  });
});

describe('retryDecision', () => {
  const half = () => 0.5;
  it('retries 429, 5xx and network errors quickly', () => {
    expect(isRetryableStatus(429)).toBe(true);
    expect(isRetryableStatus(503)).toBe(true);
    expect(retryDecision({ attempt: 1, result: { status: 500 }, remainingMs: 15_000 }, CARD_RETRY, half)).toEqual({
      retry: true,
      delayMs: 75,
    });
    expect(retryDecision({ attempt: 2, result: { networkError: 'ECONNRESET' }, remainingMs: 15_000 }, CARD_RETRY, half)).toEqual({
      retry: true,
      delayMs: 150,
    });
  });

  it('backs off exponentially up to the cap, with jitter between half and all of the backoff', () => {
    expect(retryDecision({ attempt: 5, result: { status: 502 }, remainingMs: 15_000 }, CARD_RETRY, () => 0)).toEqual({
      retry: true,
      delayMs: 500,
    });
    expect(retryDecision({ attempt: 5, result: { status: 502 }, remainingMs: 15_000 }, CARD_RETRY, () => 0.999)).toEqual({
      retry: true,
      delayMs: 1000,
    });
  });

  it('does not retry a success, a 422, a 401 or any other 4xx', () => {
    expect(retryDecision({ attempt: 1, result: { status: 201 }, remainingMs: 15_000 })).toEqual({ retry: false, reason: 'succeeded' });
    for (const status of [400, 401, 403, 404, 422])
      expect(retryDecision({ attempt: 1, result: { status }, remainingMs: 15_000 })).toEqual({ retry: false, reason: 'permanent' });
  });

  it('stops when the staleness budget cannot fit the wait and another attempt', () => {
    expect(retryDecision({ attempt: 1, result: { status: 500 }, remainingMs: 300 }, CARD_RETRY, half)).toEqual({
      retry: false,
      reason: 'budget',
    });
    expect(retryDecision({ attempt: 1, result: { status: 500 }, remainingMs: 400 }, CARD_RETRY, half)).toEqual({
      retry: true,
      delayMs: 75,
    });
  });

  it('stops after the last attempt', () => {
    expect(retryDecision({ attempt: CARD_RETRY.maxAttempts, result: { status: 500 }, remainingMs: 15_000 })).toEqual({
      retry: false,
      reason: 'attempts',
    });
  });

  it('honours a Retry-After that fits in the budget and gives up on one that does not', () => {
    expect(retryDecision({ attempt: 1, result: { status: 429, retryAfterMs: 2000 }, remainingMs: 15_000 }, CARD_RETRY, half)).toEqual({
      retry: true,
      delayMs: 2000,
    });
    expect(retryDecision({ attempt: 1, result: { status: 429, retryAfterMs: 30_000 }, remainingMs: 15_000 })).toEqual({
      retry: false,
      reason: 'budget',
    });
  });
});

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMs('2', NOW)).toBe(2000);
    expect(retryAfterMs(new Date(NOW + 3000).toUTCString(), NOW)).toBe(3000);
    expect(retryAfterMs('soon', NOW)).toBeUndefined();
    expect(retryAfterMs(undefined, NOW)).toBeUndefined();
  });
});

describe('isClaimable', () => {
  it('lets the first delivery claim a call and no later one while the claim is live', () => {
    expect(isClaimable(undefined, NOW, 15_000)).toBe(true);
    expect(isClaimable({ state: 'pending', at: iso(-1000) }, NOW, 15_000)).toBe(false);
  });

  it('lets a delivery take over a claim abandoned longer than the lease', () => {
    expect(isClaimable({ state: 'pending', at: iso(-16_000) }, NOW, 15_000)).toBe(true);
  });

  it('never replaces an outcome', () => {
    for (const state of ['sent', 'no_match', 'failed', 'stale'])
      expect(isClaimable({ state, at: iso(-3_600_000) }, NOW, 15_000)).toBe(false);
  });
});

describe('redactNumbers', () => {
  it('hides anything that looks like a phone number and keeps short ids', () => {
    expect(redactNumbers('no contact for +44 20 4520 5757 (user 1121)')).toBe('no contact for [number] (user 1121)');
    expect(redactNumbers('lookup 00442045205757 failed')).toBe('lookup [number] failed');
  });
});

describe('CRM mapping', () => {
  it('maps the Insight Card guide CRM answer to a contact by dot paths', () => {
    const answer = {
      data: [{ full_name: 'Jane Smith', org: { name: 'Acme Corp' }, balance: '4250.00', owner: 1121, tier: 'Gold', nothing: null }],
    };
    const mapping = {
      name: 'data.0.full_name',
      company: 'data.0.org.name',
      balance: 'data.0.balance',
      owner: 'data.0.owner',
      Tier: 'data.0.tier',
      Missing: 'data.0.nothing',
    };
    expect(contactFromCrm(answer, mapping, '+442045205757')).toEqual({
      phone: '+442045205757',
      name: 'Jane Smith',
      company: 'Acme Corp',
      balance: 4250,
      ownerUserId: 1121,
      extras: { Tier: 'Gold' },
    });
  });

  it('reads a root array as its first element and finds nothing in an empty answer', () => {
    expect(contactFromCrm([{ name: 'A' }], { name: 'name' }, '+1')).toEqual({ phone: '+1', name: 'A' });
    expect(contactFromCrm([], { name: 'name' }, '+1')).toBeUndefined();
    expect(contactFromCrm({ other: 1 }, { name: 'name' }, '+1')).toBeUndefined();
  });

  it('puts the number in the URL encoded', () => {
    expect(crmUrl('https://crm.example.com/lookup?phone={phone}', '+442045205757')).toBe(
      'https://crm.example.com/lookup?phone=%2B442045205757',
    );
  });
});

describe('processInsightJob (fake adapters, fake clock)', () => {
  const config = parseConfig({
    defaultCountry: 'GB',
    sources: [{ id: 'hipcall', provider: 'hipcall', hipcallApiBaseUrl: 'https://use.hipcall.com/api/v3' }],
  });
  const jane: Contact = { phone: '+442045205757', name: 'Jane Smith' };

  function harness(post: (n: number) => PostResult, overrides: Partial<InsightDeps> = {}) {
    let clock = NOW;
    const posts: unknown[] = [];
    const settled: InsightInfo[] = [];
    const deps: InsightDeps = {
      config,
      contacts: { find: (phone) => Promise.resolve(phone === jane.phone ? jane : undefined) },
      claims: {
        claim: () => Promise.resolve(true),
        settle: (_k, _c, info) => {
          settled.push(info);
          return Promise.resolve(true);
        },
      },
      cards: {
        post: (input) => {
          posts.push(input);
          clock += 50;
          return Promise.resolve(post(posts.length));
        },
      },
      token: () => Promise.resolve('tok'),
      apiBaseUrls: new Map([['hipcall', 'https://use.hipcall.com/api/v3']]),
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
      metrics: new MemoryMetrics(),
      now: () => clock,
      sleep: (ms) => {
        clock += ms;
        return Promise.resolve();
      },
      random: () => 0.5,
      ...overrides,
    };
    const job = {
      provider: 'hipcall' as const,
      source: 'hipcall',
      callId: 'c1',
      direction: 'inbound' as const,
      fromNumber: '+442045205757',
      occurredAt: iso(0),
      receivedAt: iso(0),
    };
    return { deps, job, posts, settled };
  }

  it('retries server errors until a 201 and records sent', async () => {
    const { deps, job, posts, settled } = harness((n) => (n < 3 ? { status: 503 } : { status: 201 }));
    expect(await processInsightJob(job, deps)).toEqual({ outcome: 'sent', httpStatus: 201, attempts: 3 });
    expect(posts).toHaveLength(3);
    expect(settled).toEqual([{ state: 'sent', httpStatus: 201, at: match.any(String) }]);
  });

  it("stops retrying at the function's deadline, before the staleness limit", async () => {
    const { deps, job, posts, settled } = harness(() => ({ status: 500, message: 'boom' }));
    expect(await processInsightJob(job, deps, { deadlineMs: NOW + 400 })).toMatchObject({ outcome: 'failed', httpStatus: 500 });
    expect(posts.length).toBeLessThanOrEqual(3);
    expect(settled[0]).toMatchObject({ state: 'failed', error: 'Insight Card API answered 500: boom' });
  });

  it('posts nothing when another delivery holds the claim', async () => {
    const { deps, job, posts } = harness(() => ({ status: 201 }), {
      claims: { claim: () => Promise.resolve(false), settle: () => Promise.resolve(true) },
    });
    expect(await processInsightJob(job, deps)).toEqual({ outcome: 'duplicate' });
    expect(posts).toEqual([]);
  });

  it('records failed, saying what to set, when the token or the base URL is missing', async () => {
    const noToken = harness(() => ({ status: 201 }), {
      token: () => Promise.reject(new Error('No Hipcall API token for source "hipcall"')),
    });
    expect(await processInsightJob(noToken.job, noToken.deps)).toEqual({ outcome: 'failed' });
    expect(noToken.settled[0]!.error).toBe('No Hipcall API token for source "hipcall"');
    const noBase = harness(() => ({ status: 201 }), { apiBaseUrls: new Map() });
    await processInsightJob(noBase.job, noBase.deps);
    expect(noBase.settled[0]!.error).toMatch(/has no hipcallApiBaseUrl: set it/);
    expect(noBase.posts).toEqual([]);
  });

  it('treats a contact with nothing to show as no match', async () => {
    const { deps, job, posts, settled } = harness(() => ({ status: 201 }), {
      contacts: { find: () => Promise.resolve({ phone: '+442045205757' }) },
    });
    expect(await processInsightJob(job, deps)).toEqual({ outcome: 'no_match' });
    expect(posts).toEqual([]);
    expect(settled[0]!.state).toBe('no_match');
  });

  it('records failed when the contacts lookup fails, without the number', async () => {
    const { deps, job, settled } = harness(() => ({ status: 201 }), {
      contacts: { find: async () => Promise.reject(Object.assign(new Error('+442045205757 down'), { name: 'TimeoutError' })) },
    });
    await processInsightJob(job, deps);
    expect(settled[0]).toMatchObject({ state: 'failed', error: 'contacts table lookup failed: TimeoutError' });
  });
});

describe('parseInsightJob', () => {
  it('reads a job and refuses a body that is not one', () => {
    expect(
      parseInsightJob(JSON.stringify({ provider: 'hipcall', source: 's', callId: 'c', receivedAt: iso(0), direction: 'sideways' })),
    ).toMatchObject({ direction: 'unknown', occurredAt: iso(0) });
    expect(() => parseInsightJob('{')).toThrow(/not JSON/);
    expect(() => parseInsightJob(JSON.stringify({ provider: 'hipcall' }))).toThrow(/lacks/);
  });
});

describe('SecretsManagerHipcallApiSecrets', () => {
  const fakeClient = (answers: (() => unknown)[]) => {
    const calls: unknown[] = [];
    return {
      calls,
      client: {
        send: (command: { input: unknown }) => {
          calls.push(command.input);
          const answer = answers[Math.min(calls.length - 1, answers.length - 1)]!();
          return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
        },
      } as unknown as SecretsManagerClient,
    };
  };

  it('reads {"token"} (or a bare token) once and caches it for five minutes', async () => {
    let t = 0;
    const { client, calls } = fakeClient([
      () => ({ SecretString: '{"token":"abc","crmAuthorization":"Bearer x"}' }),
      () => ({ SecretString: 'rotated' }),
    ]);
    const secrets = new SecretsManagerHipcallApiSecrets({ secretArns: { hipcall: 'arn:1' }, client, now: () => t });
    expect(await secrets.get('hipcall')).toEqual({ token: 'abc', crmAuthorization: 'Bearer x' });
    expect(await secrets.token('hipcall')).toBe('abc');
    expect(calls).toHaveLength(1);
    t += SECRET_CACHE_MS + 1;
    expect(await secrets.token('hipcall')).toBe('rotated');
  });

  it('does not cache a failure, and says how to fix an empty secret', async () => {
    const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
    const { client } = fakeClient([() => throttled, () => ({ SecretString: '{"token":""}' })]);
    const secrets = new SecretsManagerHipcallApiSecrets({ secretArns: { hipcall: 'arn:1' }, client });
    await expect(secrets.token('hipcall')).rejects.toBeInstanceOf(RetryableError);
    await expect(secrets.token('hipcall')).rejects.toThrow(/set its value to \{"token": "<your Hipcall API token>"\}/);
    await expect(secrets.token('other')).rejects.toBeInstanceOf(PermanentError);
  });

  it('serves the local stack its fixed tokens, and refuses a source it has none for', async () => {
    const secrets = new StaticHipcallApiSecrets({ hipcall: 'local-token', crm: { token: 't', crmAuthorization: 'k' }, blank: '  ' });
    expect(await secrets.token('hipcall')).toBe('local-token');
    expect((await secrets.get('crm')).crmAuthorization).toBe('k');
    await expect(secrets.token('blank')).rejects.toBeInstanceOf(PermanentError);
    expect(parseHipcallApiSecret('  ')).toBeUndefined();
  });
});
