/**
 * Media faults on the real media handler: S3 killed mid-stream, a worker process killed mid-upload, a
 * recording server that answers slowly (test/fault/media-faults.ts).
 */
import { describe, expect, it } from 'vitest';
import { runS3Outage, runSlowServer, runWorkerKilled } from './media-faults.ts';

const MiB = 1024 * 1024;

describe('media worker faults', () => {
  it('stores every recording whole once S3 is back after dying mid-stream, and leaves no multipart upload open', async () => {
    const r = await runS3Outage({ recordings: 2, sizeMiB: 8 });
    expect(r.states).toEqual(['stored', 'stored']);
    expect(r.storedWhole).toBe(r.recordings);
    // The failed attempt really happened: each recording was fetched again.
    expect(r.fetches).toBeGreaterThan(r.recordings);
    expect(r.openUploads).toBe(0);
    expect(r.mediaDlq).toBe(0);
  });

  it('retries a job whose worker was killed mid-upload (after the visibility timeout) and stores the object whole', async () => {
    const r = await runWorkerKilled({ sizeMiB: 10 });
    expect(r.states).toEqual(['stored']);
    expect(r.storedWhole).toBe(1);
    // The killed try and at least one more (a loaded machine may need a third).
    expect(r.fetches).toBeGreaterThanOrEqual(2);
    // Counted before each try, so the killed one counts too.
    expect(r.attempts).toBeGreaterThanOrEqual(2);
    expect(r.mediaDlq).toBe(0);
  });

  it('retries a server whose headers come after the idle timeout, then streams its trickling body with flat memory', async () => {
    const r = await runSlowServer({ sizeMiB: 16 });
    expect(r.states).toEqual(['stored']);
    expect(r.storedWhole).toBe(1);
    expect(r.fetches).toBe(2);
    expect(r.openUploads).toBe(0);
    // Two 5 MiB parts at most are held; buffering the body would show as its whole size.
    expect(r.peakArrayBuffersGrowth, `grew ${(r.peakArrayBuffersGrowth / MiB).toFixed(1)} MiB`).toBeLessThan(r.bodyBytes / 2);
  });
});
