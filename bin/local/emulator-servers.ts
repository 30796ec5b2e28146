/**
 * The three emulator servers (dynalite, s3rver, local-aws-sqs), each started on its own, with no AWS SDK
 * loaded: `startEmulators` runs them in its own process or, for the local stack, each in a child process
 * of its own (bin/local/emulator-process.ts), so they run on other cores than the API and the handlers.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export type EmulatorKind = 'dynamodb' | 's3' | 'sqs';

export interface EmulatorServerOptions {
  kind: EmulatorKind;
  /** 0 picks a free port. */
  port: number;
  host: string;
  /** dynamodb: the leveldb directory (omit for memory). s3: the objects' directory (required). */
  dir?: string;
  /** s3: the bucket to create. */
  bucket?: string;
}

/** One emulator, listening. */
export interface EmulatorServer {
  port: number;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

type KoaMiddleware = (
  ctx: { method: string; url: string; status: number; body: unknown; type: string },
  next: () => Promise<void>,
) => Promise<void>;

/**
 * s3rver lacks AbortMultipartUpload and ListMultipartUploads (it answers 405/501), which lib-storage
 * needs to clean up after a failed upload and tests need to prove nothing was left open. Both act on
 * s3rver's own uploads directory (`{bucket}/._S3rver_uploads/{uploadId}/key`).
 */
function multipartGaps(dir: string): KoaMiddleware {
  const xml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return async (ctx, next) => {
    const url = new URL(ctx.url, 'http://s3.local');
    const [bucket, ...keyParts] = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const uploads = bucket ? join(dir, bucket, '._S3rver_uploads') : '';
    const uploadId = url.searchParams.get('uploadId') ?? '';
    if (ctx.method === 'DELETE' && bucket && keyParts.length && /^[A-Za-z0-9_-]+$/.test(uploadId)) {
      const { rm, stat } = await import('node:fs/promises');
      const exists = await stat(join(uploads, uploadId)).then(
        () => true,
        () => false,
      );
      ctx.type = 'application/xml';
      if (!exists) {
        ctx.status = 404;
        ctx.body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>`;
        return;
      }
      await rm(join(uploads, uploadId), { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = '';
      return;
    }
    if (ctx.method === 'GET' && bucket && !keyParts.length && url.searchParams.has('uploads')) {
      const { readdir, readFile, stat } = await import('node:fs/promises');
      const prefix = url.searchParams.get('prefix') ?? '';
      const entries = [];
      for (const id of await readdir(uploads).catch(() => [] as string[])) {
        const key = await readFile(join(uploads, id, 'key'), 'utf8').catch(() => undefined);
        if (key === undefined || !key.startsWith(prefix)) continue;
        const initiated = (await stat(join(uploads, id))).birthtime.toISOString();
        entries.push(`<Upload><Key>${xml(key)}</Key><UploadId>${xml(id)}</UploadId><Initiated>${initiated}</Initiated></Upload>`);
      }
      ctx.type = 'application/xml';
      ctx.status = 200;
      ctx.body = `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>${xml(bucket)}</Bucket><Prefix>${xml(prefix)}</Prefix><IsTruncated>false</IsTruncated>${entries.join('')}</ListMultipartUploadsResult>`;
      return;
    }
    await next();
  };
}

/** Start one emulator in this process. */
export async function startEmulatorServer(opts: EmulatorServerOptions): Promise<EmulatorServer> {
  if (opts.kind === 'dynamodb') {
    const dynalite = require('dynalite') as (o: object) => Server;
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(opts.dir ? { path: opts.dir } : {}) });
    const port = await listen(server, opts.port, opts.host);
    return { port, close: () => closeServer(server) };
  }
  if (opts.kind === 's3') {
    if (!opts.dir) throw new Error('The S3 emulator needs a directory for its objects.');
    const S3rver = require('s3rver') as new (o: object) => {
      run(): Promise<AddressInfo>;
      close(): Promise<void>;
      middleware: KoaMiddleware[];
    };
    const s3 = new S3rver({
      port: opts.port,
      address: opts.host,
      silent: true,
      directory: opts.dir,
      configureBuckets: opts.bucket ? [{ name: opts.bucket }] : [],
    });
    s3.middleware.unshift(multipartGaps(opts.dir));
    const { port } = await s3.run();
    return { port, close: () => s3.close() };
  }
  const { createSqsServer } = require('local-aws-sqs') as { createSqsServer: (o: object) => Promise<Server> };
  const server = await createSqsServer({ port: opts.port, hostname: opts.host, emulateQueueCreationLifecycle: false });
  return { port: (server.address() as AddressInfo).port, close: () => closeServer(server) };
}
