/**
 * The local stack's webhook tokens and signing secrets: fixed values it passes to the ingest's composition
 * root in place of Secrets Manager (the tests and benchmarks use them the same way).
 */
import { tokensMatch } from '#adapters/webhook-tokens.ts';
import type { SigningSecret, SigningSecrets } from '#core/ports/signing-secrets.ts';
import type { WebhookTokens } from '#core/ports/webhook-tokens.ts';

/** One token for every source. */
export class StaticWebhookTokens implements WebhookTokens {
  constructor(private readonly token: string) {}
  verify(_sourceId: string, presented: string): Promise<boolean> {
    return Promise.resolve(tokensMatch(presented, [this.token]));
  }
}

/** One secret for every signing source, or none (each then answers `unset` with `whereToPut`). */
export class StaticSigningSecrets implements SigningSecrets {
  constructor(
    private readonly secret: string | undefined,
    /** What to do when there is no secret, e.g. "set CALLVAULT_LOCAL_SIGNING_SECRET". */
    private readonly whereToPut: string,
  ) {}

  get(sourceId: string): Promise<SigningSecret> {
    const secret = this.secret?.trim();
    return Promise.resolve(secret ? { secret } : { unset: `No signing secret for source "${sourceId}": ${this.whereToPut}` });
  }
}
