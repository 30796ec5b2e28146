import { describe, expect, it } from 'vitest';
import { EmfMetrics } from '#adapters/metrics.ts';
import { METRIC } from '#core/metrics.ts';

interface Emf {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}

function capture() {
  const lines: Emf[] = [];
  return { lines, metrics: new EmfMetrics('callvault-test', (line) => lines.push(JSON.parse(line) as Emf)) };
}

describe('EmfMetrics', () => {
  it('files a source metric under the source and under the total, in one line', () => {
    const { lines, metrics } = capture();
    metrics.count(METRIC.deliveryStored, { source: 'hipcall' });
    metrics.flush();
    expect(lines).toHaveLength(1);
    const [directive] = lines[0]!._aws.CloudWatchMetrics;
    expect(directive).toEqual({
      Namespace: 'CallVault',
      Dimensions: [['source'], []],
      Metrics: [{ Name: 'DeliveryStored', Unit: 'Count' }],
    });
    expect(lines[0]).toMatchObject({ source: 'hipcall', DeliveryStored: 1, service: 'callvault-test' });
  });

  it("keeps a refusal's status in both dimension sets, and files a configured source's refusal under no dimension too", () => {
    const { lines, metrics } = capture();
    metrics.count(METRIC.deliveryRefused, { source: 'hipcall', status: 413 });
    metrics.count(METRIC.deliveryRefused, { status: 404 });
    metrics.flush();
    // The no-dimension series is what the refusals alarm reads: an unknown source's 404 (a scanner) is not in it.
    expect(lines.map((l) => l._aws.CloudWatchMetrics[0]!.Dimensions)).toEqual([[['source', 'status'], ['status'], []], [['status']]]);
    expect(lines.map((l) => l.status)).toEqual(['413', '404']);
  });

  it('writes one line per source, so a batch of two sources keeps them apart', () => {
    const { lines, metrics } = capture();
    metrics.count(METRIC.mediaStored, { source: 'a' });
    metrics.measure(METRIC.mediaBytes, 2048, 'Bytes', { source: 'a' });
    metrics.count(METRIC.mediaStored, { source: 'b' });
    metrics.flush();
    expect(lines.map((l) => [l.source, l.MediaStored, l.MediaBytes])).toEqual([
      ['a', 1, 2048],
      ['b', 1, undefined],
    ]);
    expect(lines[0]!._aws.CloudWatchMetrics[0]!.Metrics).toContainEqual({ Name: 'MediaBytes', Unit: 'Bytes' });
  });

  it('writes nothing when nothing happened, and nothing twice', () => {
    const { lines, metrics } = capture();
    metrics.flush();
    metrics.count(METRIC.insightSent, { source: 'hipcall' });
    metrics.flush();
    metrics.flush();
    expect(lines).toHaveLength(1);
  });

  it('writes the EMF document CloudWatch reads: a millisecond timestamp, the namespace, and a value or an array of values per metric', () => {
    const { lines, metrics } = capture();
    const before = Date.now();
    metrics.count(METRIC.deliveryStored, { source: 'hipcall' });
    metrics.count(METRIC.deliveryStored, { source: 'hipcall' });
    metrics.measure(METRIC.insightCallInitToCardMs, 12.5, 'Milliseconds');
    metrics.flush();
    const timestamps = lines.map((l) => (l._aws as unknown as { Timestamp: number }).Timestamp);
    expect(timestamps.every((t) => Number.isInteger(t) && t >= before && t <= Date.now())).toBe(true);
    expect(lines.map((l) => [l._aws.CloudWatchMetrics[0]!.Dimensions, l.DeliveryStored, l.InsightCallInitToCardMs])).toEqual([
      [[['source'], []], [1, 1], undefined],
      [[[]], undefined, 12.5],
    ]);
    expect(Object.keys(lines[0]!)[0]).toBe('_aws');
  });

  it('drops a negative duration: it is clock skew, not a measurement', () => {
    const { lines, metrics } = capture();
    metrics.measure(METRIC.insightCallInitToCardMs, -5, 'Milliseconds', { source: 'hipcall' });
    metrics.flush();
    expect(lines).toHaveLength(0);
  });

  it("splits a busy group into lines under EMF's 100 values per metric, losing none", () => {
    const { lines, metrics } = capture();
    for (let i = 0; i < 250; i++) metrics.count(METRIC.deliveryStored, { source: 'hipcall' });
    metrics.flush();
    const total = lines.reduce((sum, l) => sum + ([l.DeliveryStored].flat() as number[]).reduce((a, b) => a + b, 0), 0);
    expect(total).toBe(250);
    expect(lines.map((l) => ([l.DeliveryStored].flat() as number[]).length)).toEqual([90, 90, 70]);
    expect(lines.every((l) => l.source === 'hipcall')).toBe(true);
  });
});
