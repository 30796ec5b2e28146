/**
 * Replays under the AWS contract: a delivery kept in raw/ as `*.unapplied.json` and a
 * delivery too big to travel inline on the replay queue both reach the calls table, and the ingest's
 * read of raw/ is a call its role allows. The ingest's clients go through the strict layer (AWS's
 * limits, every call recorded); each test checks its own calls against the synthesised role.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateQueueCommand, DeleteQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { localClientConfig } from '#bin/local/emulators.ts';
import { startPoller, type SqsHandler } from '#bin/local/poller.ts';
import { MAX_INLINE_REPLAY_BYTES } from '#functions/ingest/process.ts';
import { memorySink, type AwsCall } from '#bin/aws-fidelity/aws-contract.ts';
import { hipcallHangup, startIngestHarness, type IngestHarness } from '#test/support/ingest-harness.ts';
import { checkPermissions, synthTemplate, type CfnTemplate } from '#test/support/permissions-contract.ts';
import { projectRoot } from '#test/support/local-stack-process.ts';

const run = promisify(execFile);

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('replays under the AWS permissions contract', () => {
  let h: IngestHarness;
  let sqs: SQSClient;
  let template: CfnTemplate;
  let dataDir: string;
  const sink = memorySink();
  /** Calls recorded since `mark`, so each test judges its own. */
  const since = (mark: number): AwsCall[] => sink.calls.slice(mark);
  const rawReads = (calls: AwsCall[], callId: string) =>
    calls.filter((c) => c.action === 's3:GetObject' && c.resource.startsWith(`callvault-archive/raw/hipcall/2026/04/02/${callId}/`));

  /** The replay queue feeds the same ingest function, as its event source does in AWS. */
  async function drainReplayQueue<T>(until: () => Promise<T | undefined>): Promise<T> {
    const stop = startPoller({
      sqs,
      queueUrl: h.emulators.queues.replay,
      handler: h.handler as unknown as SqsHandler,
      name: 'replay',
      waitTimeSeconds: 1,
    });
    try {
      return await waitFor(until);
    } finally {
      await stop();
    }
  }

  beforeAll(async () => {
    // Source ids as in cdk.json: `callvault replay --unapplied` finds a raw/ key's source there.
    h = await startIngestHarness({ sources: [{ id: 'hipcall', provider: 'hipcall', mediaDelaySeconds: 0 }] }, { calls: sink });
    sqs = new SQSClient(localClientConfig(h.emulators.endpoints.sqs));
    template = synthTemplate();
    dataDir = await mkdtemp(join(tmpdir(), 'callvault-replay-'));
    // What `npm start` writes; the CLI's --local mode reads only these fields for a replay.
    const { endpoints, region, bucket, queues } = h.emulators;
    await writeFile(join(dataDir, 'endpoints.json'), JSON.stringify({ region, s3: endpoints.s3, sqs: endpoints.sqs, bucket, queues }));
  }, 120_000);

  afterAll(async () => {
    sqs?.destroy();
    await h?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('applies a delivery kept as raw/….unapplied.json with `callvault replay --unapplied`, reading raw/ as the ingest role allows', async () => {
    const mark = sink.calls.length;
    // Nothing durable but S3: the table and the replay queue are both gone.
    h.emulators.breakDynamo();
    await sqs.send(new DeleteQueueCommand({ QueueUrl: h.emulators.queues.replay }));
    try {
      const res = await h.post('hipcall', hipcallHangup('unapplied-call'));
      expect(res).toMatchObject({ status: 202, json: { status: 'queued' } });
    } finally {
      h.emulators.restoreDynamo();
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'replay' }));
      expect(QueueUrl).toBe(h.emulators.queues.replay);
    }
    const unapplied = (await h.objects('raw/hipcall/2026/04/02/unapplied-call/')).filter((k) => k.endsWith('.unapplied.json'));
    expect(unapplied).toHaveLength(1);
    expect(await h.item('hipcall#unapplied-call')).toBeUndefined();

    const cli = await run(
      process.execPath,
      ['--import', 'tsx', join(projectRoot, 'bin/callvault.ts'), 'replay', '--unapplied', '--local'],
      {
        cwd: projectRoot,
        env: { ...process.env, CALLVAULT_DATA_DIR: dataDir },
      },
    );
    expect(cli.stdout).toContain('1 unapplied delivery put on the replay queue.');

    const item = await drainReplayQueue(() => h.item('hipcall#unapplied-call'));
    expect(item).toMatchObject({ status: 'completed', durationSec: 45, customerNumber: '+442045205757', source: 'hipcall' });

    const calls = since(mark);
    expect(rawReads(calls, 'unapplied-call')).toContainEqual(
      expect.objectContaining({ fn: 'ingest', resource: `callvault-archive/${unapplied[0]}`, ok: true }),
    );
    expect(checkPermissions(template, calls).violations).toEqual([]);
  }, 60_000);

  it('applies a 300 KiB delivery through raw/ and the replay queue, reading raw/ as the ingest role allows', async () => {
    const mark = sink.calls.length;
    const hangup = JSON.parse(hipcallHangup('big-call')) as { data: Record<string, unknown> };
    // A field the adapter does not know: kept verbatim in raw/, never on the item.
    hangup.data.notes = 'n'.repeat(300 * 1024);
    const body = JSON.stringify(hangup);
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_INLINE_REPLAY_BYTES);

    h.emulators.breakDynamo();
    try {
      const res = await h.post('hipcall', body);
      expect(res).toMatchObject({ status: 202, json: { status: 'queued' } });
    } finally {
      h.emulators.restoreDynamo();
    }
    const sent = since(mark).filter((c) => c.action === 'sqs:SendMessage' && c.resource === 'replay' && c.ok);
    expect(sent).toHaveLength(1);
    expect(await h.item('hipcall#big-call')).toBeUndefined();

    const item = await drainReplayQueue(() => h.item('hipcall#big-call'));
    expect(item).toMatchObject({ status: 'completed', durationSec: 45, source: 'hipcall' });
    expect(JSON.stringify(item)).not.toContain('nnnn');

    const calls = since(mark);
    expect(rawReads(calls, 'big-call')).toContainEqual(expect.objectContaining({ fn: 'ingest', ok: true }));
    expect(checkPermissions(template, calls).violations).toEqual([]);
  }, 60_000);
});
