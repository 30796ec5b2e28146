/** The MediaFetcher port: where recordings come from (adapter: adapters/safe-fetch.ts, SafeMediaFetcher). */
import type { Readable } from 'node:stream';
import type { SafeFetchPolicy } from '#core/address-policy.ts';

export interface MediaRequest {
  policy: SafeFetchPolicy;
  /** Largest body accepted; enforced on Content-Length and while streaming. */
  maxBytes: number;
  maxRedirects?: number;
  signal?: AbortSignal;
}

/** A response whose status is final (no more redirects). The caller must consume or destroy `body`. */
export interface MediaResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  contentType?: string;
  contentLength?: number;
  /** The URL that answered (after redirects). */
  url: URL;
  redirects: number;
  body: Readable;
}

/** Where recordings come from: a fetch that applies the address rules at connect time. */
export interface MediaFetcher {
  get(url: string, request: MediaRequest): Promise<MediaResponse>;
}
