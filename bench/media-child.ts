/**
 * One media download in a process of its own, so its peak RSS is the worker's alone (the emulators and
 * the source server run in the parent). bench/media.ts bundles this file the way CDK bundles the
 * function (minified ESM, AWS SDK included) and runs it with plain `node`.
 *
 *   worker: the real media handler on a one-record SQSEvent (safe fetch → hash/count → lib-storage → item)
 *   bare:   undici request → lib-storage Upload of the response body, nothing else (the throughput baseline)
 *
 * Run with the flags Lambda's Node.js runtime uses (see bench/media.ts). Prints one JSON line:
 * {bytes, ms, cpuMs, rssBeforeKiB, maxRssKiB, peaksKiB, heapAfterGcKiB, chunks, avgChunk, pinned, failures}.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { SQSEvent } from 'aws-lambda';

interface ChildInput {
  mode: 'worker' | 'bare';
  url: string;
  /** worker: the media job; bare: the S3 key. */
  job?: unknown;
  key?: string;
  bucket?: string;
}

const input = JSON.parse(process.argv[2] ?? '{}') as ChildInput;

// Chunk statistics from undici's own diagnostics channel: how the body really arrived.
let chunks = 0;
let chunkBytes = 0;
let pinned = 0;
subscribe('undici:request:bodyChunkReceived', (message) => {
  const chunk = (message as { chunk: Buffer }).chunk;
  chunks++;
  chunkBytes += chunk.length;
  if (chunk.buffer.byteLength >= 2 * chunk.length) pinned++;
});

type Run = () => Promise<{ bytes: number; failures: number }>;

/** The emulators, from the environment bench/media.ts gives this process. */
async function emulatorTarget() {
  const { localTarget } = await import('#bin/local/target.ts');
  const env = process.env;
  return localTarget({ dynamodb: env.AWS_ENDPOINT_URL_DYNAMODB!, s3: env.AWS_ENDPOINT_URL_S3!, sqs: env.AWS_ENDPOINT_URL_SQS! });
}

/** Load everything first (a warm Lambda), then hand back the job to time. */
async function prepareWorker(): Promise<Run> {
  const [{ createMediaHandler }, { mediaDeps }, { fakeContext }, { parseConfig }] = await Promise.all([
    import('#functions/media/handler.ts'),
    import('#functions/media/deps.ts'),
    import('#bin/local/poller.ts'),
    import('#contract/config-schema.ts'),
  ]);
  // As the local stack builds it: http and the bench's media server allowed.
  const fetchAllow = (process.env.CALLVAULT_FETCH_ALLOW ?? '').split(',').filter(Boolean);
  const handler = createMediaHandler(
    mediaDeps(process.env, {
      config: parseConfig(JSON.parse(process.env.CALLVAULT_CONFIG ?? '{}')),
      target: await emulatorTarget(),
      allowHttp: true,
      fetchAllow,
      visibilityChangeCountsAsReceive: true,
    }),
  );
  const event: SQSEvent = {
    Records: [
      {
        messageId: 'bench-1',
        receiptHandle: 'bench-receipt',
        body: JSON.stringify(input.job),
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(Date.now()),
          SenderId: 'bench',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:media',
        awsRegion: 'us-east-1',
      },
    ],
  };
  return async () => {
    const res = await handler(event, fakeContext('callvault-media-bench', 900_000));
    return { bytes: chunkBytes, failures: res?.batchItemFailures?.length ?? 0 };
  };
}

async function prepareBare(): Promise<Run> {
  const [{ request }, { Upload }, { s3Client, PATIENT }] = await Promise.all([
    import('undici'),
    import('@aws-sdk/lib-storage'),
    import('#adapters/aws.ts'),
  ]);
  const client = s3Client(PATIENT, await emulatorTarget());
  return async () => {
    const res = await request(input.url);
    const upload = new Upload({
      client,
      partSize: 8 * 1024 * 1024,
      queueSize: 2,
      params: { Bucket: input.bucket!, Key: input.key!, Body: res.body, ContentType: 'audio/mpeg' },
    });
    await upload.done();
    return { bytes: chunkBytes, failures: 0 };
  };
}

const run = await (input.mode === 'worker' ? prepareWorker() : prepareBare());
// Where the memory is: sampled while the job runs (RSS peak itself comes from the kernel, below).
const peaks = { heapTotal: 0, arrayBuffers: 0, external: 0, rss: 0 };
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  for (const k of Object.keys(peaks) as (keyof typeof peaks)[]) peaks[k] = Math.max(peaks[k], Math.round(m[k] / 1024));
}, 50);
const rssBeforeKiB = Math.round(process.memoryUsage().rss / 1024);
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const out = await run();
const cpu = process.cpuUsage(cpu0);
const ms = performance.now() - t0;
clearInterval(sampler);
// With --expose-gc (Lambda's runtime sets it): what stays after a full GC, to tell growth from garbage.
(globalThis as { gc?: () => void }).gc?.();
const heapAfterGcKiB = Math.round(process.memoryUsage().heapUsed / 1024);
console.log(
  JSON.stringify({
    ...out,
    ms,
    rssBeforeKiB,
    maxRssKiB: process.resourceUsage().maxRSS,
    chunks,
    avgChunk: chunks ? chunkBytes / chunks : 0,
    pinned,
    peaksKiB: peaks,
    heapAfterGcKiB,
    cpuMs: (cpu.user + cpu.system) / 1000,
  }),
);
process.exit(0);
