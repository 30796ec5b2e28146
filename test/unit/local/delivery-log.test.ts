import { describe, expect, it } from 'vitest';
import { deliveryLine } from '#bin/local/delivery-log.ts';

describe("the local stack's line per delivery", () => {
  it('says source, status, outcome, event and time for a stored delivery', () => {
    const body = JSON.stringify({ status: 'stored', event: 'call_hangup', callIds: ['u1'] });
    expect(deliveryLine({ source: 'hipcall', method: 'POST', status: 200, body, ms: 12 })).toBe(
      'delivery hipcall    200 stored call_hangup 12 ms',
    );
  });

  it('gives the reason of a refusal, with anything like a phone number masked and control characters escaped', () => {
    const body = JSON.stringify({ message: 'The caller +44 20 4520 5757 \u001b[2Jis not valid JSON.' });
    expect(deliveryLine({ source: 'callhippo', method: 'POST', status: 400, body, ms: 3 })).toBe(
      'delivery callhippo  400 refused 3 ms: The caller <number> \\u001b[2Jis not valid JSON.',
    );
  });

  it('adds the warnings of a delivery whose call fields were not recognised', () => {
    const body = JSON.stringify({ status: 'stored', event: 'call_status', warnings: ['No call fields were recognised.'] });
    expect(deliveryLine({ source: 'callhippo', method: 'POST', status: 200, body, ms: 5 })).toBe(
      'delivery callhippo  200 stored call_status 5 ms; warnings: No call fields were recognised.',
    );
  });

  it('says nothing for a URL check (GET, HEAD)', () => {
    expect(deliveryLine({ source: 'hipcall', method: 'GET', status: 200, body: '{"status":"ok"}', ms: 1 })).toBeUndefined();
  });
});
