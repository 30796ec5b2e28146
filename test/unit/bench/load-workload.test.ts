import { describe, expect, it } from 'vitest';
import { hangupBody, loadCallId, loadWorkload } from '#bench/load.ts';
import { normaliseDelivery } from '#core/providers/index.ts';

const demoMedia = 'http://127.0.0.1:4000';
const recordUrlOf = (body: string) => (JSON.parse(body) as { data: { record_url: unknown } }).data.record_url;

describe('loadWorkload', () => {
  it('sends 2,000 deliveries for 1,600 calls: every call at least once, 400 repeats of an earlier delivery', () => {
    const w = loadWorkload({ runId: 'r1', demoMedia });
    expect(w).toHaveLength(2000);
    const byCall = new Map<string, string[]>();
    for (const d of w) byCall.set(d.callId, [...(byCall.get(d.callId) ?? []), d.body]);
    expect(byCall.size).toBe(1600);
    const repeated = [...byCall.values()].filter((bodies) => bodies.length > 1);
    expect(repeated.reduce((n, b) => n + b.length - 1, 0)).toBe(400);
    // A repeat is the same bytes again, as a provider repeats a delivery: it must be applied once.
    for (const bodies of repeated) expect(new Set(bodies).size).toBe(1);
  });

  it('shuffles the order the same way for the same run id, and differently for another', () => {
    const ids = (runId: string) => loadWorkload({ runId, demoMedia, deliveries: 50, calls: 40 }).map((d) => d.callId.replace(runId, ''));
    expect(ids('a')).toEqual(ids('a'));
    expect(ids('a')).not.toEqual(ids('b'));
    expect(ids('a')).not.toEqual([...ids('a')].sort());
  });

  it("points each recording at the stack's demo media server, unless the warm-up asks for none", () => {
    const [first] = loadWorkload({ runId: 'r2', demoMedia, deliveries: 1, calls: 1, recordingKb: 8 });
    expect(recordUrlOf(first!.body)).toBe(`${demoMedia}/recordings/${loadCallId('r2', 0)}.mp3?kb=8`);
    const [warm] = loadWorkload({ runId: 'r2', demoMedia, deliveries: 1, calls: 1, withoutRecordings: true });
    expect(recordUrlOf(warm!.body)).toBeNull();
  });

  it('refuses more calls than deliveries: the run could not send every call', () => {
    expect(() => loadWorkload({ runId: 'r3', demoMedia, deliveries: 10, calls: 11 })).toThrow(/1\.\.deliveries calls/);
  });
});

describe('hangupBody', () => {
  it('is a Hipcall call_hangup the adapter reads as a completed call with one recording', () => {
    const result = normaliseDelivery('hipcall', JSON.parse(hangupBody('c-1', `${demoMedia}/recordings/c-1.mp3`)), {
      defaultCountry: 'GB',
      receivedAt: '2026-04-02T10:01:00Z',
    });
    expect(result).toMatchObject({
      outcome: 'events',
      events: [{ callId: 'c-1', fields: { status: 'completed' }, media: [{ media: 'recording' }] }],
    });
  });
});
