/**
 * Hipcall's Insight Card API: `POST {apiBaseUrl}/calls/{uuid}/cards` with the source's bearer token.
 * One attempt per call; the retry policy is the worker's (core/insight.ts). The API's own message is
 * returned so a 422 or 401 can be logged with what the API said.
 */
import type { CallVaultConfig } from '#contract/config.ts';
import { retryAfterMs, type PostResult } from '#core/insight.ts';
import type { CardPost, CardSink } from '#core/ports/card-sink.ts';
import { JsonHttp } from './json-http.ts';

/** What the Insight Card API answered; the network failure kind when it did not. */
export type CardPostResult = PostResult;

/** A readable message from an API error body: `message`, `error`, `errors` or the text itself. */
export function apiMessage(json: unknown, text: string): string | undefined {
  const limit = (s: string) => (s.length > 500 ? `${s.slice(0, 500)}…` : s);
  if (json && typeof json === 'object') {
    const o = json as Record<string, unknown>;
    for (const key of ['message', 'error', 'errors', 'detail', 'error_description']) {
      const v = o[key];
      if (typeof v === 'string' && v) return limit(v);
      if (v && typeof v === 'object') {
        const nested = (v as Record<string, unknown>).message;
        return limit(typeof nested === 'string' ? nested : JSON.stringify(v));
      }
    }
  }
  const t = text.trim();
  return t ? limit(t) : undefined;
}

/** The card endpoint for a call. */
export function cardsUrl(baseUrl: string, callId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/calls/${encodeURIComponent(callId)}/cards`;
}

export class HipcallCardSink implements CardSink {
  constructor(private readonly http: JsonHttp = new JsonHttp()) {}

  async post(input: CardPost): Promise<CardPostResult> {
    const out = await this.http.send(cardsUrl(input.baseUrl, input.callId), {
      method: 'POST',
      headers: { authorization: `Bearer ${input.token}` },
      body: JSON.stringify({ card: input.card }),
      timeoutMs: input.timeoutMs,
      abortSignal: input.abortSignal,
    });
    if (!out.ok) return { networkError: out.networkError };
    const { status, json, text, headers } = out.answer;
    const result: CardPostResult = { status };
    if (status >= 300) {
      const message = apiMessage(json, text);
      if (message) result.message = message;
      const after = retryAfterMs(typeof headers['retry-after'] === 'string' ? headers['retry-after'] : undefined, Date.now());
      if (after !== undefined) result.retryAfterMs = after;
    }
    return result;
  }
}

/**
 * The Hipcall API base URL of each source: the source's `hipcallApiBaseUrl`, replaced by `overrides`
 * (the local stack passes its stand-in API's URL for every Hipcall source).
 */
export function hipcallApiBaseUrls(config: CallVaultConfig, overrides: Readonly<Record<string, string>> = {}): Map<string, string> {
  const urls = new Map<string, string>();
  for (const s of config.sources) if (s.hipcallApiBaseUrl) urls.set(s.id, s.hipcallApiBaseUrl);
  for (const [id, url] of Object.entries(overrides)) if (url) urls.set(id, url);
  return urls;
}
