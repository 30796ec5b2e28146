/**
 * The deployment config as the functions read it: the types of the `callvault` block of cdk.json once
 * validated and its defaults applied, and the small lookups the handlers use. No zod here: the stack
 * validates the config at synth (functions/contract/config-schema.ts) and bundles the result with each
 * function's code, so a cold start only reads JSON and never builds the schema.
 */
import type { CardTemplate as CoreCardTemplate } from '#core/card.ts';
import type { Provider } from '#core/types.ts';

/** One row of the Insight Card built from a contact. */
export interface CardRow {
  /** Contact field shown on the row: name, company, balance, owner (a `user` row), link, or an extra field. */
  field: string;
  label: string;
  /** `currency` formats a number as money; `user` renders a Hipcall user row. */
  format: 'text' | 'currency' | 'user';
}

/** The card template of a source. */
export interface CardTemplate {
  title: string;
  /** Title row link; `{link}` is replaced by the contact's link. */
  titleLink?: string | undefined;
  rows: CardRow[];
  /** ISO 4217 code for `currency` rows, upper case. */
  currency: string;
  /** BCP 47 locale for number formatting. */
  locale: string;
  /** Include every extra column of the contact as a row. */
  includeExtras: boolean;
}

/** A CRM looked up over HTTP instead of the contacts table. */
export interface CrmConfig {
  /** https URL with `{phone}` (E.164, URL-encoded). */
  urlTemplate: string;
  /** Header that carries the CRM credential; its value is `crmAuthorization` in the source's Hipcall API secret. */
  authHeader?: string | undefined;
  timeoutMs: number;
  /** Where each contact field is in the CRM's JSON answer (dot paths). */
  mapping: Record<string, string>;
}

/** Insight Card settings of a source. */
export interface InsightConfig {
  enabled: boolean;
  /** A card for a call_init older than this is not sent: nobody would see it. */
  staleSeconds: number;
  card: CardTemplate;
  crm?: CrmConfig | undefined;
}

/** Silence detection of a source: alarm after `minutes` without a delivery, all inside working time. */
export interface SilenceSettings {
  minutes: number;
  /** Working days, e.g. "Mon-Fri". */
  days: string;
  /** Working hours "HH:MM-HH:MM". */
  hours: string;
  /** IANA time zone the days and hours are read in. */
  timeZone: string;
}

/** API Gateway throttling of one route: steady requests per second, and the burst above it. */
export interface Throttle {
  rateLimit: number;
  burstLimit: number;
}

/** Scheduled reconciliation with Hipcall's calls list. */
export interface ReconcileSettings {
  everyMinutes: number;
  lookBackHours: number;
}

/** One configured source: a `{source}` path segment of the webhook URL and what it accepts. */
export interface SourceConfig {
  id: string;
  provider: Provider;
  /** How long a media job waits on the queue before the first download (default per provider). */
  mediaDelaySeconds: number;
  hipcallApiBaseUrl?: string | undefined;
  allowedSourceIps?: string[] | undefined;
  mediaHostAllowlist?: string[] | undefined;
  signature?: 'standard-webhooks' | undefined;
  insight?: InsightConfig | undefined;
  throttle?: Throttle | undefined;
  silence?: SilenceSettings | undefined;
  reconcile?: ReconcileSettings | undefined;
}

/** Data protection options. */
export interface ProtectionConfig {
  kms: boolean | { alias?: string | undefined };
  objectLock?: { mode: 'GOVERNANCE' | 'COMPLIANCE'; days: number } | undefined;
  recordingsExpireDays?: number | undefined;
  itemTtlDays?: number | undefined;
  logRetentionDays?: number | undefined;
}

/** The validated config, every default applied. */
export interface CallVaultConfig {
  defaultCountry: string;
  sources: SourceConfig[];
  retention: { recordingsInfrequentAccessDays: number; recordingsGlacierDays: number; rawExpireDays: number };
  limits: { maxBodyBytes: number; mediaMaxBytes: number };
  throttle: Throttle;
  /** `ingestReserved` 0 reserves nothing; the other maxima cap the SQS event sources (workers, replays on the ingest). */
  concurrency: { ingestReserved: number; mediaMax: number; insightMax: number; replayMax: number };
  protection: ProtectionConfig;
  analytics: { glue: boolean; database: string; workGroup: string; since: string };
  alarmEmail?: string | undefined;
}

// The config's card template must be what core's card builder takes.
const _cardTemplateFits: (t: CardTemplate) => CoreCardTemplate = (t) => t;
void _cardTemplateFits;

/** Media delay per provider type, in seconds (Hipcall advises waiting ~10 s after hangup). */
export const DEFAULT_MEDIA_DELAY: Readonly<Record<Provider, number>> = { hipcall: 10, callhippo: 5, postcall: 5 };

/** The card rows a source gets when its template names none. */
export const DEFAULT_CARD_ROWS: readonly Readonly<CardRow>[] = [
  { field: 'name', label: 'Name', format: 'text' },
  { field: 'company', label: 'Company', format: 'text' },
  { field: 'balance', label: 'Balance', format: 'currency' },
  { field: 'owner', label: 'Account owner', format: 'user' },
];

/** The Insight settings of a source that sets none (the schema's defaults; a test holds them equal). */
export const DEFAULT_INSIGHT: Readonly<InsightConfig> = Object.freeze({
  enabled: true,
  staleSeconds: 20,
  card: { title: 'CallVault', rows: DEFAULT_CARD_ROWS.map((r) => ({ ...r })), currency: 'USD', locale: 'en-US', includeExtras: true },
});

/** A config that failed validation, or that would not deploy; the message names each key and what is allowed. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The throttle of a source's webhook routes: its own, or the global one. */
export function throttleOf(config: CallVaultConfig, source: SourceConfig): Throttle {
  return source.throttle ?? config.throttle;
}

export function sourceById(config: CallVaultConfig, id: string): SourceConfig | undefined {
  return config.sources.find((s) => s.id === id);
}

/** Insight settings for a source, with defaults when the source has none. */
export function insightOf(source: SourceConfig): InsightConfig {
  return source.insight ?? DEFAULT_INSIGHT;
}
