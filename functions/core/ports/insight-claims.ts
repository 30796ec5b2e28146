/** The InsightClaims port: one card per call (adapter: adapters/insight-claims.ts, DynamoInsightClaims). */
import type { ClaimAnswer, PendingInsight } from '#core/insight.ts';
import type { InsightInfo } from '#core/types.ts';

/** The item's `insight` attribute as a claim, so a repeated job posts no second card. */
export interface InsightClaims {
  /** With `source`, only when the call is that source's (or has no source yet): another source's call answers `{ ownedBy }`. */
  claim(
    callKey: string,
    value: PendingInsight | InsightInfo,
    options: { nowMs: number; leaseMs: number; source?: string; abortSignal?: AbortSignal },
  ): Promise<ClaimAnswer>;
  settle(callKey: string, claimId: string, outcome: InsightInfo, abortSignal?: AbortSignal): Promise<boolean>;
}
