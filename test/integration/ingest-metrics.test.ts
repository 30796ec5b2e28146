/**
 * The ingest's fallback metrics, which need a fault npm start cannot make: DynamoDB down (queued for
 * replay, then the replay applied) and the replay queue missing too (kept in raw/ as unapplied).
 * Real handler chain through its composition root, EMF lines captured from its metrics output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { localClientConfig } from '#bin/local/emulators.ts';
import { startPoller, type SqsHandler } from '#bin/local/poller.ts';
import { METRIC, type MetricName } from '#core/metrics.ts';
import { filedBySourceAndTotal, parseEmf, type EmfMetric } from '#test/support/emf.ts';
import { hipcallHangup, startIngestHarness, type IngestHarness } from '#test/support/ingest-harness.ts';

async function until<T>(probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined || Date.now() > deadline) return value as T;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const SOURCES = { sources: [{ id: 'hipcall', provider: 'hipcall' }] };

describe('ingest metrics under faults', () => {
  const lines: string[] = [];
  const emitted = (): EmfMetric[] => parseEmf(lines.join('\n'));
  const find = (name: MetricName) => emitted().find((m) => m.name === name && filedBySourceAndTotal(m, 'hipcall'));
  /** Each line's values of the metric, filed under the source and the total. */
  const valuesOf = (name: MetricName) =>
    emitted().flatMap((m) => (m.name === name && filedBySourceAndTotal(m, 'hipcall') ? [m.values] : []));
  let h: IngestHarness;
  let noReplayQueue: IngestHarness;
  beforeAll(async () => {
    h = await startIngestHarness(SOURCES, { local: { metricsOut: (l) => lines.push(l) } });
    // Its own replay queue is deleted: sending to it fails like an SQS outage, on the queue the role is granted.
    noReplayQueue = await startIngestHarness(SOURCES, { local: { metricsOut: (l) => lines.push(l) } });
    const sqs = new SQSClient(localClientConfig(noReplayQueue.emulators.endpoints.sqs));
    await sqs.send(new DeleteQueueCommand({ QueueUrl: noReplayQueue.emulators.queues.replay }));
    sqs.destroy();
  });
  afterAll(async () => Promise.all([h?.close(), noReplayQueue?.close()]));

  it('counts DeliveryQueuedForReplay when the table is down, and ReplayApplied when the replay lands', async () => {
    h.emulators.breakDynamo();
    try {
      expect((await h.post('hipcall', hipcallHangup('metrics-outage'))).json.status).toBe('queued');
    } finally {
      h.emulators.restoreDynamo();
    }
    expect(valuesOf(METRIC.deliveryQueuedForReplay)).toEqual([[1]]);
    expect(find(METRIC.deliveryStored)).toBeUndefined();

    const sqs = new SQSClient(localClientConfig(h.emulators.endpoints.sqs));
    const stop = startPoller({
      sqs,
      queueUrl: h.emulators.queues.replay,
      handler: h.handler as unknown as SqsHandler,
      name: 'replay',
      waitTimeSeconds: 1,
    });
    try {
      expect(await until(() => find(METRIC.replayApplied))).toMatchObject({ values: [1] });
    } finally {
      await stop();
      sqs.destroy();
    }
  });

  it('counts DeliveryUnapplied when the replay queue fails too, and no refusal: the provider got a 202', async () => {
    noReplayQueue.emulators.breakDynamo();
    try {
      const answer = await noReplayQueue.post('hipcall', hipcallHangup('metrics-unapplied'));
      expect(answer.status).toBe(202);
    } finally {
      noReplayQueue.emulators.restoreDynamo();
    }
    expect(valuesOf(METRIC.deliveryUnapplied)).toEqual([[1]]);
    expect(emitted().filter((m) => m.name === METRIC.deliveryRefused)).toEqual([]);
  });
});
