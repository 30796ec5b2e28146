import { describe, expect, it } from 'vitest';
import { LocalFaults, parseFaultRequest } from '#bin/local/faults.ts';
import { EmfDeliveryHistory } from '#bin/local/silence.ts';

const emf = (name: string, source: string, at: number, value = 1) =>
  JSON.stringify({
    _aws: {
      Timestamp: at,
      CloudWatchMetrics: [{ Namespace: 'CallVault', Dimensions: [['source'], []], Metrics: [{ Name: name, Unit: 'Count' }] }],
    },
    source,
    [name]: value,
  });

describe('local faults', () => {
  it('keeps a service down for the seconds asked, then lets it up by itself', () => {
    let now = 1_000_000;
    const faults = new LocalFaults(() => now);
    faults.down(['dynamodb'], 5);
    expect([faults.isDown('dynamodb'), faults.isDown('sqs')]).toEqual([true, false]);
    expect(faults.state()).toEqual({ dynamodb: 5 });
    now += 5_000;
    expect(faults.isDown('dynamodb')).toBe(false);
    expect(faults.state()).toEqual({});
  });

  it('clears every fault at once', () => {
    const faults = new LocalFaults();
    faults.down(['dynamodb', 'sqs'], 60);
    faults.clear();
    expect(faults.state()).toEqual({});
  });

  it.each([
    ['not json', 'not JSON'],
    ['{"services": [], "seconds": 5}', '"services"'],
    ['{"services": ["kinesis"], "seconds": 5}', '"services"'],
    ['{"services": ["dynamodb"]}', '"seconds"'],
    ['{"services": ["dynamodb"], "seconds": 0}', '"seconds"'],
    ['{"services": ["dynamodb"], "seconds": 601}', '"seconds"'],
  ])('refuses %s with a message saying what to send', (body, mentions) => {
    const parsed = parseFaultRequest(body);
    expect('message' in parsed && parsed.message).toContain(mentions);
  });

  it('accepts a list of emulated services and a duration', () => {
    expect(parseFaultRequest('{"services": ["dynamodb", "sqs"], "seconds": 3}')).toEqual({ services: ['dynamodb', 'sqs'], seconds: 3 });
  });
});

describe('the local delivery history (silence check without CloudWatch)', () => {
  const since = new Date('2026-11-26T10:00:00Z');
  const until = new Date('2026-11-26T11:00:00Z');

  it('answers the latest delivery of the source within the span', async () => {
    const h = new EmfDeliveryHistory();
    h.observe(emf('DeliveryStored', 'hipcall', Date.parse('2026-11-26T10:10:00Z')));
    h.observe(emf('DeliveryDuplicate', 'hipcall', Date.parse('2026-11-26T10:40:00Z')));
    h.observe(emf('DeliveryStored', 'callhippo', Date.parse('2026-11-26T10:50:00Z')));
    expect(await h.lastDeliveryAt('hipcall', since, until)).toEqual(new Date('2026-11-26T10:40:00Z'));
  });

  it('does not count refusals, other metrics, zero values or lines that are not EMF as deliveries', async () => {
    const h = new EmfDeliveryHistory();
    const at = Date.parse('2026-11-26T10:30:00Z');
    h.observe(emf('DeliveryRefused', 'hipcall', at));
    h.observe(emf('MediaStored', 'hipcall', at));
    h.observe(emf('DeliveryStored', 'hipcall', at, 0));
    h.observe('{"level":"INFO","message":"not a metric"}');
    h.observe('{"_aws": broken');
    expect(await h.lastDeliveryAt('hipcall', since, until)).toBeUndefined();
  });

  it('answers nothing for a delivery before the span', async () => {
    const h = new EmfDeliveryHistory();
    h.observe(emf('DeliveryStored', 'hipcall', Date.parse('2026-11-26T09:59:00Z')));
    expect(await h.lastDeliveryAt('hipcall', since, until)).toBeUndefined();
  });
});
