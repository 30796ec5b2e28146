/**
 * The local side of reconciliation: the stand-in Hipcall API's calls list, CALLVAULT_HIPCALL_API, and the
 * CLI's argument checks (which fail before anything is read).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from '#bin/cli/context.ts';
import { reconcileCommand, windowBound } from '#bin/cli/reconcile.ts';
import { createHipcallMock, type HipcallMock } from '#bin/local/hipcall-mock.ts';
import { hipcallApiOverride, optionsFromEnv } from '#bin/local/stack.ts';

describe("the stand-in Hipcall API's calls list", () => {
  let mock: HipcallMock;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    mock = createHipcallMock({ basePath: '/api/v3' });
    server = createServer((req, res) => void mock.handle(req, res).then((handled) => handled || (res.writeHead(404), res.end())));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v3`;
    for (let i = 0; i < 5; i++) mock.setCall(`c${i}`, { started_at: `2026-04-02T0${i}:00:00Z`, record_url: null });
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));
  const get = async (query: string, auth = 'Bearer t') => {
    const res = await fetch(`${base}/calls?${query}`, { headers: { authorization: auth } });
    return { status: res.status, body: (await res.json()) as { data?: { uuid: string }[]; meta?: unknown } };
  };

  it('serves the registered calls started in the window, oldest first, a page at a time', async () => {
    const { status, body } = await get(
      new URLSearchParams({
        'started_at[gte]': '2026-04-02T01:00:00Z',
        'started_at[lte]': '2026-04-02T04:00:00Z',
        limit: '2',
        offset: '2',
      }).toString(),
    );
    expect(status).toBe(200);
    expect(body.data!.map((c) => c.uuid)).toEqual(['c3', 'c4']);
    expect(body.meta).toEqual({ total: 4, limit: 2, offset: 2 });
  });
  it('refuses a limit over 100 (Hipcall allows 1-100) and a request without a token', async () => {
    expect((await get('limit=101')).status).toBe(422);
    expect((await get('limit=10', '')).status).toBe(401);
  });
});

describe('CALLVAULT_HIPCALL_API', () => {
  it("is read by the local stack as every Hipcall source's API base, trailing slash dropped", () => {
    expect(optionsFromEnv({ CALLVAULT_HIPCALL_API: 'http://127.0.0.1:9000/api/v3/' }).hipcallApi).toBe('http://127.0.0.1:9000/api/v3');
    expect(optionsFromEnv({}).hipcallApi).toBeUndefined();
  });
  it('refuses anything but an http(s) URL, naming the variable', () => {
    expect(() => hipcallApiOverride('ftp://x/api')).toThrow(/CALLVAULT_HIPCALL_API must be an http\(s\) base URL/);
    expect(() => hipcallApiOverride('not a url')).toThrow(/CALLVAULT_HIPCALL_API/);
  });
});

describe('callvault reconcile arguments', () => {
  const run = (...args: string[]) => reconcileCommand(args, () => undefined, {});
  it('reads a day as its first millisecond for --since and its last for --until', () => {
    expect(windowBound('--since', '2026-04-02')).toBe('2026-04-02T00:00:00.000Z');
    expect(windowBound('--until', '2026-04-02')).toBe('2026-04-02T23:59:59.999Z');
    expect(windowBound('--since', '2026-04-02T09:00:00+03:00')).toBe('2026-04-02T06:00:00.000Z');
  });
  it('refuses a provider other than hipcall, a missing --source or --since, a bad time and a reversed window', async () => {
    await expect(run('callhippo', '--source', 'x', '--since', '2026-04-02')).rejects.toThrow(/Only Hipcall can be reconciled/);
    await expect(run('hipcall', '--since', '2026-04-02')).rejects.toThrow(/--source is required/);
    await expect(run('hipcall', '--source', 'hipcall')).rejects.toThrow(/--since is required/);
    await expect(run('hipcall', '--source', 'hipcall', '--since', 'yesterday')).rejects.toThrow(/--since must be an ISO-8601 UTC time/);
    await expect(run('hipcall', '--source', 'hipcall', '--since', '2026-04-03', '--until', '2026-04-02')).rejects.toBeInstanceOf(CliError);
  });
  it('prints its usage with --help and exits 0', async () => {
    const lines: string[] = [];
    expect(await reconcileCommand(['--help'], (l) => void lines.push(l), {})).toBe(0);
    expect(lines.join('\n')).toMatch(/^Usage: callvault reconcile hipcall --source ID --since TIME/);
  });
});
