import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fixture, startIngestHarness, TOKEN, type IngestHarness } from '#test/support/ingest-harness.ts';
import { SEED_DELIVERIES } from '#test/support/seeds.ts';

describe('ingest handler: logs', () => {
  let h: IngestHarness;
  const lines: string[] = [];
  beforeAll(async () => {
    h = await startIngestHarness({ defaultCountry: 'US' }, { env: { POWERTOOLS_LOG_LEVEL: 'DEBUG' } });
    const capture = (chunk: unknown) => (lines.push(String(chunk)), true);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    try {
      for (const d of SEED_DELIVERIES) await h.post(d.source, fixture(d.fixture));
      await h.post('hipcall', '{"event": "call_hangup", "data": {"uuid": "x", "caller_number": "+442045205757"', {});
      await h.post('hipcall', fixture('hipcall/guide_call_hangup.json'), { token: 'a-wrong-token-for-the-log-test' });
      h.emulators.breakDynamo();
      await h.post('hipcall', fixture('hipcall/inbound/call_hangup.json'));
      h.emulators.restoreDynamo();
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });
  afterAll(async () => h?.close());

  it('writes structured lines for what it did', () => {
    // The EMF metric lines share stdout with the log (as in Lambda): they are not log lines.
    const json = lines
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{') && !l.startsWith('{"_aws"'))
      .map((l) => JSON.parse(l) as { message: string; level: string });
    expect(json.some((l) => l.message === 'delivery applied')).toBe(true);
    expect(json.some((l) => l.message === 'delivery refused')).toBe(true);
    expect(json.some((l) => l.message.includes('replay'))).toBe(true);
  });

  it('writes the metrics to stdout as EMF when nothing else is given, as Lambda needs', () => {
    const emf = lines
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{"_aws"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(emf.some((l) => l.DeliveryStored !== undefined && l.source === 'hipcall')).toBe(true);
    expect(emf.some((l) => l.DeliveryQueuedForReplay !== undefined)).toBe(true);
  });

  it('never logs a token, a phone number, a recording URL or a body', () => {
    const all = lines.join('');
    expect(all.length).toBeGreaterThan(0);
    for (const secret of [TOKEN, 'a-wrong-token-for-the-log-test']) expect(all).not.toContain(secret);
    // Every number in the seeds, as sent and as normalised.
    for (const n of [
      '+442045205757',
      '442045205757',
      '2045205757',
      '+441234567890',
      '+902582440032',
      '+9323243432',
      '+41232132131',
      '555-123-4567',
      '+15551234567',
      '+4440333',
    ]) {
      expect(all, n).not.toContain(n);
    }
    expect(all).not.toMatch(/https?:\/\/(storage|recording)\./);
    expect(all).not.toContain('call_flow');
  });
});
