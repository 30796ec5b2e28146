/**
 * Small JSON-over-HTTP client for the latency-bound calls of the insight worker (Hipcall Insight Card
 * API, the user's CRM): one keep-alive connection pool per cold start, a hard deadline per request,
 * and answers returned (never thrown) so the caller decides what a status means.
 */
import { Agent, request } from 'undici';

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
  readonly agent: Agent;

  constructor(options: { connectTimeoutMs?: number; keepAliveMs?: number; connections?: number } = {}) {
    this.agent = new Agent({
      connect: { timeout: options.connectTimeoutMs ?? 1000 },
      keepAliveTimeout: options.keepAliveMs ?? 30_000,
      keepAliveMaxTimeout: 60_000,
      connections: options.connections ?? 32,
    });
  }

  /** One request with a deadline of `timeoutMs` (also bounded by `abortSignal`). */
  async send(
    url: string,
    init: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; timeoutMs: number; abortSignal?: AbortSignal },
  ): Promise<HttpOutcome> {
    const deadline = AbortSignal.timeout(Math.max(1, Math.floor(init.timeoutMs)));
    const signal = init.abortSignal ? AbortSignal.any([deadline, init.abortSignal]) : deadline;
    try {
      const res = await request(url, {
        method: init.method,
        headers: { accept: 'application/json', ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
        body: init.body,
        dispatcher: this.agent,
        signal,
        headersTimeout: init.timeoutMs,
        bodyTimeout: init.timeoutMs,
      });
      const text = await readCapped(res.body, MAX_BODY);
      let json: unknown;
      const type = String(res.headers['content-type'] ?? '');
      if (text && (type.includes('json') || /^\s*[[{]/.test(text))) {
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
      }
      return { ok: true, answer: { status: res.statusCode, headers: res.headers, json, text: text.slice(0, 4096) } };
    } catch (err) {
      const e = err as Error & { code?: string };
      const reason = deadline.aborted ? `timed out after ${Math.floor(init.timeoutMs)} ms` : init.abortSignal?.aborted ? 'aborted' : (e.code ?? e.name ?? 'error');
      return { ok: false, networkError: reason };
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

async function readCapped(body: AsyncIterable<Buffer | Uint8Array | string> & { destroy?: () => void }, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    size += buf.length;
    if (size > max) {
      body.destroy?.();
      break;
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}
