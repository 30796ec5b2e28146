/** The stand-in Hipcall API refuses what the real one refuses, so local mode catches a bad card. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHipcallMock, type HipcallMock } from '#bin/local/hipcall-mock.ts';
import { match } from '#test/support/match.ts';

let server: Server;
let mock: HipcallMock;
let base: string;

const post = (path: string, body: unknown, token: string | null = 'tok') =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

beforeAll(async () => {
  mock = createHipcallMock({ token: 'tok' });
  // Mounted the way the local stack mounts it: the stack passes the path below the mount point.
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const mount = '/_local/hipcall/api/v3';
    void (path.startsWith(`${mount}/`) ? mock.handle(req, res, path.slice(mount.length)) : Promise.resolve(false)).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/_local/hipcall/api/v3`;
});

afterAll(async () => {
  await new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
});

describe('stand-in Hipcall API', () => {
  it('accepts the Insight Card guide example with 201 and keeps it for GET /_cards', async () => {
    const card = [
      { type: 'title', text: 'Hipcall Insight', link: 'https://www.hipcall.com' },
      { type: 'shortText', label: 'Name', text: 'Jane Smith' },
      { type: 'user', label: 'Owner', user_id: 1121 },
    ];
    const res = await post('/calls/call_abc123/cards', { card });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ callId: 'call_abc123', card });
    const cards = (await (await fetch(`${base}/_cards?callId=call_abc123`)).json()) as unknown[];
    expect(cards).toEqual([{ callId: 'call_abc123', card, receivedAt: match.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) }]);
  });

  it.each([
    [{ type: 'title', text: 'T', label: 'L' }, 'card[0].label is not allowed on a title row (allowed: text, link)'],
    [
      { type: 'shortText', text: 'T', user_id: null },
      'card[0].user_id is not allowed on a shortText row (allowed: text, label, link, ios, android)',
    ],
    [{ type: 'user', user_id: 1, text: 'x' }, 'card[0].text is not allowed on a user row (allowed: label, user_id)'],
    [{ type: 'shortText', text: 'T', label: null }, 'card[0].label must be a string'],
    [{ type: 'image', url: 'x' }, 'card[0].type must be one of title, shortText, user'],
  ])('answers 422 naming the field for %j', async (row, message) => {
    const res = await post('/calls/c422/cards', { card: [row] });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({ message });
    expect(mock.cards().filter((c) => c.callId === 'c422')).toEqual([]);
  });

  it('answers 401 without a bearer token or with the wrong one', async () => {
    expect((await post('/calls/c401/cards', { card: [] }, null)).status).toBe(401);
    expect((await post('/calls/c401/cards', { card: [] }, 'other')).status).toBe(401);
    expect(
      mock
        .requests()
        .filter((r) => r.callId === 'c401')
        .map((r) => r.authorized),
    ).toEqual([false, true]);
  });

  it('accepts an empty card, as the real API does', async () => {
    expect((await post('/calls/empty/cards', { card: [] })).status).toBe(201);
  });

  it('answers injected faults for the next requests, then recovers', async () => {
    expect((await post('/_faults', { status: 503, count: 2, message: 'down' })).status).toBe(200);
    expect((await post('/calls/f/cards', { card: [] })).status).toBe(503);
    const second = await post('/calls/f/cards', { card: [] });
    expect([second.status, await second.json()]).toEqual([503, { message: 'down' }]);
    expect((await post('/calls/f/cards', { card: [] })).status).toBe(201);
    await post('/_faults', { drop: true });
    await expect(post('/calls/f/cards', { card: [] })).rejects.toThrow();
  });

  it('serves a registered call for GET /calls/{id} and 404 otherwise', async () => {
    await post('/_calls', { uuid: 'rec-1', record_url: 'https://files.example.com/rec-1.mp3' });
    const res = await fetch(`${base}/calls/rec-1`, { headers: { authorization: 'Bearer tok' } });
    expect(await res.json()).toEqual({ data: { uuid: 'rec-1', record_url: 'https://files.example.com/rec-1.mp3' } });
    expect((await fetch(`${base}/calls/none`, { headers: { authorization: 'Bearer tok' } })).status).toBe(404);
  });

  it('forgets everything on DELETE /_cards and leaves other paths to the caller', async () => {
    await fetch(`${base}/_cards`, { method: 'DELETE' });
    expect(mock.cards()).toEqual([]);
    expect((await fetch(`${base}/elsewhere`)).status).toBe(404);
  });
});
