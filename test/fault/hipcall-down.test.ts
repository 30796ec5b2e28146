/** The Hipcall API down while call_init deliveries come in (test/fault/hipcall-down.ts). */
import { describe, expect, it } from 'vitest';
import { runHipcallDown } from './hipcall-down.ts';

describe('insight cards while the Hipcall API is down', () => {
  for (const mode of ['reset', '503'] as const) {
    it(`records "failed" and stays within the retry policy when the API ${mode === 'reset' ? 'resets every connection' : 'answers 503'}`, async () => {
      const r = await runHipcallDown(mode, { calls: 3 });
      expect(r.outcomes).toEqual(['failed', 'failed', 'failed']);
      expect(r.requests).toBeGreaterThan(0);
      expect(r.requests, 'no retry storm: at most CARD_RETRY.maxAttempts per call, and no redelivery').toBeLessThanOrEqual(r.allowed);
      expect(r.insightLeft).toBe(0);
      expect(r.insightDlq).toBe(0);
    });
  }
});
