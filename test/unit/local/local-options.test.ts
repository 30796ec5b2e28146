import { describe, expect, it } from 'vitest';
import { optionsFromEnv } from '#bin/local/stack.ts';

describe('CALLVAULT_REPLAY_RETRY_SECONDS', () => {
  it('is the deployed visibility unless set, and whole seconds when set', () => {
    expect(optionsFromEnv({}).replayRetrySeconds).toBeUndefined();
    expect(optionsFromEnv({ CALLVAULT_REPLAY_RETRY_SECONDS: ' 5 ' }).replayRetrySeconds).toBe(5);
    expect(optionsFromEnv({ CALLVAULT_REPLAY_RETRY_SECONDS: '0' }).replayRetrySeconds).toBe(0);
    expect(optionsFromEnv({ CALLVAULT_REPLAY_RETRY_SECONDS: '43200' }).replayRetrySeconds).toBe(43_200);
  });
  it('refuses what SQS would refuse as a visibility timeout, naming the variable and the range', () => {
    for (const bad of ['abc', '-1', '1.5', '43201']) {
      expect(() => optionsFromEnv({ CALLVAULT_REPLAY_RETRY_SECONDS: bad })).toThrow(
        `CALLVAULT_REPLAY_RETRY_SECONDS must be whole seconds from 0 to 43200 (12 hours, SQS's longest visibility timeout), not "${bad}".`,
      );
    }
  });
});

describe('CALLVAULT_MEDIA_DELAY_SECONDS', () => {
  it("is each source's own delay unless set, and whole seconds when set", () => {
    expect(optionsFromEnv({}).mediaDelaySeconds).toBeUndefined();
    expect(optionsFromEnv({ CALLVAULT_MEDIA_DELAY_SECONDS: '1' }).mediaDelaySeconds).toBe(1);
    expect(optionsFromEnv({ CALLVAULT_MEDIA_DELAY_SECONDS: '900' }).mediaDelaySeconds).toBe(900);
  });
  it('refuses a delay SQS would refuse, instead of queueing jobs with a broken one', () => {
    for (const bad of ['soon', '-5', '901']) {
      expect(() => optionsFromEnv({ CALLVAULT_MEDIA_DELAY_SECONDS: bad })).toThrow(
        `CALLVAULT_MEDIA_DELAY_SECONDS must be whole seconds from 0 to 900 (SQS's longest delay), not "${bad}".`,
      );
    }
  });
});
