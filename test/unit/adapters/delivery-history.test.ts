import { describe, expect, it } from 'vitest';
import { CloudWatchDeliveryHistory, type MetricDataAnswer, type MetricDataRequest } from '#adapters/delivery-history.ts';

const since = new Date('2026-11-27T08:00:00Z');
const until = new Date('2026-11-27T09:00:00Z');

function fake(pages: MetricDataAnswer[]) {
  const requests: MetricDataRequest[] = [];
  const history = new CloudWatchDeliveryHistory((req) => {
    requests.push(req);
    return Promise.resolve(pages[requests.length - 1] ?? {});
  });
  return { history, requests };
}

describe('CloudWatchDeliveryHistory', () => {
  it('asks for the four "delivered" metrics of the source, per minute, over exactly the span', async () => {
    const { history, requests } = fake([{}]);
    await history.lastDeliveryAt('hipcall-eu', since, until);
    expect(requests).toHaveLength(1);
    const [req] = requests;
    expect(req!.StartTime).toEqual(since);
    expect(req!.EndTime).toEqual(until);
    expect(req!.MetricDataQueries.map((q) => q.MetricStat.Metric.MetricName)).toEqual([
      'DeliveryStored',
      'DeliveryDuplicate',
      'DeliveryArchived',
      'DeliveryIgnored',
    ]);
    for (const q of req!.MetricDataQueries) {
      expect(q.MetricStat).toMatchObject({
        Period: 60,
        Stat: 'Sum',
        Metric: { Namespace: 'CallVault', Dimensions: [{ Name: 'source', Value: 'hipcall-eu' }] },
      });
    }
    expect(new Set(req!.MetricDataQueries.map((q) => q.Id)).size).toBe(4);
  });

  it('answers the latest minute with a delivery of any kind, ignoring zero values', async () => {
    const { history } = fake([
      {
        MetricDataResults: [
          { Id: 'm0', Timestamps: [new Date('2026-11-27T08:50:00Z'), new Date('2026-11-27T08:20:00Z')], Values: [0, 3] },
          { Id: 'm2', Timestamps: [new Date('2026-11-27T08:31:00Z')], Values: [1] },
        ],
      },
    ]);
    expect(await history.lastDeliveryAt('hipcall', since, until)).toEqual(new Date('2026-11-27T08:31:00Z'));
  });

  it('answers undefined when the source delivered nothing in the span', async () => {
    const { history } = fake([{ MetricDataResults: [{ Id: 'm0', Timestamps: [], Values: [] }] }]);
    expect(await history.lastDeliveryAt('hipcall', since, until)).toBeUndefined();
  });

  it('follows NextToken and reads every page', async () => {
    const { history, requests } = fake([
      { MetricDataResults: [{ Id: 'm0', Timestamps: [new Date('2026-11-27T08:05:00Z')], Values: [1] }], NextToken: 'page-2' },
      { MetricDataResults: [{ Id: 'm1', Timestamps: [new Date('2026-11-27T08:40:00Z')], Values: [2] }] },
    ]);
    expect(await history.lastDeliveryAt('hipcall', since, until)).toEqual(new Date('2026-11-27T08:40:00Z'));
    expect(requests.map((r) => r.NextToken)).toEqual([undefined, 'page-2']);
  });
});
