/**
 * The deployment config: the `callvault` block of cdk.json context, validated with zod.
 * It is read by the CDK app at synth time and, as the JSON the stack passes to each function
 * (`CALLVAULT_CONFIG`), by the handlers at cold start. No aws-cdk-lib here: functions bundle it.
 * zod/mini, not zod: the functions parse this at every cold start, and full zod adds about 450 KB to
 * each bundle (measured with `npm run bench -- coldstart`).
 */
import { isDeepStrictEqual } from 'node:util';
import * as z from 'zod/mini';
import '#core/zod-messages.ts';
import type { CardTemplate as CoreCardTemplate } from '#core/card.ts';
import { PROVIDERS, type Provider } from '#core/types.ts';
import { isTimeZone, parseDays, parseHours } from '#core/silence.ts';
import { MAX_MEDIA_DELAY_SECONDS } from '#contract/resources.ts';

/** Media delay per provider type, in seconds (Hipcall advises waiting ~10 s after hangup). */
export const DEFAULT_MEDIA_DELAY: Record<Provider, number> = { hipcall: 10, callhippo: 5, postcall: 5 };

const ipv4Cidr = z
  .string()
  .check(z.regex(/^(\d{1,3})(\.\d{1,3}){3}(\/\d{1,2})?$/, 'must be an IPv4 address or CIDR such as 31.192.211.2/32'));

/** A non-empty string. */
const nonEmpty = () => z.string().check(z.minLength(1));

/** A safe integer within [min, max]. */
const integer = (min: number, max?: number) =>
  max === undefined ? z.int().check(z.minimum(min)) : z.int().check(z.minimum(min), z.maximum(max));

function isLocale(tag: string): boolean {
  try {
    return Intl.getCanonicalLocales(tag).length === 1;
  } catch {
    return false;
  }
}

/** One row of the Insight Card built from a contact. */
export const cardRowSchema = z.strictObject({
  /** Contact field shown on the row: name, company, balance, owner (a `user` row), link, or an extra field. */
  field: nonEmpty(),
  label: nonEmpty(),
  /** `currency` formats a number as money; `user` renders a Hipcall user row. */
  format: z._default(z.enum(['text', 'currency', 'user']), 'text'),
});

export const cardTemplateSchema = z.strictObject({
  title: z._default(nonEmpty(), 'CallVault'),
  /** Title row link; `{link}` is replaced by the contact's link. */
  titleLink: z.optional(z.string()),
  rows: z._default(z.array(cardRowSchema), [
    { field: 'name', label: 'Name', format: 'text' },
    { field: 'company', label: 'Company', format: 'text' },
    { field: 'balance', label: 'Balance', format: 'currency' },
    { field: 'owner', label: 'Account owner', format: 'user' },
  ]),
  /** ISO 4217 code for `currency` rows. */
  currency: z._default(
    z.pipe(
      z.string().check(z.regex(/^[A-Za-z]{3}$/, 'must be an ISO 4217 currency code such as "USD", "GBP" or "TRY"')),
      z.transform((s: string) => s.toUpperCase()),
    ),
    'USD',
  ),
  /** BCP 47 locale for number formatting. */
  locale: z._default(z.string().check(z.refine(isLocale, 'must be a BCP 47 locale such as "en-US", "en-GB" or "tr-TR"')), 'en-US'),
  /** Include every extra column of the contact as a row. */
  includeExtras: z._default(z.boolean(), true),
});

export const crmSchema = z.strictObject({
  /** https URL with `{phone}` (E.164, URL-encoded), e.g. https://crm.example.com/api/lookup?phone={phone} */
  urlTemplate: z.string().check(z.refine((s) => s.includes('{phone}'), 'must contain {phone}')),
  /** Header that carries the CRM credential; its value is `crmAuthorization` in the source's Hipcall API secret. */
  authHeader: z.optional(z.string()),
  timeoutMs: z._default(integer(100, 5000), 1500),
  /** Where each contact field is in the CRM's JSON answer (dot paths). */
  mapping: z._default(z.record(z.string(), z.string()), { name: 'name', company: 'company', balance: 'balance' }),
});

export const insightSchema = z.strictObject({
  enabled: z._default(z.boolean(), true),
  /** A card for a call_init older than this is not sent: nobody would see it. */
  staleSeconds: z._default(integer(1, 300), 20),
  card: z._default(cardTemplateSchema, () => cardTemplateSchema.parse({})),
  crm: z.optional(crmSchema),
});

/** A refinement that runs a core parser and reports its ValidationError message as the issue. */
function parsedBy(parse: (s: string) => unknown) {
  return (value: string, ctx: z.core.$RefinementCtx<string>) => {
    try {
      parse(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  };
}

/**
 * Silence detection (docs/operating.md, Silence detection): alarm when the source has delivered nothing for
 * `minutes`, all of them inside its working hours. Absent: off.
 */
export const silenceSchema = z.strictObject({
  /** How long without a delivery, within working time, before the alarm (the check runs every 5 minutes). */
  minutes: z
    .int()
    .check(
      z.minimum(
        10,
        'must be at least 10: CloudWatch takes a few minutes to show a delivery, so a shorter wait would alarm on a healthy source',
      ),
      z.maximum(1440),
    ),
  /** Working days: ranges or lists such as "Mon-Fri" or "Mon,Wed,Sat". */
  days: z._default(z.string().check(z.superRefine(parsedBy(parseDays))), 'Mon-Fri'),
  /** Working hours "HH:MM-HH:MM" in 24-hour time; "22:00-06:00" crosses midnight, "00:00-24:00" is the whole day. */
  hours: z.string().check(z.superRefine(parsedBy(parseHours))),
  /** IANA time zone the days and hours are read in (DST included). */
  timeZone: z.string().check(z.refine(isTimeZone, 'must be an IANA time zone such as "Europe/Istanbul" or "America/New_York"')),
});

/** API Gateway throttling of one route: steady requests per second, and the burst above it. */
export const throttleSchema = z.strictObject({
  rateLimit: z._default(integer(1), 50),
  burstLimit: z._default(integer(1), 100),
});

/**
 * Lambda concurrency. `ingestReserved` both guarantees the ingest that many executions and caps it
 * there (0: nothing reserved, for accounts whose concurrency quota is too low to reserve any);
 * `mediaMax`/`insightMax` cap how many executions each queue's event source may run at once
 * (AWS's minimum is 2), so 900-second media runs cannot take the account's concurrency from the ingest.
 */
export const concurrencySchema = z.strictObject({
  ingestReserved: z._default(integer(0, 1000), 50),
  mediaMax: z._default(
    z.int().check(z.minimum(2, 'must be at least 2 (the smallest MaximumConcurrency AWS allows on an SQS event source)'), z.maximum(1000)),
    5,
  ),
  insightMax: z._default(
    z.int().check(z.minimum(2, 'must be at least 2 (the smallest MaximumConcurrency AWS allows on an SQS event source)'), z.maximum(1000)),
    10,
  ),
});

/**
 * Scheduled reconciliation with Hipcall's calls list (docs/operating.md, Reconciling with Hipcall): every
 * `everyMinutes`, the calls of the last `lookBackHours` are compared with the archive and the gaps
 * filled. Absent: off.
 */
export const reconcileSchema = z
  .strictObject({
    /** How often the scheduled reconcile runs. */
    everyMinutes: z._default(
      z.int().check(z.minimum(5, 'must be at least 5: each run pages the whole look-back window through the Hipcall API'), z.maximum(1440)),
      60,
    ),
    /** How far back each run looks. */
    lookBackHours: z._default(
      z.int().check(z.minimum(1), z.maximum(720, 'must be at most 720 (30 days): Hipcall recording links of older calls may be gone')),
      24,
    ),
  })
  .check(
    z.refine((r) => r.lookBackHours * 60 >= r.everyMinutes, {
      message: 'lookBackHours must cover at least everyMinutes, or calls between two runs would never be looked at',
      path: ['lookBackHours'],
    }),
  );

export const sourceSchema = z.pipe(
  z
    .strictObject({
      /** The `{source}` path segment of the webhook URL. */
      id: z
        .string()
        .check(z.regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'must be lower-case letters, digits and dashes (at most 40), e.g. "hipcall-eu"')),
      provider: z.enum(PROVIDERS),
      /** How long a media job waits on the queue before the first download (0-900 s). */
      mediaDelaySeconds: z.optional(integer(0, MAX_MEDIA_DELAY_SECONDS)),
      /** Hipcall API base URL for Insight Cards and fresh record URLs, e.g. https://use.hipcall.com/api/v3 */
      hipcallApiBaseUrl: z.optional(z.url({ protocol: /^https$/, message: 'must be an https URL such as https://use.hipcall.com/api/v3' })),
      /** Only accept deliveries from these addresses (IPv4 or CIDR). */
      allowedSourceIps: z.optional(z.array(ipv4Cidr)),
      /** Only download media from these host names (exact or `*.example.com`). */
      mediaHostAllowlist: z.optional(z.array(nonEmpty())),
      /**
       * Also require a signature of this scheme on every POST (the sender signs with a secret held in
       * Secrets Manager, `{stack}/{source}/signing`). Absent: no signature is checked.
       */
      signature: z.optional(
        z.enum(['standard-webhooks'], {
          message: 'must be "standard-webhooks" (the only signature scheme CallVault verifies), or left out',
        }),
      ),
      insight: z.optional(insightSchema),
      /**
       * Throttle of this source's own webhook routes (each method's route has its own bucket), so its
       * bursts never spend another source's allowance. Absent: the global `throttle`.
       */
      throttle: z.optional(throttleSchema),
      /** Alarm when the source goes quiet inside its working hours. Absent: never. */
      silence: z.optional(silenceSchema),
      /** Fill the gaps Hipcall leaves (it never retries a delivery) from its calls API, on a schedule. Absent: off. */
      reconcile: z.optional(reconcileSchema),
    })
    .check(
      z.superRefine((s, ctx) => {
        if (!s.reconcile) return;
        if (s.provider !== 'hipcall')
          ctx.addIssue({
            code: 'custom',
            path: ['reconcile'],
            message: `only Hipcall sources can be reconciled (a ${s.provider} source has no calls API to ask): remove it`,
          });
        else if (!s.hipcallApiBaseUrl)
          ctx.addIssue({
            code: 'custom',
            path: ['reconcile'],
            message:
              'needs "hipcallApiBaseUrl" on the same source (e.g. https://use.hipcall.com/api/v3): reconcile reads the calls list there',
          });
      }),
    ),
  z.transform(<S extends { provider: Provider; mediaDelaySeconds?: number | undefined }>(s: S) => ({
    ...s,
    mediaDelaySeconds: s.mediaDelaySeconds ?? DEFAULT_MEDIA_DELAY[s.provider],
  })),
);

/** Retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Data protection options, all off by default (docs/data-protection.md). */
export const protectionSchema = z._default(
  z.strictObject({
    /**
     * One customer-managed KMS key (rotated yearly, kept when the stack is deleted) for the bucket, the
     * tables, the queues, the secrets and the log groups. `true`, or `{ "alias": "..." }` to name it.
     */
    kms: z._default(
      z.union([
        z.boolean(),
        z.strictObject({
          alias: z.optional(
            z.string().check(
              z.regex(
                /^(alias\/)?[a-zA-Z0-9/_-]{1,250}$/,
                'must be a KMS alias such as "alias/callvault" (letters, digits, "/", "_" and "-")',
              ),
              z.refine(
                (a) => !a.replace(/^alias\//, '').startsWith('aws/'),
                'must not start with "aws/": that prefix is reserved for AWS-managed keys',
              ),
            ),
          ),
        }),
      ]),
      false,
    ),
    /** S3 Object Lock on the archive bucket: every new object version is locked for `days`. */
    objectLock: z.optional(
      z.strictObject({
        mode: z.enum(['GOVERNANCE', 'COMPLIANCE'], {
          message:
            'must be "GOVERNANCE" (users with s3:BypassGovernanceRetention may still delete) or "COMPLIANCE" (nobody can, not even the root user)',
        }),
        days: integer(1, 36500),
      }),
    ),
    /** Delete recordings, voicemails and transcripts (and their old versions) this many days after upload. */
    recordingsExpireDays: z.optional(integer(1)),
    /** Delete each call item this many days after the call (DynamoDB TTL on `expiresAt`). */
    itemTtlDays: z.optional(integer(1)),
    /**
     * How long every log group (the functions' and the API access logs) is kept, in days.
     * @default 30 for the functions, 90 for the API access logs
     */
    logRetentionDays: z.optional(
      z
        .int()
        .check(
          z.refine(
            (d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d),
            `must be one of the periods CloudWatch Logs accepts: ${LOG_RETENTION_DAYS.join(', ')}`,
          ),
        ),
    ),
  }),
  { kms: false },
);

/** The optional SQL view of the archive (Glue table `calls` over cdr/, Athena workgroup and named queries). */
export const analyticsSchema = z._default(
  z.strictObject({
    /** Create the Glue database and table and the Athena workgroup. @default false */
    glue: z._default(z.boolean(), false),
    /** Glue database name: what Athena queries name (`callvault.calls`). */
    database: z._default(
      z
        .string()
        .check(z.regex(/^[a-z0-9_]{1,255}$/, 'must be lowercase letters, digits and "_" (Athena reads other names back differently)')),
      'callvault',
    ),
    /** Athena workgroup the named queries belong to; its results go to the archive bucket under athena-results/. */
    workGroup: z._default(
      z.string().check(z.regex(/^[a-zA-Z0-9._-]{1,128}$/, 'must be 1-128 letters, digits, ".", "_" or "-"')),
      'callvault',
    ),
    /** First day Athena looks for cdr/ objects (partition projection range start), YYYY-MM-DD. */
    since: z._default(z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a day such as "2024-01-01"')), '2020-01-01'),
  }),
  { glue: false, database: 'callvault', workGroup: 'callvault', since: '2020-01-01' },
);

export const configSchema = z
  .strictObject({
    /** ISO 3166-1 alpha-2 country used to read national-format phone numbers. */
    defaultCountry: z._default(
      z.pipe(
        z.string().check(z.regex(/^[A-Za-z]{2}$/, 'must be a two-letter ISO country code such as "GB" or "US"')),
        z.transform((s: string) => s.toUpperCase()),
      ),
      'US',
    ),
    sources: z
      ._default(z.array(sourceSchema).check(z.minLength(1, 'must list at least one source')), [
        { id: 'hipcall', provider: 'hipcall', mediaDelaySeconds: 10 },
        { id: 'callhippo', provider: 'callhippo', mediaDelaySeconds: 5 },
        { id: 'postcall', provider: 'postcall', mediaDelaySeconds: 5 },
      ])
      .check(z.refine((list) => new Set(list.map((s) => s.id)).size === list.length, 'source ids must be unique')),
    retention: z._default(
      z
        .strictObject({
          /** Move recordings, voicemails and transcripts to S3 Standard-IA after this many days (0 = never). */
          recordingsInfrequentAccessDays: z._default(integer(0), 30),
          /** Move them to Glacier Instant Retrieval after this many days (0 = never). */
          recordingsGlacierDays: z._default(integer(0), 180),
          /** Delete raw deliveries after this many days (0 = keep forever). */
          rawExpireDays: z._default(integer(0), 0),
        })
        .check(
          z.superRefine((r, ctx) => {
            const ia = r.recordingsInfrequentAccessDays;
            if (ia && r.recordingsGlacierDays && r.recordingsGlacierDays < ia + 30) {
              ctx.addIssue({
                code: 'custom',
                path: ['recordingsGlacierDays'],
                message: `must be at least ${ia + 30} (recordingsInfrequentAccessDays + 30): S3 keeps objects in Standard-IA for 30 days before a Glacier transition`,
              });
            }
          }),
          z.refine(
            (r) => !r.recordingsInfrequentAccessDays || r.recordingsInfrequentAccessDays >= 30,
            'recordingsInfrequentAccessDays must be 0 or at least 30 (an S3 rule)',
          ),
        ),
      { recordingsInfrequentAccessDays: 30, recordingsGlacierDays: 180, rawExpireDays: 0 },
    ),
    limits: z._default(
      z.strictObject({
        /** Largest webhook body accepted, in bytes. */
        maxBodyBytes: z._default(integer(1024, 6 * 1024 * 1024), 1024 * 1024),
        /** Largest media file downloaded, in bytes. */
        mediaMaxBytes: z._default(integer(1024), 2 * 1024 ** 3),
      }),
      { maxBodyBytes: 1024 * 1024, mediaMaxBytes: 2 * 1024 ** 3 },
    ),
    /** Default throttle of each source's routes (a source's own `throttle` overrides it). */
    throttle: z._default(throttleSchema, { rateLimit: 50, burstLimit: 100 }),
    concurrency: z._default(concurrencySchema, { ingestReserved: 50, mediaMax: 5, insightMax: 10 }),
    protection: protectionSchema,
    analytics: analyticsSchema,
    /** Email address subscribed to every alarm (optional). */
    alarmEmail: z.optional(z.email()),
  })
  .check(
    z.superRefine((config, ctx) => {
      const { retention, protection } = config;
      const expire = protection.recordingsExpireDays;
      const tierDays = Math.max(retention.recordingsInfrequentAccessDays, retention.recordingsGlacierDays);
      if (expire !== undefined && tierDays > 0 && expire <= tierDays) {
        ctx.addIssue({
          code: 'custom',
          path: ['protection', 'recordingsExpireDays'],
          message: `must be more than ${tierDays} (the last storage-class move in retention): lower retention.recordingsInfrequentAccessDays/recordingsGlacierDays (0 = never) or keep recordings longer`,
        });
      }
      const lock = protection.objectLock;
      if (!lock) return;
      // S3 cannot delete a locked version: an expiry shorter than the lock would silently not happen.
      if (expire !== undefined && lock.days > expire) {
        ctx.addIssue({
          code: 'custom',
          path: ['protection', 'objectLock', 'days'],
          message: `must be at most recordingsExpireDays (${expire}): S3 cannot delete a recording while it is locked; lower the lock or keep recordings longer`,
        });
      }
      if (retention.rawExpireDays > 0 && lock.days > retention.rawExpireDays) {
        ctx.addIssue({
          code: 'custom',
          path: ['protection', 'objectLock', 'days'],
          message: `must be at most retention.rawExpireDays (${retention.rawExpireDays}): raw/ is locked too, and S3 cannot delete a locked delivery; lower the lock or raise rawExpireDays`,
        });
      }
    }),
  );

export type CallVaultConfig = z.output<typeof configSchema>;
export type SourceConfig = CallVaultConfig['sources'][number];
export type InsightConfig = z.output<typeof insightSchema>;
export type SilenceSettings = z.output<typeof silenceSchema>;
export type CardTemplate = z.output<typeof cardTemplateSchema>;
// The schema's output must be what core's card builder takes.
const _cardTemplateFits: (t: CardTemplate) => CoreCardTemplate = (t) => t;
void _cardTemplateFits;

/** A config that failed validation; the message names each key and what is allowed. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Validate a raw config block; throws ConfigError naming every bad key (e.g. `callvault.sources[0].provider`). */
export function parseConfig(raw: unknown, where = 'callvault'): CallVaultConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const path = issue.path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : `${acc}.${String(part)}`), where);
    return `  - ${path}: ${issue.message}`;
  });
  throw new ConfigError(`Invalid CallVault config:\n${lines.join('\n')}`);
}

const compacted = new WeakMap<CallVaultConfig, unknown>();

/**
 * The smallest config that parses back to exactly `config`: every value equal to its default left
 * out, whether the user wrote it or not. The stack passes this to the functions (Lambda's whole
 * environment is 4 KB) and `parseConfig` re-applies the defaults at cold start. Each key is dropped
 * only when the whole config still parses to the same value, so a default can never change meaning.
 */
export function withoutDefaults(config: CallVaultConfig): unknown {
  const cached = compacted.get(config);
  if (cached !== undefined) return cached;
  const root = structuredClone(config) as unknown as Record<string, unknown>;
  const same = () => {
    const result = configSchema.safeParse(root);
    return result.success && isDeepStrictEqual(result.data, config);
  };
  const strip = (node: Record<string, unknown> | unknown[]): void => {
    if (Array.isArray(node)) {
      for (const item of node) if (item && typeof item === 'object') strip(item as Record<string, unknown>);
      return;
    }
    for (const key of Object.keys(node)) {
      const kept = node[key];
      delete node[key];
      if (same()) continue;
      node[key] = kept;
      if (kept && typeof kept === 'object') strip(kept as Record<string, unknown>);
    }
  };
  strip(root);
  if (!same()) throw new Error('withoutDefaults: the compacted config no longer parses to the same config; pass the full config instead.');
  compacted.set(config, root);
  return root;
}

/** The throttle of a source's webhook routes: its own, or the global one. */
export function throttleOf(config: CallVaultConfig, source: SourceConfig): z.output<typeof throttleSchema> {
  return source.throttle ?? config.throttle;
}

export function sourceById(config: CallVaultConfig, id: string): SourceConfig | undefined {
  return config.sources.find((s) => s.id === id);
}

/** Insight settings for a source, with defaults when the source has none. */
export function insightOf(source: SourceConfig): InsightConfig {
  return source.insight ?? insightSchema.parse({});
}
