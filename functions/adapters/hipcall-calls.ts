/**
 * Hipcall's calls API for reconciliation: `GET {apiBaseUrl}/calls?started_at[gte]=…&started_at[lte]=…&limit=100&offset=…`
 * paged to the end, and `GET {apiBaseUrl}/calls/{uuid}` for one call with a fresh `record_url`.
 * Base URL and token come from the same per-source settings the insight and media functions use
 * (hipcall-access.ts). 429 and 5xx are retried a bounded number of times, honouring Retry-After.
 */
import { closePools, discard, httpPools, readText, send } from './node-http.ts';
import { PermanentError, RetryableError } from '#core/errors.ts';
import { retryAfterMs } from '#core/insight.ts';
import type { HipcallCalls } from '#core/ports/hipcall-calls.ts';
import { HIPCALL_PAGE_LIMIT, backoffMs, callOfAnswer, callsOfPage, type ReconcileWindow } from '#core/reconcile.ts';

/** A page of 100 calls with their call flows stays well under this. */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/** Pages past this many mean the API ignores `offset`: stop rather than loop forever. */
const MAX_PAGES = 10_000;

export interface HipcallCallsClientOptions {
  /** The source's API base URL, e.g. https://use.hipcall.com/api/v3 (undefined: the source has none). */
  baseUrlFor: (sourceId: string) => string | undefined;
  /** The source's bearer token. */
  tokenFor: (sourceId: string, signal?: AbortSignal) => Promise<string>;
  /** Per-request deadline. @default 15000 */
  timeoutMs?: number;
  /** Attempts per request when the API answers 429/5xx or cannot be reached. @default 5 */
  maxAttempts?: number;
  /** First backoff (doubles per attempt) and the longest wait, Retry-After included. @default 1000, 30000 */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Page size (1-100). @default 100 */
  limit?: number;
  /** How a backoff waits (tests pass one that records and returns at once). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason as Error)), { once: true });
  });

export class HipcallCallsClient implements HipcallCalls {
  private readonly pools = httpPools({ maxSockets: 4, keepAliveMs: 30_000 });

  constructor(private readonly options: HipcallCallsClientOptions) {}

  async *list(sourceId: string, window: ReconcileWindow, signal?: AbortSignal): AsyncIterable<unknown[]> {
    const base = this.baseOf(sourceId);
    const limit = Math.min(HIPCALL_PAGE_LIMIT, Math.max(1, this.options.limit ?? HIPCALL_PAGE_LIMIT));
    const seen = new Set<string>();
    for (let page = 0, offset = 0; page < MAX_PAGES; page++, offset += limit) {
      const query = new URLSearchParams({
        'started_at[gte]': window.since,
        'started_at[lte]': window.until,
        limit: String(limit),
        offset: String(offset),
      });
      const items = callsOfPage(await this.getJson(sourceId, `${base}/calls?${query.toString()}`, signal));
      // A server that ignores offset sends the first page again: nothing new means the end.
      const ids = items.map((c) => {
        const uuid = c && typeof c === 'object' ? (c as { uuid?: unknown }).uuid : undefined;
        return typeof uuid === 'string' || typeof uuid === 'number' ? String(uuid) : '';
      });
      if (items.length > 0 && ids.every((id) => id && seen.has(id))) return;
      for (const id of ids) if (id) seen.add(id);
      if (items.length > 0) yield items;
      if (items.length < limit) return;
    }
  }

  async get(sourceId: string, uuid: string, signal?: AbortSignal): Promise<Record<string, unknown> | undefined> {
    const answer = await this.getJson(sourceId, `${this.baseOf(sourceId)}/calls/${encodeURIComponent(uuid)}`, signal, { notFound: true });
    return answer === undefined ? undefined : callOfAnswer(answer);
  }

  close(): Promise<void> {
    closePools(this.pools);
    return Promise.resolve();
  }

  private baseOf(sourceId: string): string {
    const base = this.options.baseUrlFor(sourceId);
    if (!base)
      throw new PermanentError(
        `Source "${sourceId}" has no Hipcall API base URL: set "hipcallApiBaseUrl" on it in the callvault config (e.g. https://use.hipcall.com/api/v3).`,
      );
    return base.replace(/\/+$/, '');
  }

  /** One GET, retried on 429/5xx/network errors; undefined for a 404 when `notFound` is allowed. */
  private async getJson(
    sourceId: string,
    url: string,
    signal: AbortSignal | undefined,
    opts: { notFound?: boolean } = {},
  ): Promise<unknown> {
    const maxAttempts = this.options.maxAttempts ?? 5;
    const policy = { baseMs: this.options.baseDelayMs ?? 1000, maxMs: this.options.maxDelayMs ?? 30_000 };
    const sleep = this.options.sleep ?? defaultSleep;
    const token = await this.options.tokenFor(sourceId, signal);
    let last = '';
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      let retryAfter: number | undefined;
      const timeoutMs = this.options.timeoutMs ?? 15_000;
      const deadline = AbortSignal.timeout(timeoutMs);
      try {
        const res = await send(new URL(url), {
          method: 'GET',
          headers: { authorization: `Bearer ${token}`, accept: 'application/json', 'user-agent': 'CallVault-reconcile/1' },
          pools: this.pools,
          signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
          connectTimeoutMs: Math.min(5000, timeoutMs),
          headersTimeoutMs: timeoutMs,
        });
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          const { text, truncated } = await readText(res, MAX_ANSWER_BYTES);
          if (truncated) throw new RetryableError(`A Hipcall API answer was larger than ${MAX_ANSWER_BYTES} bytes.`);
          return parseJson(text, url);
        }
        discard(res);
        if (status === 404 && opts.notFound) return undefined;
        if (status === 401 || status === 403) {
          throw new PermanentError(
            `The Hipcall API refused the token of source "${sourceId}" (${status}): put a valid API token in the source's Hipcall API secret.`,
          );
        }
        if (status !== 429 && status < 500)
          throw new PermanentError(`The Hipcall API answered ${status} to GET ${pathOf(url)}: check the source's hipcallApiBaseUrl.`);
        const header = res.headers['retry-after'];
        retryAfter = retryAfterMs(typeof header === 'string' ? header : undefined, (this.options.now ?? Date.now)());
        last = `answered ${status}`;
      } catch (err) {
        if (err instanceof PermanentError || signal?.aborted) throw err;
        last = deadline.aborted ? 'timed out' : ((err as { code?: string }).code ?? (err as Error).name);
      }
      if (attempt + 1 < maxAttempts) await sleep(backoffMs(attempt, retryAfter, policy), signal);
    }
    throw new RetryableError(`The Hipcall API ${last} to GET ${pathOf(url)} ${maxAttempts} times; try again later.`);
  }
}

/** The URL's path and query without the host, for messages (no token is ever in a URL). */
const pathOf = (url: string): string => {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
};

function parseJson(text: string, url: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new RetryableError(`The Hipcall API's answer to GET ${pathOf(url)} is not JSON.`);
  }
}
