/**
 * Core's applyDelivery over the in-memory calls store: one round trip for a new call, the merge again on
 * a lost race, the ownership rule, the version rule, and giving up when every attempt loses.
 */
import { describe, expect, it } from 'vitest';
import { applyDelivery, MAX_WRITE_CONFLICTS } from '#core/apply-delivery.ts';
import { normaliseDelivery } from '#core/providers/index.ts';
import type { ApplyDelivery } from '#core/ports/calls-store.ts';
import type { NormalisedEvent } from '#core/types.ts';
import { MemoryCallsStore } from '#test/support/memory-calls-store.ts';
import { fixture } from '#test/support/fixtures.ts';

const NOW = '2026-04-02T10:01:00.000Z';
const KEY = 'hipcall#7f1c2b9e-3d4a-4e5b-8c6d-0a1b2c3d4e5f';

function eventOf(path: string): NormalisedEvent {
  const result = normaliseDelivery('hipcall', fixture(path), { defaultCountry: 'GB', receivedAt: NOW });
  if (result.outcome !== 'events') throw new Error(`${path} is not a call event`);
  return result.events[0]!;
}

const init = (source = 'hipcall'): ApplyDelivery => ({
  source,
  event: eventOf('hipcall/inbound/call_init.json'),
  deliveryKey: 'call_init#1',
  now: NOW,
});
const hangup = (): ApplyDelivery => ({
  source: 'hipcall',
  event: eventOf('hipcall/inbound/call_hangup.json'),
  deliveryKey: 'call_hangup#2',
  now: NOW,
  queuedMedia: ['recording'],
});

/** The store, with every read it is asked for. */
function counted() {
  const store = new MemoryCallsStore();
  const reads: string[] = [];
  const get = store.get.bind(store);
  store.get = (callKey) => (reads.push(callKey), get(callKey));
  return { store, reads };
}

describe('applyDelivery', () => {
  it('creates a new call in one write and no read, with the media maps the delivery queues', async () => {
    const { store, reads } = counted();
    const applied = await applyDelivery(store, hangup());
    expect(applied).toMatchObject({ outcome: 'stored', previous: undefined, record: { callKey: KEY, version: 1 } });
    expect(reads).toEqual([]);
    expect(store.writes).toBe(1);
    expect(store.items.get(KEY)).toMatchObject({ status: 'completed', recording: { state: 'queued', attempts: 0, queuedAt: NOW } });
  });

  it('merges a later delivery onto the stored item: the blind create loses, then a read and a write on its version', async () => {
    const { store, reads } = counted();
    await applyDelivery(store, init());
    const applied = await applyDelivery(store, hangup());
    expect(applied).toMatchObject({ outcome: 'stored', previous: { version: 1 }, record: { version: 2, status: 'completed' } });
    expect(reads).toEqual([KEY]);
    expect(store.items.get(KEY)?.events).toEqual(['call_hangup#2', 'call_init#1']);
  });

  it('answers a repeat as duplicate and writes nothing', async () => {
    const { store } = counted();
    await applyDelivery(store, init());
    expect(await applyDelivery(store, init())).toMatchObject({ outcome: 'duplicate', record: { version: 1 } });
    expect(store.writes).toBe(1);
  });

  it("leaves a call to the source that first delivered it: another source's delivery is foreign and writes nothing", async () => {
    const { store } = counted();
    await applyDelivery(store, init('hipcall'));
    const applied = await applyDelivery(store, { ...hangup(), source: 'hipcall-eu' });
    expect(applied).toMatchObject({ outcome: 'foreign', owner: 'hipcall' });
    expect(store.writes).toBe(1);
    expect(store.items.get(KEY)?.events).toEqual(['call_init#1']);
  });

  it('merges again on the fresh item when another writer lands first, so neither delivery is lost', async () => {
    const { store } = counted();
    let raced = false;
    store.beforeWrite = async () => {
      if (raced) return;
      raced = true;
      await applyDelivery(store, init());
    };
    expect(await applyDelivery(store, hangup())).toMatchObject({ outcome: 'stored', previous: { version: 1 }, record: { version: 2 } });
    expect(store.items.get(KEY)).toMatchObject({ events: ['call_hangup#2', 'call_init#1'], version: 2, status: 'completed' });
  });

  it('never lowers the version: an item a replay raised writes above it', async () => {
    const { store } = counted();
    await applyDelivery(store, init());
    store.items.set(KEY, { ...store.items.get(KEY)!, version: 7 });
    expect(await applyDelivery(store, hangup())).toMatchObject({ outcome: 'stored', record: { version: 8 } });
    expect(store.items.get(KEY)?.version).toBe(8);
  });

  it('gives up with a WriteConflictError when every attempt loses its race', async () => {
    const { store } = counted();
    await applyDelivery(store, init());
    let attempts = 0;
    store.beforeWrite = () => {
      attempts++;
      const item = store.items.get(KEY)!;
      store.items.set(KEY, { ...item, version: (item.version ?? 0) + 1 });
      return Promise.resolve();
    };
    await expect(applyDelivery(store, hangup())).rejects.toMatchObject({ name: 'WriteConflictError' });
    expect(attempts).toBe(MAX_WRITE_CONFLICTS + 1);
    expect(store.items.get(KEY)?.events).toEqual(['call_init#1']);
  });
});
