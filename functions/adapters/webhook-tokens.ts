/**
 * The webhook tokens: one Secrets Manager secret per source (`{"current": "...", "previous": "..."}`,
 * two valid at once while a provider dashboard is being updated), cached for five minutes (the
 * local stack passes its own, bin/local/local-secrets.ts). Comparison is constant-time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { WebhookTokens } from '#core/ports/webhook-tokens.ts';
import { SecretCache } from './cached-secret.ts';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time comparison: hashing first makes lengths equal, so timing reveals nothing about the token. */
export function tokensMatch(presented: string, valid: readonly string[]): boolean {
  const p = digest(presented);
  let ok = false;
  for (const v of valid) if (v && timingSafeEqual(p, digest(v))) ok = true;
  return ok;
}

/** Deployed: tokens read from Secrets Manager through the secret cache (cached-secret.ts). */
export class SecretsManagerWebhookTokens implements WebhookTokens {
  private readonly cache: SecretCache<string[]>;

  constructor(
    client: SecretsManagerClient,
    private readonly secretArns: Record<string, string>,
  ) {
    this.cache = new SecretCache({
      load: async (sourceId, abortSignal) => {
        const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: this.secretArns[sourceId] }), { abortSignal });
        return parseTokenSecret(SecretString ?? '');
      },
    });
  }

  async verify(sourceId: string, presented: string, abortSignal?: AbortSignal): Promise<boolean> {
    // A source without a secret has no valid token: nothing to read.
    if (!this.secretArns[sourceId]) return false;
    return tokensMatch(presented, await this.cache.get(sourceId, abortSignal));
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
