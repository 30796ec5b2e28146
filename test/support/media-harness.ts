/**
 * Integration harness for the media worker, to run beside another harness on the same emulators: a
 * file server on 127.0.0.1 that counts hits per path, and the real media handler, built through its
 * composition root with the strict AWS contract layer, fed by a poller on the real media queue.
 * Built as media-worker.test.ts builds it (http and the file server allowed, timings shrunk).
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { localClientConfig, type Emulators } from '#bin/local/emulators.ts';
import { startPoller } from '#bin/local/poller.ts';
import type { CallVaultConfig } from '#contract/config.ts';
import { mediaDeps } from '#functions/media/deps.ts';
import { createMediaHandler } from '#functions/media/handler.ts';
import type { MediaInfo, MediaKind } from '#core/types.ts';
import { strictAwsTarget } from '#bin/aws-fidelity/aws-contract.ts';

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A file to serve: its bytes and content type. */
export interface ServedFile {
  body: Buffer;
  contentType: string;
}

export interface FileServer {
  url(path: string): string;
  /** `127.0.0.1:{port}`, for the fetch allow-list. */
  hostPort: string;
  port: number;
  hits(path: string): number;
  close(): Promise<void>;
}

/** A node:http server on a free 127.0.0.1 port serving `files` by path (404 otherwise), counting hits per path. */
export async function startFileServer(files: Record<string, ServedFile>): Promise<FileServer> {
  const hits = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const file = files[path];
    if (!file) return void res.writeHead(404).end('no such file');
    res.writeHead(200, { 'content-type': file.contentType, 'content-length': String(file.body.length) }).end(file.body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    hostPort: `127.0.0.1:${port}`,
    port,
    hits: (path) => hits.get(path) ?? 0,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

export interface MediaWorkerOptions {
  /** `host:port` pairs exempt from the private-address rules (the file server). */
  fetchAllow: string[];
}

export interface MediaWorker {
  /** Resolves once the media queue (visible, delayed and in flight) is empty, or throws after `timeoutMs`. */
  drained(timeoutMs?: number): Promise<void>;
  /** Waits until `kind` of the call reaches a final state (not `queued`), or throws after `timeoutMs`. */
  settled(read: () => Promise<Record<string, unknown> | undefined>, kind: MediaKind, timeoutMs?: number): Promise<MediaInfo>;
  objectBytes(key: string): Promise<Buffer>;
  dlqDepth(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Start the media worker on `emulators`' media queue with `config` (the same config the ingest runs
 * with, so each source's media rules are the ones the test set). Its clients go through the strict
 * AWS layer as the media function's: calls are recorded for the permissions contract and AWS's limits apply.
 */
export function startMediaWorker(emulators: Emulators, config: CallVaultConfig, options: MediaWorkerOptions): MediaWorker {
  const env = {
    ...emulators.env,
    CALLVAULT_MEDIA_NOT_YET_WINDOW_SECONDS: '3',
    CALLVAULT_MEDIA_NOT_YET_BACKOFF_SECONDS: '1',
    CALLVAULT_MEDIA_BACKOFF_BASE_SECONDS: '1',
    CALLVAULT_MEDIA_IDLE_TIMEOUT_MS: '3000',
    CALLVAULT_MEDIA_CONNECT_TIMEOUT_MS: '2000',
    POWERTOOLS_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'SILENT',
  };
  const handler = createMediaHandler(
    mediaDeps(env, {
      config,
      target: strictAwsTarget(emulators.target, 'media'),
      allowHttp: true,
      fetchAllow: options.fetchAllow,
      visibilityChangeCountsAsReceive: true,
    }),
  );
  const sqs = new SQSClient(localClientConfig(emulators.endpoints.sqs));
  const s3 = new S3Client(localClientConfig(emulators.endpoints.s3));
  const stopPoller = startPoller({
    sqs,
    queueUrl: emulators.queues.media,
    handler,
    name: 'media-test',
    batchSize: 5,
    timeoutMs: 60_000,
    waitTimeSeconds: 1,
    concurrency: 2,
  });

  const depth = async (queueUrl: string) => {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes?.ApproximateNumberOfMessagesDelayed ?? 0) +
      Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  };

  return {
    async drained(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while ((await depth(emulators.queues.media)) > 0) {
        if (Date.now() > deadline) throw new Error('the media queue did not drain');
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async settled(read, kind, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const info = (await read())?.[kind] as MediaInfo | undefined;
        if (info && info.state !== 'queued') return info;
        if (Date.now() > deadline) throw new Error(`${kind} still ${JSON.stringify(info)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async objectBytes(key) {
      const res = await s3.send(new GetObjectCommand({ Bucket: emulators.bucket, Key: key }));
      return Buffer.from(await res.Body!.transformToByteArray());
    },
    dlqDepth: () => depth(emulators.queues.mediaDlq),
    async stop() {
      await stopPoller();
      sqs.destroy();
      s3.destroy();
    },
  };
}
