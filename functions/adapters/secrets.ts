/**
 * The per-source Hipcall API secret: `{"token": "..."}` in Secrets Manager (HIPCALL_API_SECRETS maps
 * source id → secret ARN), read once and cached for five minutes so a rotation is picked up without a
 * cold start. In local mode CALLVAULT_LOCAL_HIPCALL_TOKENS (`{sourceId: token}`) replaces Secrets Manager.
 *
 * The same secret may carry `crmAuthorization`: the header value for the source's own CRM (insight
 * `crm.authHeader`), so a CRM lookup needs no second secret or grant. Values are never logged.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ENV } from '#lib/resources.ts';
import { PermanentError, RetryableError } from '#core/errors.ts';
import { FAST, secretsClient } from './aws.ts';

/** What one source's Hipcall API secret holds. */
export interface HipcallApiSecret {
  token: string;
  /** Header value for the source's CRM (`insight.crm.authHeader`), when it has one. */
  crmAuthorization?: string;
}

export const SECRET_CACHE_MS = 5 * 60 * 1000;

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

function parseJsonMap(name: string, text: string | undefined): Record<string, unknown> | undefined {
  if (!text) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`Environment variable ${name} must be a JSON object such as {"hipcall": "..."}.`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`Environment variable ${name} must be a JSON object keyed by source id.`);
  return parsed as Record<string, unknown>;
}

export interface HipcallApiSecretsOptions {
  /** Source id → secret ARN (HIPCALL_API_SECRETS). */
  secretArns?: Record<string, string>;
  /** Local mode: source id → token, or → `{token, crmAuthorization}` (CALLVAULT_LOCAL_HIPCALL_TOKENS). */
  localSecrets?: Record<string, unknown>;
  client?: SecretsManagerClient;
  cacheMs?: number;
  now?: () => number;
}

/** The Hipcall API secrets of every source, cached. One instance per cold start. */
export class HipcallApiSecrets {
  private readonly cache = new Map<string, { value: Promise<HipcallApiSecret>; expires: number }>();
  private client: SecretsManagerClient | undefined;

  constructor(private readonly options: HipcallApiSecretsOptions) {
    this.client = options.client;
  }

  /** Built from HIPCALL_API_SECRETS, or CALLVAULT_LOCAL_HIPCALL_TOKENS when set (local mode). */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, client?: SecretsManagerClient): HipcallApiSecrets {
    const localSecrets = parseJsonMap(ENV.localHipcallApiTokens, env[ENV.localHipcallApiTokens]);
    const arns = parseJsonMap(ENV.hipcallApiSecrets, env[ENV.hipcallApiSecrets]);
    const secretArns: Record<string, string> = {};
    for (const [k, v] of Object.entries(arns ?? {})) if (typeof v === 'string') secretArns[k] = v;
    return new HipcallApiSecrets({ localSecrets, secretArns, client });
  }

  /** The source's secret. PermanentError when none is configured or it holds no token; RetryableError when Secrets Manager fails. */
  async get(sourceId: string, abortSignal?: AbortSignal): Promise<HipcallApiSecret> {
    const now = (this.options.now ?? Date.now)();
    const hit = this.cache.get(sourceId);
    if (hit && hit.expires > now) return hit.value;
    const value = this.load(sourceId, abortSignal);
    this.cache.set(sourceId, { value, expires: now + (this.options.cacheMs ?? SECRET_CACHE_MS) });
    // A failed read is not cached: the next job tries again.
    value.catch(() => this.cache.get(sourceId)?.value === value && this.cache.delete(sourceId));
    return value;
  }

  /** The bearer token of the source's Hipcall API. */
  async token(sourceId: string, abortSignal?: AbortSignal): Promise<string> {
    return (await this.get(sourceId, abortSignal)).token;
  }

  private async load(sourceId: string, abortSignal?: AbortSignal): Promise<HipcallApiSecret> {
    const { localSecrets, secretArns } = this.options;
    if (localSecrets) {
      const secret = parseHipcallApiSecret(localSecrets[sourceId]);
      if (!secret) throw new PermanentError(`No Hipcall API token for source "${sourceId}" in ${ENV.localHipcallApiTokens}.`);
      return secret;
    }
    const arn = secretArns?.[sourceId];
    if (!arn) throw new PermanentError(`No Hipcall API token secret for source "${sourceId}" (${ENV.hipcallApiSecrets} has no entry): redeploy the stack.`);
    this.client ??= secretsClient(FAST);
    let raw: string | undefined;
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: arn }), { abortSignal });
      raw = out.SecretString;
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'ResourceNotFoundException' || name === 'AccessDeniedException') {
        throw new PermanentError(`Cannot read the Hipcall API token secret of source "${sourceId}" (${name}): check the secret exists and the function may read it.`);
      }
      throw new RetryableError(`Secrets Manager failed reading the Hipcall API token of source "${sourceId}": ${name}`, { cause: err });
    }
    const secret = parseHipcallApiSecret(raw);
    if (!secret) {
      throw new PermanentError(`The Hipcall API token secret of source "${sourceId}" holds no token: set its value to {"token": "<your Hipcall API token>"}.`);
    }
    return secret;
  }
}

let fromEnv: HipcallApiSecrets | undefined;

/** The bearer token of a source's Hipcall API, from the environment's secrets (cached five minutes). */
export function hipcallApiToken(sourceId: string, abortSignal?: AbortSignal): Promise<string> {
  fromEnv ??= HipcallApiSecrets.fromEnv();
  return fromEnv.token(sourceId, abortSignal);
}
