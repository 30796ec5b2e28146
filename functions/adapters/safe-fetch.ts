/**
 * Safe fetch: a GET that a hostile URL cannot turn against the network it runs in.
 * - every URL (the first and every redirect hop) passes `checkUrl` (scheme, credentials, allowlist, host);
 * - every hop resolves the host itself and checks EVERY address it resolves to (or the IP literal), then
 *   connects to the checked address over Node's own http/https (Host and TLS SNI keep the name), so a
 *   DNS answer cannot change between the check and the connect; the peer address of every new
 *   connection is checked once more;
 * - redirects are followed by hand (at most 5); nothing from the first request (no Authorization, no
 *   cookies, no credentials) is ever sent, on any hop;
 * - connect, headers and idle-body timeouts, and a size cap enforced while streaming.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type Socket } from 'node:net';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { checkAddress, checkUrl, hostPortPair } from '#core/address-policy.ts';
import { PermanentError, RetryableError } from '#core/errors.ts';
import { urlForLog } from '#core/url-redaction.ts';
import type { MediaRequest, MediaResponse, MediaFetcher } from '#core/ports/media-fetcher.ts';
import { closePools, discard, httpPools, send, type HttpPools } from './node-http.ts';

/** The URL (or an address it leads to) is refused by the address rules: the media ends `rejected`, never fetched. */
export class RefusedUrlError extends PermanentError {
  readonly code = 'MEDIA_URL_REFUSED';
  constructor(readonly reason: string) {
    super(`refused: ${reason}`);
  }
}

/** The file is larger than the configured limit (`limits.mediaMaxBytes`). */
export class MediaTooLargeError extends PermanentError {
  readonly code = 'MEDIA_TOO_LARGE';
  constructor(
    readonly maxBytes: number,
    seen: number | 'announced',
    announced?: number,
  ) {
    super(
      seen === 'announced'
        ? `the file is ${announced} bytes, over the ${maxBytes}-byte limit (limits.mediaMaxBytes): raise the limit in the callvault config and redrive the DLQ to archive it`
        : `the file is over the ${maxBytes}-byte limit (limits.mediaMaxBytes; ${seen} bytes read when the download was stopped): raise the limit in the callvault config and redrive the DLQ to archive it`,
    );
  }
}

/** More redirects than allowed, or a redirect without a usable Location. */
export class RedirectError extends PermanentError {
  readonly code = 'MEDIA_REDIRECT';
}

/** The body ended before the length the server announced. */
export class TruncatedBodyError extends RetryableError {
  readonly code = 'MEDIA_TRUNCATED';
}

export type LookupAll = (hostname: string) => Promise<{ address: string; family: number }[]>;

export interface SafeMediaFetcherOptions {
  /** host:port pairs exempt from the address rules (local mode's CALLVAULT_FETCH_ALLOW only). */
  exemptHostPorts?: readonly string[];
  /** TCP+TLS connect timeout, DNS included. @default 10 000 */
  connectTimeoutMs?: number;
  /** Time to the response headers. @default 30 000 */
  headersTimeoutMs?: number;
  /** Longest silence between two body chunks. @default 30 000 */
  idleTimeoutMs?: number;
  /** Resolver (tests point names at local servers); node's getaddrinfo by default. */
  lookup?: LookupAll;
}

/** `maxRedirects` defaults to 5. */
export type SafeFetchRequest = MediaRequest;
/** The body errors with MediaTooLargeError past `maxBytes`, and TruncatedBodyError if it ends short of Content-Length. */
export type SafeResponse = MediaResponse;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const defaultLookup: LookupAll = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

const header = (h: SafeResponse['headers'], name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Fetches media over one connection pool per scheme; every new connection goes to a checked address. One per cold start. */
export class SafeMediaFetcher implements MediaFetcher {
  private readonly pools: HttpPools;
  private readonly exempt: Set<string>;
  private readonly lookup: LookupAll;
  private readonly connectTimeoutMs: number;
  private readonly headersTimeoutMs: number;
  private readonly idleTimeoutMs: number;

  constructor(options: SafeMediaFetcherOptions = {}) {
    this.exempt = new Set((options.exemptHostPorts ?? []).map((p) => p.trim().toLowerCase()).filter(Boolean));
    this.lookup = options.lookup ?? defaultLookup;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.headersTimeoutMs = options.headersTimeoutMs ?? 30_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
    this.pools = httpPools({ maxSockets: 8, keepAliveMs: 4_000 });
  }

  /** GET `url`, following up to `maxRedirects` redirects by hand, every hop checked. */
  async get(url: string, req: SafeFetchRequest): Promise<SafeResponse> {
    const maxRedirects = req.maxRedirects ?? 5;
    let current = url;
    for (let redirects = 0; ; redirects++) {
      const refused = checkUrl(current, req.policy);
      if (refused) throw new RefusedUrlError(redirects ? `redirect ${redirects} to ${urlForLog(current)}: ${refused}` : refused);
      const target = new URL(current);
      const port = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
      const hostname = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
      const exempt = this.exempt.has(hostPortPair(hostname, port));
      // Resolved and checked here, then connected to by address: a DNS answer cannot change in between.
      const address = await this.resolve(hostname, exempt);
      const res = await send(target, {
        method: 'GET',
        // Only these: never Authorization, cookies or anything a hop could learn from the first request.
        headers: { 'user-agent': 'CallVault-media/1', accept: '*/*', 'accept-encoding': 'identity' },
        pools: this.pools,
        signal: req.signal,
        address,
        connectTimeoutMs: this.connectTimeoutMs,
        headersTimeoutMs: this.headersTimeoutMs,
        idleTimeoutMs: this.idleTimeoutMs,
        checkPeer: (socket) => this.checkPeer(socket, hostname, exempt),
      });
      const statusCode = res.statusCode ?? 0;
      const headers = res.headers as SafeResponse['headers'];
      if (REDIRECTS.has(statusCode)) {
        discard(res);
        const location = header(headers, 'location');
        if (!location) throw new RedirectError(`the media host answered ${statusCode} without a Location`);
        if (redirects >= maxRedirects) throw new RedirectError(`more than ${maxRedirects} redirects`);
        try {
          current = new URL(location, target).href;
        } catch {
          throw new RedirectError(`the media host redirected to an invalid URL`);
        }
        continue;
      }
      const lengthText = header(headers, 'content-length');
      const contentLength = lengthText && /^\d+$/.test(lengthText) ? Number(lengthText) : undefined;
      if (statusCode >= 200 && statusCode < 300 && contentLength !== undefined && contentLength > req.maxBytes) {
        discard(res);
        throw new MediaTooLargeError(req.maxBytes, 'announced', contentLength);
      }
      // pipeline: a reset or timeout of the socket fails the capped stream, and destroying it releases the socket.
      const body = pipeline(res, new ByteCap(req.maxBytes, statusCode < 300 ? contentLength : undefined), () => undefined);
      return { status: statusCode, headers, contentType: header(headers, 'content-type'), contentLength, url: target, redirects, body };
    }
  }

  close(): Promise<void> {
    closePools(this.pools);
    return Promise.resolve();
  }

  /** The connected peer, checked once more: whatever resolved, this is where the bytes come from. */
  private checkPeer(socket: Socket, hostname: string, exempt: boolean): Error | undefined {
    const peer = socket.remoteAddress;
    const refused = !exempt && peer ? checkAddress(peer) : null;
    return refused ? new RefusedUrlError(`host ${hostname} connected to ${refused}`) : undefined;
  }

  /** The address to connect to: the literal itself, or the first of the host's addresses, all of them checked. */
  private async resolve(hostname: string, exempt: boolean): Promise<string> {
    if (isIP(hostname)) {
      const refused = exempt ? null : checkAddress(hostname);
      if (refused) throw new RefusedUrlError(refused);
      return hostname;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new RetryableError(`DNS lookup of ${hostname} timed out`), { code: 'ETIMEOUT' })),
        this.connectTimeoutMs,
      );
    });
    let addresses: { address: string; family: number }[];
    try {
      addresses = await Promise.race([this.lookup(hostname), timeout]);
    } finally {
      clearTimeout(timer);
    }
    if (!addresses.length) throw Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' });
    if (!exempt) {
      // All of them, not just the one we use: a name that resolves to any internal address is refused.
      for (const a of addresses) {
        const refused = checkAddress(a.address);
        if (refused) throw new RefusedUrlError(`host ${hostname} resolves to ${refused}`);
      }
    }
    // Lambda outside a VPC has no IPv6 egress: prefer IPv4.
    return (addresses.find((a) => a.family === 4) ?? addresses[0]!).address;
  }
}

/** Counts bytes through; errors past `maxBytes`, or at the end when fewer than `expected` bytes came. */
class ByteCap extends Transform {
  private seen = 0;
  constructor(
    private readonly maxBytes: number,
    private readonly expected: number | undefined,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.maxBytes) return callback(new MediaTooLargeError(this.maxBytes, this.seen));
    callback(null, chunk);
  }
  override _flush(callback: TransformCallback): void {
    if (this.expected !== undefined && this.seen !== this.expected) {
      return callback(new TruncatedBodyError(`the body ended after ${this.seen} of ${this.expected} bytes`));
    }
    callback();
  }
}

/** How a failed download should be judged: the rule is core's, judged by these classes' codes. */
export { failureKindOf } from '#core/media/failures.ts';
