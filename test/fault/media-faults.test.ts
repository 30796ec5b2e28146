/**
 * Media faults on the real media handler: S3 killed mid-stream, a worker process killed mid-upload, a
 * recording server that answers slowly (test/fault/media-faults.ts).
 */
import { describe, expect, it } from 'vitest';
import { runS3Outage, runSlowServer, runWorkerKilled } from './media-faults.ts';

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

  // Memory is not asserted yet: a 16 MiB body in 4 KiB writes grew the worker's arrayBuffers by 25-31 MiB
  // (Lambda GC flags), more than the body; see the report. `npm run bench -- fault` records the figure.
  it('retries a server whose headers come after the idle timeout, then stores its trickling body whole', async () => {
    const r = await runSlowServer({ sizeMiB: 16 });
    expect(r.states).toEqual(['stored']);
    expect(r.storedWhole).toBe(1);
    expect(r.fetches).toBe(2);
    expect(r.openUploads).toBe(0);
  });
});
