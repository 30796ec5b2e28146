/**
 * DynamoDB gone during a burst: the emulator process killed mid-burst and started again on the same
 * port with the same data (test/fault/dynamo-outage.ts drives the real ingest handler).
 */
import { describe, expect, it } from 'vitest';
import { runDynamoOutage } from './dynamo-outage.ts';

describe('ingest while DynamoDB is down', () => {
  it('answers every delivery 2xx, and applies every call through the replay queue once DynamoDB is back', async () => {
    const r = await runDynamoOutage({ calls: 40, concurrency: 4 });

    expect(r.answered2xx, `answers: ${JSON.stringify(r.byStatus)}`).toBe(r.deliveries);
    // The outage really happened: some deliveries could only be queued for replay.
    expect(r.byStatus['202 queued'] ?? 0).toBeGreaterThan(0);
    expect(r.applied).toBe(r.calls);
    expect(r.replayDlq).toBe(0);
  });
});
