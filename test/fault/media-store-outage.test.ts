/**
 * S3MediaStore's leftover uploads across an S3 outage, on a real s3rver process stopped and started
 * again. The media-fault scenario showed it end to end (two uploads left open); here the order of
 * events is pinned, so the test does not depend on when the job's retry happens to run.
 */
import { PassThrough } from 'node:stream';
import { CreateBucketCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3MediaStore } from '#adapters/media-store.ts';
import { localClientConfig } from '#bin/local/target.ts';
import { startEmulatorProcess, type EmulatorProcess } from '#test/support/emulator-process.ts';
import { waitFor } from './fault-stack.ts';

const MiB = 1024 * 1024;
const BUCKET = 'leftovers';

describe('S3MediaStore when S3 dies mid-upload', () => {
  let s3: EmulatorProcess;
  let client: S3Client;
  /** AbortMultipartUpload calls that failed (S3 unreachable), as the client saw them. */
  let failedAborts = 0;

  beforeAll(async () => {
    s3 = await startEmulatorProcess('s3', { buckets: [BUCKET] });
    // One attempt per call: each abort fails at once while S3 is gone, and the test can count them.
    client = new S3Client({ ...localClientConfig(s3.endpoint), maxAttempts: 1 });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        try {
          return await next(args);
        } catch (err) {
          if (context.commandName === 'AbortMultipartUploadCommand') failedAborts++;
          throw err;
        }
      },
      { step: 'initialize', name: 'countFailedAborts' },
    );
    await client.send(new CreateBucketCommand({ Bucket: BUCKET })).catch(() => undefined);
  });
  afterAll(async () => {
    client?.destroy();
    await s3?.close();
  });

  it('aborts an upload it could not abort during the outage once the next store succeeds, even when that store began while S3 was still down', async () => {
    const store = new S3MediaStore(client, BUCKET, { partSize: 5 * MiB, queueSize: 1, collectGarbage: false });
    const open = async () => ((await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? []).map((u) => u.Key);

    // 1. A stream past its first part: the multipart upload is open. Then S3 dies, and the stream fails.
    const first = new PassThrough();
    const firstStored = store.putStream({ key: 'rec/first.mp3', body: first, contentType: 'audio/mpeg', metadata: {} }).then(
      () => 'stored',
      (err: Error) => `rejected: ${err.message}`,
    );
    first.write(Buffer.alloc(6 * MiB, 1));
    await waitFor(
      async () => ((await open()).length ? true : undefined),
      20_000,
      (e) => `the first upload never opened${e ? `: ${e}` : ''}`,
    );
    await s3.stop('SIGKILL');
    first.destroy(new Error('the recording host went away'));
    expect(await firstStored, 'the first store fails (its source failed)').toMatch(/^rejected: /);
    const abortsAfterFirst = failedAborts;
    expect(abortsAfterFirst, 'its abort was tried while S3 was down, and failed').toBeGreaterThan(0);

    // 2. The next store starts while S3 is still down: its attempt at the leftover fails too.
    const second = new PassThrough();
    const secondStored = store.putStream({ key: 'rec/second.mp3', body: second, contentType: 'audio/mpeg', metadata: {} });
    await waitFor(
      () => (failedAborts > abortsAfterFirst ? true : undefined),
      20_000,
      () => `the second store never tried the leftover (failed aborts: ${failedAborts})`,
    );

    // 3. S3 comes back and the second stream goes through.
    await s3.start();
    second.end(Buffer.alloc(64 * 1024, 2));
    const stored = await secondStored;
    expect(stored.bytes).toBe(64 * 1024);
    expect(await open(), 'no multipart upload is left open once a store has succeeded').toEqual([]);
  });
});
