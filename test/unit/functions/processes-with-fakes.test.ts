/**
 * Each process built from in-memory fakes of the core ports, with no casts: the fakes implement the
 * interfaces, so a port that changes shape breaks this file at compile time, and each test checks both
 * the process's answer and what the fakes saw.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#contract/config-schema.ts';
import type { Contact } from '#core/contact.ts';
import type { PendingInsight, PostResult } from '#core/insight.ts';
import type { CardPost, CardSink } from '#core/ports/card-sink.ts';
import type { ContactLookup } from '#core/ports/contact-lookup.ts';
import type { DeliveryArchive, QuarantineEntry, RawMeta } from '#core/ports/delivery-archive.ts';
import type { InsightClaims } from '#core/ports/insight-claims.ts';
import type { JobQueues, ReplayMessage } from '#core/ports/job-queues.ts';
import type { Log } from '#core/ports/log.ts';
import type { MediaRequest, MediaResponse, MediaFetcher } from '#core/ports/media-fetcher.ts';
import type { MediaStore, PutMediaInput, StoredObject } from '#core/ports/media-store.ts';
import type { WebhookTokens } from '#core/ports/webhook-tokens.ts';
import type { CallRecord, InsightInfo, InsightJob, MediaJob } from '#core/types.ts';
import { handleWebhook, type IngestDeps } from '#functions/ingest/process.ts';
import { replayDelivery } from '#functions/ingest/replay.ts';
import { processInsightJob, type InsightDeps } from '#functions/insight/process.ts';
import { processMediaJob, type MediaWorkerDeps } from '#functions/media/process.ts';
import { apiEvent, hipcallHangup } from '#test/support/ingest-harness.ts';
import { MemoryCallsStore } from '#test/support/memory-calls-store.ts';
import { MemoryMetrics } from '#test/support/memory-metrics.ts';
import { METRIC } from '#core/metrics.ts';
import { match } from '#test/support/match.ts';

class MemoryLog implements Log {
  readonly lines: { level: string; message: string }[] = [];
  info(message: string) {
    this.lines.push({ level: 'info', message });
  }
  warn(message: string) {
    this.lines.push({ level: 'warn', message });
  }
  error(message: string) {
    this.lines.push({ level: 'error', message });
  }
}

class OneToken implements WebhookTokens {
  constructor(private readonly token: string) {}
  verify(_sourceId: string, presented: string): Promise<boolean> {
    return Promise.resolve(presented === this.token);
  }
}

class MemoryArchive implements DeliveryArchive {
  readonly raw = new Map<string, { bytes: Buffer; meta: RawMeta }>();
  readonly quarantined = new Map<string, QuarantineEntry>();
  readonly cdr = new Map<string, CallRecord>();
  putCallRecord(key: string, record: CallRecord): Promise<void> {
    this.cdr.set(key, record);
    return Promise.resolve();
  }
  putRaw(key: string, bytes: Buffer, meta: RawMeta): Promise<void> {
    this.raw.set(key, { bytes, meta });
    return Promise.resolve();
  }
  putQuarantine(key: string, entry: QuarantineEntry): Promise<void> {
    this.quarantined.set(key, entry);
    return Promise.resolve();
  }
  getBytes(key: string): Promise<Buffer> {
    const hit = this.raw.get(key);
    return hit ? Promise.resolve(hit.bytes) : Promise.reject(new Error(`no object ${key}`));
  }
}

class MemoryQueues implements JobQueues {
  readonly media: { jobs: MediaJob[]; delaySeconds: number }[] = [];
  readonly insight: InsightJob[] = [];
  readonly replay: ReplayMessage[] = [];
  sendMedia(jobs: MediaJob[], delaySeconds: number): Promise<void> {
    this.media.push({ jobs, delaySeconds });
    return Promise.resolve();
  }
  sendInsight(job: InsightJob): Promise<void> {
    this.insight.push(job);
    return Promise.resolve();
  }
  sendReplay(message: ReplayMessage): Promise<void> {
    this.replay.push(message);
    return Promise.resolve();
  }
}

const TOKEN = 'fake-token-0123456789abcdef';

function ingestWorld() {
  const deps = {
    config: parseConfig({}),
    tokens: new OneToken(TOKEN),
    calls: new MemoryCallsStore(),
    archive: new MemoryArchive(),
    queues: new MemoryQueues(),
    log: new MemoryLog(),
    metrics: new MemoryMetrics(),
  } satisfies IngestDeps;
  return deps;
}

describe('ingest process with in-memory ports', () => {
  it('stores a Hipcall hangup: item merged, raw/ kept, recording job queued with the source delay', async () => {
    const deps = ingestWorld();
    const answer = await handleWebhook(apiEvent('hipcall', hipcallHangup('fake-1'), { token: TOKEN }), deps);
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'stored', callIds: ['fake-1'] });
    expect(deps.calls.items.get('hipcall#fake-1')).toMatchObject({ status: 'completed', customerNumber: '+442045205757' });
    expect(deps.calls.applied).toEqual([match.objectContaining({ source: 'hipcall', queuedMedia: ['recording'] })]);
    expect([...deps.archive.raw.keys()]).toEqual([match.stringMatching(/^raw\/hipcall\/2026\/04\/02\/fake-1\//)]);
    expect(deps.queues.media).toEqual([{ jobs: [match.objectContaining({ callId: 'fake-1', media: 'recording' })], delaySeconds: 10 }]);
    expect(deps.queues.insight).toHaveLength(0);
    expect(deps.metrics.recorded).toEqual([{ name: METRIC.deliveryStored, value: 1, unit: 'Count', dims: { source: 'hipcall' } }]);
  });

  it('writes the cdr/ row of a call that ended with no media, and leaves a call with a recording to the media worker', async () => {
    const deps = ingestWorld();
    const missed = JSON.parse(hipcallHangup('fake-missed')) as { data: Record<string, unknown> };
    delete missed.data.record_url;
    await handleWebhook(apiEvent('hipcall', JSON.stringify(missed), { token: TOKEN }), deps);
    await handleWebhook(apiEvent('hipcall', hipcallHangup('fake-recorded'), { token: TOKEN }), deps);
    expect([...deps.archive.cdr.keys()]).toEqual([match.stringMatching(/^cdr\/hipcall\/2026\/04\/02\/fake-missed\.json$/)]);
    expect(deps.archive.cdr.values().next().value).toMatchObject({ callId: 'fake-missed', status: 'completed' });
  });

  it('answers a repeat as duplicate and writes no second event', async () => {
    const deps = ingestWorld();
    await handleWebhook(apiEvent('hipcall', hipcallHangup('fake-2'), { token: TOKEN }), deps);
    const again = await handleWebhook(apiEvent('hipcall', hipcallHangup('fake-2'), { token: TOKEN }), deps);
    expect(JSON.parse(again.body)).toMatchObject({ status: 'duplicate' });
    expect(deps.calls.items.get('hipcall#fake-2')?.events).toHaveLength(1);
    expect(deps.metrics.names()).toEqual([METRIC.deliveryStored, METRIC.deliveryDuplicate]);
  });

  it('refuses a wrong token with 404 and touches nothing', async () => {
    const deps = ingestWorld();
    const answer = await handleWebhook(apiEvent('hipcall', hipcallHangup('fake-3'), { token: 'not-the-token-at-all' }), deps);
    expect(answer.statusCode).toBe(404);
    expect(deps.calls.items.size + deps.archive.raw.size + deps.archive.quarantined.size + deps.queues.media.length).toBe(0);
    expect(deps.metrics.recorded).toEqual([
      { name: METRIC.deliveryRefused, value: 1, unit: 'Count', dims: { source: 'hipcall', status: 404 } },
    ]);
  });

  it("counts a refusal for a source not in the config by status only: the path's id is whatever a caller typed", async () => {
    const deps = ingestWorld();
    await handleWebhook(apiEvent('no-such-source', hipcallHangup('fake-3b'), { token: TOKEN }), deps);
    expect(deps.metrics.recorded).toEqual([
      { name: METRIC.deliveryRefused, value: 1, unit: 'Count', dims: { source: undefined, status: 404 } },
    ]);
  });

  it('queues the verbatim delivery for replay when the table is down, and the replay applies it later', async () => {
    const deps = ingestWorld();
    deps.calls.failWrites = true;
    const body = hipcallHangup('fake-4');
    const answer = await handleWebhook(apiEvent('hipcall', body, { token: TOKEN }), deps);
    expect(answer.statusCode).toBe(202);
    expect(deps.queues.replay).toEqual([match.objectContaining({ source: 'hipcall', body })]);
    expect(deps.calls.items.size).toBe(0);

    deps.calls.failWrites = false;
    await replayDelivery(JSON.stringify(deps.queues.replay[0]), deps);
    expect(deps.calls.items.get('hipcall#fake-4')).toMatchObject({ status: 'completed' });
    expect(deps.metrics.names()).toEqual([METRIC.deliveryQueuedForReplay, METRIC.replayApplied]);
  });

  it('lets a replay that cannot apply throw, so SQS keeps the message', async () => {
    const deps = ingestWorld();
    await expect(replayDelivery('{"source": "hipcall"}', deps)).rejects.toThrow(/replay message/);
    expect(deps.log.lines).toContainEqual({ level: 'warn', message: 'replay failed; will retry' });
  });
});

class FixedMedia implements MediaFetcher {
  readonly asked: string[] = [];
  constructor(private readonly bytes: Buffer) {}
  get(url: string, _request: MediaRequest): Promise<MediaResponse> {
    this.asked.push(url);
    return Promise.resolve({
      status: 200,
      headers: {},
      contentType: 'audio/mpeg',
      contentLength: this.bytes.length,
      url: new URL(url),
      redirects: 0,
      body: Readable.from([this.bytes]),
    });
  }
}

class MemoryMediaArchive implements MediaStore {
  readonly objects = new Map<string, Buffer>();
  async putStream(input: PutMediaInput): Promise<StoredObject> {
    const chunks: Buffer[] = [];
    for await (const chunk of input.body) chunks.push(Buffer.from(chunk as Buffer));
    const bytes = Buffer.concat(chunks);
    this.objects.set(input.key, bytes);
    return { key: input.key, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  putCallRecord(key: string, record: CallRecord): Promise<void> {
    this.objects.set(key, Buffer.from(JSON.stringify(record)));
    return Promise.resolve();
  }
}

describe('media process with in-memory ports', () => {
  it('streams the recording into the archive, records it on the item and rewrites cdr/ for an ended call', async () => {
    const calls = new MemoryCallsStore();
    const ingest = { ...ingestWorld(), calls };
    await handleWebhook(apiEvent('hipcall', hipcallHangup('fake-m'), { token: TOKEN }), ingest);
    const audio = Buffer.from('ID3 fake mp3 bytes');
    const fetcher = new FixedMedia(audio);
    const store = new MemoryMediaArchive();
    const metrics = new MemoryMetrics();
    const deps: MediaWorkerDeps = {
      config: parseConfig({}),
      calls,
      store,
      fetcher,
      local: false,
      timing: { notYetWindowSeconds: 60, notYetBaseSeconds: 1, baseSeconds: 1, maxDelaySeconds: 60 },
      maxAttempts: 3,
      log: new MemoryLog(),
      metrics,
    };
    const job = ingest.queues.media[0]!.jobs[0]!;
    const outcome = await processMediaJob(job, { receiveCount: 1, lastDelivery: false }, deps);

    expect(outcome).toMatchObject({ outcome: 'stored', info: { state: 'stored', bytes: audio.length } });
    expect(fetcher.asked).toEqual([job.url]);
    const recording = calls.items.get('hipcall#fake-m')?.recording;
    expect(recording).toMatchObject({ state: 'stored', sha256: createHash('sha256').update(audio).digest('hex') });
    expect(store.objects.get(recording!.s3Key!)).toEqual(audio);
    expect([...store.objects.keys()].some((k) => k.startsWith('cdr/hipcall/'))).toBe(true);
    expect(metrics.recorded).toEqual([
      { name: METRIC.mediaStored, value: 1, unit: 'Count', dims: { source: 'hipcall' } },
      { name: METRIC.mediaBytes, value: audio.length, unit: 'Bytes', dims: { source: 'hipcall' } },
      match.objectContaining({ name: METRIC.mediaHangupToStoredSeconds, unit: 'Seconds', dims: { source: 'hipcall' } }),
    ]);
  });
});

class MemoryContacts implements ContactLookup {
  constructor(private readonly contacts: Contact[]) {}
  find(phone: string): Promise<Contact | undefined> {
    return Promise.resolve(this.contacts.find((c) => c.phone === phone));
  }
}

class MemoryClaims implements InsightClaims {
  readonly values = new Map<string, PendingInsight | InsightInfo>();
  claim(callKey: string, value: PendingInsight | InsightInfo): Promise<boolean> {
    if (this.values.has(callKey)) return Promise.resolve(false);
    this.values.set(callKey, value);
    return Promise.resolve(true);
  }
  settle(callKey: string, _claimId: string, outcome: InsightInfo): Promise<boolean> {
    this.values.set(callKey, outcome);
    return Promise.resolve(true);
  }
}

class RecordingCards implements CardSink {
  readonly posts: CardPost[] = [];
  post(input: CardPost): Promise<PostResult> {
    this.posts.push(input);
    return Promise.resolve({ status: 201 });
  }
}

describe('insight process with in-memory ports', () => {
  const world = () => {
    const deps = {
      config: parseConfig({ defaultCountry: 'GB' }),
      contacts: new MemoryContacts([{ phone: '+442045205757', name: 'Ada Lovelace', company: 'Analytical Engines' }]),
      claims: new MemoryClaims(),
      cards: new RecordingCards(),
      token: () => Promise.resolve('api-token'),
      apiBaseUrls: new Map([['hipcall', 'https://api.example.test/v3']]),
      log: new MemoryLog(),
      metrics: new MemoryMetrics(),
    } satisfies InsightDeps;
    return deps;
  };
  const job = (callId: string): InsightJob => {
    const at = new Date().toISOString();
    return {
      provider: 'hipcall',
      source: 'hipcall',
      callId,
      direction: 'inbound',
      fromNumber: '+442045205757',
      toNumber: '+441234567890',
      occurredAt: at,
      receivedAt: at,
    };
  };

  it('posts a card for a known caller with the source token, and records `sent`', async () => {
    const deps = world();
    const result = await processInsightJob(job('fake-i'), deps);
    expect(result).toMatchObject({ outcome: 'sent', httpStatus: 201 });
    expect(deps.cards.posts).toHaveLength(1);
    expect(deps.cards.posts[0]).toMatchObject({ baseUrl: 'https://api.example.test/v3', callId: 'fake-i', token: 'api-token' });
    expect(JSON.stringify(deps.cards.posts[0]!.card)).toContain('Ada Lovelace');
    expect(deps.claims.values.get('hipcall#fake-i')).toMatchObject({ state: 'sent' });
    expect(deps.metrics.names()).toEqual([METRIC.insightSent, METRIC.insightCallInitToCardMs]);
    expect(deps.metrics.recorded[1]).toMatchObject({ unit: 'Milliseconds', dims: { source: 'hipcall' } });
  });

  it('posts nothing for a second delivery of the same job', async () => {
    const deps = world();
    await processInsightJob(job('fake-j'), deps);
    expect(await processInsightJob(job('fake-j'), deps)).toEqual({ outcome: 'duplicate' });
    expect(deps.cards.posts).toHaveLength(1);
    // The second delivery decided nothing: one outcome counted, not two.
    expect(deps.metrics.names().filter((n) => n === METRIC.insightSent)).toHaveLength(1);
  });
});
