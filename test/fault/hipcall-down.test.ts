/** The Hipcall API down while call_init deliveries come in (test/fault/hipcall-down.ts). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHipcallDown } from './hipcall-down.ts';
import { seen, startFaultStack, type FaultStack } from './fault-stack.ts';

describe('insight cards while the Hipcall API is down', () => {
  // One stack for both modes: each run drains the insight queue and counts only its own calls.
  let stack: FaultStack;
  beforeAll(async () => {
    stack = await startFaultStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  for (const mode of ['reset', '503'] as const) {
    it(`records "failed" and stays within the retry policy when the API ${mode === 'reset' ? 'resets every connection' : 'answers 503'}`, async () => {
      const r = await runHipcallDown(mode, { calls: 3, stack });
      const what = seen(r);
      expect(r.outcomes, what).toEqual(['failed', 'failed', 'failed']);
      expect(r.requests, `the API was tried; ${what}`).toBeGreaterThan(0);
      expect(r.requests, `no retry storm: at most CARD_RETRY.maxAttempts per call, and no redelivery; ${what}`).toBeLessThanOrEqual(
        r.allowed,
      );
      expect(r.insightLeft, what).toBe(0);
      expect(r.insightDlq, what).toBe(0);
    });
  }
});
