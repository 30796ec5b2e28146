/**
 * The webhook tokens: one Secrets Manager secret per source (`{"current": "...", "previous": "..."}`,
 * two valid at once while a provider dashboard is being updated), cached after the first read (the
 * local stack passes its own, bin/local/local-secrets.ts). Comparison is constant-time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { WebhookTokens } from '#core/ports/webhook-tokens.ts';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time comparison: hashing first makes lengths equal, so timing reveals nothing about the token. */
export function tokensMatch(presented: string, valid: readonly string[]): boolean {
  const p = digest(presented);
  let ok = false;
  for (const v of valid) if (v && timingSafeEqual(p, digest(v))) ok = true;
  return ok;
}

const CACHE_MS = 5 * 60_000;

/** Deployed: tokens read from Secrets Manager and cached for five minutes (stale values kept if a refresh fails). */
export class SecretsManagerWebhookTokens implements WebhookTokens {
  private readonly cache = new Map<string, { tokens: string[]; at: number }>();
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretArns: Record<string, string>,
  ) {}

  async verify(sourceId: string, presented: string, abortSignal?: AbortSignal): Promise<boolean> {
    const tokens = await this.tokens(sourceId, abortSignal);
    return tokensMatch(presented, tokens);
  }

  private async tokens(sourceId: string, abortSignal?: AbortSignal): Promise<string[]> {
    const arn = this.secretArns[sourceId];
    if (!arn) return [];
    const cached = this.cache.get(sourceId);
    if (cached && Date.now() - cached.at < CACHE_MS) return cached.tokens;
    try {
      const { SecretString } = await this.client.send(new GetSecretValueCommand({ SecretId: arn }), { abortSignal });
      const tokens = parseTokenSecret(SecretString ?? '');
      this.cache.set(sourceId, { tokens, at: Date.now() });
      return tokens;
    } catch (err) {
      if (cached) return cached.tokens;
      throw err;
    }
  }
}

/** The secret is JSON `{"current": "...", "previous": "..."}`; a bare string is one token. */
export function parseTokenSecret(secret: string): string[] {
  try {
    const parsed = JSON.parse(secret) as unknown;
    if (parsed && typeof parsed === 'object') {
      const { current, previous } = parsed as Record<string, unknown>;
      return [current, previous].filter((t): t is string => typeof t === 'string' && t.length >= 16);
    }
  } catch {
    // not JSON: a bare token
  }
  return secret.length >= 16 ? [secret] : [];
}
