/** The item TTL (`protection.itemTtlDays`): `expiresAt` set by the merge from `callAt`, only when configured. */
import { describe, expect, it } from 'vitest';
import { deliveryKey, expiresAtOf, mergeDelivery, type StoredCallRecord } from '#core/call-record.ts';
import { normaliseDelivery } from '#core/providers/index.ts';
import type { NormalisedEvent } from '#core/types.ts';
import { fixture, fixtureSha256 } from '#test/support/fixtures.ts';

const DAY = 86_400;

function hipcall(path: string) {
  const result = normaliseDelivery('hipcall', fixture(path), { defaultCountry: 'US', receivedAt: '2030-01-01T00:00:00.000Z' });
  if (result.outcome !== 'events') throw new Error(`${path} is not a call event`);
  return { source: 'hipcall', event: result.events[0] as NormalisedEvent, deliveryKey: deliveryKey(result.eventType, fixtureSha256(path)) };
}
const CALL = ['hipcall/inbound/call_init.json', 'hipcall/inbound/call_bridged.json', 'hipcall/inbound/call_hangup.json'];

function mergeAll(paths: string[], itemTtlDays?: number, start?: StoredCallRecord): StoredCallRecord {
  let record = start;
  paths.forEach((path, i) => {
    record = mergeDelivery(record, { ...hipcall(path), now: new Date(Date.UTC(2030, 0, 1, 0, 0, i)).toISOString(), itemTtlDays }).record;
  });
  return record!;
}

describe('expiresAtOf', () => {
  it('gives epoch seconds, the format DynamoDB TTL reads, days after the time', () => {
    expect(expiresAtOf('2030-01-01T00:00:00.000Z', 1)).toBe(Date.UTC(2030, 0, 2) / 1000);
    expect(expiresAtOf('2030-01-01T00:00:00.999Z', 30)).toBe(Date.UTC(2030, 0, 1) / 1000 + 30 * DAY);
  });
});

describe('mergeDelivery with itemTtlDays', () => {
  it('sets expiresAt itemTtlDays after the call (callAt), not after the write', () => {
    const record = mergeAll(CALL, 90);
    // call_init's started_at.
    expect(record.callAt).toBe('2025-06-03T09:15:02.000Z');
    expect(record.callAt).not.toBe(record.createdAt);
    expect(record.expiresAt).toBe(Math.floor(Date.parse(record.callAt!) / 1000) + 90 * DAY);
  });

  it('gives the same expiresAt whatever order the deliveries arrive in', () => {
    const inOrder = mergeAll(CALL, 90).expiresAt;
    expect(mergeAll([...CALL].reverse(), 90).expiresAt).toBe(inOrder);
    expect(mergeAll([CALL[2]!, CALL[0]!, CALL[1]!], 90).expiresAt).toBe(inOrder);
  });

  it('sets no expiresAt when itemTtlDays is not configured', () => {
    expect(mergeAll(CALL)).not.toHaveProperty('expiresAt');
  });

  it('keeps an existing expiresAt when the option is later turned off, and recomputes it when the days change', () => {
    const withTtl = mergeAll(CALL.slice(0, 2), 90);
    expect(mergeAll(CALL.slice(2), undefined, withTtl).expiresAt).toBe(withTtl.expiresAt);
    expect(mergeAll(CALL.slice(2), 30, withTtl).expiresAt).toBe(Math.floor(Date.parse(withTtl.callAt!) / 1000) + 30 * DAY);
  });
});
