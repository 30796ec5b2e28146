/**
 * How a function reaches each source's Hipcall API: its base URL and its secret (bearer token, CRM
 * header). Deployed, the secrets are in Secrets Manager (HIPCALL_API_SECRETS); the local stack passes
 * its stand-in API's URL and token instead.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CallVaultConfig } from '#contract/config.ts';
import { secretNamesOf } from '#contract/resources.ts';
import type { HipcallApiSecret, HipcallApiSecrets } from '#core/ports/hipcall-api-secrets.ts';
import { hipcallApiBaseUrls } from './hipcall-cards.ts';
import { SecretsManagerHipcallApiSecrets, StaticHipcallApiSecrets } from './hipcall-api-secrets.ts';

/** The local stack's Hipcall API: base URL and secret per source id. */
export interface LocalHipcallApi {
  baseUrls: Readonly<Record<string, string>>;
  secrets: Readonly<Record<string, string | HipcallApiSecret>>;
}

export interface HipcallAccess {
  secrets: HipcallApiSecrets;
  /** Source id → API base URL. */
  baseUrls: Map<string, string>;
  /** Source ids that have both a secret and a base URL (they may ask the API for a fresh media link). */
  reachable: Set<string>;
}

/** `{sourceId: secretName}` of the Hipcall sources' API secrets: the names given, else those the stack's prefix gives. */
export function hipcallApiSecretNames(
  config: CallVaultConfig,
  names: Record<string, string> | undefined,
  prefix: string | undefined,
): Record<string, string> {
  if (names) return names;
  if (prefix === undefined) return {};
  const ids = config.sources.filter((s) => s.provider === 'hipcall').map((s) => s.id);
  return secretNamesOf(prefix, ids, 'hipcallApi');
}

export function hipcallAccess(
  config: CallVaultConfig,
  deployed: { secretArns: Record<string, string>; client: () => SecretsManagerClient },
  local?: LocalHipcallApi,
): HipcallAccess {
  const secrets = local
    ? new StaticHipcallApiSecrets(local.secrets)
    : new SecretsManagerHipcallApiSecrets({ secretArns: deployed.secretArns, client: deployed.client() });
  const baseUrls = hipcallApiBaseUrls(config, local?.baseUrls);
  const withSecret = Object.keys(local ? local.secrets : deployed.secretArns);
  return { secrets, baseUrls, reachable: new Set(withSecret.filter((id) => baseUrls.has(id))) };
}
