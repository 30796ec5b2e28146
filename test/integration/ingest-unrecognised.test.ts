/**
 * A delivery that names a call but carries none of its call fields is stored (nothing a provider sends
 * is lost), answered 200 with `warnings` saying so, and counted in DeliveryUnrecognised.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC } from '#core/metrics.ts';
import { filedBySourceAndTotal, parseEmf } from '#test/support/emf.ts';
import { startIngestHarness, type IngestHarness } from '#test/support/ingest-harness.ts';

const SOURCES = { sources: [{ id: 'callhippo', provider: 'callhippo' }] };

describe('a delivery with no recognisable call fields', () => {
  const lines: string[] = [];
  const unrecognised = () =>
    parseEmf(lines.join('\n')).filter((m) => m.name === METRIC.deliveryUnrecognised && filedBySourceAndTotal(m, 'callhippo'));
  let h: IngestHarness;
  beforeAll(async () => {
    h = await startIngestHarness(SOURCES, { local: { metricsOut: (l) => lines.push(l) } });
  });
  afterAll(async () => h?.close());

  it('stores a CallHippo body with only a callSid, answers 200 with a warning, and counts it', async () => {
    const answer = await h.post('callhippo', JSON.stringify({ callSid: 'CAonly-a-sid' }));
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ status: 'stored', callIds: ['CAonly-a-sid'] });
    const warnings = (answer.json as { warnings?: string[] }).warnings;
    expect(warnings).toHaveLength(1);
    expect(warnings![0]).toMatch(/No call fields were recognised in this callhippo call_status delivery/);
    expect(await h.item('callhippo#CAonly-a-sid')).toMatchObject({ callId: 'CAonly-a-sid', source: 'callhippo' });
    expect(unrecognised()).toHaveLength(1);
    expect(unrecognised()[0]!.values).toEqual([1]);
  });

  it('answers a CallHippo status with a status and a time without warnings, and does not count it', async () => {
    const answer = await h.post(
      'callhippo',
      JSON.stringify({ callSid: 'CAwith-status', status: 'completed', dateTime: '2026-04-02T10:00:00Z' }),
    );
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ status: 'stored', callIds: ['CAwith-status'] });
    expect(answer.json).not.toHaveProperty('warnings');
    expect(unrecognised()).toHaveLength(1);
  });
});
