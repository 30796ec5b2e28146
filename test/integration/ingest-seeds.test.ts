import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { localClientConfig } from '#bin/local/emulators.ts';
import { fixture, startIngestHarness, type IngestHarness } from '#test/support/ingest-harness.ts';
import { SEED_DELIVERIES, SEED_ITEMS, SEED_MEDIA, SEED_SMS } from '#test/support/seeds.ts';

describe("ingest handler: the providers' own payloads", () => {
  let h: IngestHarness;
  const answers: { fixture: string; status: number; json: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    h = await startIngestHarness({ defaultCountry: 'US' }, { local: { mediaDelaySeconds: 0 } });
    for (const d of SEED_DELIVERIES) answers.push({ fixture: d.fixture, ...(await h.post(d.source, fixture(d.fixture))) });
  });
  afterAll(async () => h?.close());

  it.each(SEED_DELIVERIES.map((d) => [d.fixture, d.answer] as const))('answers %s with 200 %s', (name, expected) => {
    const answer = answers.find((a) => a.fixture === name)!;
    expect(answer.status).toBe(200);
    expect(answer.json.status).toBe(expected);
  });

  it.each(Object.entries(SEED_ITEMS))('stores %s with the expected fields', async (callKey, expected) => {
    const item = await h.item(callKey);
    expect(item).toBeDefined();
    expect(item).toMatchObject(expected);
    expect(item!.createdAt).toMatch(/Z$/);
  });

  it('stores the CallHippo SMS as kind sms', async () => {
    const ddb = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(h.emulators.endpoints.dynamodb)));
    const { Items } = await ddb.send(new ScanCommand({ TableName: h.emulators.tables.calls }));
    ddb.destroy();
    const sms = (Items ?? []).filter((i) => i.kind === 'sms');
    expect(sms).toHaveLength(1);
    expect(sms[0]).toMatchObject(SEED_SMS);
  });

  it('queues a media job for every recording and transcript the payloads point at', async () => {
    const jobs = (await h.receive('media', 1000)).map((m) => JSON.parse(m.Body!) as { provider: string; callId: string; media: string });
    const queued = jobs.map((j) => `${j.provider}#${j.callId}:${j.media}`).sort();
    const expected = Object.entries(SEED_MEDIA)
      .flatMap(([key, media]) => media.map((m) => `${key}:${m}`))
      .sort();
    expect(queued).toEqual(expected);
    for (const [callKey, media] of Object.entries(SEED_MEDIA)) {
      const item = await h.item(callKey);
      for (const m of media) expect(item![m], `${callKey} ${m}`).toMatchObject({ state: 'queued', attempts: 0 });
    }
  });

  it('archives every accepted delivery verbatim under raw/', async () => {
    const keys = await h.objects('raw/');
    const bodies = new Set(await Promise.all(keys.map((k) => h.object(k))));
    for (const d of SEED_DELIVERIES) expect(bodies.has(fixture(d.fixture)), d.fixture).toBe(true);
    expect(keys.some((k) => k.startsWith('raw/hipcall/2024/11/17/2483a75a-56a2-41f1-991b-92b1667e324a/'))).toBe(true);
  });
});
