/** The WebhookTokens port: the token in each source's webhook URL (adapter: adapters/webhook-tokens.ts, SecretsManagerWebhookTokens). */

/** The webhook tokens of each source. */
export interface WebhookTokens {
  /** True when `presented` is a valid token of `sourceId`. Never throws for a bad token. */
  verify(sourceId: string, presented: string, abortSignal?: AbortSignal): Promise<boolean>;
}
