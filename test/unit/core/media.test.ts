import { describe, expect, it } from 'vitest';
import { backoffSeconds } from '#core/backoff.ts';
import { extensionFromUrl, mediaExtension, normaliseContentType, storedContentType } from '#core/media/content-type.ts';
import { linkExpiresAt } from '#core/media/link-expiry.ts';
import { decideRetry, DEFAULT_RETRY_TIMING, type RetryInput } from '#core/media/retry.ts';
import { SQS_MAX_VISIBILITY_SECONDS } from '#core/redelivery.ts';
import { urlForLog } from '#core/url-redaction.ts';
import { match } from '#test/support/match.ts';

const T0 = Date.parse('2026-04-02T10:00:45Z');
const at = (seconds: number) => T0 + seconds * 1000;
/** A Hipcall-style pre-signed link issued at T0 for `expires` seconds. */
const presigned = (expires: number) =>
  `https://hipcall-records.s3.eu-west-1.amazonaws.com/call_abc123.mp3?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20260402T100045Z&X-Amz-Expires=${expires}&X-Amz-Signature=deadbeef`;
const decide = (over: Partial<RetryInput>) =>
  decideRetry({ attempt: 1, maxAttempts: 8, queuedAt: T0, now: at(10), random: () => 1, ...over });

describe('mediaExtension', () => {
  it('takes the extension from the content type first', () => {
    expect(mediaExtension('audio/mpeg', ['https://x.example.com/a.wav'], 'recording')).toBe('mp3');
    expect(mediaExtension('audio/ogg; codecs=opus', [], 'recording')).toBe('ogg');
    expect(mediaExtension('Audio/X-WAV', [], 'voicemail')).toBe('wav');
    expect(mediaExtension('audio/x-m4a', [], 'recording')).toBe('m4a');
    expect(mediaExtension('application/json; charset=utf-8', [], 'transcript')).toBe('json');
  });

  it('falls back to the URL path (final URL first) when the type is generic or missing', () => {
    expect(mediaExtension('application/octet-stream', ['https://cdn.example.com/r/call.MP3?sig=1'], 'recording')).toBe('mp3');
    expect(mediaExtension(undefined, ['https://cdn.example.com/final.ogg', 'https://x.example.com/first.mp3'], 'recording')).toBe('ogg');
    expect(mediaExtension(undefined, ['https://cdn.example.com/download', 'https://x.example.com/first.wav'], 'recording')).toBe('wav');
    expect(mediaExtension('binary/octet-stream', ['https://storage.example.com/recordings/693bff/call_recording.ogg'], 'recording')).toBe(
      'ogg',
    );
  });

  it('never takes an extension it does not know, and defaults by kind', () => {
    expect(mediaExtension(undefined, ['https://x.example.com/evil.exe'], 'recording')).toBe('bin');
    expect(mediaExtension('application/x-whatever', ['https://x.example.com/t'], 'transcript')).toBe('json');
    expect(mediaExtension('not a type', ['not a url'], 'voicemail')).toBe('bin');
    expect(extensionFromUrl('https://x.example.com/a%2Emp3')).toBe('mp3');
  });

  it('stores a generic type as the type of its extension', () => {
    expect(storedContentType('application/octet-stream', 'mp3')).toBe('audio/mpeg');
    expect(storedContentType(undefined, 'json')).toBe('application/json');
    expect(storedContentType('audio/ogg; codecs=opus', 'ogg')).toBe('audio/ogg');
    expect(normaliseContentType('text/html<script>')).toBeUndefined();
  });
});

describe('linkExpiresAt', () => {
  it('reads SigV4, Google and CloudFront/SigV2 expiry', () => {
    expect(linkExpiresAt(presigned(604800))).toBe(T0 + 604800 * 1000);
    expect(linkExpiresAt('https://storage.googleapis.com/b/o.ogg?X-Goog-Date=20260402T100045Z&X-Goog-Expires=900')).toBe(T0 + 900_000);
    expect(linkExpiresAt('https://d111.cloudfront.net/a.mp3?Expires=1775124045&Signature=x')).toBe(1775124045 * 1000);
  });

  it('answers undefined when the URL does not say', () => {
    expect(linkExpiresAt('https://recordings.example.com/a.mp3?token=abc')).toBeUndefined();
    expect(linkExpiresAt('https://x.example.com/a.mp3?X-Amz-Date=yesterday&X-Amz-Expires=60')).toBeUndefined();
    expect(linkExpiresAt('::not a url')).toBeUndefined();
  });
});

describe('urlForLog', () => {
  it('keeps host and path only: no query signature, no credentials', () => {
    expect(urlForLog('https://u:secret@hipcall-records.s3.amazonaws.com/a/b.mp3?X-Amz-Signature=deadbeef&token=t')).toBe(
      'hipcall-records.s3.amazonaws.com/a/b.mp3',
    );
    expect(urlForLog('http://127.0.0.1:4500/x.ogg#frag')).toBe('127.0.0.1:4500/x.ogg');
    expect(urlForLog('nonsense')).toBe('(invalid URL)');
  });
});

describe('backoffSeconds', () => {
  it('doubles per attempt with the jitter inside [d/2, d]', () => {
    for (let attempt = 1; attempt <= 6; attempt++) {
      const d = 10 * 2 ** (attempt - 1);
      expect(backoffSeconds(attempt, 10, 1e9, () => 0)).toBe(Math.round(d / 2));
      expect(backoffSeconds(attempt, 10, 1e9, () => 0.999999)).toBe(Math.round(d));
      const mid = backoffSeconds(attempt, 10, 1e9, Math.random);
      expect(mid).toBeGreaterThanOrEqual(Math.round(d / 2));
      expect(mid).toBeLessThanOrEqual(d);
    }
  });

  it('never exceeds the cap, nor SQS’s 12 h visibility limit, however many attempts', () => {
    expect(backoffSeconds(100, 60, 1e12, () => 1)).toBe(SQS_MAX_VISIBILITY_SECONDS);
    expect(backoffSeconds(30, 60, 600, () => 1)).toBe(600);
    expect(backoffSeconds(3, 0, 600, () => 1)).toBe(0);
  });
});

describe('decideRetry', () => {
  it('retries a 404 or 403 soon after the call with the short "not uploaded yet" backoff', () => {
    expect(decide({ status: 404 })).toEqual({
      action: 'retry',
      delaySeconds: DEFAULT_RETRY_TIMING.notYetBaseSeconds,
      reason: match.stringMatching(/404.*not uploaded yet/),
    });
    const third = decide({ status: 403, attempt: 3, now: at(120), random: () => 0 });
    expect(third).toMatchObject({ action: 'retry', delaySeconds: (DEFAULT_RETRY_TIMING.notYetBaseSeconds * 4) / 2 });
  });

  it('calls a link that still answers 403/404/410 past the window expired', () => {
    for (const status of [403, 404, 410]) {
      expect(decide({ status, now: at(DEFAULT_RETRY_TIMING.notYetWindowSeconds + 1) })).toMatchObject({
        action: 'expired',
        reason: match.stringMatching(/expired/),
      });
    }
  });

  it('calls a pre-signed link past its own lifetime expired, even inside the window', () => {
    const url = presigned(60);
    expect(decide({ status: 403, now: at(61), linkExpiresAt: linkExpiresAt(url), timing: { notYetWindowSeconds: 3600 } })).toMatchObject({
      action: 'expired',
      reason: match.stringMatching(/link expired at 2026-04-02T10:01:45/),
    });
  });

  it('keeps retrying a 404 on a link that is still valid (the file is late, not gone), then fails', () => {
    const linkExpires = linkExpiresAt(presigned(604800));
    const late = decide({ status: 404, attempt: 4, now: at(3600), linkExpiresAt: linkExpires, random: () => 0 });
    expect(late).toMatchObject({ action: 'retry', delaySeconds: (DEFAULT_RETRY_TIMING.baseSeconds * 8) / 2 });
    expect(decide({ status: 404, attempt: 8, now: at(7200), linkExpiresAt: linkExpires })).toMatchObject({
      action: 'failed',
      reason: match.stringMatching(/gave up after 8/),
    });
  });

  it('retries 5xx, 408 and 429 with exponential backoff', () => {
    for (const status of [500, 502, 503, 504, 599, 408, 429]) {
      expect(decide({ status, attempt: 2, random: () => 1 })).toMatchObject({
        action: 'retry',
        delaySeconds: DEFAULT_RETRY_TIMING.baseSeconds * 2,
      });
    }
  });

  it('honours Retry-After when it asks for longer', () => {
    expect(decide({ status: 429, retryAfterSeconds: 600 })).toMatchObject({ action: 'retry', delaySeconds: 600 });
    expect(decide({ status: 503, retryAfterSeconds: 1, random: () => 1 })).toMatchObject({
      action: 'retry',
      delaySeconds: DEFAULT_RETRY_TIMING.baseSeconds,
    });
    expect(decide({ status: 503, retryAfterSeconds: 1e9 })).toMatchObject({ delaySeconds: SQS_MAX_VISIBILITY_SECONDS });
  });

  it('fails at once on statuses retrying cannot fix', () => {
    for (const status of [400, 401, 405, 406, 416, 451, 304]) {
      expect(decide({ status })).toMatchObject({ action: 'failed', reason: match.stringMatching(new RegExp(`${status}`)) });
    }
  });

  it('retries timeouts, resets, unreachable hosts and storage errors', () => {
    for (const error of ['timeout', 'reset', 'network', 'storage'] as const) {
      expect(decide({ error, attempt: 1, random: () => 0 })).toMatchObject({
        action: 'retry',
        delaySeconds: DEFAULT_RETRY_TIMING.baseSeconds / 2,
      });
    }
  });

  it('fails at once on a file over the size limit or a permanent error', () => {
    expect(decide({ error: 'too-large' })).toMatchObject({ action: 'failed', reason: match.stringMatching(/mediaMaxBytes/) });
    expect(decide({ error: 'permanent' })).toMatchObject({ action: 'failed' });
  });

  it('fails on the last attempt, counted by the worker itself', () => {
    for (let attempt = 1; attempt < 8; attempt++) expect(decide({ error: 'reset', attempt }).action, `attempt ${attempt}`).toBe('retry');
    expect(decide({ error: 'reset', attempt: 8 })).toMatchObject({
      action: 'failed',
      reason: match.stringMatching(/gave up after 8 attempt\(s\): the connection to the media host was reset/),
    });
    expect(decide({ error: 'reset', attempt: 9 }).action).toBe('failed');
  });

  it('fails when SQS will not deliver again, even with attempts left (receive counts can run ahead)', () => {
    expect(decide({ status: 503, attempt: 2, lastDelivery: true })).toMatchObject({
      action: 'failed',
      reason: match.stringMatching(/gave up after 2/),
    });
    expect(decide({ status: 404, attempt: 1, lastDelivery: true }).action).toBe('failed');
    // lastDelivery never turns an expired link into a failure.
    expect(decide({ status: 404, lastDelivery: true, now: at(3600) }).action).toBe('expired');
  });

  it('never schedules a retry beyond 12 hours, however late the attempt', () => {
    for (let attempt = 1; attempt < 60; attempt++) {
      const d = decideRetry({ error: 'timeout', attempt, maxAttempts: 100, queuedAt: T0, now: at(10), random: Math.random });
      expect(d.action).toBe('retry');
      expect(d.action === 'retry' && d.delaySeconds).toBeLessThanOrEqual(SQS_MAX_VISIBILITY_SECONDS);
    }
  });

  it('follows the timing overrides tests use (seconds instead of minutes)', () => {
    const timing = { notYetWindowSeconds: 2, notYetBaseSeconds: 1, baseSeconds: 1 };
    expect(decide({ status: 404, now: at(1), timing })).toMatchObject({ action: 'retry', delaySeconds: 1 });
    expect(decide({ status: 404, now: at(3), timing }).action).toBe('expired');
    expect(decide({ error: 'reset', attempt: 3, timing, random: () => 1 })).toMatchObject({ action: 'retry', delaySeconds: 4 });
  });

  it('reads queuedAt as ISO text, and treats an unreadable one as long ago', () => {
    expect(decide({ status: 404, queuedAt: '2026-04-02T10:00:45Z', now: at(30) }).action).toBe('retry');
    expect(decide({ status: 404, queuedAt: 'garbage' }).action).toBe('expired');
  });

  it('refuses to judge a success', () => {
    expect(() => decide({ status: 200 })).toThrow(/success/);
  });
});
