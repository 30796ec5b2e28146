import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MemoryMetrics } from '#test/support/memory-metrics.ts';
import { parseConfig } from '#contract/config-schema.ts';
import { DEFAULT_RETRY_TIMING } from '#core/media/retry.ts';
import type { CallsStore } from '#core/ports/calls-store.ts';
import type { MediaFetcher } from '#core/ports/media-fetcher.ts';
import type { MediaStore, PutMediaInput } from '#core/ports/media-store.ts';
import type { CallRecord, MediaInfo, MediaJob } from '#core/types.ts';
import { processMediaJob, type MediaWorkerDeps } from '#functions/media/process.ts';
import { match } from '#test/support/match.ts';

const NOW = Date.parse('2026-04-02T10:00:10Z');
const job: MediaJob = {
  provider: 'hipcall',
  source: 'hipcall',
  callId: 'c1',
  media: 'recording',
  url: 'https://media.example.com/c1.mp3',
  queuedAt: '2026-04-02T10:00:00Z',
};
const record = (source: string): CallRecord => ({
  callKey: 'hipcall#c1',
  provider: 'hipcall',
  source,
  callId: 'c1',
  kind: 'call',
  direction: 'inbound',
  status: 'completed',
  endedAt: '2026-04-02T10:00:00Z',
  events: [],
  createdAt: '',
  updatedAt: '',
  version: 1,
});

/** In-memory ports: a calls item, an archive that keeps what it is given, a media host answering `status`. */
function harness(owner: string, status = 200) {
  const item = record(owner);
  const writes: MediaInfo[] = [];
  const puts: string[] = [];
  const fetched: string[] = [];
  const calls: Pick<CallsStore, 'get' | 'setMedia'> = {
    get: () => Promise.resolve({ ...item }),
    setMedia: (_k, media, info) => {
      writes.push(info);
      item[media] = info;
      return Promise.resolve(true);
    },
  };
  const store: MediaStore = {
    putStream: async (input: PutMediaInput) => {
      const chunks: Buffer[] = [];
      for await (const c of input.body) chunks.push(c as Buffer);
      puts.push(input.key);
      return { key: input.key, bytes: Buffer.concat(chunks).length, sha256: 'h' };
    },
    putCallRecord: (key) => {
      puts.push(key);
      return Promise.resolve();
    },
  };
  const fetcher: MediaFetcher = {
    get: (url) => {
      fetched.push(url);
      return Promise.resolve({
        status,
        headers: {},
        contentType: 'audio/mpeg',
        url: new URL(url),
        redirects: 0,
        body: Readable.from([Buffer.from('abc')]),
      });
    },
  };
  const deps: MediaWorkerDeps = {
    config: parseConfig({
      sources: [
        { id: 'hipcall', provider: 'hipcall', mediaHostAllowlist: ['media.example.com'] },
        { id: 'hipcall-eu', provider: 'hipcall' },
      ],
    }),
    calls,
    store,
    fetcher,
    local: false,
    timing: DEFAULT_RETRY_TIMING,
    maxAttempts: 8,
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    metrics: new MemoryMetrics(),
    now: () => NOW,
    random: () => 1,
  };
  return { deps, writes, puts, fetched };
}

describe('processMediaJob (in-memory ports)', () => {
  it('stores the file, records it and rewrites the cdr of an ended call', async () => {
    const { deps, writes, puts } = harness('hipcall');
    const result = await processMediaJob(job, { receiveCount: 1, lastDelivery: false }, deps);
    expect(result).toMatchObject({ outcome: 'stored', info: { state: 'stored', bytes: 3, attempts: 1 } });
    expect(writes.map((w) => w.state)).toEqual(['queued', 'stored']);
    expect(puts).toEqual([match.stringMatching(/^recordings\/hipcall\/.*c1\.mp3$/), match.stringMatching(/^cdr\/hipcall\/.*c1\.json$/)]);
  });

  it('never fetches or writes for a call another source owns', async () => {
    const { deps, writes, fetched } = harness('hipcall-eu');
    expect(await processMediaJob(job, { receiveCount: 1, lastDelivery: false }, deps)).toEqual({
      outcome: 'skipped',
      reason: 'the call belongs to source "hipcall-eu", not "hipcall"',
    });
    expect(fetched).toEqual([]);
    expect(writes).toEqual([]);
  });

  it('records a 503 as queued and asks the handler to retry', async () => {
    const { deps, writes } = harness('hipcall', 503);
    expect(await processMediaJob(job, { receiveCount: 1, lastDelivery: false }, deps)).toMatchObject({
      outcome: 'retry',
      delaySeconds: 60,
    });
    expect(writes.at(-1)).toMatchObject({ state: 'queued', error: match.stringMatching(/answered 503 \(attempt 1; retrying in 60 s\)$/) });
  });
});
