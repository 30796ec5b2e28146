/**
 * The console's server and reader against the emulators (real SDK calls), driven with plain HTTP:
 * which index a filter reads, what a call page shows, ranged media, and the requests it refuses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { localClientConfig, startEmulators, type Emulators } from '#bin/local/emulators.ts';
import { S3_KEYS } from '#contract/resources.ts';
import { ConsoleArchive } from '#bin/cli/console/reader.ts';
import { ArchiveReader, type ReaderClient } from '#bin/cli/archive-reader.ts';
import { startConsoleServer, type ConsoleServer } from '#bin/cli/console/server.ts';
import type { CallRecord } from '#core/types.ts';

const NUMBER = '+442045205757';
const OTHER = '+15551230000';
const AUDIO = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) % 256));

function call(callId: string, callAt: string, extra: Partial<CallRecord> = {}): CallRecord {
  return {
    callKey: `hipcall#${callId}`,
    provider: 'hipcall',
    source: 'hipcall',
    callId,
    kind: 'call',
    direction: 'inbound',
    status: 'completed',
    customerNumber: NUMBER,
    fromNumber: NUMBER,
    toNumber: '+441234567890',
    startedAt: callAt,
    callAt,
    day: callAt.slice(0, 10),
    durationSec: 61,
    events: ['call_init#x'],
    createdAt: callAt,
    updatedAt: callAt,
    version: 1,
    ...extra,
  };
}

describe('console server over the emulators', () => {
  let em: Emulators;
  let doc: DynamoDBDocumentClient;
  let s3: S3Client;
  let server: ConsoleServer;
  /** A stand-in Hipcall API that received one card (for "newest") and a card with markup in it (for "middle"). */
  let hipcall: Server;
  const sent: string[] = [];
  const recordingKey = S3_KEYS.media('recording', 'hipcall', '2026-03-02T10:00:00.000Z', 'newest', 'wav');
  const transcriptKey = S3_KEYS.media('transcript', 'postcall', '2026-03-02T11:00:00.000Z', 'pc-1', 'json');

  beforeAll(async () => {
    em = await startEmulators();
    doc = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(em.endpoints.dynamodb)));
    s3 = new S3Client(localClientConfig(em.endpoints.s3));
    const items: CallRecord[] = [
      call('oldest', '2026-02-27T09:00:00.000Z'),
      call('middle', '2026-03-01T09:00:00.000Z', { status: 'missed' }),
      call('newest', '2026-03-02T10:00:00.000Z', {
        recording: { state: 'stored', s3Key: recordingKey, bytes: AUDIO.length, contentType: 'audio/wav', sha256: 'x' },
        insight: { state: 'sent', httpStatus: 200, at: '2026-03-02T10:00:01.000Z' },
        // Deliveries received over two days: the page lists both.
        updatedAt: '2026-03-03T08:00:00.000Z',
      }),
      call('someone-else', '2026-03-02T09:30:00.000Z', { customerNumber: OTHER, fromNumber: OTHER }),
      {
        ...call('pc-1', '2026-03-02T11:00:00.000Z', {
          provider: 'postcall',
          source: 'postcall',
          callKey: 'postcall#pc-1',
          startedAt: undefined,
        }),
        transcript: { state: 'stored', s3Key: transcriptKey, contentType: 'application/json' },
        analysis: { summary: '<script>alert("owned")</script> wants a demo', score: 85 },
      },
    ];
    for (const Item of items)
      await doc.send(new PutCommand({ TableName: em.tables.calls, Item: JSON.parse(JSON.stringify(Item)) as Record<string, unknown> }));
    const put = (Key: string, Body: Buffer | string, ContentType = 'application/json') =>
      s3.send(new PutObjectCommand({ Bucket: em.bucket, Key, Body, ContentType }));
    await put(recordingKey, AUDIO, 'audio/wav');
    await put(transcriptKey, JSON.stringify({ turns: [{ speaker: 'caller', start: 1.5, text: 'I would like a <b>demo</b>.' }] }));
    await put(S3_KEYS.raw('hipcall', '2026-03-02T10:00:00.000Z', 'newest', '2026-03-02T10:00:00.100Z', 'call_init-0123456789abcdef'), '{}');
    await put(
      S3_KEYS.raw('hipcall', '2026-03-03T08:00:00.000Z', 'newest', '2026-03-03T08:00:00.000Z', 'call_hangup-fedcba9876543210'),
      '{}',
    );

    // Every DynamoDB command the console sends, by name.
    const countCommands = (client: ReaderClient) => {
      if (!(client instanceof DynamoDBClient)) return;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          sent.push(`${context.commandName}:${(args.input as { IndexName?: string }).IndexName ?? ''}`);
          return next(args);
        },
        { step: 'initialize', name: 'countCommands' },
      );
    };
    const cards = [
      {
        callId: 'newest',
        card: [
          { type: 'title', text: 'CallVault' },
          { type: 'shortText', label: 'Name', text: 'Jane Smith', link: 'https://crm.example.com/jane' },
        ],
        receivedAt: '2026-03-02T10:00:01.000Z',
      },
      {
        callId: 'middle',
        card: [{ type: 'shortText', label: 'Name', text: '<img src=x onerror=alert(1)>' }],
        receivedAt: '2026-03-01T09:00:01.000Z',
      },
    ];
    hipcall = createServer((req, res) =>
      res.writeHead(req.url === '/api/v3/_cards' ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(cards)),
    );
    await new Promise<void>((ok) => hipcall.listen(0, '127.0.0.1', ok));
    const hipcallMock = `http://127.0.0.1:${(hipcall.address() as AddressInfo).port}/api/v3`;
    const archive = new ArchiveReader({
      table: em.tables.calls,
      bucket: em.bucket,
      local: { ...em.endpoints, region: em.region },
      instrument: countCommands,
    });
    const reader = new ConsoleArchive(archive, { hipcallMock, now: () => new Date('2026-03-03T12:00:00Z') });
    server = await startConsoleServer({ reader, sources: ['hipcall', 'postcall'], defaultCountry: 'GB', log: () => {} });
  });
  afterAll(async () => {
    await server?.close();
    hipcall?.close();
    doc?.destroy();
    s3?.destroy();
    await em?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(new URL(path, server.url), { headers });
  /** The call ids of the list page's rows, in order. */
  const listed = (html: string) => [...html.matchAll(/href="\/calls\/[a-z]+\/([^"]+)"/g)].map((m) => decodeURIComponent(m[1]!));

  it('lists one number newest first from the byCustomerNumber index, whatever format it is typed in', async () => {
    sent.length = 0;
    const res = await get(`/?number=${encodeURIComponent('020 4520 5757')}`);
    expect(res.status).toBe(200);
    expect(listed(await res.text())).toEqual(['pc-1', 'newest', 'middle', 'oldest']);
    expect(sent).toEqual(['QueryCommand:byCustomerNumber']);
  });

  it('narrows a number to a day and a status on the same index query', async () => {
    sent.length = 0;
    expect(listed(await (await get(`/?number=${encodeURIComponent(NUMBER)}&day=2026-03-01`)).text())).toEqual(['middle']);
    expect(listed(await (await get(`/?number=${encodeURIComponent(NUMBER)}&status=missed`)).text())).toEqual(['middle']);
    expect(listed(await (await get(`/?number=${encodeURIComponent(NUMBER)}&source=postcall`)).text())).toEqual(['pc-1']);
    expect(sent.every((s) => s === 'QueryCommand:byCustomerNumber')).toBe(true);
  });

  it('lists a day from the byDay index, and the recent days when no filter is given', async () => {
    sent.length = 0;
    expect(listed(await (await get('/?day=2026-03-02')).text())).toEqual(['pc-1', 'newest', 'someone-else']);
    expect(sent).toEqual(['QueryCommand:byDay']);
    sent.length = 0;
    expect(listed(await (await get('/')).text())).toEqual(['pc-1', 'newest', 'someone-else', 'middle', 'oldest']);
    expect(sent.length).toBeGreaterThan(1);
    expect(sent.every((s) => s === 'QueryCommand:byDay')).toBe(true);
  });

  it('refuses a malformed day with a message instead of querying', async () => {
    sent.length = 0;
    const html = await (await get('/?day=yesterday')).text();
    expect(html).toContain('The day must look like 2026-04-02');
    expect(sent).toEqual([]);
  });

  it('shows a call with its player, Insight Card outcome and the deliveries of both days', async () => {
    const html = await (await get('/calls/hipcall/newest')).text();
    expect(html).toContain('<audio controls preload="metadata" src="/calls/hipcall/newest/recording"');
    expect(html).toMatch(/<dt>Outcome<\/dt><dd>sent<\/dd>/);
    expect(html).toContain('call_init');
    expect(html).toContain('call_hangup');
    expect(html).toContain('2 deliveries kept verbatim');
  });

  it('shows the card the stand-in Hipcall API received for the call, row by row', async () => {
    const html = await (await get('/calls/hipcall/newest')).text();
    expect(html).toContain('<h3>Card as sent</h3>');
    expect(html).toContain('<tr><td>shortText</td><td>Name</td><td>Jane Smith</td><td>https://crm.example.com/jane</td></tr>');
    const other = await (await get('/calls/hipcall/middle')).text();
    expect(other).not.toContain('Jane Smith');
    expect(other).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('escapes what a provider sent in the analysis and the transcript', async () => {
    const html = await (await get('/calls/postcall/pc-1')).text();
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<b>demo</b>');
    expect(html).toContain('&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt; wants a demo');
    expect(html).toContain('I would like a &lt;b&gt;demo&lt;/b&gt;.');
  });

  it('streams a recording whole, and any byte range of it for seeking', async () => {
    const whole = await get('/calls/hipcall/newest/recording');
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('audio/wav');
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await whole.arrayBuffer()).equals(AUDIO)).toBe(true);
    const part = await get('/calls/hipcall/newest/recording', { range: 'bytes=100-199' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${AUDIO.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(AUDIO.subarray(100, 200))).toBe(true);
    const beyond = await get('/calls/hipcall/newest/recording', { range: `bytes=${AUDIO.length + 10}-` });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${AUDIO.length}`);
  });

  it('answers 404 with a message for a call the archive lacks and media a call has not stored', async () => {
    const missing = await get('/calls/hipcall/nope');
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('The archive has no hipcall call &quot;nope&quot;.');
    expect((await get('/calls/hipcall/middle/recording')).status).toBe(404);
    expect((await get('/calls/skype/x')).status).toBe(404);
  });

  it('refuses a request addressed by another host name: a rebound DNS name must not reach the archive', async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        new URL('/?number=%2B442045205757', server.url),
        { headers: { host: `attacker.example:${server.port}` } },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on('error', reject).end();
    });
    expect(status).toBe(421);
    expect(body).not.toContain('/calls/hipcall/');
  });

  it("refuses requests another site's page makes, and anything but reading", async () => {
    expect((await get('/calls/hipcall/newest/recording', { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const post = await fetch(new URL('/', server.url), { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    const page = await get('/');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('cross-origin-resource-policy')).toBe('same-origin');
  });
});
