/**
 * DynamoDB gone during a burst: the emulator process killed mid-burst and started again on the same
 * port with the same data (test/fault/dynamo-outage.ts drives the real ingest handler).
 */
import { describe, expect, it } from 'vitest';
import { runDynamoOutage } from './dynamo-outage.ts';
import { seen } from './fault-stack.ts';

describe('ingest while DynamoDB is down', () => {
  it('answers every delivery 2xx, and applies every call through the replay queue once DynamoDB is back', async () => {
    const r = await runDynamoOutage({ calls: 30, concurrency: 4 });
    const what = seen(r);

    expect(r.answered2xx, `every delivery answered 2xx; ${what}`).toBe(r.deliveries);
    // The outage really happened: some deliveries could only be queued for replay.
    expect(r.byStatus['202 queued'] ?? 0, `some deliveries queued for replay; ${what}`).toBeGreaterThan(0);
    expect(r.applied, `every call applied; ${what}`).toBe(r.calls);
    expect(r.replayLeft, what).toBe(0);
    expect(r.replayDlq, what).toBe(0);
  });
});
