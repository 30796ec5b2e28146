/**
 * The Standard Webhooks signing secrets: one Secrets Manager secret per source that sets `signature`
 * (`{stack}/{source}/signing`, SIGNING_SECRETS maps source id → its name), cached for five minutes like
 * the webhook tokens (the local stack passes its own, bin/local/local-secrets.ts). Values are never logged.
 *
 * The stack creates each secret with a generated JSON placeholder; the user replaces it with the
 * sender's secret: the bare `whsec_…` string, or `{"secret": "whsec_…"}`.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SigningSecret, SigningSecrets } from '#core/ports/signing-secrets.ts';
import { SECRET_CACHE_MS, SecretCache } from './cached-secret.ts';

// A secret not put yet is re-read sooner, so deliveries start passing soon after the user puts it.
const UNSET_CACHE_MS = 30_000;

const putCommand = (name: string) => `aws secretsmanager put-secret-value --secret-id ${name} --secret-string 'whsec_...'`;

/** The signing secret a Secrets Manager value holds; undefined for the stack's placeholder or an empty value. */
export function parseSigningSecret(value: string): string | undefined {
  const text = value.trim();
  if (!text) return undefined;
  if (!text.startsWith('{')) return text;
  try {
    const secret = (JSON.parse(text) as Record<string, unknown>).secret;
    return typeof secret === 'string' && secret.trim() ? secret.trim() : undefined;
  } catch {
    return undefined;
  }
}

/** Deployed: read from Secrets Manager through the secret cache (cached-secret.ts). */
export class SecretsManagerSigningSecrets implements SigningSecrets {
  private readonly cache: SecretCache<SigningSecret>;

  constructor(
    client: SecretsManagerClient,
    /** Source id → secret name (SIGNING_SECRETS). */
    private readonly secretNames: Readonly<Record<string, string>>,
    now: () => number = Date.now,
  ) {
    this.cache = new SecretCache({
      load: (sourceId, abortSignal) => readSigningSecret(client, sourceId, this.secretNames[sourceId]!, abortSignal),
      ttlMs: (answer) => ('secret' in answer ? SECRET_CACHE_MS : UNSET_CACHE_MS),
      now,
    });
  }

  get(sourceId: string, abortSignal?: AbortSignal): Promise<SigningSecret> {
    if (!this.secretNames[sourceId]) {
      return Promise.resolve({
        unset: `Source "${sourceId}" requires a signature, but this deployment has no signing secret for it: redeploy the stack (cdk deploy), then put the sender's whsec_ secret in its {stack}/${sourceId}/signing secret.`,
      });
    }
    return this.cache.get(sourceId, abortSignal);
  }
}

/** The secret, or `unset` saying how to put it: a secret that does not exist (yet) is an answer, not a failure. */
async function readSigningSecret(
  client: SecretsManagerClient,
  sourceId: string,
  name: string,
  abortSignal: AbortSignal | undefined,
): Promise<SigningSecret> {
  try {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: name }), { abortSignal });
    const secret = parseSigningSecret(SecretString ?? '');
    return secret
      ? { secret }
      : { unset: `No signing secret has been put for source "${sourceId}" yet. Put the sender's whsec_ secret: ${putCommand(name)}` };
  } catch (err) {
    if ((err as Error).name !== 'ResourceNotFoundException') throw err;
    return {
      unset: `The signing secret ${name} of source "${sourceId}" does not exist: redeploy the stack (cdk deploy), then ${putCommand(name)}`,
    };
  }
}
