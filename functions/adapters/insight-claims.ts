/**
 * The calls item's `insight` attribute as a claim: the insight worker writes it with a condition
 * before posting, so a repeated job (SQS delivers at least once; Hipcall may repeat call_init) posts
 * no second card, and a final outcome is never overwritten. The rule is `isClaimable` in core/insight.ts.
 *
 * The update creates the item when the ingest's upsert has not landed yet (they run in parallel);
 * the upsert never touches `insight`, so neither write undoes the other.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ClaimAnswer, PendingInsight } from '#core/insight.ts';
import type { InsightClaims } from '#core/ports/insight-claims.ts';
import type { InsightInfo } from '#core/types.ts';

/** Claims on the calls table's `insight` attribute (conditional writes). */
export class DynamoInsightClaims implements InsightClaims {
  /**
   * @param doc for the claim, on the card's critical path: short timeouts.
   * @param settleDoc for recording the outcome once the card is out: more patience, because a lost
   *   outcome leaves the call `pending` until a redelivery, which by then can only record `stale`.
   */
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly settleDoc: DynamoDBDocumentClient = doc,
  ) {}

  /**
   * Write `value` to the item's `insight` if it has none, or holds a pending claim older than `leaseMs`.
   * A pending claim with the same `claimId` counts as ours, so an SDK retry after a timed-out write that
   * did land still succeeds. False when someone else holds the call (or it already has an outcome).
   * With `source`, the call must be that source's (or not written by the ingest yet): a call another
   * source owns answers `{ ownedBy }` (read only then, off the usual path).
   */
  async claim(
    callKey: string,
    value: PendingInsight | InsightInfo,
    options: { nowMs: number; leaseMs: number; source?: string; abortSignal?: AbortSignal },
  ): Promise<ClaimAnswer> {
    const ours = 'claimId' in value;
    const owned = options.source !== undefined;
    const claimed = await this.conditional(
      this.doc,
      new UpdateCommand({
        TableName: this.tableName,
        Key: { callKey },
        UpdateExpression: 'SET #i = :value',
        ConditionExpression:
          (owned ? '(attribute_not_exists(#src) OR #src = :source) AND ' : '') +
          `(attribute_not_exists(#i) OR (#i.#s = :pending AND (attribute_not_exists(#i.#at) OR #i.#at < :expired${ours ? ' OR #i.#c = :claimId' : ''})))`,
        ExpressionAttributeNames: {
          '#i': 'insight',
          '#s': 'state',
          '#at': 'at',
          ...(ours ? { '#c': 'claimId' } : {}),
          ...(owned ? { '#src': 'source' } : {}),
        },
        ExpressionAttributeValues: {
          ':value': value,
          ':pending': 'pending',
          ':expired': new Date(options.nowMs - options.leaseMs).toISOString(),
          ...(ours ? { ':claimId': value.claimId } : {}),
          ...(owned ? { ':source': options.source } : {}),
        },
      }),
      options.abortSignal,
    );
    if (claimed || !owned) return claimed;
    const item = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { callKey },
        ConsistentRead: true,
        ProjectionExpression: '#src',
        ExpressionAttributeNames: { '#src': 'source' },
      }),
      { abortSignal: options.abortSignal },
    );
    const owner: unknown = item.Item?.source;
    return typeof owner === 'string' && owner !== options.source ? { ownedBy: owner } : false;
  }

  /** Replace our own claim with the outcome. False when the claim was lost (it expired and another worker took it). */
  async settle(callKey: string, claimId: string, outcome: InsightInfo, abortSignal?: AbortSignal): Promise<boolean> {
    return this.conditional(
      this.settleDoc,
      new UpdateCommand({
        TableName: this.tableName,
        Key: { callKey },
        UpdateExpression: 'SET #i = :value',
        ConditionExpression: '#i.#c = :claimId',
        ExpressionAttributeNames: { '#i': 'insight', '#c': 'claimId' },
        ExpressionAttributeValues: { ':value': outcome, ':claimId': claimId },
      }),
      abortSignal,
    );
  }

  private async conditional(doc: DynamoDBDocumentClient, command: UpdateCommand, abortSignal?: AbortSignal): Promise<boolean> {
    try {
      await doc.send(command, { abortSignal });
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }
}
