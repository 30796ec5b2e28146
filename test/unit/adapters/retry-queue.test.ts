import { describe, expect, it } from 'vitest';
import { cappedVisibility, isLastDelivery, parseQueueArn } from '#adapters/retry-queue.ts';
import { SQS_MAX_VISIBILITY_SECONDS } from '#core/redelivery.ts';

describe('parseQueueArn', () => {
  it('reads region, account and name from an SQS queue ARN', () => {
    expect(parseQueueArn('arn:aws:sqs:eu-west-1:123456789012:callvault-media')).toEqual({
      region: 'eu-west-1',
      account: '123456789012',
      name: 'callvault-media',
    });
  });

  it.each([
    ['a Lambda ARN', 'arn:aws:lambda:eu-west-1:123456789012:function:f'],
    ['an ARN without a queue name', 'arn:aws:sqs:eu-west-1:123456789012:'],
    ['a queue URL', 'https://sqs.eu-west-1.amazonaws.com/123456789012/callvault-media'],
    ['an ARN with extra parts', 'arn:aws:sqs:eu-west-1:123456789012:q:extra'],
  ])('refuses %s', (_what, arn) => {
    expect(parseQueueArn(arn)).toBeUndefined();
  });
});

describe('cappedVisibility', () => {
  it.each([
    ['a short delay as asked', 90, 0, 90],
    ['a fractional delay rounded', 14.6, 0, 15],
    ['a negative delay as 0', -5, 0, 0],
    ['a delay past 12 h capped, less a margin', 50_000, 0, SQS_MAX_VISIBILITY_SECONDS - 5],
    ['the time already spent taken off the cap', 50_000, 600, SQS_MAX_VISIBILITY_SECONDS - 600 - 5],
    ['nothing left after 12 h spent', 100, SQS_MAX_VISIBILITY_SECONDS, 0],
  ])('sets %s', (_what, delay, spent, expected) => {
    expect(cappedVisibility(delay, spent)).toBe(expected);
  });
});

describe('isLastDelivery', () => {
  it.each([
    [1, 8, 0, false],
    [7, 8, 0, false],
    [8, 8, 0, true],
    [7, 8, 1, true],
    [6, 8, 1, false],
  ])('receive %i of %i with %i receive(s) per delay: %s', (count, max, perDelay, expected) => {
    expect(isLastDelivery(count, max, perDelay)).toBe(expected);
  });
});
