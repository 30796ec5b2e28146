/** Failures as the media ports throw them: what kind each is for decideRetry, and the reason of a refused URL. */
import { PermanentError } from '#core/errors.ts';
import type { FailureKind } from './retry.ts';

/**
 * The `code` of the errors MediaFetcher and MediaStore throw (functions/adapters/safe-fetch.ts,
 * media-store.ts): core judges a failure by its code, so it needs no adapter class.
 */
export const MEDIA_ERROR_CODES = {
  refused: 'MEDIA_URL_REFUSED',
  tooLarge: 'MEDIA_TOO_LARGE',
  truncated: 'MEDIA_TRUNCATED',
  storage: 'MEDIA_STORAGE',
} as const;

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', 'ETIMEOUT']);
const RESET_CODES = new Set([
  'UND_ERR_SOCKET',
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_ABORTED',
]);

/** How a failed download or store should be judged by decideRetry (CallVault's own codes, then undici's and node's). */
export function failureKindOf(err: unknown): FailureKind {
  const code = (err as { code?: unknown } | undefined)?.code;
  const name = (err as Error | undefined)?.name ?? '';
  if (code === MEDIA_ERROR_CODES.tooLarge) return 'too-large';
  if (code === MEDIA_ERROR_CODES.truncated) return 'reset';
  if (code === MEDIA_ERROR_CODES.storage) return 'storage';
  if (err instanceof PermanentError) return 'permanent';
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) return 'timeout';
  if (name === 'TimeoutError') return 'timeout';
  if (typeof code === 'string' && RESET_CODES.has(code)) return 'reset';
  return 'network';
}

/** The reason an error says the address rules refused a URL, or undefined when it is another failure. */
export function refusalOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; reason?: unknown } | undefined;
  return e?.code === MEDIA_ERROR_CODES.refused && typeof e.reason === 'string' ? e.reason : undefined;
}
