import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoCallsStore } from '#adapters/calls-store.ts';
import { applyDelivery } from '#core/apply-delivery.ts';
import { deliveryKey } from '#core/call-record.ts';
import { normaliseDelivery } from '#core/providers/index.ts';
import { sha256Hex } from '#core/request.ts';
import { localClientConfig } from '#bin/local/emulators.ts';
import { startPoller, type SqsHandler } from '#bin/local/poller.ts';
import { hipcallHangup as hangup, startIngestHarness, type IngestHarness } from '#test/support/ingest-harness.ts';

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('ingest handler: idempotence and durability', () => {
  let h: IngestHarness;
  beforeAll(async () => {
    h = await startIngestHarness({
      sources: [
        { id: 'hipcall', provider: 'hipcall', mediaDelaySeconds: 2 },
        { id: 'callhippo', provider: 'callhippo' },
        { id: 'postcall', provider: 'postcall' },
      ],
    });
  });
  afterAll(async () => h?.close());

  it('turns 50 concurrent identical deliveries into one item: every answer 2xx, the delivery applied once', async () => {
    const body = hangup('concurrent-call');
    const answers = await Promise.all(Array.from({ length: 50 }, () => h.post('hipcall', body)));
    // Each answer is stored, duplicate, or (when a CPU-starved emulator outlasts the ingest's budget,
    // as the design allows) queued for replay; never an error, and at most one of them applied it.
    expect(answers.map((a) => a.status).every((s) => s === 200 || s === 202)).toBe(true);
    expect(answers.every((a) => ['stored', 'duplicate', 'queued'].includes(String(a.json.status)))).toBe(true);
    expect(answers.filter((a) => a.json.status === 'stored').length).toBeLessThanOrEqual(1);
    // Whatever was deferred is applied by the replay queue, as a duplicate of what is already there.
    const sqs = new SQSClient(localClientConfig(h.emulators.endpoints.sqs));
    const stop = startPoller({
      sqs,
      queueUrl: h.emulators.queues.replay,
      handler: h.handler as unknown as SqsHandler,
      name: 'replay',
      waitTimeSeconds: 1,
    });
    try {
      await waitFor(async () => ((await h.depth('replay')) === 0 ? true : undefined));
    } finally {
      await stop();
      sqs.destroy();
    }
    const item = await h.item('hipcall#concurrent-call');
    expect(item?.events).toHaveLength(1);
    expect(item?.version).toBe(1);
    expect(item?.status).toBe('completed');
    expect(await h.depth('replayDlq')).toBe(0);
  });

  it('applies 50 concurrent identical deliveries to the calls table exactly once: one stored, 49 duplicates', async () => {
    // The property itself, at the layer that owns it, with a client that waits as long as the emulator needs.
    const calls = new DynamoCallsStore(
      DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(h.emulators.endpoints.dynamodb))),
      h.emulators.tables.calls,
    );
    const body = hangup('concurrent-table-call');
    const result = normaliseDelivery('hipcall', JSON.parse(body), { defaultCountry: 'GB', receivedAt: '2026-04-02T10:01:00.000Z' });
    if (result.outcome !== 'events') throw new Error('expected a call event');
    const event = result.events[0]!;
    const input = {
      source: 'hipcall',
      event,
      deliveryKey: deliveryKey(result.eventType, sha256Hex(Buffer.from(body))),
      now: '2026-04-02T10:01:00.000Z',
    };
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => applyDelivery(calls, input)));
    expect(outcomes.filter((o) => o.outcome === 'stored')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'duplicate')).toHaveLength(49);
    const item = await h.item('hipcall#concurrent-table-call');
    expect(item?.events).toHaveLength(1);
    expect(item?.version).toBe(1);
  });

  it('answers a repeated delivery with duplicate and changes nothing on the item', async () => {
    const body = hangup('repeat-call');
    expect((await h.post('hipcall', body)).json.status).toBe('stored');
    const before = await h.item('hipcall#repeat-call');
    const again = await h.post('hipcall', body);
    expect(again.status).toBe(200);
    expect(again.json.status).toBe('duplicate');
    expect(await h.item('hipcall#repeat-call')).toEqual(before);
  });

  it('queues a recording job with the source delay and the call identity', async () => {
    await h.post('hipcall', hangup('media-job-call'));
    const mine = async () => (await h.receive('media', 1000)).filter((m) => m.Body?.includes('media-job-call'));
    // Delayed: the provider needs a moment to upload the file after hangup.
    expect(await mine()).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 2200));
    const messages = await mine();
    const jobs = messages.map((m) => JSON.parse(m.Body!) as Record<string, unknown>).filter((j) => j.callId === 'media-job-call');
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      provider: 'hipcall',
      source: 'hipcall',
      media: 'recording',
      url: 'https://storage.example.com/recordings/media-job-call.mp3?X-Amz-Expires=604800&token=abc',
    });
    const item = await h.item('hipcall#media-job-call');
    expect((item?.recording as { state: string }).state).toBe('queued');
    // The call's time travels with the job, so a worker that runs before the item is readable dates the key as the item will.
    expect(jobs[0]!.callAt).toBe(item?.callAt);
  });

  it('queues an insight job for a Hipcall call_init', async () => {
    const init = {
      event: 'call_init',
      data: {
        uuid: 'insight-job-call',
        direction: 'inbound',
        caller_number: '+442045205757',
        callee_number: '+441234567890',
        started_at: new Date().toISOString(),
      },
    };
    expect((await h.post('hipcall', JSON.stringify(init))).status).toBe(200);
    const jobs = (await h.receive('insight', 1000)).map((m) => JSON.parse(m.Body!) as Record<string, unknown>);
    expect(jobs.find((j) => j.callId === 'insight-job-call')).toMatchObject({
      source: 'hipcall',
      direction: 'inbound',
      customerNumber: '+442045205757',
    });
  });

  it('still answers 2xx while DynamoDB is down, and applies the delivery once the table is back', async () => {
    const body = hangup('outage-call');
    h.emulators.breakDynamo();
    try {
      const res = await h.post('hipcall', body);
      expect(res.status).toBe(202);
      expect(res.json.status).toBe('queued');
      expect(await h.depth('replay')).toBeGreaterThanOrEqual(1);
    } finally {
      h.emulators.restoreDynamo();
    }
    expect(await h.item('hipcall#outage-call')).toBeUndefined();

    // The replay queue feeds the same ingest function, as its event source does in AWS.
    const sqs = new SQSClient(localClientConfig(h.emulators.endpoints.sqs));
    const stop = startPoller({
      sqs,
      queueUrl: h.emulators.queues.replay,
      handler: h.handler as unknown as SqsHandler,
      name: 'replay',
      waitTimeSeconds: 1,
    });
    try {
      const item = await waitFor(() => h.item('hipcall#outage-call'));
      expect(item).toMatchObject({ status: 'completed', durationSec: 45, customerNumber: '+442045205757' });
      expect(item.events).toHaveLength(1);
      // The provider's repeat after recovery is recognised as the same delivery.
      expect((await h.post('hipcall', body)).json.status).toBe('duplicate');
    } finally {
      await stop();
      sqs.destroy();
    }
    const raw = await h.objects('raw/hipcall/2026/04/02/outage-call/');
    expect(raw.length).toBeGreaterThanOrEqual(1);
  });

  it('gives up on the table within its own budget and queues the delivery for replay', async () => {
    h.emulators.breakDynamo('hang');
    try {
      // Without per-call timeouts this request would hang past the test's own timeout.
      const res = await h.post('hipcall', hangup('hanging-table-call'));
      expect(res.status).toBe(202);
      expect(res.json.status).toBe('queued');
      const replay = (await h.receive('replay', 100)).map((m) => JSON.parse(m.Body!) as { source: string; body?: string });
      expect(replay.find((m) => m.body?.includes('hanging-table-call'))).toMatchObject({ source: 'hipcall' });
    } finally {
      h.emulators.restoreDynamo();
    }
  }, 10_000);
});
