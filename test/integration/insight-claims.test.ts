/** InsightClaims against dynalite: the claim is the owning source's alone, and says who owns the call otherwise. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { localClientConfig, startEmulators, type Emulators } from '#bin/local/emulators.ts';
import { DynamoInsightClaims } from '#adapters/insight-claims.ts';

let em: Emulators;
let doc: DynamoDBDocumentClient;
let claims: DynamoInsightClaims;
const NOW = Date.parse('2026-04-02T10:00:00Z');
const lease = (source?: string) => ({ nowMs: NOW, leaseMs: 60_000, ...(source ? { source } : {}) });
const pending = (claimId: string) => ({ state: 'pending' as const, at: new Date(NOW).toISOString(), claimId });
const insightOf = async (callKey: string): Promise<unknown> =>
  (await doc.send(new GetCommand({ TableName: em.tables.calls, Key: { callKey }, ConsistentRead: true }))).Item?.insight;

beforeAll(async () => {
  em = await startEmulators();
  doc = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(em.endpoints.dynamodb)));
  claims = new DynamoInsightClaims(doc, em.tables.calls);
});

afterAll(async () => {
  doc?.destroy();
  await em?.close();
});

describe('InsightClaims.claim with a source', () => {
  it("claims the owning source's call", async () => {
    await doc.send(new PutCommand({ TableName: em.tables.calls, Item: { callKey: 'hipcall#own', source: 'hipcall' } }));
    expect(await claims.claim('hipcall#own', pending('a'), lease('hipcall'))).toBe(true);
    expect(await insightOf('hipcall#own')).toMatchObject({ state: 'pending', claimId: 'a' });
  });

  it('claims a call the ingest has not written yet (it runs in parallel)', async () => {
    expect(await claims.claim('hipcall#early', pending('b'), lease('hipcall'))).toBe(true);
  });

  it('answers the owner, and writes nothing, for a call another source owns', async () => {
    await doc.send(new PutCommand({ TableName: em.tables.calls, Item: { callKey: 'hipcall#theirs', source: 'hipcall-eu' } }));
    expect(await claims.claim('hipcall#theirs', pending('c'), lease('hipcall'))).toEqual({ ownedBy: 'hipcall-eu' });
    expect(await insightOf('hipcall#theirs')).toBeUndefined();
  });

  it('answers false, not an owner, when another delivery of the same source holds the call', async () => {
    await doc.send(
      new PutCommand({ TableName: em.tables.calls, Item: { callKey: 'hipcall#held', source: 'hipcall', insight: pending('first') } }),
    );
    expect(await claims.claim('hipcall#held', pending('second'), lease('hipcall'))).toBe(false);
  });
});
