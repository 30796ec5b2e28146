/**
 * The item TTL end to end through the real ingest handler and DynamoDB (dynalite): with
 * `protection.itemTtlDays`, the stored call carries `expiresAt` in epoch seconds, counted from the call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLS_TTL_ATTRIBUTE } from '#lib/constructs/storage.ts';
import { hipcallHangup, startIngestHarness, type IngestHarness } from '#test/support/ingest-harness.ts';

describe('ingest with protection.itemTtlDays', () => {
  let h: IngestHarness;
  beforeAll(async () => {
    h = await startIngestHarness({ defaultCountry: 'GB', protection: { itemTtlDays: 365 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it(`writes ${CALLS_TTL_ATTRIBUTE} (the table's TTL attribute) a year after the call started, as epoch seconds`, async () => {
    expect((await h.post('hipcall', hipcallHangup('ttl-call'))).json.status).toBe('stored');
    const item = await h.item('hipcall#ttl-call');
    expect(item?.callAt).toBe('2026-04-02T10:00:00.000Z');
    expect(item?.[CALLS_TTL_ATTRIBUTE]).toBe(Date.UTC(2026, 3, 2, 10) / 1000 + 365 * 86_400);
  });

  it('writes nothing new on a repeated delivery: the item and its expiry stay as they were', async () => {
    const before = await h.item('hipcall#ttl-call');
    expect((await h.post('hipcall', hipcallHangup('ttl-call'))).json.status).toBe('duplicate');
    expect(await h.item('hipcall#ttl-call')).toEqual(before);
  });
});
