import { describe, expect, it } from 'vitest';
import { failureKindOf, refusalOf } from '#core/media/failures.ts';
import {
  nextMediaStep,
  type MediaJobContext,
  type MediaStep,
  type MediaStepOutcome,
  type MediaStepState,
  type SourceMediaRules,
} from '#core/media/steps.ts';
import type { MediaInfo, MediaJob } from '#core/types.ts';
import { MediaTooLargeError, RefusedUrlError, TruncatedBodyError } from '#adapters/safe-fetch.ts';
import { StorageError } from '#adapters/media-store.ts';
import { PermanentError, RetryableError } from '#core/errors.ts';
import { match } from '#test/support/match.ts';

const T0 = Date.parse('2026-04-02T10:00:00Z');
const QUEUED = new Date(T0).toISOString();
const job: MediaJob = {
  provider: 'hipcall',
  source: 'hipcall',
  callId: 'c1',
  media: 'recording',
  url: 'https://media.example.com/c1.mp3',
  queuedAt: QUEUED,
};
const RULES: SourceMediaRules = { policy: { allowHttp: false, hostAllowlist: ['media.example.com'] }, configured: true, canRefresh: true };

function context(over: Partial<MediaJobContext> = {}): MediaJobContext {
  return {
    job,
    receiveCount: 1,
    lastDelivery: false,
    maxAttempts: 8,
    timing: { notYetWindowSeconds: 300, notYetBaseSeconds: 15, baseSeconds: 60, maxDelaySeconds: 43_200 },
    rulesOf: () => RULES,
    random: () => 1,
    ...over,
  };
}

/** Feed outcomes in order, `seconds` after T0; returns every step. */
function run(outcomes: MediaStepOutcome[], over: Partial<MediaJobContext> = {}, seconds = 10): MediaStep[] {
  let state: MediaStepState = { ctx: context(over), now: T0 };
  return outcomes.map((o) => {
    const step = nextMediaStep({ ...state, now: T0 + seconds * 1000 }, o);
    state = step.state;
    return step;
  });
}
const last = (steps: MediaStep[]) => steps[steps.length - 1]!.action;
const item = (media?: MediaInfo, source = 'hipcall') => ({
  step: 'item' as const,
  item: { source, startedAt: QUEUED, ...(media ? { recording: media } : {}) },
});
const counted = { step: 'counted' } as const;
const status = (s: number, extra: Partial<Extract<MediaStepOutcome, { step: 'response' }>> = {}): MediaStepOutcome => ({
  step: 'response',
  status: s,
  finalUrl: job.url,
  ...extra,
});

describe('nextMediaStep: the item', () => {
  it.each([
    [
      'a stored file',
      item({ state: 'stored', s3Key: 'k' }),
      {},
      { action: 'finish', result: { outcome: 'skipped', reason: 'already stored' } },
    ],
    [
      'a file that failed on an earlier delivery',
      item({ state: 'failed', error: 'x' }),
      { receiveCount: 2 },
      { action: 'finish', result: { outcome: 'failed', info: { state: 'failed', error: 'x' } } },
    ],
    [
      'a call another source owns',
      item(undefined, 'hipcall-eu'),
      {},
      { action: 'finish', result: { outcome: 'skipped', reason: 'the call belongs to source "hipcall-eu", not "hipcall"' } },
    ],
    [
      'a stored file on a call another source owns',
      item({ state: 'stored' }, 'hipcall-eu'),
      {},
      { action: 'finish', result: { outcome: 'skipped', reason: match.stringContaining('hipcall-eu') } },
    ],
  ])('ends the job at once for %s', (_what, outcome, over, expected) => {
    expect(last(run([outcome], over))).toMatchObject(expected);
  });

  it.each([
    ['no item yet', { step: 'item', item: undefined } satisfies MediaStepOutcome as MediaStepOutcome, 1, QUEUED],
    [
      'a queued item with two attempts',
      item({ state: 'queued', attempts: 2, queuedAt: '2026-04-02T09:59:00.000Z' }),
      3,
      '2026-04-02T09:59:00.000Z',
    ],
    [
      'a failed item on its first delivery (a redrive starts over)',
      item({ state: 'failed', attempts: 8, queuedAt: '2026-04-01T00:00:00.000Z' }),
      1,
      QUEUED,
    ],
    ['an expired item (a fresh job starts over)', item({ state: 'expired', attempts: 3 }), 1, QUEUED],
  ])('counts the attempt before trying, with %s', (_what, outcome, attempts, queuedAt) => {
    expect(last(run([outcome]))).toMatchObject({
      action: 'record',
      unlessStored: true,
      then: 'continue',
      info: { state: 'queued', attempts, queuedAt },
    });
  });

  it("applies the owning source's rules, not the job's", () => {
    const asked: string[] = [];
    const steps = run([{ step: 'item', item: undefined }, counted], { rulesOf: (id) => (asked.push(id), RULES) });
    expect(asked).toEqual(['hipcall']);
    expect(last(steps)).toEqual({ action: 'fetch', url: job.url, policy: RULES.policy });
  });

  it('warns that a source not in the config runs on the default rules', () => {
    const [step] = run([{ step: 'item', item: undefined }], { rulesOf: () => ({ ...RULES, configured: false }) });
    expect(step!.note).toMatchObject({ level: 'warn', message: 'media job for a source not in the config; default rules apply' });
  });
});

describe('nextMediaStep: the URL and the download', () => {
  it('rejects a URL the address rules refuse, never fetching it', () => {
    const steps = run([{ step: 'item', item: undefined }, counted], {
      rulesOf: () => ({ ...RULES, policy: { allowHttp: false, hostAllowlist: ['other.example.com'] } }),
    });
    expect(last(steps)).toMatchObject({
      action: 'record',
      info: { state: 'rejected', error: match.stringMatching(/^refused: /) },
      then: { outcome: 'rejected' },
    });
  });

  it('rejects when safe fetch refuses an address on the way (a redirect to a private host)', () => {
    const steps = run([
      { step: 'item', item: undefined },
      counted,
      { step: 'fetch-failed', refused: 'address 10.0.0.1 is private', kind: 'permanent', message: 'refused' },
    ]);
    expect(last(steps)).toMatchObject({
      info: { state: 'rejected', error: 'refused: address 10.0.0.1 is private' },
      then: { outcome: 'rejected' },
    });
  });

  it('stores a 2xx under the extension of its content type, dated by the call start', () => {
    expect(last(run([item(), counted, status(200, { contentType: 'audio/ogg' })]))).toEqual({
      action: 'store',
      ext: 'ogg',
      contentType: 'audio/ogg',
      at: QUEUED,
    });
  });

  it("dates the key by the call, the same before and after the delivery lands: the item's callAt, else the job's, else its queue time", () => {
    const callAt = '2026-03-31T23:59:00.000Z';
    const store = (i: MediaStepOutcome, j: MediaJob) => last(run([i, counted, status(200, { contentType: 'audio/mpeg' })], { job: j }));
    // The worker before the delivery (no item), then the retry after it landed: one date.
    expect(store({ step: 'item', item: undefined }, { ...job, callAt })).toMatchObject({ action: 'store', at: callAt });
    expect(store({ step: 'item', item: { source: 'hipcall', startedAt: callAt, callAt } }, { ...job, callAt })).toMatchObject({
      action: 'store',
      at: callAt,
    });
    // A call with no start time: its callAt is its first occurrence, and the key follows it, as its cdr/ row does.
    expect(store({ step: 'item', item: { source: 'hipcall', callAt } }, job)).toMatchObject({ action: 'store', at: callAt });
    // A job queued before callAt was on jobs, for a call not yet in the table: the queue time, as before.
    expect(store({ step: 'item', item: undefined }, job)).toMatchObject({ action: 'store', at: QUEUED });
  });

  it('records stored with the bytes and hash, whatever the map says meanwhile', () => {
    const action = last(
      run([item(), counted, status(200), { step: 'stored', key: 'recordings/k.mp3', bytes: 3, sha256: 'abc', contentType: 'audio/mpeg' }]),
    );
    expect(action).toMatchObject({
      action: 'record',
      unlessStored: false,
      info: { state: 'stored', s3Key: 'recordings/k.mp3', bytes: 3, sha256: 'abc', attempts: 1 },
      then: { outcome: 'stored' },
    });
  });

  type Row = [
    string,
    MediaStepOutcome,
    Partial<MediaJobContext>,
    number,
    /** What the record step writes, and what the job does then. */
    { info: { state: string; error: unknown }; then: { outcome: string; delaySeconds?: number } },
  ];
  const rows: Row[] = [
    [
      'a 404 in the first seconds retries soon',
      status(404),
      {},
      10,
      {
        info: { state: 'queued', error: match.stringMatching(/not uploaded yet\?\) \(attempt 1; retrying in 15 s\)$/) },
        then: { outcome: 'retry', delaySeconds: 15 },
      },
    ],
    [
      'a 403 past the window is expired',
      status(403),
      {},
      400,
      { info: { state: 'expired', error: match.stringMatching(/the link has expired/) }, then: { outcome: 'expired' } },
    ],
    [
      'a 503 retries with backoff',
      status(503),
      {},
      10,
      {
        info: { state: 'queued', error: match.stringMatching(/answered 503 \(attempt 1; retrying in 60 s\)$/) },
        then: { outcome: 'retry', delaySeconds: 60 },
      },
    ],
    [
      'a 429 waits at least its Retry-After',
      status(429, { retryAfterSeconds: 120 }),
      {},
      10,
      {
        info: { state: 'queued', error: match.stringMatching(/answered 429 \(attempt 1; retrying in 120 s\)$/) },
        then: { outcome: 'retry', delaySeconds: 120 },
      },
    ],
    [
      'a 400 fails: retrying cannot fix it',
      status(400),
      {},
      10,
      { info: { state: 'failed', error: match.stringMatching(/which retrying cannot fix/) }, then: { outcome: 'failed' } },
    ],
    [
      'a 503 on the last delivery fails',
      status(503),
      { lastDelivery: true },
      10,
      { info: { state: 'failed', error: match.stringMatching(/^gave up after 1 attempt/) }, then: { outcome: 'failed' } },
    ],
    [
      'a timeout retries',
      { step: 'fetch-failed', kind: 'timeout', message: 'headers timeout' },
      {},
      10,
      {
        info: { state: 'queued', error: match.stringMatching(/timed out: headers timeout/) },
        then: { outcome: 'retry', delaySeconds: 60 },
      },
    ],
    [
      'an oversized file fails with its own message',
      { step: 'fetch-failed', kind: 'too-large', message: 'the file is over the limit: raise it' },
      {},
      10,
      { info: { state: 'failed', error: match.stringMatching(/^the file is over the limit: raise it$/) }, then: { outcome: 'failed' } },
    ],
    [
      'a failed store retries',
      { step: 'store-failed', kind: 'storage', message: 'S3 503' },
      {},
      10,
      {
        info: { state: 'queued', error: match.stringMatching(/^storing the file failed: S3 503/) },
        then: { outcome: 'retry', delaySeconds: 60 },
      },
    ],
  ];
  it.each(rows)('%s', (_what, outcome, over, seconds, expected) => {
    const pre: MediaStepOutcome[] = outcome.step === 'store-failed' ? [item(), counted, status(200)] : [item(), counted];
    const action = last(run([...pre, outcome], { ...over, rulesOf: () => ({ ...RULES, canRefresh: false }) }, seconds));
    expect(action).toMatchObject({ action: 'record', unlessStored: true, ...expected });
  });
});

describe('nextMediaStep: expired Hipcall links', () => {
  const expiredAt = 400;
  it('asks the owning source for a fresh link once, then fetches it', () => {
    const steps = run([item(), counted, status(403), { step: 'link', url: 'https://media.example.com/fresh.mp3' }], {}, expiredAt);
    expect(steps[2]!.action).toEqual({ action: 'refresh-link', sourceId: 'hipcall' });
    expect(steps[3]!.action).toEqual({ action: 'fetch', url: 'https://media.example.com/fresh.mp3', policy: RULES.policy });
    expect(steps[3]!.note).toMatchObject({
      message: 'retrying with a fresh media URL from the Hipcall API',
      fields: { url: 'media.example.com/fresh.mp3' },
    });
  });

  it('does not ask twice in one attempt: a fresh link that is also refused ends expired', () => {
    const steps = run(
      [item(), counted, status(403), { step: 'link', url: 'https://media.example.com/fresh.mp3' }, status(403)],
      {},
      expiredAt,
    );
    expect(last(steps)).toMatchObject({ action: 'record', info: { state: 'expired' } });
  });

  it.each([
    ['the API has no link', { step: 'link', url: undefined }, 'expired'],
    ['the API gives the same link', { step: 'link', url: job.url }, 'expired'],
    ['the API refuses the token (permanent)', { step: 'link-failed', kind: 'permanent', message: 'refused the token' }, 'expired'],
    ['the API is unreachable (retry the job)', { step: 'link-failed', kind: 'network', message: 'down' }, 'queued'],
  ] as [string, MediaStepOutcome, string][])('when %s, records %s', (_what, outcome, state) => {
    expect(last(run([item(), counted, status(403), outcome], {}, expiredAt))).toMatchObject({ action: 'record', info: { state } });
  });

  it('rejects a fresh link the address rules refuse', () => {
    const action = last(run([item(), counted, status(403), { step: 'link', url: 'https://169.254.169.254/x.mp3' }], {}, expiredAt));
    expect(action).toMatchObject({
      info: { state: 'rejected', error: match.stringMatching(/^refused: fresh URL from the Hipcall API: /) },
    });
  });

  it.each([
    ['a source that cannot refresh', { rulesOf: () => ({ ...RULES, canRefresh: false }) }, job],
    ['a provider other than Hipcall', {}, { ...job, provider: 'callhippo' as const }],
  ])('never asks for %s', (_what, over, theJob) => {
    const action = last(
      run([{ step: 'item', item: { source: 'hipcall', startedAt: QUEUED } }, counted, status(403)], { ...over, job: theJob }, expiredAt),
    );
    expect(action).toMatchObject({ action: 'record', info: { state: 'expired' } });
  });
});

describe('failureKindOf and refusalOf (the codes the adapters throw)', () => {
  it.each([
    [new MediaTooLargeError(10, 11), 'too-large'],
    [new TruncatedBodyError('short'), 'reset'],
    [new StorageError('S3 down'), 'storage'],
    [new RefusedUrlError('private address'), 'permanent'],
    [new PermanentError('401'), 'permanent'],
    [Object.assign(new Error('t'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), 'timeout'],
    [Object.assign(new Error('t'), { name: 'TimeoutError' }), 'timeout'],
    [Object.assign(new Error('r'), { code: 'ECONNRESET' }), 'reset'],
    [new RetryableError('dns'), 'network'],
  ])('judges %s as %s', (err, kind) => {
    expect(failureKindOf(err)).toBe(kind);
  });

  it('reads the reason of a refused URL and nothing else', () => {
    expect(refusalOf(new RefusedUrlError('private address'))).toBe('private address');
    expect(refusalOf(new PermanentError('refused: private address'))).toBeUndefined();
  });
});
