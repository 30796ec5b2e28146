/** The SigningSecrets port: Standard Webhooks secrets of signing sources (adapter: adapters/signing-secrets.ts, SecretsManagerSigningSecrets). */

/**
 * A signing source's secret: `{secret}` (`whsec_…`), or `{unset}` saying where to put it when none has
 * been put yet (a 401 for the sender, never a 5xx: retrying would not help).
 */
export type SigningSecret = { secret: string } | { unset: string };

/** The Standard Webhooks signing secret of each source that sets `signature` (cached by the adapter). */
export interface SigningSecrets {
  /** Throws only when the store cannot be read (the ingest answers 503, as for the token store). */
  get(sourceId: string, abortSignal?: AbortSignal): Promise<SigningSecret>;
}
