/** The HipcallApiSecrets port: each source's Hipcall API secret (adapter: adapters/hipcall-api-secrets.ts, SecretsManagerHipcallApiSecrets). */

/** What one source's Hipcall API secret holds. */
export interface HipcallApiSecret {
  token: string;
  /** Header value for the source's CRM (`insight.crm.authHeader`), when it has one. */
  crmAuthorization?: string;
}

/** The Hipcall API secret of each source (cached by the adapter). */
export interface HipcallApiSecrets {
  get(sourceId: string, abortSignal?: AbortSignal): Promise<HipcallApiSecret>;
  /** The bearer token alone. */
  token(sourceId: string, abortSignal?: AbortSignal): Promise<string>;
}
