/**
 * The one Hipcall API call the media worker makes: `GET {apiBaseUrl}/calls/{uuid}`, whose answer carries
 * a fresh pre-signed `record_url` (and `voicemail_url`) when the one from the webhook has expired.
 * The base URL is the source's configured `hipcallApiBaseUrl` (a trusted, https-only setting), so this
 * is an ordinary client, not safe fetch; the URL it returns goes through safe fetch like any other.
 */
import { request } from 'undici';
import { PermanentError, RetryableError } from '#core/errors.ts';
import type { MediaLinks } from '#core/ports.ts';
import type { MediaKind } from '#core/types.ts';

/** Largest API answer read (a call record is a few KB). */
const MAX_ANSWER_BYTES = 1024 * 1024;

export interface HipcallCallsApiOptions {
  /** The source's API base URL, e.g. https://use.hipcall.com/api/v3 (undefined: the source has none). */
  baseUrlFor: (sourceId: string) => string | undefined;
  /** The source's bearer token (see secrets.ts). */
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

export class HipcallCallsApi implements MediaLinks {
  constructor(private readonly options: HipcallCallsApiOptions) {}

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
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 5000);
    const url = `${base.replace(/\/+$/, '')}/calls/${encodeURIComponent(callId)}`;
    let res;
    try {
      res = await request(url, {
        method: 'GET',
        headers: { authorization: `Bearer ${token}`, accept: 'application/json', 'user-agent': 'CallVault-media/1' },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      throw new RetryableError(`the Hipcall API could not be reached (${(err as Error).name})`, { cause: err });
    }
    if (res.statusCode === 404) {
      await res.body.dump();
      return undefined;
    }
    if (res.statusCode === 401 || res.statusCode === 403) {
      await res.body.dump();
      throw new PermanentError(`the Hipcall API refused the token of source "${sourceId}" (${res.statusCode}): update the source's API token secret`);
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      await res.body.dump();
      throw new RetryableError(`the Hipcall API answered ${res.statusCode}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body) {
        chunks.push(chunk as Buffer);
        size += (chunk as Buffer).length;
        if (size > MAX_ANSWER_BYTES) {
          res.body.destroy();
          throw new RetryableError('the Hipcall API answer is too large');
        }
      }
      return mediaUrlFromCall(JSON.parse(Buffer.concat(chunks).toString('utf8')), media);
    } catch (err) {
      if (err instanceof RetryableError) throw err;
      throw new RetryableError(`the Hipcall API answer could not be read (${(err as Error).name})`, { cause: err });
    }
  }
}
