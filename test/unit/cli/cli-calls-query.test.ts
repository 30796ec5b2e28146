import { describe, expect, it } from 'vitest';
import { callsQueryInput } from '#bin/cli/archive.ts';
import { CALLS_TABLE } from '#contract/resources.ts';

describe('callsQueryInput', () => {
  it('asks the byDay index for one day, oldest first by callAt', () => {
    expect(callsQueryInput({ table: 't', day: '2026-04-02' })).toEqual({
      TableName: 't',
      IndexName: 'byDay',
      KeyConditionExpression: '#k = :v',
      ExpressionAttributeNames: { '#k': 'day' },
      ExpressionAttributeValues: { ':v': '2026-04-02' },
      ScanIndexForward: true,
    });
  });

  it("bounds a customer's calls by callAt, the sort key of the byCustomerNumber index, newest first when asked", () => {
    const input = callsQueryInput({
      table: 't',
      customer: '+442045205757',
      from: '2026-04-01T00:00:00.000Z',
      to: '2026-04-02T23:59:59.999Z',
      newestFirst: true,
    });
    expect(input).toMatchObject({
      IndexName: 'byCustomerNumber',
      KeyConditionExpression: '#k = :v AND #t BETWEEN :from AND :to',
      ExpressionAttributeNames: { '#k': 'customerNumber', '#t': 'callAt' },
      ExpressionAttributeValues: { ':v': '+442045205757', ':from': '2026-04-01T00:00:00.000Z', ':to': '2026-04-02T23:59:59.999Z' },
      ScanIndexForward: false,
    });
    const index = CALLS_TABLE.indexes.find((i) => i.indexName === input.IndexName)!;
    expect(index.sortKey?.name).toBe(input.ExpressionAttributeNames!['#t']);
  });

  it("filters by source and status after the key condition (the console's list filters), never as keys", () => {
    const input = callsQueryInput({ table: 't', day: '2026-04-02', newestFirst: true, source: 'hipcall', status: 'missed' });
    expect(input).toMatchObject({
      IndexName: 'byDay',
      KeyConditionExpression: '#k = :v',
      FilterExpression: '#source = :source AND #status = :status',
      ExpressionAttributeNames: { '#k': 'day', '#source': 'source', '#status': 'status' },
      ExpressionAttributeValues: { ':v': '2026-04-02', ':source': 'hipcall', ':status': 'missed' },
    });
    expect(callsQueryInput({ table: 't', day: '2026-04-02' })).not.toHaveProperty('FilterExpression');
  });

  it('uses a one-sided bound when only --from or --to is given', () => {
    expect(callsQueryInput({ table: 't', day: '2026-04-02', from: '2026-04-02T12:00:00.000Z' }).KeyConditionExpression).toBe(
      '#k = :v AND #t >= :from',
    );
    expect(callsQueryInput({ table: 't', day: '2026-04-02', to: '2026-04-02T12:00:00.000Z' }).KeyConditionExpression).toBe(
      '#k = :v AND #t <= :to',
    );
  });
});
