/**
 * The media function in a process of its own, as Lambda runs it: the real handler through its
 * composition root, fed by the local poller from the media queue. The fault tests SIGKILL it mid-upload
 * and read its memory: it prints `ready`, then one JSON line `{"mem":{...}}` every 50 ms.
 * Environment: the function's (FaultStack.env plus the media tunables) and CALLVAULT_FETCH_ALLOW.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { localClientConfig, localTarget } from '#bin/local/target.ts';
import { startPoller } from '#bin/local/poller.ts';
import { mediaDeps } from '#functions/media/deps.ts';
import { createMediaHandler } from '#functions/media/handler.ts';

const env = process.env;
const target = localTarget({ dynamodb: env.AWS_ENDPOINT_URL_DYNAMODB!, s3: env.AWS_ENDPOINT_URL_S3!, sqs: env.AWS_ENDPOINT_URL_SQS! });
const fetchAllow = (env.CALLVAULT_FETCH_ALLOW ?? '').split(',').filter(Boolean);
const handler = createMediaHandler(mediaDeps(env, { target, allowHttp: true, fetchAllow, visibilityChangeCountsAsReceive: true, metricsOut: () => undefined }));
const sqs = new SQSClient(localClientConfig(env.AWS_ENDPOINT_URL_SQS!));
const stop = startPoller({ sqs, queueUrl: env.MEDIA_QUEUE_URL!, handler, name: 'callvault-media', batchSize: 1, timeoutMs: Number(env.FAULT_FUNCTION_TIMEOUT_MS ?? 60_000), waitTimeSeconds: 1, concurrency: 1 });

const sample = () => {
  const m = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ mem: { rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, external: m.external } })}\n`);
};
setInterval(sample, 50).unref();
process.stdout.write('ready\n');
// The parent going away (its end of stdin closes) ends the worker too.
process.stdin.on('end', () => void stop().finally(() => process.exit(0))).resume();
