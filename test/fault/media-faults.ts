/**
 * Media faults: S3 killed while recordings stream into it, a media worker process killed mid-upload,
 * and a recording server that answers slowly. Each drives the real handlers on a FaultStack: the ingest
 * takes Hipcall call_hangup deliveries whose record_url points at a local recording server; the media
 * worker (in this process, or in a child process where it must be killed or weighed) takes the jobs.
 * Each returns what happened; the tests and the benchmark judge it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startPoller } from '#bin/local/poller.ts';
import { fakeContext } from '#bin/local/poller.ts';
import { parseConfig } from '#contract/config-schema.ts';
import { ENV, MEDIA_FUNCTION_ENV } from '#contract/resources.ts';
import { StaticWebhookTokens } from '#bin/local/local-secrets.ts';
import { ingestDeps } from '#functions/ingest/deps.ts';
import { createIngestHandler } from '#functions/ingest/handler.ts';
import { mediaDeps } from '#functions/media/deps.ts';
import { createMediaHandler } from '#functions/media/handler.ts';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { apiEvent, hipcallHangup, TOKEN } from '#test/support/ingest-harness.ts';
import { strictAwsTarget } from '#bin/aws-fidelity/aws-contract.ts';
import { startFaultStack, waitFor, type FaultStack, type FaultStackOptions } from './fault-stack.ts';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Pseudo-random bytes (incompressible, reproducible): AES-CTR over zeros, keyed by the seed (fast: 64 MiB in well under a second). */
export function recordingBytes(size: number, seed: string): Buffer {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** How the recording server answers one request. */
export interface Pace {
  headersDelayMs?: number;
  /** Bytes per write, and a pause after every `pauseEvery` bytes. */
  chunkBytes?: number;
  pauseEvery?: number;
  pauseMs?: number;
  /**
   * Stop writing once this many bytes are out, until `release` settles: pins the fault to mid-stream
   * however loaded the machine is (the worker holds an open download, and an upload past its first part).
   */
  holdAt?: number;
  release?: Promise<void>;
}

export interface RecordingServer {
  url(name: string): string;
  hostPort: string;
  hits(name: string): number;
  /** Body bytes written so far for `name` (all requests). */
  sent(name: string): number;
  close(): Promise<void>;
}

/** Serves `files` as audio/mpeg; `pace(name, hit)` decides how each request is answered (1-based hit). */
export async function startRecordingServer(
  files: Record<string, Buffer>,
  pace: (name: string, hit: number) => Pace = () => ({}),
): Promise<RecordingServer> {
  const hits = new Map<string, number>();
  const sent = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const name = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/rec\//, '');
    const body = files[name];
    const hit = (hits.get(name) ?? 0) + 1;
    hits.set(name, hit);
    if (!body) return void res.writeHead(404).end('no such recording');
    const p = pace(name, hit);
    const chunk = p.chunkBytes ?? 256 * 1024;
    let off = 0;
    let sincePause = 0;
    let held = false;
    const pump = () => {
      while (off < body.length && !res.destroyed) {
        if (p.holdAt !== undefined && off >= p.holdAt && !held) {
          held = true;
          return void (p.release ?? Promise.resolve()).then(pump);
        }
        const piece = body.subarray(off, Math.min(body.length, off + chunk));
        off += piece.length;
        sincePause += piece.length;
        sent.set(name, (sent.get(name) ?? 0) + piece.length);
        const more = res.write(piece);
        if (p.pauseEvery && sincePause >= p.pauseEvery) {
          sincePause = 0;
          return void setTimeout(pump, p.pauseMs ?? 0);
        }
        if (!more) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end();
    };
    setTimeout(() => {
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': String(body.length) });
      pump();
    }, p.headersDelayMs ?? 0);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (name) => `http://127.0.0.1:${port}/rec/${name}`,
    hostPort: `127.0.0.1:${port}`,
    hits: (name) => hits.get(name) ?? 0,
    sent: (name) => sent.get(name) ?? 0,
    close: () => new Promise<void>((ok) => (server.close(() => ok()), server.closeAllConnections())),
  };
}

/** The media function's environment here: short retry timings (seconds, not minutes) and 5 MiB parts. */
function mediaEnv(stack: FaultStack, fetchAllow: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...stack.env,
    // The worker child reads it, as the local stack does.
    [ENV.config]: JSON.stringify(parseConfig({})),
    CALLVAULT_FETCH_ALLOW: fetchAllow,
    CALLVAULT_MEDIA_NOT_YET_WINDOW_SECONDS: '3',
    CALLVAULT_MEDIA_NOT_YET_BACKOFF_SECONDS: '1',
    CALLVAULT_MEDIA_BACKOFF_BASE_SECONDS: '1',
    CALLVAULT_MEDIA_IDLE_TIMEOUT_MS: '3000',
    CALLVAULT_MEDIA_CONNECT_TIMEOUT_MS: '2000',
    CALLVAULT_MEDIA_PART_SIZE_MIB: '5',
    CALLVAULT_MEDIA_QUEUE_SIZE: '1',
    ...extra,
  };
}

/** Deliver one hangup per recording through the real ingest (media delay 0); returns the call keys by name. */
async function deliverHangups(stack: FaultStack, server: RecordingServer, names: string[]): Promise<Map<string, string>> {
  const handler = createIngestHandler(
    ingestDeps(stack.env, {
      config: parseConfig({}),
      target: stack.target,
      tokens: new StaticWebhookTokens(TOKEN),
      mediaDelaySeconds: 0,
      metricsOut: () => undefined,
    }),
  );
  const keys = new Map<string, string>();
  for (const name of names) {
    const uuid = `fault-media-${name}-${crypto.randomUUID()}`;
    const res = (await handler(
      apiEvent('hipcall', hipcallHangup(uuid, server.url(name))),
      fakeContext('callvault-ingest', 6000),
    )) as APIGatewayProxyStructuredResultV2;
    if (res.statusCode !== 200)
      throw new Error(`the ingest answered ${res.statusCode} ${res.body}: the fault stack is not healthy before the fault`);
    keys.set(name, `hipcall#${uuid}`);
  }
  return keys;
}

/** The media worker in this process, on the stack's media queue. */
function inProcessWorker(stack: FaultStack, env: Record<string, string>, fetchAllow: string) {
  const handler = createMediaHandler(
    mediaDeps(env, {
      config: parseConfig({}),
      target: strictAwsTarget(stack.target, 'media'),
      allowHttp: true,
      fetchAllow: [fetchAllow],
      visibilityChangeCountsAsReceive: true,
      metricsOut: () => undefined,
    }),
  );
  return startPoller({
    sqs: stack.sqs,
    queueUrl: stack.queues.media,
    handler,
    name: 'callvault-media',
    batchSize: 1,
    timeoutMs: 60_000,
    waitTimeSeconds: 1,
    concurrency: 2,
  });
}

interface MemorySample {
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
  external: number;
  /** After a full GC: what the worker retains. */
  live: { arrayBuffers: number; heapUsed: number };
}

export interface ChildWorker {
  samples: MemorySample[];
  output(): string;
  /** Hand it the function's environment; resolves once it polls the media queue. */
  configure(env: Record<string, string>): Promise<void>;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Spawn the media worker process (test/fault/media-worker-child.ts) now: it loads its modules (about 3 s
 * through tsx) while the caller starts the emulators, then waits for `configure`.
 */
function childWorker(): ChildWorker {
  const script = fileURLToPath(new URL('./media-worker-child.ts', import.meta.url));
  // Lambda's Node.js flags for a 256 MB function (bench/media.ts lambdaNodeFlags): its GC, not a desktop's;
  // and the media function's environment (glibc's mmap threshold is read once, at process start).
  const flags = ['--expose-gc', '--max-semi-space-size=12', '--max-old-space-size=231'];
  const child: ChildProcess = spawn(process.execPath, [...flags, '--import', 'tsx', script], {
    env: { ...process.env, ...MEDIA_FUNCTION_ENV },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const samples: MemorySample[] = [];
  let output = '';
  let buffered = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith('{"mem"')) samples.push((JSON.parse(line) as { mem: MemorySample }).mem);
      else output += `${line}\n`;
    }
  });
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  // Not waitFor: that retries through errors, and a worker that died should fail the test at once.
  const said = async (word: string, what: string) => {
    const deadline = Date.now() + 60_000;
    while (!output.includes(`${word}\n`)) {
      if (gone())
        throw new Error(`the media worker process ${what}: it exited (${child.exitCode ?? child.signalCode}); its output:\n${output}`);
      if (Date.now() > deadline) throw new Error(`the media worker process ${what} within 60 s; its output:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return {
    samples,
    output: () => output,
    async configure(env) {
      await said('loaded', 'did not load its modules');
      child.stdin!.write(`${JSON.stringify(env)}\n`);
      await said('ready', 'did not start polling');
    },
    async kill() {
      if (gone()) return;
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (gone()) return;
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

type Recording = { state?: string; sha256?: string; bytes?: number; attempts?: number; error?: string };
const recordingOf = (item: Record<string, unknown> | undefined) => item?.recording as Recording | undefined;

/** Wait until every call's recording is in a final state (or `timeoutMs` passes); the recordings as they are. */
async function settle(stack: FaultStack, keys: string[], timeoutMs: number): Promise<Map<string, Recording | undefined>> {
  let last = new Map<string, Recording | undefined>();
  await waitFor(
    async () => {
      const items = await stack.items(keys);
      last = new Map(keys.map((k) => [k, recordingOf(items.get(k))]));
      return [...last.values()].every((r) => r && r.state !== 'queued') ? true : undefined;
    },
    timeoutMs,
    () => 'recordings not settled',
  ).catch(() => undefined);
  return last;
}

export interface MediaFaultResult {
  recordings: number;
  /** Stored with the source's exact bytes (sha256 and size match). */
  storedWhole: number;
  states: string[];
  /** Multipart uploads open in the bucket at the end. */
  openUploads: number;
  /** Requests the recording server answered (retries show here). */
  fetches: number;
  /** From the fault ending (S3 back, worker killed) to every recording settled. */
  recoverMs: number;
  mediaDlq: number;
}

async function judge(
  stack: FaultStack,
  files: Record<string, Buffer>,
  keys: Map<string, string>,
  server: RecordingServer,
  since: number,
): Promise<MediaFaultResult> {
  const settled = await settle(stack, [...keys.values()], 40_000);
  const recoverMs = Date.now() - since;
  let storedWhole = 0;
  for (const [name, key] of keys) {
    const r = settled.get(key);
    if (r?.state === 'stored' && r.sha256 === sha256(files[name]!) && r.bytes === files[name]!.length) storedWhole++;
  }
  // The item's hash is the worker's own count; the object itself must match too.
  for (const [name, key] of keys) {
    const items = await stack.items([key]);
    const s3Key = (recordingOf(items.get(key)) as { s3Key?: string } | undefined)?.s3Key;
    if (s3Key && sha256(await stack.objectBytes(s3Key)) !== sha256(files[name]!)) storedWhole--;
  }
  return {
    recordings: keys.size,
    storedWhole,
    states: [...settled.values()].map((r) => `${r?.state}${r?.error ? ` (${r.error.slice(0, 80)})` : ''}`),
    openUploads: (await stack.openUploads()).length,
    fetches: Object.keys(files).reduce((n, name) => n + server.hits(name), 0),
    recoverMs,
    mediaDlq: await stack.depth('mediaDlq'),
  };
}

/**
 * Start the stack (and the worker process, when `child`, booting alongside: both take seconds), run,
 * and stop everything whatever happens.
 */
async function withStack<T>(
  options: FaultStackOptions & { child?: boolean },
  run: (stack: FaultStack, child: ChildWorker | undefined) => Promise<T>,
): Promise<T> {
  const child = options.child ? childWorker() : undefined;
  let stack: FaultStack | undefined;
  try {
    stack = await startFaultStack(options);
    return await run(stack, child);
  } finally {
    await child?.stop();
    await stack?.close();
  }
}

/** The first request of each recording trickles (~4 MiB/s, so a fault can land mid-stream); retries run at full speed. */
const pacedFirstHit = (_name: string, hit: number): Pace =>
  hit === 1 ? { chunkBytes: 64 * 1024, pauseEvery: 256 * 1024, pauseMs: 60 } : {};

/** Past the first 5 MiB part: a multipart upload is open and its first part on its way. */
const PAST_FIRST_PART = 6 * MiB;

/** S3 killed once the recordings are streaming (a part stored), started again `downMs` later. */
export async function runS3Outage(
  options: { recordings?: number; sizeMiB?: number; downMs?: number } = {},
): Promise<MediaFaultResult & { downMs: number }> {
  const n = options.recordings ?? 2;
  const size = (options.sizeMiB ?? 8) * MiB;
  // Longer than the S3 client's own retries (PATIENT: 4 attempts, well under a second of backoff), so
  // the store fails and the job is retried, instead of the SDK riding the outage out.
  const downMs = options.downMs ?? 1500;
  const files = Object.fromEntries(Array.from({ length: n }, (_, i) => [`s3-${i}.mp3`, recordingBytes(size, `s3-${i}`)]));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  // Each first download holds past the first part until S3 is gone, then goes on into the dead S3.
  const server = await startRecordingServer(files, (name, hit) =>
    hit === 1 ? { ...pacedFirstHit(name, hit), holdAt: PAST_FIRST_PART, release: released } : {},
  );
  try {
    return await withStack({}, async (stack) => {
      // The hold must not look like a stalled server to the worker.
      const stop = inProcessWorker(stack, mediaEnv(stack, server.hostPort, { CALLVAULT_MEDIA_IDLE_TIMEOUT_MS: '15000' }), server.hostPort);
      try {
        const keys = await deliverHangups(stack, server, Object.keys(files));
        await waitFor(
          () => (Object.keys(files).every((f) => server.sent(f) >= PAST_FIRST_PART) ? true : undefined),
          30_000,
          () =>
            `the recordings never streamed past the first part: ${Object.keys(files)
              .map((f) => `${f} ${server.hits(f)} requests, ${server.sent(f)} bytes sent`)
              .join('; ')}`,
        );
        await stack.s3.stop('SIGKILL');
        release();
        await new Promise((r) => setTimeout(r, downMs));
        await stack.s3.start();
        return { ...(await judge(stack, files, keys, server, Date.now())), downMs };
      } finally {
        release();
        await stop();
      }
    });
  } finally {
    release();
    await server.close();
  }
}

/** A media worker process SIGKILLed mid-upload; SQS hands the job out again after its visibility timeout. */
export async function runWorkerKilled(
  options: { sizeMiB?: number; visibilitySeconds?: number } = {},
): Promise<MediaFaultResult & { attempts: number }> {
  const files = { 'killed.mp3': recordingBytes((options.sizeMiB ?? 8) * MiB, 'killed') };
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  // The first download holds past the first part until the worker is dead: killed mid-upload, always.
  const server = await startRecordingServer(files, (name, hit) =>
    hit === 1 ? { ...pacedFirstHit(name, hit), holdAt: PAST_FIRST_PART, release: released } : {},
  );
  try {
    // Deployed, the job returns after 90 min (6x the function timeout); here after a couple of seconds.
    return await withStack({ child: true, visibilitySeconds: { media: options.visibilitySeconds ?? 2 } }, async (stack, first) => {
      // The hold must not look like a stalled server to the worker.
      const env = mediaEnv(stack, server.hostPort, { CALLVAULT_MEDIA_IDLE_TIMEOUT_MS: '15000' });
      await first!.configure(env);
      let stop: (() => Promise<void>) | undefined;
      try {
        const keys = await deliverHangups(stack, server, Object.keys(files));
        await waitFor(
          () => (server.sent('killed.mp3') >= PAST_FIRST_PART ? true : undefined),
          30_000,
          () =>
            `the worker never streamed past the first part (${server.hits('killed.mp3')} requests, ${server.sent('killed.mp3')} bytes sent); its output:\n${first!.output()}`,
        );
        await first!.kill();
        release();
        const killedAt = Date.now();
        // A fresh worker (a new Lambda instance) takes the job when SQS hands it out again.
        stop = inProcessWorker(stack, env, server.hostPort);
        const result = await judge(stack, files, keys, server, killedAt);
        const attempts = recordingOf((await stack.items([...keys.values()])).get([...keys.values()][0]!))?.attempts ?? 0;
        return { ...result, attempts };
      } finally {
        await stop?.();
      }
    });
  } finally {
    release();
    await server.close();
  }
}

export interface SlowServerResult extends MediaFaultResult {
  bodyBytes: number;
  /** Multipart part size and parts in flight the worker ran with (its memory is about partSize x (queueSize + 1)). */
  partBytes: number;
  queueSize: number;
  /** Peak growth over the idle worker while it streamed the trickling body, as sampled (garbage included). */
  peakRssGrowth: number;
  peakArrayBuffersGrowth: number;
  /** Peak growth of the buffers the worker still held after a full GC: what it retains. */
  peakLiveArrayBuffersGrowth: number;
  memorySamples: number;
}

/**
 * A recording server that answers slowly: the first request's headers come later than the worker's
 * idle timeout (1.5 s here), so that attempt times out and is retried; the retry gets headers after
 * 0.5 s and a body in 4 KiB writes with pauses. The worker runs in a child process so its memory is its
 * own; the body is many parts long, so holding on to it would show (what a worker legitimately holds,
 * a part uploading, the next filling and its pieces, is about 3 parts: 15-20 MiB measured for bodies of
 * 16 to 64 MiB).
 */
export async function runSlowServer(options: { sizeMiB?: number } = {}): Promise<SlowServerResult> {
  const size = (options.sizeMiB ?? 64) * MiB;
  const files = { 'slow.mp3': recordingBytes(size, 'slow') };
  const server = await startRecordingServer(files, (_name, hit) =>
    hit === 1 ? { headersDelayMs: 2500 } : { headersDelayMs: 500, chunkBytes: 4096, pauseEvery: 2 * MiB, pauseMs: 50 },
  );
  try {
    return await withStack({ child: true }, async (stack, worker) => {
      const env = mediaEnv(stack, server.hostPort, { CALLVAULT_MEDIA_IDLE_TIMEOUT_MS: '1500' });
      await worker!.configure(env);
      const samplesBefore = (n: number) =>
        waitFor(
          () => (worker!.samples.length >= n ? true : undefined),
          30_000,
          () => `the media worker process reported ${worker!.samples.length} memory samples, not ${n}; its output:\n${worker!.output()}`,
        );
      await samplesBefore(5);
      const idle = worker!.samples.slice(-5);
      const base = {
        rss: Math.max(...idle.map((s) => s.rss)),
        arrayBuffers: Math.max(...idle.map((s) => s.arrayBuffers)),
        live: Math.max(...idle.map((s) => s.live.arrayBuffers)),
      };
      const from = worker!.samples.length;
      const keys = await deliverHangups(stack, server, Object.keys(files));
      const result = await judge(stack, files, keys, server, Date.now());
      const during = worker!.samples.slice(from);
      return {
        ...result,
        bodyBytes: size,
        partBytes: Number(env.CALLVAULT_MEDIA_PART_SIZE_MIB) * MiB,
        queueSize: Number(env.CALLVAULT_MEDIA_QUEUE_SIZE),
        peakRssGrowth: Math.max(0, ...during.map((s) => s.rss - base.rss)),
        peakArrayBuffersGrowth: Math.max(0, ...during.map((s) => s.arrayBuffers - base.arrayBuffers)),
        peakLiveArrayBuffersGrowth: Math.max(0, ...during.map((s) => s.live.arrayBuffers - base.live)),
        memorySamples: during.length,
      };
    });
  } finally {
    await server.close();
  }
}
