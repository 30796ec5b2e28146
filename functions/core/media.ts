/**
 * The media pipeline's pure rules: what a stored file is called (extension from the content type, then
 * the URL path), when a pre-signed link expires, and what to do after a failed download: retry later,
 * give up as `expired`, or give up as `failed`.
 */
import { PermanentError } from './errors.ts';
import type { MediaKind } from './types.ts';

/**
 * Environment the media function runs with (set by the CDK construct; the benchmark's worker gets it too).
 * glibc raises its mmap threshold each time a large block is freed, so after the first 8 MiB part buffer
 * every later one comes from the main heap, which fragments and keeps RSS creeping up through a long
 * upload; a fixed 128 KiB threshold keeps large buffers mmapped and returned to the OS as soon as freed
 * (bench/media.ts: about 20 MiB less peak RSS on a 1 GiB upload).
 */
export const MEDIA_FUNCTION_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };

/** SQS's longest visibility timeout (12 h): a retry can never be scheduled further out than this. */
export const SQS_MAX_VISIBILITY_SECONDS = 12 * 60 * 60;

const EXT_BY_TYPE: Record<string, string> = {
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/mpeg3': 'mp3',
  'audio/x-mpeg-3': 'mp3',
  'audio/x-mp3': 'mp3',
  'audio/ogg': 'ogg',
  'audio/vorbis': 'ogg',
  'application/ogg': 'ogg',
  'audio/opus': 'opus',
  'audio/wav': 'wav',
  'audio/wave': 'wav',
  'audio/x-wav': 'wav',
  'audio/vnd.wave': 'wav',
  'audio/x-pn-wav': 'wav',
  'audio/mp4': 'm4a',
  'audio/m4a': 'm4a',
  'audio/x-m4a': 'm4a',
  'audio/aac': 'aac',
  'audio/x-aac': 'aac',
  'audio/webm': 'webm',
  'audio/flac': 'flac',
  'audio/x-flac': 'flac',
  'audio/amr': 'amr',
  'audio/3gpp': '3gp',
  'audio/gsm': 'gsm',
  'audio/basic': 'au',
  'video/mp4': 'mp4',
  'video/webm': 'webm',
  'application/json': 'json',
  'text/json': 'json',
  'text/plain': 'txt',
  'text/vtt': 'vtt',
  'application/x-subrip': 'srt',
  'text/csv': 'csv',
};

/** The content type an extension is stored with when the server sent none (or only a generic one). */
const TYPE_BY_EXT: Record<string, string> = {
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/opus',
  wav: 'audio/wav',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  webm: 'audio/webm',
  flac: 'audio/flac',
  amr: 'audio/amr',
  '3gp': 'audio/3gpp',
  gsm: 'audio/gsm',
  au: 'audio/basic',
  mp4: 'video/mp4',
  json: 'application/json',
  txt: 'text/plain',
  vtt: 'text/vtt',
  srt: 'application/x-subrip',
  csv: 'text/csv',
  bin: 'application/octet-stream',
};

/** `type/subtype` in lower case without parameters, or undefined when the header is absent or malformed. */
export function normaliseContentType(header: string | undefined | null): string | undefined {
  const t = (header ?? '').split(';')[0]!.trim().toLowerCase();
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(t) ? t : undefined;
}

/** The extension of the URL's last path segment, when it is one CallVault knows. */
export function extensionFromUrl(url: string | URL | undefined): string | undefined {
  if (!url) return undefined;
  let path: string;
  try {
    path = (typeof url === 'string' ? new URL(url) : url).pathname;
  } catch {
    return undefined;
  }
  const last = decodeURIComponentSafe(path.split('/').pop() ?? '');
  const m = /\.([a-z0-9]{1,5})$/i.exec(last);
  const ext = m?.[1]?.toLowerCase();
  return ext && ext in TYPE_BY_EXT && ext !== 'bin' ? ext : undefined;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * The stored file's extension: from the content type, then the URL path (first the final URL after
 * redirects, then the one the provider sent), else `json` for a transcript and `bin` for audio.
 */
export function mediaExtension(contentType: string | undefined, urls: (string | URL | undefined)[], media: MediaKind): string {
  const type = normaliseContentType(contentType);
  const fromType = type ? EXT_BY_TYPE[type] : undefined;
  if (fromType) return fromType;
  for (const u of urls) {
    const fromUrl = extensionFromUrl(u);
    if (fromUrl) return fromUrl;
  }
  return media === 'transcript' ? 'json' : 'bin';
}

/** The content type to store: the server's, unless it sent none or a generic one, then the extension's. */
export function storedContentType(contentType: string | undefined, ext: string): string {
  const type = normaliseContentType(contentType);
  if (type && type !== 'application/octet-stream' && type !== 'binary/octet-stream') return type;
  return TYPE_BY_EXT[ext] ?? 'application/octet-stream';
}

/**
 * When a pre-signed link stops working, if the URL says: SigV4 (`X-Amz-Date` + `X-Amz-Expires`),
 * Google (`X-Goog-Date` + `X-Goog-Expires`) or SigV2/CloudFront (`Expires`, epoch seconds). Epoch ms.
 */
export function linkExpiresAt(url: string | URL): number | undefined {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return undefined;
  }
  const q = new Map([...u.searchParams].map(([k, v]) => [k.toLowerCase(), v]));
  for (const prefix of ['x-amz-', 'x-goog-']) {
    const date = q.get(`${prefix}date`);
    const expires = q.get(`${prefix}expires`);
    if (date && expires && /^\d{8}T\d{6}Z$/.test(date) && /^\d+$/.test(expires)) {
      const start = Date.UTC(
        +date.slice(0, 4),
        +date.slice(4, 6) - 1,
        +date.slice(6, 8),
        +date.slice(9, 11),
        +date.slice(11, 13),
        +date.slice(13, 15),
      );
      return start + Number(expires) * 1000;
    }
  }
  const epoch = q.get('expires');
  if (epoch && /^\d{9,11}$/.test(epoch)) return Number(epoch) * 1000;
  return undefined;
}

/** A URL as logs may show it: host and path, never the query (pre-signed signatures) or credentials. */
export function urlForLog(url: string | URL | undefined): string {
  if (!url) return '';
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    const path = u.pathname.length > 120 ? `${u.pathname.slice(0, 117)}...` : u.pathname;
    return `${u.host}${path}`;
  } catch {
    return '(invalid URL)';
  }
}

// ---------------------------------------------------------------------------------------------
// Retries

/** How retries are spaced. Every field is overridable (tests shrink them to seconds). */
export interface RetryTiming {
  /** How long after the job was queued a 403/404/410 still means "not uploaded yet". */
  notYetWindowSeconds: number;
  /** First delay for a "not uploaded yet" retry; doubles per attempt. */
  notYetBaseSeconds: number;
  /** First delay for any other retry (5xx, timeout, reset, storage); doubles per attempt. */
  baseSeconds: number;
  /** No delay is longer than this (never more than SQS's 12 h). */
  maxDelaySeconds: number;
}

export const DEFAULT_RETRY_TIMING: RetryTiming = {
  notYetWindowSeconds: 300,
  notYetBaseSeconds: 15,
  baseSeconds: 60,
  maxDelaySeconds: SQS_MAX_VISIBILITY_SECONDS,
};

/** How an attempt failed without an HTTP answer to judge by. */
export type FailureKind =
  /** connect, headers or body timeout */
  | 'timeout'
  /** the connection was reset or closed early */
  | 'reset'
  /** DNS or another transport failure */
  | 'network'
  /** S3 or DynamoDB failed (throttling, 5xx) */
  | 'storage'
  /** the file is larger than the configured limit */
  | 'too-large'
  /** anything that cannot succeed however often it is tried */
  | 'permanent';

export interface RetryInput {
  /** The HTTP status the media host answered (not 2xx), when it answered. */
  status?: number;
  /** What went wrong when there is no status to judge by. */
  error?: FailureKind;
  /** This attempt's number, from 1 (tracked on the item, not only SQS's receive count). */
  attempt: number;
  maxAttempts: number;
  /** SQS will not deliver the message again after this failure (its receive count reached the redrive limit). */
  lastDelivery?: boolean;
  /** When the job was first queued (ISO-8601 or epoch ms): starts the "not uploaded yet" window. */
  queuedAt: string | number;
  /** Epoch ms. */
  now: number;
  /** When the link itself stops working, if the URL says (see linkExpiresAt). Epoch ms. */
  linkExpiresAt?: number;
  /** Seconds from a 429/503 `Retry-After`. */
  retryAfterSeconds?: number;
  timing?: Partial<RetryTiming>;
  /** [0, 1); Math.random by default. */
  random?: () => number;
}

export type RetryDecision =
  { action: 'retry'; delaySeconds: number; reason: string } | { action: 'expired'; reason: string } | { action: 'failed'; reason: string };

const NOT_YET_STATUSES = new Set([403, 404, 410]);
const RETRY_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Exponential backoff with equal jitter: a delay in [d/2, d] for d = base·2^(attempt-1), capped. Whole seconds. */
export function backoffSeconds(attempt: number, baseSeconds: number, maxSeconds: number, random: () => number = Math.random): number {
  const cap = Math.min(maxSeconds, SQS_MAX_VISIBILITY_SECONDS);
  const exp = Math.min(cap, baseSeconds * 2 ** Math.max(0, Math.min(attempt - 1, 40)));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.min(cap, Math.max(0, Math.round(exp / 2 + (r * exp) / 2)));
}

/**
 * What to do after a failed attempt. 403/404/410 while the job is young mean the provider has not
 * uploaded the file yet: retry soon. Once the link is past its lifetime (or, when the URL does not say,
 * past the not-yet window) they mean the link is dead: `expired`. 5xx, 408/429, timeouts, resets and
 * storage errors retry with backoff and jitter. Everything else, an oversized file, or the last attempt,
 * is `failed`.
 */
export function decideRetry(input: RetryInput): RetryDecision {
  const t: RetryTiming = { ...DEFAULT_RETRY_TIMING, ...input.timing };
  const random = input.random ?? Math.random;
  const queuedAt = typeof input.queuedAt === 'number' ? input.queuedAt : Date.parse(input.queuedAt);
  const ageSeconds = Number.isFinite(queuedAt) ? (input.now - queuedAt) / 1000 : Number.POSITIVE_INFINITY;
  const exhausted = input.attempt >= input.maxAttempts || input.lastDelivery === true;
  const retry = (what: string, base: number): RetryDecision => {
    if (exhausted) return { action: 'failed', reason: `gave up after ${input.attempt} attempt(s): ${what}` };
    const delay = Math.max(
      backoffSeconds(input.attempt, base, t.maxDelaySeconds, random),
      Math.min(input.retryAfterSeconds ?? 0, t.maxDelaySeconds),
    );
    return { action: 'retry', delaySeconds: delay, reason: what };
  };

  const status = input.status;
  if (status !== undefined) {
    if (status >= 200 && status < 300) throw new Error(`decideRetry: status ${status} is a success`);
    if (NOT_YET_STATUSES.has(status)) {
      const what = `the media host answered ${status}`;
      const linkDead = input.linkExpiresAt !== undefined && input.now >= input.linkExpiresAt;
      if (linkDead) return { action: 'expired', reason: `${what} and the link expired at ${new Date(input.linkExpiresAt!).toISOString()}` };
      if (ageSeconds < t.notYetWindowSeconds) return retry(`${what} (not uploaded yet?)`, t.notYetBaseSeconds);
      // The link says it is still valid: the file is late, not gone. Keep trying until the attempts run out.
      if (input.linkExpiresAt !== undefined)
        return retry(`${what} although the link is valid until ${new Date(input.linkExpiresAt).toISOString()}`, t.baseSeconds);
      return { action: 'expired', reason: `${what} ${Math.round(ageSeconds)} s after the job was queued: the link has expired` };
    }
    if (RETRY_STATUSES.has(status) || status >= 500) return retry(`the media host answered ${status}`, t.baseSeconds);
    return { action: 'failed', reason: `the media host answered ${status}, which retrying cannot fix` };
  }

  switch (input.error) {
    case 'timeout':
      return retry('the media host timed out', t.baseSeconds);
    case 'reset':
      return retry('the connection to the media host was reset', t.baseSeconds);
    case 'network':
      return retry('the media host could not be reached', t.baseSeconds);
    case 'storage':
      return retry('storing the file failed', t.baseSeconds);
    case 'too-large':
      return { action: 'failed', reason: 'the file is larger than limits.mediaMaxBytes' };
    default:
      return { action: 'failed', reason: 'the download cannot succeed as sent' };
  }
}

// ---------------------------------------------------------------------------------------------
// Failures as the ports throw them

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

/**
 * True when SQS will not deliver the message again after this failure: its receive count reaches the
 * queue's maxReceiveCount. `receivesPerDelay` is what one ChangeMessageVisibility adds to the count:
 * 0 on SQS, 1 on the local emulator (it counts the change as a receive and moves the message to the
 * DLQ when its visibility lapses at the limit), so there the delay about to be set is the last.
 */
export function isLastDelivery(receiveCount: number, maxReceiveCount: number, receivesPerDelay = 0): boolean {
  return receiveCount + receivesPerDelay >= maxReceiveCount;
}
