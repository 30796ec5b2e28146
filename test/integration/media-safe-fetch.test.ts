/**
 * Safe fetch and the media store on their own, against real sockets and the S3 emulator: the checks
 * that happen at connect time (DNS answers, IP literals, the peer address), what is sent on each hop,
 * the timeouts, the size cap, and that a failed upload never leaves a multipart upload open.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { localClientConfig, startEmulators, type Emulators } from '#bin/local/emulators.ts';
import type { SafeFetchPolicy } from '#core/address-policy.ts';
import { failureKindOf, MediaTooLargeError, RefusedUrlError, SafeMediaFetcher, type LookupAll } from '#adapters/safe-fetch.ts';
import { HashingChunker, S3MediaStore, StorageError } from '#adapters/media-store.ts';

const MiB = 1024 * 1024;
type Route = (req: IncomingMessage, res: ServerResponse) => void;

let em: Emulators;
let s3: S3Client;
let server: Server;
let port = 0;
const requests: IncomingMessage['headers'][] = [];
const routes: Record<string, Route> = {
  '/ok.mp3': (_req, res) => res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': '5' }).end('hello'),
  '/redirect': (_req, res) => res.writeHead(302, { location: '/ok.mp3', 'set-cookie': 'session=secret' }).end(),
  '/stall-body': (_req, res) => {
    res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': '1000' });
    res.write(Buffer.alloc(100));
  },
  '/stall-headers': () => undefined,
  '/short': (req, res) => {
    res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': '1000' });
    res.write(Buffer.alloc(500), () => req.socket.end());
  },
  '/exact': (_req, res) => res.writeHead(200, { 'content-type': 'audio/mpeg' }).end(Buffer.alloc(4096, 1)),
  '/over': (_req, res) => res.writeHead(200, { 'content-type': 'audio/mpeg' }).end(Buffer.alloc(4097, 1)),
};

beforeAll(async () => {
  em = await startEmulators();
  s3 = new S3Client(localClientConfig(em.endpoints.s3));
  server = createServer((req, res) => {
    requests.push(req.headers);
    const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
    if (route) route(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((ok) => {
    server?.close(() => ok());
    server?.closeAllConnections();
  });
  s3?.destroy();
  await em?.close();
});

/** Names that look public to checkUrl but resolve where the test says. */
const fakeDns =
  (table: Record<string, string[]>): LookupAll =>
  (hostname) =>
    Promise.resolve((table[hostname] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));

const httpPolicy = (exempt: string[] = []): SafeFetchPolicy => ({ allowHttp: true, exemptHostPorts: exempt });

describe('SafeMediaFetcher', () => {
  it('refuses at connect time a public-looking name that resolves to loopback', async () => {
    const fetcher = new SafeMediaFetcher({ lookup: fakeDns({ 'recordings.example.com': ['127.0.0.1'] }) });
    const err = await fetcher
      .get(`http://recordings.example.com:${port}/ok.mp3`, { policy: httpPolicy(), maxBytes: 1e6 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedUrlError);
    expect((err as RefusedUrlError).reason).toMatch(/recordings\.example\.com resolves to 127\.0\.0\.1 is a loopback address/);
    await fetcher.close();
  });

  it('refuses a name when ANY of its addresses is internal, even if another is public', async () => {
    const fetcher = new SafeMediaFetcher({ lookup: fakeDns({ 'rebind.example.com': ['93.184.215.14', '169.254.169.254'] }) });
    const err = await fetcher
      .get(`http://rebind.example.com:${port}/ok.mp3`, { policy: httpPolicy(), maxBytes: 1e6 })
      .catch((e: unknown) => e);
    expect((err as RefusedUrlError).reason).toMatch(/instance metadata/);
    await fetcher.close();
  });

  it('checks IP literals in the connector itself, not only in checkUrl', async () => {
    // checkUrl is told the pair is exempt; the connector is not: the connect is still refused.
    const fetcher = new SafeMediaFetcher({ exemptHostPorts: [] });
    const err = await fetcher
      .get(`http://127.0.0.1:${port}/ok.mp3`, { policy: httpPolicy([`127.0.0.1:${port}`]), maxBytes: 1e6 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedUrlError);
    expect((err as RefusedUrlError).reason).toMatch(/^127\.0\.0\.1 is a loopback address/);
    await fetcher.close();
  });

  it('connects to an exempt host:port, name or literal, and to nothing else on that host', async () => {
    const fetcher = new SafeMediaFetcher({
      exemptHostPorts: [`127.0.0.1:${port}`, `media.test.example:${port}`],
      lookup: fakeDns({ 'media.test.example': ['127.0.0.1'] }),
    });
    const policy = httpPolicy([`127.0.0.1:${port}`, `media.test.example:${port}`]);
    const a = await fetcher.get(`http://127.0.0.1:${port}/ok.mp3`, { policy, maxBytes: 1e6 });
    expect(a.status).toBe(200);
    a.body.resume();
    const b = await fetcher.get(`http://media.test.example:${port}/ok.mp3`, { policy, maxBytes: 1e6 });
    expect(b.status).toBe(200);
    b.body.resume();
    const c = await fetcher.get(`http://127.0.0.1:${port + 1}/ok.mp3`, { policy, maxBytes: 1e6 }).catch((e: unknown) => e);
    expect(c).toBeInstanceOf(RefusedUrlError);
    await fetcher.close();
  });

  it('follows a redirect by hand and sends no credentials, cookies or Authorization on any hop', async () => {
    const fetcher = new SafeMediaFetcher({ exemptHostPorts: [`127.0.0.1:${port}`] });
    requests.length = 0;
    const res = await fetcher.get(`http://127.0.0.1:${port}/redirect`, { policy: httpPolicy([`127.0.0.1:${port}`]), maxBytes: 1e6 });
    expect(res).toMatchObject({ status: 200, redirects: 1, contentLength: 5 });
    expect(res.url.pathname).toBe('/ok.mp3');
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('hello');
    expect(requests).toHaveLength(2);
    for (const h of requests) {
      expect(h.authorization).toBeUndefined();
      expect(h.cookie).toBeUndefined();
      expect(Object.keys(h).sort()).toEqual(['accept', 'accept-encoding', 'connection', 'host', 'user-agent']);
    }
    await fetcher.close();
  });

  it('times out a body that stops arriving, and a server that never answers', async () => {
    const fetcher = new SafeMediaFetcher({ exemptHostPorts: [`127.0.0.1:${port}`], idleTimeoutMs: 300, headersTimeoutMs: 300 });
    const policy = httpPolicy([`127.0.0.1:${port}`]);
    const res = await fetcher.get(`http://127.0.0.1:${port}/stall-body`, { policy, maxBytes: 1e6 });
    const bodyErr = await (async () => {
      for await (const _ of res.body) void _;
    })().catch((e: unknown) => e);
    expect(failureKindOf(bodyErr)).toBe('timeout');
    const headersErr = await fetcher.get(`http://127.0.0.1:${port}/stall-headers`, { policy, maxBytes: 1e6 }).catch((e: unknown) => e);
    expect(failureKindOf(headersErr)).toBe('timeout');
    await fetcher.close();
  });

  it('reports a body shorter than its Content-Length as a reset', async () => {
    const fetcher = new SafeMediaFetcher({ exemptHostPorts: [`127.0.0.1:${port}`] });
    const res = await fetcher.get(`http://127.0.0.1:${port}/short`, { policy: httpPolicy([`127.0.0.1:${port}`]), maxBytes: 1e6 });
    const err = await (async () => {
      for await (const _ of res.body) void _;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(failureKindOf(err)).toBe('reset');
    await fetcher.close();
  });

  it('enforces the size cap while streaming, to the byte', async () => {
    const fetcher = new SafeMediaFetcher({ exemptHostPorts: [`127.0.0.1:${port}`] });
    const policy = httpPolicy([`127.0.0.1:${port}`]);
    const exact = await fetcher.get(`http://127.0.0.1:${port}/exact`, { policy, maxBytes: 4096 });
    let n = 0;
    for await (const c of exact.body) n += (c as Buffer).length;
    expect(n).toBe(4096);
    const over = await fetcher.get(`http://127.0.0.1:${port}/over`, { policy, maxBytes: 4096 });
    const err = await (async () => {
      for await (const _ of over.body) void _;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaTooLargeError);
    expect(failureKindOf(err)).toBe('too-large');
    await fetcher.close();
  });
});

describe('HashingChunker', () => {
  it('hashes and counts every byte and re-emits standalone buffers that pin no socket slab', async () => {
    const source = Buffer.alloc(3 * MiB + 77);
    for (let i = 0; i < source.length; i++) source[i] = (i * 7) & 255;
    const pieces = Array.from({ length: Math.ceil(source.length / 1000) }, (_, i) => source.subarray(i * 1000, (i + 1) * 1000));
    const chunker = new HashingChunker();
    const out: Buffer[] = [];
    await new Promise<void>((ok, fail) => {
      Readable.from(pieces)
        .pipe(chunker)
        .on('data', (c: Buffer) => out.push(c))
        .on('end', ok)
        .on('error', fail);
    });
    expect(chunker.bytes).toBe(source.length);
    expect(chunker.digest()).toBe(createHash('sha256').update(source).digest('hex'));
    expect(Buffer.concat(out).equals(source)).toBe(true);
    for (const c of out) {
      expect(c.byteOffset).toBe(0);
      expect(c.buffer.byteLength).toBe(c.length);
    }
  });

  it('passes chunks that are their own buffer through untouched, and copies views between them', async () => {
    const own = [Buffer.allocUnsafeSlow(64 * 1024).fill(1), Buffer.allocUnsafeSlow(64 * 1024).fill(2)];
    const slab = Buffer.allocUnsafeSlow(64 * 1024).fill(3);
    const chunker = new HashingChunker();
    const out: Buffer[] = [];
    await new Promise<void>((ok, fail) => {
      Readable.from([own[0]!, slab.subarray(0, 100), own[1]!])
        .pipe(chunker)
        .on('data', (c: Buffer) => out.push(c))
        .on('end', ok)
        .on('error', fail);
    });
    expect(out[0]).toBe(own[0]);
    expect(out[1]!.length).toBe(100);
    expect(out[1]!.buffer).not.toBe(slab.buffer);
    expect(out[1]!.buffer.byteLength).toBe(100);
    expect(out[2]).toBe(own[1]);
    expect(chunker.bytes).toBe(2 * 64 * 1024 + 100);
  });
});

describe('S3MediaStore', () => {
  it('aborts the multipart upload when the source fails after a part was uploaded, and rethrows the source error', async () => {
    const store = new S3MediaStore(s3, em.bucket);
    const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    function* body() {
      for (let i = 0; i < 20; i++) yield Buffer.alloc(MiB, i);
      throw reset;
    }
    const err = await store
      .putStream({ key: 'recordings/test/2026/04/02/abort.mp3', body: Readable.from(body()), contentType: 'audio/mpeg', metadata: {} })
      .catch((e: unknown) => e);
    expect(err).toBe(reset);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: em.bucket }));
    expect(uploads.Uploads ?? []).toEqual([]);
    await expect(s3.send(new GetObjectCommand({ Bucket: em.bucket, Key: 'recordings/test/2026/04/02/abort.mp3' }))).rejects.toThrow();
  });

  it('stops and aborts when the worker runs out of time', async () => {
    const store = new S3MediaStore(s3, em.bucket);
    const controller = new AbortController();
    async function* slow() {
      for (let i = 0; ; i++) {
        if (i === 12) controller.abort();
        yield Buffer.alloc(MiB, 1);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const err = await store
      .putStream({
        key: 'recordings/test/2026/04/02/deadline.mp3',
        body: Readable.from(slow()),
        contentType: 'audio/mpeg',
        metadata: {},
        signal: controller.signal,
      })
      .catch((e: unknown) => e);
    expect(failureKindOf(err)).toBe('timeout');
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: em.bucket }))).Uploads ?? []).toEqual([]);
  });

  it('reports an S3 failure as a StorageError', async () => {
    const store = new S3MediaStore(s3, 'no-such-bucket');
    const err = await store
      .putStream({ key: 'recordings/x.mp3', body: Readable.from([Buffer.from('abc')]), contentType: 'audio/mpeg', metadata: {} })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
  });
});
