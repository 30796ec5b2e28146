/**
 * The ingest function's composition root: its environment, validated once at cold start, and the
 * dependencies built from it. The local stack and the tests call it with their own environment and
 * pass what they build themselves in `local` (emulator endpoints, a fixed webhook token, a media delay).
 */
import * as z from 'zod/mini';
import { ENV, secretNamesOf } from '#contract/resources.ts';
import { S3DeliveryArchive } from '#adapters/delivery-archive.ts';
import { FAST, dynamoDocument, s3Client, secretsClient, sqsClient, type AwsTarget } from '#adapters/aws.ts';
import { DynamoCallsStore } from '#adapters/calls-store.ts';
import { jsonMap, logLevel, readEnv, required, type Env } from '#adapters/env.ts';
import { bundledConfig } from '#adapters/bundled-config.ts';
import type { CallVaultConfig } from '#contract/config.ts';
import { SqsJobQueues } from '#adapters/job-queues.ts';
import { powertoolsLog } from '#adapters/log.ts';
import { EmfMetrics, type MetricsOut } from '#adapters/metrics.ts';
import { SecretsManagerSigningSecrets } from '#adapters/signing-secrets.ts';
import { SecretsManagerWebhookTokens } from '#adapters/webhook-tokens.ts';
import type { SigningSecrets } from '#core/ports/signing-secrets.ts';
import type { WebhookTokens } from '#core/ports/webhook-tokens.ts';
import type { IngestWiring } from './handler.ts';
import type { IngestDeps } from './process.ts';

const schema = z.object({
  [ENV.callsTable]: required,
  [ENV.bucket]: required,
  [ENV.mediaQueueUrl]: required,
  [ENV.insightQueueUrl]: required,
  [ENV.replayQueueUrl]: required,
  /** `{stack}/`: the webhook token and signing secrets are named from it (SECRET_NAMES); not needed when `local.tokens` replaces them. */
  [ENV.secretPrefix]: z.optional(required),
  /** `{sourceId: secretArn}` of the webhook tokens, instead of the names the prefix gives. */
  [ENV.webhookSecrets]: z.optional(jsonMap),
  /** `{sourceId: secretName}` of the signing secrets, instead of the names the prefix gives. */
  [ENV.signingSecrets]: z.optional(jsonMap),
  POWERTOOLS_LOG_LEVEL: logLevel,
});

/** What the local stack (or a test) builds itself instead of reading it from AWS. */
export interface IngestLocal {
  /** The parsed config (the local stack, tests); deployed, the one compiled into the bundle. */
  config?: CallVaultConfig;
  /** Where the AWS clients connect (the emulators), and how they are instrumented. */
  target?: AwsTarget;
  /** Replaces the Secrets Manager webhook tokens (the local stack: one token for every source). */
  tokens?: WebhookTokens;
  /** Replaces the Secrets Manager signing secrets (the local stack: CALLVAULT_LOCAL_SIGNING_SECRET for every signing source). */
  signingSecrets?: SigningSecrets;
  /** Overrides every source's media delay (seconds). */
  mediaDelaySeconds?: number;
  /** Where the EMF metric lines go instead of stdout (the local stack: a file under its data dir). */
  metricsOut?: MetricsOut;
}

export function ingestDeps(env: Env = process.env, local: IngestLocal = {}): IngestWiring {
  const named = local.tokens || env[ENV.webhookSecrets];
  const e = readEnv(named ? schema : z.required(schema, { [ENV.secretPrefix]: true }), env, 'ingest');
  const config = local.config ?? bundledConfig();
  const prefix = e[ENV.secretPrefix];
  const namesOf = (ids: string[], kind: 'webhook' | 'signing') => (prefix === undefined ? {} : secretNamesOf(prefix, ids, kind));
  const tokenNames =
    e[ENV.webhookSecrets] ??
    namesOf(
      config.sources.map((s) => s.id),
      'webhook',
    );
  const signingNames =
    e[ENV.signingSecrets] ??
    namesOf(
      config.sources.filter((s) => s.signature).map((s) => s.id),
      'signing',
    );
  const { logger, log } = powertoolsLog('callvault-ingest', e.POWERTOOLS_LOG_LEVEL);
  const metrics = new EmfMetrics('callvault-ingest', local.metricsOut);
  let secretsManager: ReturnType<typeof secretsClient> | undefined;
  const secrets = () => (secretsManager ??= secretsClient(FAST, local.target));
  const deps: IngestDeps = {
    config,
    tokens: local.tokens ?? new SecretsManagerWebhookTokens(secrets(), tokenNames),
    // Without a name a signing source has no secret: it then answers 401, never reading AWS.
    signingSecrets: local.signingSecrets ?? new SecretsManagerSigningSecrets(secrets(), signingNames),
    calls: new DynamoCallsStore(dynamoDocument(FAST, local.target), e[ENV.callsTable]),
    archive: new S3DeliveryArchive(s3Client(FAST, local.target), e[ENV.bucket]),
    queues: new SqsJobQueues(sqsClient(FAST, local.target), {
      media: e[ENV.mediaQueueUrl],
      insight: e[ENV.insightQueueUrl],
      replay: e[ENV.replayQueueUrl],
    }),
    log,
    metrics,
    ...(local.mediaDelaySeconds !== undefined ? { mediaDelayOverride: local.mediaDelaySeconds } : {}),
  };
  return { deps, logger, metrics };
}
