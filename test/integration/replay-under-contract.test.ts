/**
 * Replays that read raw/ back are allowed by the ingest role. A
 * 300 KiB body (too large for an inline replay message) and a `callvault replay --unapplied` both apply
 * here through an ingest built with the strict AWS layer, so every call it makes is recorded for the
 * permissions contract (the `contract` project checks them against the synthesised ingest role).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { replayCommand } from '#bin/cli/archive.ts';
import { localClientConfig } from '#bin/local/emulators.ts';
import { fakeContext, startPoller, type SqsHandler } from '#bin/local/poller.ts';
import { ENV, S3_KEYS } from '#contract/resources.ts';
import { StaticTokens } from '#adapters/webhook-tokens.ts';
import { ingestDeps } from '#functions/ingest/deps.ts';
import { createIngestHandler } from '#functions/ingest/handler.ts';
import { MAX_INLINE_REPLAY_BYTES } from '#functions/ingest/process.ts';
import type { ExtrasPointer } from '#core/types.ts';
import { envSink, memorySink, strictAwsTarget, teeSink } from '#bin/aws-fidelity/aws-contract.ts';
import { apiEvent, fixture, startIngestHarness, TOKEN, type IngestHarness } from '#test/support/ingest-harness.ts';
import { useLocalEndpoints } from '#test/support/local-endpoints.ts';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const POST_CALL = JSON.parse(fixture('postcall/post_call.json')) as Record<string, unknown>;

/** A post-call delivery of about `kib` KiB (its analysis holds the bulk). */
function postCallOf(callId: string, kib: number): string {
  const filler = 'turn of a long conversation. '.repeat(Math.ceil((kib * 1024) / 29));
  return JSON.stringify({ ...POST_CALL, callId, callAnalysis: { summary: 'long call', transcript: filler } });
}

let h: IngestHarness;
let handler: ReturnType<typeof createIngestHandler>;
const sink = memorySink();
let sqs: SQSClient;
let s3: S3Client;
let restoreEndpoints: (() => Promise<void>) | undefined;

/** Run the replay queue through the strict ingest until `callKey` is stored (or 20 s pass), then stop. */
async function replayUntilStored(callKey: string): Promise<Record<string, unknown> | undefined> {
  const stop = startPoller({
    sqs,
    queueUrl: h.emulators.queues.replay,
    handler: handler as unknown as SqsHandler,
    name: 'replay',
    waitTimeSeconds: 1,
  });
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const item = await h.item(callKey);
      if ((item && (await h.depth('replay')) === 0) || Date.now() > deadline) return item;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await stop();
  }
}

beforeAll(async () => {
  // Two sources of one provider: `replay --unapplied` must replay each delivery as the source that sent it.
  h = await startIngestHarness({
    sources: [
      { id: 'hipcall', provider: 'hipcall' },
      { id: 'postcall', provider: 'postcall' },
      { id: 'postcall-eu', provider: 'postcall' },
    ],
  });
  const env = { ...h.emulators.env, [ENV.config]: JSON.stringify(h.config), POWERTOOLS_LOG_LEVEL: 'SILENT' };
  handler = createIngestHandler(
    ingestDeps(env, { target: strictAwsTarget(h.emulators.target, 'ingest', teeSink(sink, envSink())), tokens: new StaticTokens(TOKEN) }),
  );
  sqs = new SQSClient(localClientConfig(h.emulators.endpoints.sqs));
  s3 = new S3Client(localClientConfig(h.emulators.endpoints.s3));
  restoreEndpoints = await useLocalEndpoints(h.emulators);
});

afterAll(async () => {
  await restoreEndpoints?.();
  sqs?.destroy();
  s3?.destroy();
  await h?.close();
});

/** The ingest's successful reads of raw/ objects. */
const rawReads = () =>
  sink.calls.filter((c) => c.fn === 'ingest' && c.action === 's3:GetObject' && c.resource.startsWith(`${h.emulators.bucket}/raw/`) && c.ok);

describe('replays that read raw/ back', () => {
  it('applies a 300 KiB delivery queued during a DynamoDB outage, reading its body from raw/', async () => {
    const body = postCallOf('pc-300k', 300);
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_INLINE_REPLAY_BYTES);
    h.emulators.breakDynamo();
    try {
      const res = (await handler(apiEvent('postcall', body), fakeContext('ingest', 6000))) as APIGatewayProxyStructuredResultV2;
      expect(res.statusCode).toBe(202);
      expect(JSON.parse(res.body ?? '{}')).toMatchObject({ status: 'queued' });
    } finally {
      h.emulators.restoreDynamo();
    }
    expect(await h.item('postcall#pc-300k')).toBeUndefined();

    const item = await replayUntilStored('postcall#pc-300k');
    expect(item).toMatchObject({ callId: 'pc-300k', status: 'completed', source: 'postcall' });
    expect((item?.analysis as ExtrasPointer).oversized).toBe(true);
    expect(rawReads().length).toBeGreaterThanOrEqual(1);
    expect(await h.depth('replay')).toBe(0);
    expect(await h.depth('replayDlq')).toBe(0);
  });

  it('applies a delivery kept in raw/ as .unapplied.json once `callvault replay --unapplied` queues it', async () => {
    const body = postCallOf('pc-unapplied', 20);
    const receivedAt = new Date().toISOString();
    // Where the ingest's last resort (replay queue down too) keeps the bytes.
    const rawKey = S3_KEYS.raw('postcall', receivedAt, 'pc-unapplied', receivedAt, `post_call-${sha256(body).slice(0, 16)}`);
    const unapplied = `${rawKey.replace(/\.json$/, '')}.unapplied.json`;
    await s3.send(
      new PutObjectCommand({
        Bucket: h.emulators.bucket,
        Key: unapplied,
        Body: body,
        ContentType: 'application/json',
        Metadata: { source: 'postcall', 'received-at': receivedAt },
      }),
    );
    const readsBefore = rawReads().length;

    const lines: string[] = [];
    expect(await replayCommand(['--unapplied', '--local'], (line) => void lines.push(line))).toBe(0);
    expect(lines.join('\n')).toMatch(/^1 unapplied delivery put on the replay queue/);

    const item = await replayUntilStored('postcall#pc-unapplied');
    expect(item).toMatchObject({ callId: 'pc-unapplied', status: 'completed', source: 'postcall' });
    expect(
      rawReads()
        .slice(readsBefore)
        .map((c) => c.resource),
    ).toContain(`${h.emulators.bucket}/${unapplied}`);
    expect(await h.depth('replayDlq')).toBe(0);
  });

  it('replays an unapplied delivery as the source that sent it, not the first source of its provider', async () => {
    const body = postCallOf('pc-unapplied-eu', 5);
    const receivedAt = new Date().toISOString();
    const rawKey = S3_KEYS.raw('postcall', receivedAt, 'pc-unapplied-eu', receivedAt, `post_call-${sha256(body).slice(0, 16)}`);
    const unapplied = `${rawKey.replace(/\.json$/, '')}.unapplied.json`;
    await s3.send(
      new PutObjectCommand({
        Bucket: h.emulators.bucket,
        Key: unapplied,
        Body: body,
        ContentType: 'application/json',
        Metadata: { source: 'postcall-eu', 'received-at': receivedAt },
      }),
    );

    expect(await replayCommand(['--unapplied', '--local'], () => undefined)).toBe(0);

    const item = await replayUntilStored('postcall#pc-unapplied-eu');
    expect(item).toMatchObject({ callId: 'pc-unapplied-eu', source: 'postcall-eu' });
  });
});
