/**
 * The per-source Hipcall API secret: `{"token": "..."}` in Secrets Manager (HIPCALL_API_SECRETS maps
 * source id → secret ARN), read through the secret cache (cached-secret.ts), so a rotation is picked up
 * without a cold start. The local stack passes a StaticHipcallApiSecrets instead (its composition root chooses, never this file).
 *
 * The same secret may carry `crmAuthorization`: the header value for the source's own CRM (insight
 * `crm.authHeader`), so a CRM lookup needs no second secret or grant. Values are never logged.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ENV } from '#contract/resources.ts';
import { PermanentError, RetryableError } from '#core/errors.ts';
import type { HipcallApiSecret, HipcallApiSecrets } from '#core/ports/hipcall-api-secrets.ts';
import { SecretCache } from './cached-secret.ts';

/** Read a secret string as `{"token": ..., "crmAuthorization": ...}`; a bare string is taken as the token. */
export function parseHipcallApiSecret(raw: unknown): HipcallApiSecret | undefined {
  if (typeof raw === 'string') {
    const text = raw.trim();
    if (!text) return undefined;
    if (!text.startsWith('{')) return { token: text };
    try {
      return parseHipcallApiSecret(JSON.parse(text));
    } catch {
      return undefined;
    }
  }
  if (!raw || typeof raw !== 'object') return undefined;
  const o = raw as Record<string, unknown>;
  const token = typeof o.token === 'string' ? o.token.trim() : '';
  if (!token) return undefined;
  const crm = typeof o.crmAuthorization === 'string' && o.crmAuthorization ? o.crmAuthorization : undefined;
  return crm ? { token, crmAuthorization: crm } : { token };
}

export interface SecretsManagerHipcallApiSecretsOptions {
  /** Source id → secret ARN (HIPCALL_API_SECRETS). */
  secretArns: Record<string, string>;
  client: SecretsManagerClient;
  now?: () => number;
}

/** Deployed: the Hipcall API secrets of every source from Secrets Manager, through the secret cache. One instance per cold start. */
export class SecretsManagerHipcallApiSecrets implements HipcallApiSecrets {
  private readonly cache: SecretCache<HipcallApiSecret>;

  constructor(private readonly options: SecretsManagerHipcallApiSecretsOptions) {
    this.cache = new SecretCache({
      load: (sourceId, abortSignal) => this.load(sourceId, abortSignal),
      ...(options.now ? { now: options.now } : {}),
    });
  }

  /** The source's secret. PermanentError when none is configured or it holds no token; RetryableError when Secrets Manager fails. */
  get(sourceId: string, abortSignal?: AbortSignal): Promise<HipcallApiSecret> {
    return this.cache.get(sourceId, abortSignal);
  }

  /** The bearer token of the source's Hipcall API. */
  async token(sourceId: string, abortSignal?: AbortSignal): Promise<string> {
    return (await this.get(sourceId, abortSignal)).token;
  }

  private async load(sourceId: string, abortSignal?: AbortSignal): Promise<HipcallApiSecret> {
    const arn = this.options.secretArns[sourceId];
    if (!arn)
      throw new PermanentError(
        `No Hipcall API token secret for source "${sourceId}" (${ENV.hipcallApiSecrets} has no entry): redeploy the stack.`,
      );
    let raw: string | undefined;
    try {
      const out = await this.options.client.send(new GetSecretValueCommand({ SecretId: arn }), { abortSignal });
      raw = out.SecretString;
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'ResourceNotFoundException' || name === 'AccessDeniedException') {
        throw new PermanentError(
          `Cannot read the Hipcall API token secret of source "${sourceId}" (${name}): check the secret exists and the function may read it.`,
        );
      }
      throw new RetryableError(`Secrets Manager failed reading the Hipcall API token of source "${sourceId}": ${name}`, { cause: err });
    }
    const secret = parseHipcallApiSecret(raw);
    if (!secret) {
      throw new PermanentError(
        `The Hipcall API token secret of source "${sourceId}" holds no token: set its value to {"token": "<your Hipcall API token>"}.`,
      );
    }
    return secret;
  }
}

/** Local mode: fixed secrets per source (the stand-in Hipcall API's token), built by the local stack. */
export class StaticHipcallApiSecrets implements HipcallApiSecrets {
  private readonly secrets: ReadonlyMap<string, HipcallApiSecret>;

  /** `secrets`: source id → a token, or `{token, crmAuthorization}`. */
  constructor(secrets: Readonly<Record<string, string | HipcallApiSecret>>) {
    this.secrets = new Map(
      Object.entries(secrets).flatMap(([id, raw]) => {
        const secret = parseHipcallApiSecret(raw);
        return secret ? [[id, secret] as const] : [];
      }),
    );
  }

  get(sourceId: string): Promise<HipcallApiSecret> {
    const secret = this.secrets.get(sourceId);
    if (!secret)
      return Promise.reject(
        new PermanentError(`No Hipcall API token for source "${sourceId}" in the local stack: add the source to its config.`),
      );
    return Promise.resolve(secret);
  }

  async token(sourceId: string): Promise<string> {
    return (await this.get(sourceId)).token;
  }
}
