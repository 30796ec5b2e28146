/**
 * The insight handler against the emulators, the stand-in Hipcall API and a fake CRM, over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQSClient } from '@aws-sdk/client-sqs';
import { localClientConfig } from '#bin/local/emulators.ts';
import { startPoller } from '#bin/local/poller.ts';
import { SqsJobQueues } from '#adapters/job-queues.ts';
import { allowedRowFields } from '#core/card.ts';
import { parseContactsCsv } from '#core/contacts-csv.ts';
import { DynamoCallsStore } from '#adapters/calls-store.ts';
import { applyDelivery } from '#core/apply-delivery.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { API_TOKEN, CRM_SECRET, jobFromCallInit, jobOf, startInsightHarness, type InsightHarness } from '#test/support/insight-harness.ts';
import { METRIC } from '#core/metrics.ts';
import { filedBySourceAndTotal, parseEmf } from '#test/support/emf.ts';
import { match } from '#test/support/match.ts';

let h: InsightHarness;
let seq = 0;
const callId = (name: string) => `${name}-${++seq}-${Date.now()}`;
const requestsFor = (id: string) => h.mock.requests().filter((r) => r.callId === id);
const insightOf = async (id: string) => (await h.item(`hipcall#${id}`))?.insight as Record<string, unknown> | undefined;

// Jane is imported from CSV written as a person would write it; the worker sees her number in other forms.
const CSV = `phone,name,company,balance,owner_user_id,link
+44 20 4520 5757,Jane Smith,Acme Corp,4250.00,1121,https://crm.example.com/contacts/42
+1 (555) 123-4567,Bob Jones,Globex,99.5,,
`;

const JANE_CARD = [
  { type: 'title', text: 'Hipcall Insight', link: 'https://www.hipcall.com' },
  { type: 'shortText', label: 'Name', text: 'Jane Smith' },
  { type: 'shortText', label: 'Company', text: 'Acme Corp' },
  { type: 'shortText', label: 'Balance', text: '$4,250.00' },
  { type: 'user', label: 'Account owner', user_id: 1121 },
];

beforeAll(async () => {
  const { contacts, rejected } = parseContactsCsv(CSV, { defaultCountry: 'GB' });
  expect(rejected).toEqual([]);
  h = await startInsightHarness(
    ({ crmBase }) => ({
      defaultCountry: 'GB',
      sources: [
        {
          id: 'hipcall',
          provider: 'hipcall',
          hipcallApiBaseUrl: 'https://use.hipcall.com/api/v3',
          insight: { card: { title: 'Hipcall Insight', titleLink: 'https://www.hipcall.com' } },
        },
        { id: 'hipcall-short', provider: 'hipcall', insight: { staleSeconds: 2 } },
        {
          id: 'hipcall-crm',
          provider: 'hipcall',
          insight: {
            crm: {
              urlTemplate: `${crmBase}/lookup?phone={phone}`,
              authHeader: 'X-Api-Key',
              timeoutMs: 300,
              mapping: { name: 'contact.full_name', company: 'contact.company', balance: 'contact.balance' },
            },
            card: { title: 'Hipcall Insight', titleLink: 'https://www.hipcall.com' },
          },
        },
        { id: 'hipcall-off', provider: 'hipcall', insight: { enabled: false } },
        { id: 'callhippo', provider: 'callhippo' },
      ],
    }),
    contacts,
  );
});

afterAll(async () => {
  await h?.close();
});

describe('insight worker', () => {
  it('posts the contact card for an inbound call_init (the caller is the customer)', async () => {
    const id = callId('inbound');
    const res = await h.run([jobOf({ callId: id, direction: 'inbound', fromNumber: '+442045205757', toNumber: '+441234567890' })]);
    expect(res.batchItemFailures).toEqual([]);
    const [req] = requestsFor(id);
    expect(requestsFor(id)).toHaveLength(1);
    expect(req).toMatchObject({ status: 201, authorized: true });
    expect(req!.body).toEqual({ card: JANE_CARD });
    expect(await insightOf(id)).toEqual({ state: 'sent', httpStatus: 201, at: match.any(String) });
  });

  it('posts the contact card for an outbound call_init (the callee is the customer)', async () => {
    const id = callId('outbound');
    await h.run([jobOf({ callId: id, direction: 'outbound', fromNumber: '+441234567890', toNumber: '+442045205757' })]);
    expect(
      h.mock
        .cards()
        .filter((c) => c.callId === id)
        .map((c) => c.card),
    ).toEqual([JANE_CARD]);
    expect((await insightOf(id))?.state).toBe('sent');
  });

  it.each([['+44 20 4520 5757'], ['00442045205757'], ['020 4520 5757'], ['+442045205757']])(
    'matches the same contact when Hipcall writes the number %s (normalised by the ingest)',
    async (written) => {
      const id = callId('formats');
      await h.run([jobFromCallInit({ callId: id, callerNumber: written, defaultCountry: 'GB' })]);
      expect(requestsFor(id).map((r) => r.body)).toEqual([{ card: JANE_CARD }]);
    },
  );

  it('reads a national number with the default country (US contact dialled from GB default)', async () => {
    const id = callId('us');
    await h.run([jobOf({ callId: id, fromNumber: '+15551234567' })]);
    expect((requestsFor(id)[0]!.body as { card: unknown[] }).card).toContainEqual({ type: 'shortText', label: 'Name', text: 'Bob Jones' });
  });

  it('sends nothing for an unknown number and records no_match', async () => {
    const id = callId('unknown');
    const res = await h.run([jobOf({ callId: id, fromNumber: '+442079460000' })]);
    expect(res.batchItemFailures).toEqual([]);
    expect(requestsFor(id)).toEqual([]);
    expect(await insightOf(id)).toEqual({ state: 'no_match', at: match.any(String) });
  });

  it('sends nothing for a withheld number or an internal call', async () => {
    const withheld = callId('withheld');
    const internal = callId('internal');
    await h.run([
      jobOf({ callId: withheld, fromNumber: 'anonymous' }),
      jobOf({ callId: internal, direction: 'internal', fromNumber: '1001', toNumber: '1002' }),
    ]);
    expect([...requestsFor(withheld), ...requestsFor(internal)]).toEqual([]);
    expect((await insightOf(withheld))?.state).toBe('no_match');
    expect((await insightOf(internal))?.state).toBe('no_match');
  });

  it('sends nothing for an event older than the staleness limit and records stale', async () => {
    const id = callId('stale');
    await h.run([jobOf({ callId: id }, 21_000)]);
    expect(requestsFor(id)).toEqual([]);
    expect(await insightOf(id)).toEqual({ state: 'stale', at: match.any(String) });
  });

  it('measures staleness from the earlier time, and treats an occurredAt in the future as now', async () => {
    const old = callId('old-occurred');
    const skewed = callId('future');
    const received = new Date().toISOString();
    await h.run([
      jobOf({ callId: old, occurredAt: new Date(Date.now() - 25_000).toISOString(), receivedAt: received }),
      jobOf({ callId: skewed, occurredAt: new Date(Date.now() + 120_000).toISOString(), receivedAt: received }),
    ]);
    expect((await insightOf(old))?.state).toBe('stale');
    expect((await insightOf(skewed))?.state).toBe('sent');
  });

  it('retries a 500 quickly and records sent when the next attempt gets 201', async () => {
    const id = callId('retry');
    h.mock.fail({ status: 500, count: 1 });
    const started = Date.now();
    await h.run([jobOf({ callId: id })]);
    expect(requestsFor(id).map((r) => r.status)).toEqual([500, 201]);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(await insightOf(id)).toEqual({ state: 'sent', httpStatus: 201, at: match.any(String) });
  });

  it('retries a 429 and a dropped connection too', async () => {
    const id = callId('retry-mixed');
    h.mock.fail({ status: 429, count: 1 });
    h.mock.fail({ drop: true, count: 1 });
    await h.run([jobOf({ callId: id })]);
    expect(requestsFor(id).map((r) => r.status)).toEqual([429, 0, 201]);
    expect((await insightOf(id))?.state).toBe('sent');
  });

  it('does not retry a 422 and records failed with the API message, which it logs', async () => {
    const id = callId('422');
    h.mock.fail({ status: 422, message: 'card[1].color is not allowed on a shortText row' });
    await h.run([jobOf({ callId: id })]);
    expect(requestsFor(id)).toHaveLength(1);
    expect(await insightOf(id)).toEqual({
      state: 'failed',
      httpStatus: 422,
      at: match.any(String),
      error: 'Insight Card API answered 422: card[1].color is not allowed on a shortText row',
    });
    const line = h
      .logs()
      .split('\n')
      .find((l) => l.includes(id) && l.includes('insight card failed'));
    expect(line).toContain('card[1].color is not allowed on a shortText row');
  });

  it('does not retry a 401 and records failed', async () => {
    const id = callId('401');
    h.mock.fail({ status: 401, message: 'Unauthenticated' });
    await h.run([jobOf({ callId: id })]);
    expect(requestsFor(id)).toHaveLength(1);
    expect(await insightOf(id)).toMatchObject({
      state: 'failed',
      httpStatus: 401,
      error: 'Insight Card API answered 401: Unauthenticated',
    });
  });

  it('counts a failed card as InsightFailed for its source and in total, and sends no InsightSent', async () => {
    const before = parseEmf(h.metrics()).length;
    h.mock.fail({ status: 401, message: 'Unauthenticated' });
    await h.run([jobOf({ callId: callId('401-metric') })]);
    const emitted = parseEmf(h.metrics()).slice(before);
    expect(emitted.map((m) => m.name)).toEqual([METRIC.insightFailed]);
    expect(filedBySourceAndTotal(emitted[0]!, 'hipcall')).toBe(true);
  });

  it('gives up within the staleness budget when the API keeps failing', async () => {
    const id = callId('budget');
    h.mock.fail({ status: 503, count: 50 });
    const started = Date.now();
    await h.run([jobOf({ callId: id, source: 'hipcall-short' })]);
    await fetch(`${h.apiBase}/_faults`, { method: 'DELETE' });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(requestsFor(id).length).toBeGreaterThan(1);
    expect(requestsFor(id).every((r) => r.status === 503)).toBe(true);
    expect(await insightOf(id)).toMatchObject({ state: 'failed', httpStatus: 503 });
  });

  it('posts one card however often the job is delivered (same batch, later batch)', async () => {
    const id = callId('repeat');
    const job = jobOf({ callId: id });
    const res = await h.run([job, job, { ...job, receivedAt: new Date().toISOString() }]);
    expect(res.batchItemFailures).toEqual([]);
    await h.run([job]);
    expect(requestsFor(id)).toHaveLength(1);
    expect((await insightOf(id))?.state).toBe('sent');
  });

  it('never replaces an outcome with stale when a sent job is redelivered late', async () => {
    const id = callId('late-redelivery');
    await h.run([jobOf({ callId: id })]);
    await h.run([jobOf({ callId: id }, 60_000)]);
    expect((await insightOf(id))?.state).toBe('sent');
  });

  it('keeps what the ingest wrote, whichever of the two writes the item first', async () => {
    const calls = new DynamoCallsStore(
      DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(h.emulators.endpoints.dynamodb))),
      h.emulators.tables.calls,
    );
    const id = callId('with-ingest');
    const now = new Date().toISOString();
    const event = {
      provider: 'hipcall' as const,
      callId: id,
      kind: 'call_init',
      occurredAt: now,
      fields: { direction: 'inbound' as const, fromNumber: '+442045205757', status: 'ringing' as const, startedAt: now },
      media: [],
    };
    await h.run([jobOf({ callId: id })]);
    await applyDelivery(calls, { source: 'hipcall', event, deliveryKey: 'call_init#x', now });
    const item = await h.item(`hipcall#${id}`);
    expect(item).toMatchObject({ status: 'ringing', fromNumber: '+442045205757', insight: { state: 'sent', httpStatus: 201 } });
  });

  it('reports only a malformed message as a batch item failure', async () => {
    const id = callId('with-bad');
    const res = await h.run(['{not json', jobOf({ callId: id })]);
    expect(res.batchItemFailures).toHaveLength(1);
    expect(requestsFor(id)).toHaveLength(1);
  });

  it('skips sources that are not Hipcall or have insight turned off', async () => {
    const a = callId('off');
    const b = callId('callhippo');
    const res = await h.run([jobOf({ callId: a, source: 'hipcall-off' }), jobOf({ callId: b, source: 'callhippo' })]);
    expect(res.batchItemFailures).toEqual([]);
    expect([...requestsFor(a), ...requestsFor(b)]).toEqual([]);
    expect(await h.item(`hipcall#${a}`)).toBeUndefined();
  });

  describe('with the user CRM as the contact source', () => {
    it('maps the CRM answer to the card of the Insight Card guide, sending the credential', async () => {
      h.crm.answers.set('+442079460321', { json: { contact: { full_name: 'Jane Smith', company: 'Acme Corp', balance: '4250.00' } } });
      const id = callId('crm');
      await h.run([jobFromCallInit({ callId: id, source: 'hipcall-crm', callerNumber: '020 7946 0321', defaultCountry: 'GB' })]);
      expect(h.crm.requests.at(-1)).toEqual({ phone: '+442079460321', apiKey: CRM_SECRET });
      expect(requestsFor(id).map((r) => r.body)).toEqual([{ card: JANE_CARD.slice(0, 4) }]);
      expect((await insightOf(id))?.state).toBe('sent');
    });

    it('records no_match when the CRM does not know the number', async () => {
      const id = callId('crm-404');
      await h.run([jobOf({ callId: id, source: 'hipcall-crm', fromNumber: '+442079460322' })]);
      expect(requestsFor(id)).toEqual([]);
      expect((await insightOf(id))?.state).toBe('no_match');
    });

    it('records failed, without the number, when the CRM times out', async () => {
      h.crm.answers.set('+442079460323', { json: { contact: { full_name: 'Slow' } }, delayMs: 1000 });
      const id = callId('crm-slow');
      const started = Date.now();
      await h.run([jobOf({ callId: id, source: 'hipcall-crm', fromNumber: '+442079460323' })]);
      expect(Date.now() - started).toBeLessThan(1500);
      expect(requestsFor(id)).toEqual([]);
      expect(await insightOf(id)).toMatchObject({ state: 'failed', error: 'CRM lookup failed: timed out after 300 ms' });
    });
  });

  it('feeds cards through the emulated queue and poller within the ring time', async () => {
    const sqs = new SQSClient(localClientConfig(h.emulators.endpoints.sqs));
    const queues = new SqsJobQueues(sqs, {
      media: h.emulators.queues.media,
      insight: h.emulators.queues.insight,
      replay: h.emulators.queues.replay,
    });
    const stop = startPoller({
      sqs,
      queueUrl: h.emulators.queues.insight,
      handler: h.handler,
      name: 'callvault-insight',
      waitTimeSeconds: 1,
      concurrency: 4,
    });
    try {
      const sent = new Map<string, number>();
      for (let i = 0; i < 40; i++) {
        const id = callId('queued');
        sent.set(id, Date.now());
        await queues.sendInsight(jobOf({ callId: id }));
        await new Promise((r) => setTimeout(r, 10));
      }
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && h.mock.cards().filter((c) => sent.has(c.callId)).length < sent.size)
        await new Promise((r) => setTimeout(r, 50));
      const latencies = h.mock
        .cards()
        .filter((c) => sent.has(c.callId))
        .map((c) => Date.parse(c.receivedAt) - sent.get(c.callId)!)
        .sort((a, b) => a - b);
      expect(latencies).toHaveLength(sent.size);
      expect(latencies[Math.floor(latencies.length / 2)]).toBeLessThan(1000);
    } finally {
      await stop();
      sqs.destroy();
    }
  });

  it('only ever posted rows with fields their type allows', () => {
    const posted = h.mock.requests().flatMap((r) => (r.body as { card?: Record<string, unknown>[] })?.card ?? []);
    expect(posted.length).toBeGreaterThan(20);
    for (const row of posted) {
      const allowed = ['type', ...allowedRowFields[row.type as keyof typeof allowedRowFields]];
      expect(Object.keys(row).filter((k) => !allowed.includes(k))).toEqual([]);
      expect(Object.values(row)).not.toContain(null);
    }
  });

  it('never logged a phone number or a token', () => {
    const logs = h.logs();
    expect(logs).toContain('insight sent');
    expect(logs).toContain('insight card failed');
    expect(logs).not.toMatch(/\+\d{7,}/);
    for (const digits of ['2045205757', '4520 5757', '5551234567', '20794603', '2079460000']) expect(logs).not.toContain(digits);
    expect(logs).not.toContain(API_TOKEN);
    expect(logs).not.toContain(CRM_SECRET);
  });
});
