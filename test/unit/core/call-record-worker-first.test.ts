import { describe, expect, it } from 'vitest';
import { mergeDelivery, type StoredCallRecord } from '#core/call-record.ts';
import { normaliseDelivery } from '#core/providers/index.ts';
import { fixture } from '#test/support/fixtures.ts';

describe('mergeDelivery onto an item a worker created first', () => {
  it("keeps the worker's media map and applies the delivery when the item has no events yet", () => {
    // The media worker can finish before a replayed delivery lands: the item then holds only its media map.
    const workerOnly = { callKey: 'hipcall#call_abc123', recording: { state: 'stored', bytes: 10 } } as unknown as StoredCallRecord;
    const result = normaliseDelivery('hipcall', fixture('hipcall/guide_call_hangup.json'), {
      defaultCountry: 'US',
      receivedAt: '2026-04-02T10:00:50.000Z',
    });
    if (result.outcome !== 'events') throw new Error('expected a call event');
    const { record, changed } = mergeDelivery(workerOnly, {
      source: 'hipcall',
      event: result.events[0]!,
      deliveryKey: 'call_hangup#1',
      now: '2026-04-02T10:00:50.000Z',
    });
    expect(changed).toBe(true);
    expect(record).toMatchObject({
      status: 'completed',
      durationSec: 45,
      events: ['call_hangup#1'],
      version: 1,
      recording: { state: 'stored', bytes: 10 },
    });
  });
});
