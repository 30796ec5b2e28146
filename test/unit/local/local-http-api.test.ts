/** The local HTTP API answers what API Gateway would, in front of a stand-in handler (no emulator needed). */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { serveWebhook } from '#bin/local/http-api.ts';
import { routeSourceId } from '#functions/ingest/authenticate.ts';

let server: Server;
let port: number;
const seen: APIGatewayProxyEventV2[] = [];

/** A raw request, so a malformed path reaches the server exactly as written. */
function send(method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  server = createServer((req, res) => {
    void serveWebhook(
      req,
      res,
      (event) => {
        seen.push(event);
        return Promise.resolve({
          statusCode: 200,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ status: 'ok' }),
        });
      },
      new Set(['postcall']),
    ).then((served) => {
      if (!served) res.writeHead(404).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));
beforeEach(() => {
  seen.length = 0;
});

describe('serveWebhook', () => {
  it('answers a malformed percent-encoding in the path with a JSON 400, never a 500, and never runs the handler', async () => {
    for (const path of ['/webhooks/postcall/%', '/webhooks/%E0%A4/token', '/webhooks/postcall/%zz']) {
      const res = await send('POST', path);
      expect(res.status, path).toBe(400);
      expect((JSON.parse(res.body) as { message: string }).message).toMatch(/malformed percent-encoding.*Check the webhook URL/);
    }
    expect(seen).toEqual([]);
  });

  it('routes HEAD to the handler like the deployed API, and sends no body', async () => {
    const res = await send('HEAD', '/webhooks/callhippo/dev-token');
    expect(res).toEqual({ status: 200, body: '' });
    expect(seen.map((e) => [e.requestContext.http.method, e.routeKey])).toEqual([['HEAD', 'HEAD /webhooks/{source}/{token}']]);
  });

  it('answers 404 to a method no route names, as API Gateway does', async () => {
    const res = await send('PUT', '/webhooks/callhippo/dev-token');
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toEqual({ message: 'Not Found' });
    expect(seen).toEqual([]);
  });

  it('hands the handler decoded path parameters', async () => {
    await send('GET', '/webhooks/hipcall-eu/a%2Bb');
    expect(seen[0]?.pathParameters).toEqual({ source: 'hipcall-eu', token: 'a+b' });
  });

  it('routes a source with its own route as the deployed API does: a literal route key and no source parameter, which the ingest reads back', async () => {
    await send('POST', '/webhooks/postcall/dev-token');
    await send('POST', '/webhooks/unknown/dev-token');
    expect(seen.map((e) => [e.routeKey, e.requestContext.routeKey, e.pathParameters])).toEqual([
      ['POST /webhooks/postcall/{token}', 'POST /webhooks/postcall/{token}', { token: 'dev-token' }],
      ['POST /webhooks/{source}/{token}', 'POST /webhooks/{source}/{token}', { source: 'unknown', token: 'dev-token' }],
    ]);
    expect(seen.map((e) => routeSourceId(e))).toEqual(['postcall', 'unknown']);
  });
});
