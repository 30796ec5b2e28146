/**
 * The reconcile's Hipcall calls client against a local HTTP server: paging, both list envelopes, 429
 * with and without Retry-After (bounded), a server that ignores `offset`, a refused token, an unknown call.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HipcallCallsClient } from '#adapters/hipcall-calls.ts';
import { PermanentError, RetryableError } from '#core/errors.ts';

type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => void;
let server: Server;
let base: string;
let route: Route;
const seen: URL[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push(url);
    route(req, res, url);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v3`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));
afterEach(() => void (seen.length = 0));

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const calls = (n: number) => Array.from({ length: n }, (_, i) => ({ uuid: `c${i}` }));

function client(sleeps: number[] = [], over: Partial<ConstructorParameters<typeof HipcallCallsClient>[0]> = {}) {
  return new HipcallCallsClient({
    baseUrlFor: () => base,
    tokenFor: () => Promise.resolve('tok'),
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    baseDelayMs: 1000,
    maxAttempts: 4,
    ...over,
  });
}
async function all(c: HipcallCallsClient): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const page of c.list('hipcall', { since: '2026-04-01T00:00:00.000Z', until: '2026-04-01T23:59:59.999Z' })) out.push(...page);
  return out;
}

describe('HipcallCallsClient', () => {
  it('pages with limit 100 and offset over the window until a short page, as a bare array', async () => {
    const data = calls(230);
    route = (req, res, url) => {
      expect(req.headers.authorization).toBe('Bearer tok');
      const offset = Number(url.searchParams.get('offset'));
      json(res, 200, data.slice(offset, offset + Number(url.searchParams.get('limit'))));
    };
    expect(await all(client())).toHaveLength(230);
    expect(seen.map((u) => [u.searchParams.get('offset'), u.searchParams.get('limit'), u.searchParams.get('started_at[gte]')])).toEqual([
      ['0', '100', '2026-04-01T00:00:00.000Z'],
      ['100', '100', '2026-04-01T00:00:00.000Z'],
      ['200', '100', '2026-04-01T00:00:00.000Z'],
    ]);
  });

  it('stops when the server ignores offset and sends the same page again', async () => {
    route = (_req, res) => json(res, 200, { data: calls(100) });
    expect(await all(client())).toHaveLength(100);
    expect(seen).toHaveLength(2);
  });

  it('waits as long as Retry-After says after a 429, then goes on', async () => {
    let n = 0;
    route = (_req, res) =>
      n++ === 0 ? json(res, 429, { message: 'Too Many Attempts.' }, { 'retry-after': '3' }) : json(res, 200, { data: calls(2) });
    const sleeps: number[] = [];
    expect(await all(client(sleeps))).toHaveLength(2);
    expect(sleeps).toEqual([3000]);
  });

  it('backs off doubling without Retry-After, and gives up after its attempts with a RetryableError', async () => {
    route = (_req, res) => json(res, 429, { message: 'Too Many Attempts.' });
    const sleeps: number[] = [];
    const failure = await all(client(sleeps)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RetryableError);
    expect((failure as Error).message).toMatch(/answered 429 .* 4 times; try again later/);
    expect(sleeps).toEqual([1000, 2000, 4000]);
    expect(seen).toHaveLength(4);
  });

  it('refuses a rejected token at once, saying where the token goes', async () => {
    route = (_req, res) => json(res, 401, { message: 'Unauthenticated.' });
    const failure = await all(client()).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PermanentError);
    expect((failure as Error).message).toMatch(/refused the token of source "hipcall" \(401\).*API secret/);
    expect(seen).toHaveLength(1);
  });

  it('answers undefined for a call Hipcall does not know, and the call under data for one it does', async () => {
    route = (_req, res, url) =>
      url.pathname.endsWith('/known')
        ? json(res, 200, { data: { uuid: 'known', record_url: 'https://f/x.mp3' } })
        : json(res, 404, { message: 'Not found.' });
    const c = client();
    expect(await c.get('hipcall', 'gone')).toBeUndefined();
    expect(await c.get('hipcall', 'known')).toEqual({ uuid: 'known', record_url: 'https://f/x.mp3' });
  });

  it('says which setting is missing when the source has no API base URL', async () => {
    const failure = await all(client([], { baseUrlFor: () => undefined })).catch((e: unknown) => e);
    expect((failure as Error).message).toMatch(/set "hipcallApiBaseUrl"/);
  });
});
