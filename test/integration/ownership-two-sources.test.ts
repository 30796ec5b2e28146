/**
 * A call belongs to the source that first delivered it. Two Hipcall sources
 * (`hipcall` and `hipcall-tr`, each with its own mediaHostAllowlist) deliver the same uuid: the second
 * one is answered `ignored`, changes nothing on the item, its delivery stays in raw/, its media job is
 * skipped by the media worker and its call_init sends no Insight Card. Real ingest, media and insight
 * handlers on the emulators; the media worker runs with the strict AWS layer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { localClientConfig } from '#bin/local/emulators.ts';
import { fakeContext } from '#bin/local/poller.ts';
import { parseConfig } from '#contract/config.ts';
import { ENV } from '#contract/resources.ts';
import { StaticTokens } from '#adapters/webhook-tokens.ts';
import { ingestDeps } from '#functions/ingest/deps.ts';
import { createIngestHandler } from '#functions/ingest/handler.ts';
import type { MediaInfo } from '#core/types.ts';
import { parseContactsCsv } from '#core/contacts-csv.ts';
import { apiEvent, startIngestHarness, TOKEN, type IngestHarness } from '#test/support/ingest-harness.ts';
import { startInsightHarness, type InsightHarness } from '#test/support/insight-harness.ts';
import { sha256, startFileServer, startMediaWorker, type FileServer, type MediaWorker } from '#test/support/media-harness.ts';

const OWNER_FILE = Buffer.concat([Buffer.from('the owner recording\n'), Buffer.alloc(4096, 7)]);
const OTHER_FILE = Buffer.concat([Buffer.from('the other source recording\n'), Buffer.alloc(5000, 9)]);

interface Call {
  uuid: string;
  direction: 'inbound' | 'outbound';
  caller: string;
  callee: string;
  userId: number;
  duration: number;
  recordUrl?: string;
  endedAt?: string;
}

function hangup(c: Call): string {
  return JSON.stringify({
    event: 'call_hangup',
    data: {
      uuid: c.uuid,
      direction: c.direction,
      caller_number: c.caller,
      callee_number: c.callee,
      call_duration: c.duration,
      started_at: '2026-04-02T10:00:00Z',
      answered_at: '2026-04-02T10:00:03Z',
      ended_at: c.endedAt ?? '2026-04-02T10:00:45Z',
      hangup_by: 'user',
      user_id: c.userId,
      ...(c.recordUrl ? { record_url: c.recordUrl } : {}),
    },
  });
}

/** The owner's call and a conflicting delivery of the same uuid: every field the issue saw rewritten differs. */
const ownerCall = (uuid: string, recordUrl?: string): Call => ({
  uuid,
  direction: 'inbound',
  caller: '+442045205757',
  callee: '+441234567890',
  userId: 1121,
  duration: 45,
  ...(recordUrl ? { recordUrl } : {}),
});
const otherCall = (uuid: string, recordUrl?: string): Call => ({
  uuid,
  direction: 'outbound',
  caller: '+905321112233',
  callee: '+905449998877',
  userId: 2222,
  duration: 300,
  endedAt: '2026-04-02T10:05:00Z',
  ...(recordUrl ? { recordUrl } : {}),
});

describe('a second source of one provider', () => {
  let h: IngestHarness;
  let files: FileServer;
  let worker: MediaWorker;
  /** The raw/ copies of one call's deliveries, as text. */
  const rawOf = async (uuid: string) =>
    Promise.all((await h.objects('raw/hipcall/')).filter((k) => k.includes(`/${uuid}/`)).map((k) => h.object(k)));

  beforeAll(async () => {
    files = await startFileServer({
      '/owner.mp3': { body: OWNER_FILE, contentType: 'audio/mpeg' },
      '/other.mp3': { body: OTHER_FILE, contentType: 'audio/mpeg' },
    });
    // `hipcall` fetches from 127.0.0.1 only; `hipcall-tr` also from localhost, which the owner's list refuses.
    const localhost = `localhost:${files.port}`;
    h = await startIngestHarness(
      {
        sources: [
          { id: 'hipcall', provider: 'hipcall', mediaHostAllowlist: ['127.0.0.1'] },
          { id: 'hipcall-tr', provider: 'hipcall', mediaHostAllowlist: ['127.0.0.1', 'localhost'] },
        ],
      },
      { local: { mediaDelaySeconds: 0 } },
    );
    worker = startMediaWorker(h.emulators, h.config, { fetchAllow: [files.hostPort, localhost] });
  });

  afterAll(async () => {
    await worker?.stop();
    await files?.close();
    await h?.close();
  });

  it('is ignored: the call, its recording and its owner stay as the first source delivered them; raw/ keeps the second delivery', async () => {
    const uuid = 'owned-by-hipcall';
    expect(await h.post('hipcall', hangup(ownerCall(uuid, files.url('/owner.mp3'))))).toMatchObject({
      status: 200,
      json: { status: 'stored' },
    });
    const stored = await worker.settled(() => h.item(`hipcall#${uuid}`), 'recording');
    expect(stored).toMatchObject({ state: 'stored', sha256: sha256(OWNER_FILE) });
    const before = await h.item(`hipcall#${uuid}`);
    expect(before).toMatchObject({
      source: 'hipcall',
      direction: 'inbound',
      customerNumber: '+442045205757',
      durationSec: 45,
      agent: { id: '1121' },
    });

    const conflicting = hangup(otherCall(uuid, files.url('/other.mp3')));
    const answer = await h.post('hipcall-tr', conflicting);
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ status: 'ignored', callIds: [uuid] });
    expect(answer.json.message).toMatch(/another CallVault source/);
    await worker.drained();

    expect(await h.item(`hipcall#${uuid}`)).toEqual(before);
    expect(files.hits('/other.mp3')).toBe(0);
    expect(await rawOf(uuid)).toContain(conflicting);
    expect(await worker.dlqDepth()).toBe(0);
  });

  it('never fetches media for the call from the other source, even a link only its own allowlist accepts', async () => {
    const uuid = 'owner-without-recording';
    const init = JSON.stringify({
      event: 'call_init',
      data: {
        uuid,
        direction: 'inbound',
        caller_number: '+442045205757',
        callee_number: '+441234567890',
        started_at: '2026-04-02T10:00:00Z',
      },
    });
    expect((await h.post('hipcall', init)).json.status).toBe('stored');
    const before = await h.item(`hipcall#${uuid}`);

    const otherLink = `http://localhost:${files.port}/other.mp3?call=${uuid}`;
    expect((await h.post('hipcall-tr', hangup(otherCall(uuid, otherLink)))).json.status).toBe('ignored');
    // The job was queued (the ingest sends jobs in parallel with the upsert); the worker must skip it.
    await worker.drained();

    const after = await h.item(`hipcall#${uuid}`);
    expect(after).toEqual(before);
    expect(after?.recording).toBeUndefined();
    expect(files.hits('/other.mp3')).toBe(0);
    expect((await h.objects('recordings/hipcall/')).filter((k) => k.includes(uuid))).toEqual([]);
  });

  it('in the reverse order, leaves the first deliverer (`hipcall-tr`) the owner, under its own media rules', async () => {
    const uuid = 'owned-by-hipcall-tr';
    const first = await h.post('hipcall-tr', hangup(otherCall(uuid, files.url('/other.mp3'))));
    expect(first.json.status).toBe('stored');
    const recording = await worker.settled(() => h.item(`hipcall#${uuid}`), 'recording');
    expect(recording).toMatchObject({ state: 'stored', sha256: sha256(OTHER_FILE), bytes: OTHER_FILE.length });
    const before = await h.item(`hipcall#${uuid}`);
    expect(before).toMatchObject({
      source: 'hipcall-tr',
      direction: 'outbound',
      customerNumber: '+905449998877',
      durationSec: 300,
      agent: { id: '2222' },
    });
    const ownerHits = files.hits('/owner.mp3');

    const second = await h.post('hipcall', hangup(ownerCall(uuid, files.url('/owner.mp3'))));
    expect(second.json.status).toBe('ignored');
    await worker.drained();

    expect(await h.item(`hipcall#${uuid}`)).toEqual(before);
    expect(files.hits('/owner.mp3')).toBe(ownerHits);
    expect(sha256(await worker.objectBytes((before?.recording as MediaInfo).s3Key!))).toBe(sha256(OTHER_FILE));
  });
});

describe('a call_init through a source that does not own the call', () => {
  const CSV = 'phone,name,company\n+44 20 4520 5757,Jane Smith,Acme Corp\n';
  let ih: InsightHarness;
  let sqs: SQSClient;
  let post: (source: string, body: string) => Promise<number>;

  beforeAll(async () => {
    const { contacts } = parseContactsCsv(CSV, { defaultCountry: 'GB' });
    const raw = {
      defaultCountry: 'GB',
      sources: [
        { id: 'hipcall', provider: 'hipcall', insight: { card: { title: 'Hipcall Insight' } } },
        { id: 'hipcall-tr', provider: 'hipcall', insight: { card: { title: 'Hipcall Insight' } } },
      ],
    };
    ih = await startInsightHarness(() => raw, contacts, { POWERTOOLS_LOG_LEVEL: 'SILENT' });
    // The ingest on the same emulators writes the call and queues the insight jobs, as in AWS.
    const env = { ...ih.emulators.env, [ENV.config]: JSON.stringify(parseConfig(raw)), POWERTOOLS_LOG_LEVEL: 'SILENT' };
    const ingest = createIngestHandler(ingestDeps(env, { target: ih.emulators.target, tokens: new StaticTokens(TOKEN) }));
    post = async (source, body) =>
      ((await ingest(apiEvent(source, body), fakeContext('ingest', 6000))) as APIGatewayProxyStructuredResultV2).statusCode ?? 0;
    sqs = new SQSClient(localClientConfig(ih.emulators.endpoints.sqs));
  });

  afterAll(async () => {
    sqs?.destroy();
    await ih?.close();
  });

  /** The insight jobs on the queue, taken off it (bodies as the handler receives them). */
  async function takeInsightJobs(): Promise<string[]> {
    const bodies: string[] = [];
    for (;;) {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: ih.emulators.queues.insight,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          VisibilityTimeout: 60,
        }),
      );
      if (!Messages?.length) return bodies;
      bodies.push(...Messages.map((m) => m.Body!));
    }
  }

  it('sends no card for it; the owner’s own call_init still gets its card', async () => {
    const uuid = `init-owned-${Date.now()}`;
    const init = (caller: string) =>
      JSON.stringify({
        event: 'call_init',
        data: { uuid, direction: 'inbound', caller_number: caller, callee_number: '+441234567890', started_at: new Date().toISOString() },
      });
    expect(await post('hipcall', init('+442045205757'))).toBe(200);
    // The other source's call_init for the same call, with the same known customer: a card would match.
    expect(await post('hipcall-tr', init('+442045205757'))).toBe(200);
    const jobs = (await takeInsightJobs()).map((body) => ({ body, source: (JSON.parse(body) as { source: string }).source }));
    expect(jobs.map((j) => j.source).sort()).toEqual(['hipcall', 'hipcall-tr']);

    const theirs = await ih.run(jobs.filter((j) => j.source === 'hipcall-tr').map((j) => j.body));
    expect(theirs.batchItemFailures).toEqual([]);
    expect(ih.mock.requests().filter((r) => r.callId === uuid)).toEqual([]);
    expect((await ih.item(`hipcall#${uuid}`))?.insight).toBeUndefined();

    await ih.run(jobs.filter((j) => j.source === 'hipcall').map((j) => j.body));
    expect(ih.mock.cards().filter((c) => c.callId === uuid)).toHaveLength(1);
    expect(await ih.item(`hipcall#${uuid}`)).toMatchObject({ source: 'hipcall', insight: { state: 'sent' } });
  });
});
