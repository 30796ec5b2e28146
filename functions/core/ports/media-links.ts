/** The MediaLinks port: a fresh link for an expired one (adapter: adapters/hipcall-media-links.ts, HipcallMediaLinks). */
import type { MediaKind } from '#core/types.ts';

/** A fresh media link for a call whose pre-signed URL has expired (the Hipcall API). */
export interface MediaLinks {
  /** True when the source has an API token and base URL to ask with. */
  canRefresh(sourceId: string): boolean;
  freshMediaUrl(sourceId: string, callId: string, media: MediaKind, signal?: AbortSignal): Promise<string | undefined>;
}
