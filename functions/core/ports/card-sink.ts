/** The CardSink port: where an Insight Card goes (adapter: adapters/hipcall-cards.ts, HipcallCardSink). */
import type { CardRow } from '#core/card.ts';
import type { PostResult } from '#core/insight.ts';

export interface CardPost {
  baseUrl: string;
  callId: string;
  token: string;
  card: readonly CardRow[];
  timeoutMs: number;
  abortSignal?: AbortSignal;
}

/** Where an Insight Card goes (Hipcall's card API). One attempt; the retry policy is core's. */
export interface CardSink {
  post(input: CardPost): Promise<PostResult>;
}
