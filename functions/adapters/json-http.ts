/**
 * Small JSON-over-HTTP client for the latency-bound calls of the insight worker (Hipcall Insight Card
 * API, the user's CRM): one keep-alive connection pool per cold start, a hard deadline per request,
 * and answers returned (never thrown) so the caller decides what a status means.
 */
import { closePools, httpPools, readText, send, type HttpPools } from './node-http.ts';

export interface JsonAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body parsed as JSON, when it is JSON. */
  json?: unknown;
  /** The body as text (first 4 KiB). */
  text: string;
}

export type HttpOutcome = { ok: true; answer: JsonAnswer } | { ok: false; networkError: string };

/** Largest answer body read: error messages and CRM records are small. */
const MAX_BODY = 256 * 1024;

export class JsonHttp {
  private readonly pools: HttpPools;
  private readonly connectTimeoutMs: number;

  constructor(options: { connectTimeoutMs?: number; keepAliveMs?: number; connections?: number } = {}) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 1000;
    this.pools = httpPools({ maxSockets: options.connections ?? 32, keepAliveMs: options.keepAliveMs ?? 30_000 });
  }

  /** One request with a deadline of `timeoutMs` (also bounded by `abortSignal`). */
  async send(
    url: string,
    init: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; timeoutMs: number; abortSignal?: AbortSignal },
  ): Promise<HttpOutcome> {
    const deadline = AbortSignal.timeout(Math.max(1, Math.floor(init.timeoutMs)));
    const signal = init.abortSignal ? AbortSignal.any([deadline, init.abortSignal]) : deadline;
    try {
      const res = await send(new URL(url), {
        method: init.method,
        headers: {
          accept: 'application/json',
          ...(init.body !== undefined
            ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(init.body)) }
            : {}),
          ...init.headers,
        },
        body: init.body,
        pools: this.pools,
        signal,
        connectTimeoutMs: Math.min(this.connectTimeoutMs, init.timeoutMs),
        headersTimeoutMs: init.timeoutMs,
      });
      const { text } = await readText(res, MAX_BODY);
      let json: unknown;
      const type = String(res.headers['content-type'] ?? '');
      if (text && (type.includes('json') || /^\s*[[{]/.test(text))) {
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
      }
      return { ok: true, answer: { status: res.statusCode ?? 0, headers: res.headers, json, text: text.slice(0, 4096) } };
    } catch (err) {
      const e = err as Error & { code?: string };
      const reason = deadline.aborted
        ? `timed out after ${Math.floor(init.timeoutMs)} ms`
        : init.abortSignal?.aborted
          ? 'aborted'
          : (e.code ?? e.name ?? 'error');
      return { ok: false, networkError: reason };
    }
  }

  close(): Promise<void> {
    closePools(this.pools);
    return Promise.resolve();
  }
}
