/**
 * Secrets read through a cache, one entry per key (a source id): rotations are picked up within the TTL
 * without a cold start, and a Secrets Manager hiccup never refuses deliveries that a cached value can serve.
 */

/** How long a secret is served before it is read again. */
export const SECRET_CACHE_MS = 5 * 60_000;

export interface SecretCacheOptions<T> {
  /** Reads the value afresh; throws when it cannot be read. */
  load: (key: string, abortSignal?: AbortSignal) => Promise<T>;
  /** How long a value is served: SECRET_CACHE_MS unless it says (e.g. a secret not put yet is re-read sooner). */
  ttlMs?: (value: T) => number;
  now?: () => number;
}

/**
 * A value is served until its TTL runs out, then read again; concurrent reads of one key share one request.
 * When a refresh fails, the last value is served (and the next read tries again); with none, the failure is thrown.
 */
export class SecretCache<T> {
  private readonly held = new Map<string, { value: T; expires: number }>();
  private readonly loading = new Map<string, Promise<T>>();

  constructor(private readonly options: SecretCacheOptions<T>) {}

  get(key: string, abortSignal?: AbortSignal): Promise<T> {
    const entry = this.held.get(key);
    if (entry && this.now() < entry.expires) return Promise.resolve(entry.value);
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.refresh(key, abortSignal).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  private async refresh(key: string, abortSignal: AbortSignal | undefined): Promise<T> {
    try {
      const value = await this.options.load(key, abortSignal);
      this.held.set(key, { value, expires: this.now() + (this.options.ttlMs?.(value) ?? SECRET_CACHE_MS) });
      return value;
    } catch (err) {
      const entry = this.held.get(key);
      if (entry) return entry.value;
      throw err;
    }
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}
