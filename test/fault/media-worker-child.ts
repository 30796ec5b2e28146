/**
 * The media function in a process of its own, as Lambda runs it: the real handler through its
 * composition root, fed by the local poller from the media queue. The fault tests SIGKILL it mid-upload
 * and weigh it.
 *
 * Protocol: it loads its modules first and prints `loaded` (so the parent can boot it while the
 * emulators start), then reads one JSON line on stdin: the function's environment (FaultStack.env plus
 * the media tunables) and CALLVAULT_FETCH_ALLOW. It prints `ready` once it polls, then every 100 ms a line
 * `{"mem":{...}}`: the raw figures, and `live`, the arrayBuffers and heap left after a full GC (what the
 * worker really retains, garbage excluded). stdin closing ends it.
 */
import { createInterface } from 'node:readline';
import { SQSClient } from '@aws-sdk/client-sqs';
import { localClientConfig, localTarget } from '#bin/local/target.ts';
import { startPoller } from '#bin/local/poller.ts';
import { mediaDeps } from '#functions/media/deps.ts';
import { parseConfig } from '#contract/config-schema.ts';
import { ENV } from '#contract/resources.ts';
import { createMediaHandler } from '#functions/media/handler.ts';

process.stdout.write('loaded\n');

const lines = createInterface({ input: process.stdin });
const first = await new Promise<string | undefined>((resolve) => {
  lines.once('line', resolve);
  lines.once('close', () => resolve(undefined));
});
if (first === undefined) process.exit(0);
// Into process.env as well: some libraries (Powertools) read their settings there, as on Lambda.
Object.assign(process.env, JSON.parse(first) as Record<string, string>);
const env = process.env;

const target = localTarget({ dynamodb: env.AWS_ENDPOINT_URL_DYNAMODB!, s3: env.AWS_ENDPOINT_URL_S3!, sqs: env.AWS_ENDPOINT_URL_SQS! });
const fetchAllow = (env.CALLVAULT_FETCH_ALLOW ?? '').split(',').filter(Boolean);
const handler = createMediaHandler(
  mediaDeps(env, {
    config: parseConfig(JSON.parse(env[ENV.config] ?? '{}')),
    target,
    allowHttp: true,
    fetchAllow,
    visibilityChangeCountsAsReceive: true,
    metricsOut: () => undefined,
  }),
);
const sqs = new SQSClient(localClientConfig(env.AWS_ENDPOINT_URL_SQS!));
const stop = startPoller({
  sqs,
  queueUrl: env.MEDIA_QUEUE_URL!,
  handler,
  name: 'callvault-media',
  batchSize: 1,
  timeoutMs: 60_000,
  waitTimeSeconds: 1,
  concurrency: 1,
});

type Gc = (options?: { type: 'major' | 'minor'; execution: 'sync' }) => void;
const gc = (globalThis as { gc?: Gc }).gc;
const sample = () => {
  const raw = process.memoryUsage();
  // A full GC before the second reading: what is left is what the worker holds on to.
  gc?.({ type: 'major', execution: 'sync' });
  const live = process.memoryUsage();
  const mem = {
    rss: raw.rss,
    heapUsed: raw.heapUsed,
    arrayBuffers: raw.arrayBuffers,
    external: raw.external,
    live: { arrayBuffers: live.arrayBuffers, heapUsed: live.heapUsed },
  };
  process.stdout.write(`${JSON.stringify({ mem })}\n`);
};
setInterval(sample, 100).unref();
process.stdout.write('ready\n');
lines.once('close', () => void stop().finally(() => process.exit(0)));
