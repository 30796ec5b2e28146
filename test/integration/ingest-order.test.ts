import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { localClientConfig } from '#bin/local/emulators.ts';
import { fixture, startIngestHarness, type IngestHarness } from '#test/support/ingest-harness.ts';
import { permutations } from '#test/support/fixtures.ts';

/** The item minus the wall-clock attributes, which differ between runs by design. */
const comparable = (item: Record<string, unknown> | undefined) => {
  const { createdAt: _c, updatedAt: _u, ...rest } = item ?? {};
  for (const media of ['recording', 'voicemail', 'transcript']) {
    if (rest[media]) {
      const { queuedAt: _q, updatedAt: _m, ...info } = rest[media] as Record<string, unknown>;
      rest[media] = info;
    }
  }
  return rest;
};

describe('ingest handler: order independence in DynamoDB', () => {
  let h: IngestHarness;
  let doc: DynamoDBDocumentClient;
  beforeAll(async () => {
    h = await startIngestHarness({ defaultCountry: 'US' });
    doc = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(h.emulators.endpoints.dynamodb)));
  });
  afterAll(async () => {
    doc?.destroy();
    await h?.close();
  });

  const cases = [
    {
      name: 'a Hipcall call (init, bridged, hangup, hangup again)',
      source: 'hipcall',
      orders: 24,
      deliveries: [
        'hipcall/inbound/call_init.json',
        'hipcall/inbound/call_bridged.json',
        'hipcall/inbound/call_hangup.json',
        'hipcall/inbound/call_hangup.json',
      ],
    },
    {
      name: 'a CallHippo call (ringing, answered, completed, call activity, ringing again)',
      source: 'callhippo',
      orders: 120,
      deliveries: [
        'callhippo/lifecycle/status_ringing.json',
        'callhippo/lifecycle/status_answered.json',
        'callhippo/lifecycle/status_completed.json',
        'callhippo/lifecycle/call_activity.json',
        'callhippo/lifecycle/status_ringing.json',
      ],
    },
  ];

  for (const c of cases) {
    it(`stores the same item for every order of ${c.name}`, async () => {
      const items: { order: string; item: Record<string, unknown> }[] = [];
      let callKey = '';
      for (const order of permutations(c.deliveries)) {
        if (callKey) await doc.send(new DeleteCommand({ TableName: h.emulators.tables.calls, Key: { callKey } }));
        const statuses: unknown[] = [];
        for (const f of order) {
          const res = await h.post(c.source, fixture(f));
          expect(res.status).toBe(200);
          statuses.push(res.json.status);
          callKey ||= `${c.source}#${(res.json.callIds as string[])[0]}`;
        }
        // The repeated delivery is recognised whichever position it arrives in.
        expect(statuses.filter((s) => s === 'duplicate')).toHaveLength(1);
        items.push({ order: order.join(' → '), item: comparable(await h.item(callKey)) });
      }
      // Every order of the deliveries: n! of them.
      expect(items).toHaveLength(c.orders);
      const [first, ...others] = items;
      expect(first!.item).toMatchObject({ status: 'completed', version: c.deliveries.length - 1 });
      for (const { order, item } of others) expect(item, `order ${order}`).toEqual(first!.item);
    });
  }
});
