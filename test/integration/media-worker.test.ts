/**
 * The media worker against the three emulators and real HTTP servers on 127.0.0.1: jobs go through the
 * real media queue and the local poller (so ChangeMessageVisibility, redelivery and the DLQ redrive are
 * the emulator's), and every file is checked byte for byte in S3.
 * Timings are shrunk with the worker's CALLVAULT_MEDIA_* tunables so nothing waits for minutes.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { localClientConfig, startEmulators, type Emulators } from '#bin/local/emulators.ts';
import { startPoller } from '#bin/local/poller.ts';
import { parseConfig } from '#contract/config-schema.ts';
import { mediaDeps } from '#functions/media/deps.ts';
import { createMediaHandler } from '#functions/media/handler.ts';
import { strictAwsTarget } from '#bin/aws-fidelity/aws-contract.ts';
import { callKeyOf, type CallRecord, type MediaInfo, type MediaJob, type MediaKind, type Provider } from '#core/types.ts';
import { METRIC, type MetricName } from '#core/metrics.ts';
import { filedBySourceAndTotal, parseEmf, type EmfMetric } from '#test/support/emf.ts';
import { match } from '#test/support/match.ts';

/** The worker's EMF lines; a metric is flushed when its invocation ends, a moment after the item says so. */
const emf: string[] = [];
async function metricOf(name: MetricName, source: string): Promise<EmfMetric | undefined> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = parseEmf(emf.join('\n')).find((m) => m.name === name && filedBySourceAndTotal(m, source));
    if (found || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const MiB = 1024 * 1024;
const CAP = 12 * MiB;
const STARTED = '2026-04-02T10:00:00Z';

/** Deterministic bytes for a path: the test knows the SHA-256 every stored file must have. */
function bytesFor(seed: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(Math.ceil(size / 4) * 4);
  let x = Math.imul(seed, 2654435761) >>> 0;
  for (let i = 0; i < b.length; i += 4) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b.writeUInt32LE(x, i);
  }
  return b.subarray(0, size);
}
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

type Route = (req: IncomingMessage, res: ServerResponse, hit: number) => void;

/** A node:http server on a free 127.0.0.1 port that counts hits per path. */
async function startServer(routes: Record<string, Route>) {
  const hits = new Map<string, number>();
  const seen: IncomingMessage['headers'][] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const hit = (hits.get(path) ?? 0) + 1;
    hits.set(path, hit);
    seen.push(req.headers);
    const route = routes[path];
    if (!route) {
      res.writeHead(404).end('no such file');
      return;
    }
    route(req, res, hit);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    hostPort: `127.0.0.1:${port}`,
    hits: (path: string) => hits.get(path) ?? 0,
    seen,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

/** Serve `body` in 64 KiB writes honouring backpressure; with `resetAt`, destroy the socket after that many bytes. */
function serve(res: ServerResponse, body: Buffer, contentType: string, opts: { resetAt?: number; chunked?: boolean } = {}) {
  res.writeHead(200, { 'content-type': contentType, ...(opts.chunked ? {} : { 'content-length': String(body.length) }) });
  let off = 0;
  const pump = () => {
    while (off < body.length) {
      if (opts.resetAt !== undefined && off >= opts.resetAt) {
        res.socket?.destroy();
        return;
      }
      const end = Math.min(body.length, off + 64 * 1024);
      const ok = res.write(body.subarray(off, end));
      off = end;
      if (!ok) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

let em: Emulators;
let media: Awaited<ReturnType<typeof startServer>>;
let internal: Awaited<ReturnType<typeof startServer>>;
let hipcallApi: Awaited<ReturnType<typeof startServer>>;
let stopPoller: () => Promise<void>;
let doc: DynamoDBDocumentClient;
let s3: S3Client;
let sqs: SQSClient;
let apiAnswerUrl = '';
const files = {
  rec: bytesFor(1, 3 * MiB + 123),
  voicemail: bytesFor(2, 200 * 1024 + 7),
  ogg: bytesFor(3, 2 * MiB),
  transcript: Buffer.from(JSON.stringify({ callId: 'pc-1', turns: [{ speaker: 'agent', text: 'Hello' }] })),
  resetting: bytesFor(4, 10 * MiB + 5),
  late: bytesFor(5, 100 * 1024),
  huge: bytesFor(6, 20 * MiB),
  fresh: bytesFor(7, 512 * 1024),
};
let lateFrom = 0;

beforeAll(async () => {
  em = await startEmulators();
  internal = await startServer({ '/secret.mp3': (_req, res) => res.writeHead(200).end('internal') });
  media = await startServer({
    '/rec.mp3': (_req, res) => serve(res, files.rec, 'audio/mpeg'),
    '/vm.mp3': (_req, res) => serve(res, files.voicemail, 'audio/mpeg'),
    '/recordings/pc-1/call_recording.ogg': (_req, res) => serve(res, files.ogg, 'application/octet-stream'),
    '/transcripts/transcript_pc-1.json': (_req, res) => serve(res, files.transcript, 'application/json; charset=utf-8'),
    '/resetting.wav': (_req, res, hit) => serve(res, files.resetting, 'audio/wav', hit === 1 ? { resetAt: 9 * MiB } : {}),
    '/late.mp3': (_req, res) => (Date.now() < lateFrom ? res.writeHead(404).end('not yet') : serve(res, files.late, 'audio/mpeg')),
    '/forbidden.mp3': (_req, res) =>
      res.writeHead(403, { 'content-type': 'application/xml' }).end('<Error><Code>AccessDenied</Code></Error>'),
    '/huge.mp3': (_req, res) => serve(res, files.huge, 'audio/mpeg', { chunked: true }),
    '/announced-huge.mp3': (_req, res) => serve(res, files.huge, 'audio/mpeg'),
    '/to-internal': (_req, res) => res.writeHead(302, { location: internal.url('/secret.mp3') }).end(),
    '/to-metadata': (_req, res) => res.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/' }).end(),
    '/hop': (req, res) => {
      const n = Number(new URL(req.url!, 'http://x').searchParams.get('n') ?? 0);
      res.writeHead(307, { location: n >= 6 ? '/rec.mp3' : `/hop?n=${n + 1}` }).end();
    },
    '/expired.mp3': (_req, res) => res.writeHead(403).end(),
    '/down.mp3': (_req, res) => res.writeHead(503, { 'content-type': 'text/plain' }).end('maintenance'),
    '/fresh.mp3': (_req, res) => serve(res, files.fresh, 'audio/mpeg'),
  });
  hipcallApi = await startServer({
    '/api/v3/calls/hc-fresh': (req, res) => {
      if (req.headers.authorization !== 'Bearer test-hipcall-token') return void res.writeHead(401).end();
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ data: { uuid: 'hc-fresh', record_url: apiAnswerUrl } }));
    },
  });

  const env = {
    ...em.env,
    CALLVAULT_MEDIA_NOT_YET_WINDOW_SECONDS: '3',
    CALLVAULT_MEDIA_NOT_YET_BACKOFF_SECONDS: '1',
    CALLVAULT_MEDIA_BACKOFF_BASE_SECONDS: '1',
    CALLVAULT_MEDIA_IDLE_TIMEOUT_MS: '3000',
    CALLVAULT_MEDIA_CONNECT_TIMEOUT_MS: '2000',
    POWERTOOLS_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'SILENT',
  };
  // As the local stack builds it: http and the media server allowed, a stand-in Hipcall API, the emulator's receive count.
  const handler = createMediaHandler(
    mediaDeps(env, {
      config: parseConfig({ limits: { mediaMaxBytes: CAP } }),
      // AWS's limits and the media role apply to the worker's own clients (the test's readers stay plain).
      target: strictAwsTarget(em.target, 'media'),
      allowHttp: true,
      fetchAllow: [media.hostPort],
      hipcall: { baseUrls: { hipcall: hipcallApi.url('/api/v3') }, secrets: { hipcall: 'test-hipcall-token' } },
      visibilityChangeCountsAsReceive: true,
      metricsOut: (line) => emf.push(line),
    }),
  );
  sqs = new SQSClient(localClientConfig(em.endpoints.sqs));
  stopPoller = startPoller({
    sqs,
    queueUrl: em.queues.media,
    handler,
    name: 'media-test',
    batchSize: 1,
    timeoutMs: 60_000,
    waitTimeSeconds: 1,
    concurrency: 2,
  });
  doc = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(em.endpoints.dynamodb)), {
    marshallOptions: { removeUndefinedValues: true },
  });
  s3 = new S3Client(localClientConfig(em.endpoints.s3));
});

afterAll(async () => {
  await stopPoller?.();
  await Promise.allSettled([media?.close(), internal?.close(), hipcallApi?.close()]);
  sqs?.destroy();
  s3?.destroy();
  doc?.destroy();
  await em?.close();
});

/** The call item as the ingest would have written it: ended, so the worker also rewrites cdr/. */
async function seedCall(provider: Provider, callId: string): Promise<void> {
  const now = new Date().toISOString();
  const item: CallRecord = {
    callKey: callKeyOf(provider, callId),
    provider,
    source: provider,
    callId,
    kind: 'call',
    direction: 'inbound',
    status: 'completed',
    startedAt: STARTED,
    endedAt: '2026-04-02T10:00:45Z',
    events: [],
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
  await doc.send(new PutCommand({ TableName: em.tables.calls, Item: item }));
}

async function sendJob(
  provider: Provider,
  callId: string,
  mediaKind: MediaKind,
  url: string,
  queuedAt = new Date().toISOString(),
): Promise<void> {
  const job: MediaJob = { provider, source: provider, callId, media: mediaKind, url, queuedAt };
  await sqs.send(new SendMessageCommand({ QueueUrl: em.queues.media, MessageBody: JSON.stringify(job) }));
}

async function mediaOf(provider: Provider, callId: string, kind: MediaKind): Promise<MediaInfo | undefined> {
  const { Item } = await doc.send(
    new GetCommand({ TableName: em.tables.calls, Key: { callKey: callKeyOf(provider, callId) }, ConsistentRead: true }),
  );
  return (Item as CallRecord | undefined)?.[kind];
}

/** Wait until the media map reaches a final state (anything but `queued`). */
async function settled(provider: Provider, callId: string, kind: MediaKind, timeoutMs = 20_000): Promise<MediaInfo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await mediaOf(provider, callId, kind);
    if (info && info.state !== 'queued') return info;
    if (Date.now() > deadline) throw new Error(`${provider}/${callId} ${kind} still ${JSON.stringify(info)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function objectBytes(key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: em.bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

async function openUploads(): Promise<number> {
  const res = await s3.send(new ListMultipartUploadsCommand({ Bucket: em.bucket }));
  return res.Uploads?.length ?? 0;
}

async function dlqSize(): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: em.queues.mediaDlq, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
}

async function keysFor(callId: string): Promise<string[]> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: em.bucket }));
  return (res.Contents ?? []).map((o) => o.Key!).filter((k) => k.includes(callId));
}

/** The call's objects other than its cdr/ row: the media the worker stored, if any. */
const mediaKeysFor = async (callId: string) => (await keysFor(callId)).filter((k) => !k.startsWith('cdr/'));

/** The call's cdr/ row, once the worker has written it (a moment after the item says the outcome). */
async function cdrRowOf(provider: Provider, callId: string): Promise<Record<string, unknown>> {
  const key = `cdr/${provider}/2026/04/02/${callId}.json`;
  const deadline = Date.now() + 5000;
  while (!(await keysFor(callId)).includes(key)) {
    if (Date.now() > deadline) throw new Error(`no cdr/ row for ${provider}/${callId}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return JSON.parse((await objectBytes(key)).toString('utf8')) as Record<string, unknown>;
}

describe('media worker', () => {
  it('stores a recording under its key with the bytes and SHA-256 of the source, and rewrites the cdr', async () => {
    await seedCall('hipcall', 'hc-1');
    await sendJob('hipcall', 'hc-1', 'recording', media.url('/rec.mp3'));
    const info = await settled('hipcall', 'hc-1', 'recording');
    expect(info).toMatchObject({
      state: 'stored',
      s3Key: 'recordings/hipcall/2026/04/02/hc-1.mp3',
      bytes: files.rec.length,
      sha256: sha(files.rec),
      contentType: 'audio/mpeg',
      attempts: 1,
    });
    const stored = await objectBytes(info.s3Key!);
    expect(stored.length).toBe(files.rec.length);
    expect(sha(stored)).toBe(sha(files.rec));
    const head = await s3.send(new HeadObjectCommand({ Bucket: em.bucket, Key: info.s3Key! }));
    expect(head.ContentType).toBe('audio/mpeg');
    expect(head.Metadata).toMatchObject({ provider: 'hipcall', callid: 'hc-1' });
    // cdr/ holds the flat SQL row (core/cdr-schema.ts), one line, its day the key's.
    const cdrText = (await objectBytes('cdr/hipcall/2026/04/02/hc-1.json')).toString('utf8');
    expect(cdrText.trimEnd()).not.toContain('\n');
    const cdr = JSON.parse(cdrText) as Record<string, unknown>;
    expect(cdr).toMatchObject({
      call_id: 'hc-1',
      day: '2026/04/02',
      recording_state: 'stored',
      recording_stored: true,
      recording_sha256: sha(files.rec),
    });
    expect(cdr).not.toHaveProperty('version');
    // Nothing of the request can leak: no credentials, no Authorization header sent to the media host.
    expect(media.seen.every((h) => h.authorization === undefined && h.cookie === undefined)).toBe(true);
  });

  it('stores a voicemail and a transcript beside the recording', async () => {
    await seedCall('hipcall', 'hc-vm');
    await seedCall('postcall', 'pc-1');
    await sendJob('hipcall', 'hc-vm', 'recording', media.url('/rec.mp3'));
    await sendJob('hipcall', 'hc-vm', 'voicemail', media.url('/vm.mp3'));
    await sendJob('postcall', 'pc-1', 'recording', media.url('/recordings/pc-1/call_recording.ogg'));
    await sendJob('postcall', 'pc-1', 'transcript', media.url('/transcripts/transcript_pc-1.json'));
    const [rec, vm, ogg, transcript] = await Promise.all([
      settled('hipcall', 'hc-vm', 'recording'),
      settled('hipcall', 'hc-vm', 'voicemail'),
      settled('postcall', 'pc-1', 'recording'),
      settled('postcall', 'pc-1', 'transcript'),
    ]);
    expect(rec).toMatchObject({ state: 'stored', s3Key: 'recordings/hipcall/2026/04/02/hc-vm.mp3' });
    expect(vm).toMatchObject({
      state: 'stored',
      s3Key: 'voicemails/hipcall/2026/04/02/hc-vm.mp3',
      bytes: files.voicemail.length,
      sha256: sha(files.voicemail),
    });
    expect(ogg).toMatchObject({
      state: 'stored',
      s3Key: 'recordings/postcall/2026/04/02/pc-1.ogg',
      contentType: 'audio/ogg',
      sha256: sha(files.ogg),
    });
    expect(transcript).toMatchObject({
      state: 'stored',
      s3Key: 'transcripts/postcall/2026/04/02/pc-1.json',
      contentType: 'application/json',
      sha256: sha(files.transcript),
    });
    expect(JSON.parse((await objectBytes(transcript.s3Key!)).toString('utf8'))).toMatchObject({ callId: 'pc-1' });
  });

  it('retries a 404 in the first seconds after the call, then stores the file', async () => {
    lateFrom = Date.now() + 1500;
    await seedCall('callhippo', 'ch-late');
    await sendJob('callhippo', 'ch-late', 'recording', media.url('/late.mp3'));
    const info = await settled('callhippo', 'ch-late', 'recording');
    expect(info).toMatchObject({ state: 'stored', bytes: files.late.length, sha256: sha(files.late) });
    expect(info.attempts).toBeGreaterThan(1);
    expect(media.hits('/late.mp3')).toBe(info.attempts);
  });

  it('ends a link that stays 403 past its window as expired', async () => {
    await seedCall('callhippo', 'ch-403');
    await sendJob('callhippo', 'ch-403', 'recording', media.url('/forbidden.mp3'));
    const info = await settled('callhippo', 'ch-403', 'recording');
    expect(info.state).toBe('expired');
    expect(info.error).toMatch(/answered 403 .*the link has expired/);
    expect(media.hits('/forbidden.mp3')).toBeGreaterThan(1);
    expect(await mediaKeysFor('ch-403')).toEqual([]);
    // The ended call's SQL row says so: "recordings not stored" finds it.
    expect(await cdrRowOf('callhippo', 'ch-403')).toMatchObject({ call_id: 'ch-403', recording_state: 'expired', recording_stored: false });
    expect(await metricOf(METRIC.mediaExpired, 'callhippo')).toMatchObject({ unit: 'Count', values: [1] });
  });

  it('retries a server that resets mid-body and stores the whole file, leaving no multipart upload open', async () => {
    await seedCall('callhippo', 'ch-reset');
    await sendJob('callhippo', 'ch-reset', 'recording', media.url('/resetting.wav'));
    const info = await settled('callhippo', 'ch-reset', 'recording');
    expect(info).toMatchObject({
      state: 'stored',
      s3Key: 'recordings/callhippo/2026/04/02/ch-reset.wav',
      bytes: files.resetting.length,
      sha256: sha(files.resetting),
      attempts: 2,
    });
    expect(sha(await objectBytes(info.s3Key!))).toBe(sha(files.resetting));
    expect(media.hits('/resetting.wav')).toBe(2);
    expect(await openUploads()).toBe(0);
  });

  it('fails a body over the size cap with a clear error, stores nothing, and sends the job to the DLQ', async () => {
    await seedCall('hipcall', 'hc-huge');
    await seedCall('hipcall', 'hc-announced');
    await sendJob('hipcall', 'hc-huge', 'recording', media.url('/huge.mp3'));
    await sendJob('hipcall', 'hc-announced', 'recording', media.url('/announced-huge.mp3'));
    const streamed = await settled('hipcall', 'hc-huge', 'recording');
    const announced = await settled('hipcall', 'hc-announced', 'recording');
    for (const info of [streamed, announced]) {
      expect(info.state).toBe('failed');
      expect(info.error).toMatch(new RegExp(`over the ${CAP}-byte limit \\(limits.mediaMaxBytes.*raise the limit`));
      expect(info.s3Key).toBeUndefined();
    }
    expect(await mediaKeysFor('hc-huge')).toEqual([]);
    expect(await mediaKeysFor('hc-announced')).toEqual([]);
    for (const id of ['hc-huge', 'hc-announced']) expect(await cdrRowOf('hipcall', id), id).toMatchObject({ recording_state: 'failed' });
    expect(await openUploads()).toBe(0);
    expect(media.hits('/huge.mp3')).toBe(1);
    // No second download: the failed messages go on to the DLQ.
    const deadline = Date.now() + 15_000;
    while ((await dlqSize()) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await dlqSize()).toBe(2);
    expect(media.hits('/huge.mp3')).toBe(1);
    expect(media.hits('/announced-huge.mp3')).toBe(1);
  });

  it('retries a 5xx with backoff until the last attempt, then marks it failed and sends the job to the DLQ', async () => {
    const before = await dlqSize();
    await seedCall('postcall', 'pc-down');
    await sendJob('postcall', 'pc-down', 'recording', media.url('/down.mp3'));
    const info = await settled('postcall', 'pc-down', 'recording', 30_000);
    expect(info.state).toBe('failed');
    expect(info.error).toMatch(/^gave up after \d attempt\(s\): the media host answered 503/);
    expect(media.hits('/down.mp3')).toBe(info.attempts);
    const deadline = Date.now() + 10_000;
    while ((await dlqSize()) === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await dlqSize()).toBe(before + 1);
    expect(media.hits('/down.mp3')).toBe(info.attempts);
    expect((await metricOf(METRIC.mediaFailed, 'postcall'))?.values).toEqual([1]);
  });

  it('rejects a redirect to a private address without ever connecting to it', async () => {
    await seedCall('hipcall', 'hc-redirect');
    await seedCall('hipcall', 'hc-metadata');
    await sendJob('hipcall', 'hc-redirect', 'recording', media.url('/to-internal'));
    await sendJob('hipcall', 'hc-metadata', 'recording', media.url('/to-metadata'));
    const redirected = await settled('hipcall', 'hc-redirect', 'recording');
    expect(redirected).toMatchObject({ state: 'rejected', attempts: 1 });
    expect(redirected.error).toMatch(/refused: redirect 1 to 127\.0\.0\.1:\d+\/secret\.mp3: 127\.0\.0\.1 is a loopback address/);
    expect(internal.hits('/secret.mp3')).toBe(0);
    const metadata = await settled('hipcall', 'hc-metadata', 'recording');
    expect(metadata).toMatchObject({ state: 'rejected' });
    expect(metadata.error).toMatch(/instance metadata/);
  });

  it('rejects a URL that points inside the network from the start, without fetching it', async () => {
    await seedCall('callhippo', 'ch-internal');
    await sendJob('callhippo', 'ch-internal', 'recording', internal.url('/secret.mp3'));
    const info = await settled('callhippo', 'ch-internal', 'recording');
    expect(info).toMatchObject({ state: 'rejected', error: match.stringMatching(/^refused: 127\.0\.0\.1 is a loopback address/) });
    expect(internal.hits('/secret.mp3')).toBe(0);
    expect(await metricOf(METRIC.mediaRejected, 'callhippo')).toMatchObject({ unit: 'Count', values: [1] });
  });

  it('follows at most 5 redirects', async () => {
    await seedCall('callhippo', 'ch-hops');
    await sendJob('callhippo', 'ch-hops', 'recording', media.url('/hop?n=0'));
    const info = await settled('callhippo', 'ch-hops', 'recording');
    expect(info).toMatchObject({ state: 'failed', error: match.stringMatching(/more than 5 redirects/) });
    expect(media.hits('/rec.mp3')).toBeLessThanOrEqual(3);
  });

  it('does not download a repeated job again', async () => {
    await seedCall('postcall', 'pc-repeat');
    await sendJob('postcall', 'pc-repeat', 'recording', media.url('/vm.mp3'));
    const first = await settled('postcall', 'pc-repeat', 'recording');
    expect(first.state).toBe('stored');
    const hits = media.hits('/vm.mp3');
    await sendJob('postcall', 'pc-repeat', 'recording', media.url('/vm.mp3'));
    await sendJob('postcall', 'pc-repeat', 'recording', media.url('/vm.mp3?again=1'));
    // Wait until the queue is empty: both repeats were received and acknowledged.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: em.queues.media,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      if (Number(Attributes!.ApproximateNumberOfMessages) + Number(Attributes!.ApproximateNumberOfMessagesNotVisible) === 0) break;
      if (Date.now() > deadline) throw new Error('media queue did not drain');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(media.hits('/vm.mp3')).toBe(hits);
    expect(await mediaOf('postcall', 'pc-repeat', 'recording')).toEqual(first);
  });

  it('asks the Hipcall API for a fresh record_url when the link has expired, and stores that', async () => {
    apiAnswerUrl = media.url('/fresh.mp3');
    await seedCall('hipcall', 'hc-fresh');
    const longAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000).toISOString();
    await sendJob('hipcall', 'hc-fresh', 'recording', media.url('/expired.mp3'), longAgo);
    const info = await settled('hipcall', 'hc-fresh', 'recording');
    expect(info).toMatchObject({
      state: 'stored',
      s3Key: 'recordings/hipcall/2026/04/02/hc-fresh.mp3',
      sha256: sha(files.fresh),
      attempts: 1,
    });
    expect(media.hits('/expired.mp3')).toBe(1);
    expect(hipcallApi.hits('/api/v3/calls/hc-fresh')).toBe(1);
  });
});
