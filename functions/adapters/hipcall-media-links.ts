/**
 * The one Hipcall API call the media worker makes: `GET {apiBaseUrl}/calls/{uuid}`, whose answer carries
 * a fresh pre-signed `record_url` (and `voicemail_url`) when the one from the webhook has expired.
 * The base URL is the source's configured `hipcallApiBaseUrl` (a trusted, https-only setting), so this
 * is an ordinary client, not safe fetch; the URL it returns goes through safe fetch like any other.
 */
import { discard, httpPools, readText, send } from './node-http.ts';
import { PermanentError, RetryableError } from '#core/errors.ts';
import type { MediaLinks } from '#core/ports/media-links.ts';
import type { MediaKind } from '#core/types.ts';

/** Largest API answer read (a call record is a few KB). */
const MAX_ANSWER_BYTES = 1024 * 1024;

export interface HipcallMediaLinksOptions {
  /** The source's API base URL, e.g. https://use.hipcall.com/api/v3 (undefined: the source has none). */
  baseUrlFor: (sourceId: string) => string | undefined;
  /** The source's bearer token (see hipcall-api-secrets.ts). */
  tokenFor: (sourceId: string, signal?: AbortSignal) => Promise<string>;
  /** @default 5000 */
  timeoutMs?: number;
}

const FIELD: Partial<Record<MediaKind, string>> = { recording: 'record_url', voicemail: 'voicemail_url' };

/** The media URL field of a `GET /calls/{uuid}` answer: top level, under `data`, or under `data.call`. */
export function mediaUrlFromCall(answer: unknown, media: MediaKind): string | undefined {
  const field = FIELD[media];
  if (!field) return undefined;
  const candidates = [answer, (answer as { data?: unknown })?.data, (answer as { data?: { call?: unknown } })?.data?.call];
  for (const c of candidates) {
    const v = c && typeof c === 'object' ? (c as Record<string, unknown>)[field] : undefined;
    if (typeof v === 'string' && v.trim()) return v.trim();
  }
  return undefined;
}

export class HipcallMediaLinks implements MediaLinks {
  private readonly pools = httpPools({ maxSockets: 4, keepAliveMs: 4_000 });

  constructor(private readonly options: HipcallMediaLinksOptions) {}

  /** True when the source has an API base URL, so a fresh URL can be asked for. */
  canRefresh(sourceId: string): boolean {
    return Boolean(this.options.baseUrlFor(sourceId));
  }

  /**
   * A fresh URL for the call's recording or voicemail, or undefined when Hipcall has none (or does not
   * know the call). RetryableError when the API is unreachable or failing; PermanentError when it
   * refuses the token.
   */
  async freshMediaUrl(sourceId: string, callId: string, media: MediaKind, signal?: AbortSignal): Promise<string | undefined> {
    const base = this.options.baseUrlFor(sourceId);
    if (!base || !FIELD[media]) return undefined;
    const token = await this.options.tokenFor(sourceId, signal);
    const timeoutMs = this.options.timeoutMs ?? 5000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const url = `${base.replace(/\/+$/, '')}/calls/${encodeURIComponent(callId)}`;
    let res;
    try {
      res = await send(new URL(url), {
        method: 'GET',
        headers: { authorization: `Bearer ${token}`, accept: 'application/json', 'user-agent': 'CallVault-media/1' },
        pools: this.pools,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        connectTimeoutMs: timeoutMs,
        headersTimeoutMs: timeoutMs,
      });
    } catch (err) {
      throw new RetryableError(`the Hipcall API could not be reached (${(err as Error).name})`, { cause: err });
    }
    const status = res.statusCode ?? 0;
    if (status === 404) {
      discard(res);
      return undefined;
    }
    if (status === 401 || status === 403) {
      discard(res);
      throw new PermanentError(
        `the Hipcall API refused the token of source "${sourceId}" (${status}): update the source's API token secret`,
      );
    }
    if (status < 200 || status >= 300) {
      discard(res);
      throw new RetryableError(`the Hipcall API answered ${status}`);
    }
    let answer;
    try {
      answer = await readText(res, MAX_ANSWER_BYTES);
    } catch (err) {
      throw new RetryableError(`the Hipcall API answer could not be read (${(err as Error).name})`, { cause: err });
    }
    if (answer.truncated) throw new RetryableError('the Hipcall API answer is too large');
    try {
      return mediaUrlFromCall(JSON.parse(answer.text), media);
    } catch (err) {
      throw new RetryableError(`the Hipcall API answer could not be read (${(err as Error).name})`, { cause: err });
    }
  }
}
