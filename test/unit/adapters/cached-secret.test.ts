/** The secret cache the three Secrets Manager adapters share: TTL, a shorter one per value, and the last value kept through a failed refresh. */
import { describe, expect, it } from 'vitest';
import { SECRET_CACHE_MS, SecretCache } from '#adapters/cached-secret.ts';

/** A store whose next answers are scripted: a value, or an Error to throw; every read is recorded. */
function scripted(answers: (string | Error)[]) {
  const reads: string[] = [];
  const load = (key: string): Promise<string> => {
    reads.push(key);
    const next = answers.shift();
    if (next === undefined) throw new Error('no more answers scripted');
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  };
  return { reads, load };
}

describe('SecretCache', () => {
  it('serves a value for five minutes, then reads it again', async () => {
    const clock = { now: 0 };
    const store = scripted(['first', 'rotated']);
    const cache = new SecretCache({ load: store.load, now: () => clock.now });
    expect(await cache.get('hipcall')).toBe('first');
    clock.now = SECRET_CACHE_MS - 1;
    expect(await cache.get('hipcall')).toBe('first');
    expect(store.reads).toEqual(['hipcall']);
    clock.now = SECRET_CACHE_MS;
    expect(await cache.get('hipcall')).toBe('rotated');
    expect(store.reads).toEqual(['hipcall', 'hipcall']);
  });

  it('keeps each key apart', async () => {
    const store = scripted(['a-secret', 'b-secret']);
    const cache = new SecretCache({ load: store.load, now: () => 0 });
    expect([await cache.get('a'), await cache.get('b'), await cache.get('a')]).toEqual(['a-secret', 'b-secret', 'a-secret']);
    expect(store.reads).toEqual(['a', 'b']);
  });

  it('serves a value its ttlMs says is short-lived (a secret not put yet) only that long', async () => {
    const clock = { now: 0 };
    const store = scripted(['unset', 'whsec_put']);
    const cache = new SecretCache({ load: store.load, ttlMs: (v) => (v === 'unset' ? 30_000 : SECRET_CACHE_MS), now: () => clock.now });
    expect(await cache.get('signed')).toBe('unset');
    clock.now = 29_999;
    expect(await cache.get('signed')).toBe('unset');
    clock.now = 30_000;
    expect(await cache.get('signed')).toBe('whsec_put');
    clock.now = 30_000 + SECRET_CACHE_MS - 1;
    expect(await cache.get('signed')).toBe('whsec_put');
    expect(store.reads).toHaveLength(2);
  });

  it('keeps serving the last value when a refresh fails, and tries again on the next read', async () => {
    const clock = { now: 0 };
    const outage = Object.assign(new Error('Secrets Manager is down'), { name: 'InternalServiceError' });
    const store = scripted(['first', outage, outage, 'rotated']);
    const cache = new SecretCache({ load: store.load, now: () => clock.now });
    expect(await cache.get('hipcall')).toBe('first');
    clock.now = 10 * 60_000;
    expect(await cache.get('hipcall')).toBe('first');
    expect(await cache.get('hipcall')).toBe('first');
    expect(await cache.get('hipcall')).toBe('rotated');
    expect(store.reads).toHaveLength(4);
  });

  it('throws a failure when it holds no value, and caches nothing for it', async () => {
    const outage = Object.assign(new Error('Secrets Manager is down'), { name: 'InternalServiceError' });
    const store = scripted([outage, 'first']);
    const cache = new SecretCache({ load: store.load, now: () => 0 });
    await expect(cache.get('hipcall')).rejects.toBe(outage);
    expect(await cache.get('hipcall')).toBe('first');
    expect(store.reads).toHaveLength(2);
  });

  it('shares one read among concurrent gets of a key', async () => {
    const store = scripted(['first']);
    const cache = new SecretCache({ load: store.load, now: () => 0 });
    expect(await Promise.all([cache.get('hipcall'), cache.get('hipcall'), cache.get('hipcall')])).toEqual(['first', 'first', 'first']);
    expect(store.reads).toEqual(['hipcall']);
  });
});
