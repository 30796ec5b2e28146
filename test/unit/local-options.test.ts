import { describe, expect, it } from 'vitest';
import { optionsFromEnv, replayRetrySeconds } from '#bin/local/stack.ts';

describe('CALLVAULT_REPLAY_RETRY_SECONDS', () => {
  it('is the deployed visibility unless set, and whole seconds when set', () => {
    expect(optionsFromEnv({}).replayRetrySeconds).toBeUndefined();
    expect(optionsFromEnv({ CALLVAULT_REPLAY_RETRY_SECONDS: ' 5 ' }).replayRetrySeconds).toBe(5);
    expect(replayRetrySeconds('0')).toBe(0);
    expect(replayRetrySeconds('43200')).toBe(43_200);
  });
  it('refuses what SQS would refuse as a visibility timeout, naming the variable and the range', () => {
    for (const bad of ['abc', '-1', '1.5', '43201']) {
      expect(() => replayRetrySeconds(bad)).toThrow(`CALLVAULT_REPLAY_RETRY_SECONDS must be whole seconds from 0 to 43200 (12 hours), not "${bad}".`);
    }
  });
});
