/**
 * One HTTP request over Node's own http/https stack (no undici: it adds about 720 KB to every worker's
 * bundle, parsed at every cold start). Keep-alive pools per caller, a connect timeout, a socket idle
 * timeout that fails the request or the body with ETIMEDOUT, and an optional check of the connected peer.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';

/** One keep-alive pool per scheme. */
export interface HttpPools {
  http: HttpAgent;
  https: HttpsAgent;
}

export function httpPools(options: { maxSockets: number; keepAliveMs: number }): HttpPools {
  const o = { keepAlive: true, maxSockets: options.maxSockets, keepAliveMsecs: 1000, timeout: options.keepAliveMs };
  return { http: new HttpAgent(o), https: new HttpsAgent(o) };
}

export function closePools(pools: HttpPools): void {
  pools.http.destroy();
  pools.https.destroy();
}

/** An error whose `code` says what failed, as node's own network errors do (failureKindOf judges by it). */
export const codedError = (message: string, code: string): Error & { code: string } => Object.assign(new Error(message), { code });

export interface SendOptions {
  method: 'GET' | 'POST';
  headers: OutgoingHttpHeaders;
  body?: string;
  pools: HttpPools;
  signal?: AbortSignal;
  /** TCP (+TLS) connect. */
  connectTimeoutMs: number;
  /** Longest silence on the socket before the response headers. */
  headersTimeoutMs: number;
  /** Longest silence within the body, once the headers came. @default headersTimeoutMs */
  idleTimeoutMs?: number;
  /** Connect to this address instead of resolving the URL's host (the host still goes in Host and SNI). */
  address?: string;
  /** Checked on every new connection; a message refuses the peer and fails the request with `refuse(message)`. */
  checkPeer?: (socket: Socket) => Error | undefined;
}

/** Sends one request; resolves with the response (headers read, body not yet), rejects on any failure before that. */
export function send(url: URL, options: SendOptions): Promise<IncomingMessage> {
  const https = url.protocol === 'https:';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)({
      protocol: url.protocol,
      host: options.address ?? host,
      port: url.port || (https ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      method: options.method,
      // Host and SNI name the URL's host, whatever address the connection goes to.
      headers: { host: url.host, ...options.headers },
      ...(https && options.address && !isIpLiteral(host) ? { servername: host } : {}),
      agent: https ? options.pools.https : options.pools.http,
      signal: options.signal,
    });
    req.on('error', reject);
    req.on('socket', (socket: Socket) => {
      const check = () => {
        const refused = options.checkPeer?.(socket);
        if (refused) req.destroy(refused);
      };
      if (!socket.connecting) return check();
      const timer = setTimeout(
        () => req.destroy(codedError(`connecting to ${url.host} timed out after ${options.connectTimeoutMs} ms`, 'ETIMEDOUT')),
        options.connectTimeoutMs,
      );
      socket.once('connect', () => {
        clearTimeout(timer);
        check();
      });
      socket.once('close', () => clearTimeout(timer));
    });
    // One idle timer on the socket: before the headers it fails the request, after them the body.
    let response: IncomingMessage | undefined;
    req.setTimeout(options.headersTimeoutMs);
    req.on('timeout', () => {
      if (!response)
        return req.destroy(codedError(`${url.host} sent no response headers within ${options.headersTimeoutMs} ms`, 'ETIMEDOUT'));
      response.destroy(codedError(`${url.host} sent nothing for ${options.idleTimeoutMs ?? options.headersTimeoutMs} ms`, 'ETIMEDOUT'));
    });
    req.on('response', (res: IncomingMessage) => {
      response = res;
      req.setTimeout(options.idleTimeoutMs ?? options.headersTimeoutMs);
      resolve(res);
    });
    req.end(options.body);
  });
}

const isIpLiteral = (host: string) => /^[\d.]+$/.test(host) || host.includes(':');

/** Reads at most `max` bytes of a body as text; a longer body is cut and destroyed (`truncated`). */
export async function readText(body: IncomingMessage, max: number): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > max) {
      body.destroy();
      return { text: Buffer.concat(chunks).toString('utf8'), truncated: true };
    }
    chunks.push(buf);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
}

/** Drops a body we will not read, without an unhandled error. */
export function discard(body: IncomingMessage): void {
  body.on('error', () => undefined).destroy();
}
