/**
 * Media faults on the real media handler: S3 killed mid-stream, a worker process killed mid-upload, a
 * recording server that answers slowly (test/fault/media-faults.ts). Every assertion's message carries
 * the whole result, so a failure says what was seen.
 */
import { describe, expect, it } from 'vitest';
import { runS3Outage, runSlowServer, runWorkerKilled } from './media-faults.ts';
import { seen } from './fault-stack.ts';

const MiB = 1024 * 1024;

describe('media worker faults', () => {
  it('stores every recording whole once S3 is back after dying mid-stream, and leaves no multipart upload open', async () => {
    const r = await runS3Outage({ recordings: 2, sizeMiB: 8 });
    const what = seen(r);
    expect(r.states, what).toEqual(['stored', 'stored']);
    expect(r.storedWhole, what).toBe(r.recordings);
    // The failed attempt really happened: a recording was fetched again.
    expect(r.fetches, what).toBeGreaterThan(r.recordings);
    expect(r.openUploads, what).toBe(0);
    expect(r.mediaDlq, what).toBe(0);
  });

  it('retries a job whose worker was killed mid-upload (after the visibility timeout) and stores the object whole', async () => {
    const r = await runWorkerKilled({ sizeMiB: 8 });
    const what = seen(r);
    expect(r.states, what).toEqual(['stored']);
    expect(r.storedWhole, what).toBe(1);
    // The killed try and at least one more (a loaded machine may need a third).
    expect(r.fetches, what).toBeGreaterThanOrEqual(2);
    // Counted before each try, so the killed one counts too.
    expect(r.attempts, what).toBeGreaterThanOrEqual(2);
    // (The killed worker's own upload stays open: no process is left to abort it; the bucket's
    // lifecycle rule does, as deployed.)
    expect(r.mediaDlq, what).toBe(0);
  });

  it('retries a server whose headers come after the idle timeout, stores its trickling body whole, and holds at most half of it', async () => {
    const r = await runSlowServer({ sizeMiB: 64 });
    const what = seen(r);
    expect(r.states, what).toEqual(['stored']);
    expect(r.storedWhole, what).toBe(1);
    expect(r.fetches, what).toBe(2);
    expect(r.openUploads, what).toBe(0);
    // Streamed, not buffered: what the worker still holds after a full GC is a few 5 MiB parts (one
    // uploading, the next filling), whatever the body's size: well under half of this 64 MiB one.
    expect(r.memorySamples, `the worker was weighed during the stream; ${what}`).toBeGreaterThanOrEqual(5);
    expect(r.peakLiveArrayBuffersGrowth / MiB, what).toBeLessThan(r.bodyBytes / 2 / MiB);
  });
});
