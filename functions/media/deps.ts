/**
 * The media worker's composition root: its environment (resources from the stack, and the
 * CALLVAULT_MEDIA_* tunables whose defaults are the deployed behaviour), validated once at cold start,
 * and the dependencies built from it. The local stack passes what only it has in `local`: emulator
 * endpoints, http and its demo media server allowed, its stand-in Hipcall API, the emulator's quirk.
 */
import * as z from 'zod/mini';
import { ENV, MEDIA_QUEUE } from '#contract/resources.ts';
import { DEFAULT_RETRY_TIMING } from '#core/media/retry.ts';
import { SQS_MAX_VISIBILITY_SECONDS } from '#core/redelivery.ts';
import { PATIENT, FAST, dynamoDocument, s3Client, secretsClient, sqsClient, type AwsTarget } from '#adapters/aws.ts';
import { DynamoCallsStore } from '#adapters/calls-store.ts';
import { jsonMap, logLevel, readEnv, required, type Env } from '#adapters/env.ts';
import { bundledConfig } from '#adapters/bundled-config.ts';
import type { CallVaultConfig } from '#contract/config.ts';
import { hipcallAccess, hipcallApiSecretNames, type LocalHipcallApi } from '#adapters/hipcall-access.ts';
import { HipcallMediaLinks } from '#adapters/hipcall-media-links.ts';
import { powertoolsLog } from '#adapters/log.ts';
import { EmfMetrics, type MetricsOut } from '#adapters/metrics.ts';
import { DEFAULT_PART_SIZE, DEFAULT_QUEUE_SIZE, S3MediaStore } from '#adapters/media-store.ts';
import { SqsRetryQueue } from '#adapters/retry-queue.ts';
import { SafeMediaFetcher } from '#adapters/safe-fetch.ts';
import type { MediaWiring } from './handler.ts';
import type { MediaWorkerDeps } from './process.ts';

const seconds = (fallback: number) => z._default(z.coerce.number().check(z.minimum(0), z.maximum(SQS_MAX_VISIBILITY_SECONDS)), fallback);
/** A whole number from its text, at least `min` (and at most `max`). */
const wholeNumber = (fallback: number, min: number, max?: number) =>
  z._default(
    z.pipe(z.coerce.number(), max === undefined ? z.int().check(z.minimum(min)) : z.int().check(z.minimum(min), z.maximum(max))),
    fallback,
  );

const schema = z.object({
  [ENV.callsTable]: required,
  [ENV.bucket]: required,
  /** The function's own queue, so a retry needs no GetQueueUrl. */
  [ENV.mediaQueueUrl]: z.optional(z.string()),
  /** `{sourceId: secretArn}`: sources that may ask the Hipcall API for a fresh link. */
  [ENV.hipcallApiSecrets]: z.optional(jsonMap),
  /** `{stack}/`: each Hipcall source's API secret is named from it, unless HIPCALL_API_SECRETS names them. */
  [ENV.secretPrefix]: z.optional(required),
  /** How long after the job was queued a 403/404/410 still means "not uploaded yet" (s). */
  CALLVAULT_MEDIA_NOT_YET_WINDOW_SECONDS: seconds(DEFAULT_RETRY_TIMING.notYetWindowSeconds),
  /** First retry delay while the file may not be uploaded yet (s, doubles per attempt). */
  CALLVAULT_MEDIA_NOT_YET_BACKOFF_SECONDS: seconds(DEFAULT_RETRY_TIMING.notYetBaseSeconds),
  /** First retry delay for 5xx, timeouts, resets and storage errors (s, doubles per attempt). */
  CALLVAULT_MEDIA_BACKOFF_BASE_SECONDS: seconds(DEFAULT_RETRY_TIMING.baseSeconds),
  /** Attempts per job before it is `failed` (the queue's maxReceiveCount also bounds it). */
  CALLVAULT_MEDIA_MAX_ATTEMPTS: wholeNumber(MEDIA_QUEUE.maxReceiveCount, 1, 100),
  /** Connect timeout, DNS included (ms). */
  CALLVAULT_MEDIA_CONNECT_TIMEOUT_MS: wholeNumber(10_000, 100),
  /** Longest wait for the response headers, and longest silence within the body (ms). */
  CALLVAULT_MEDIA_IDLE_TIMEOUT_MS: wholeNumber(30_000, 100),
  /** Multipart part size (MiB, at least 5) and parts in flight: memory is about partSize x (queueSize + 1). */
  CALLVAULT_MEDIA_PART_SIZE_MIB: wholeNumber(DEFAULT_PART_SIZE / 1024 / 1024, 5, 512),
  CALLVAULT_MEDIA_QUEUE_SIZE: wholeNumber(DEFAULT_QUEUE_SIZE, 1, 16),
  POWERTOOLS_LOG_LEVEL: logLevel,
});

/** What the local stack (or a test) builds itself. */
export interface MediaLocal {
  /** The parsed config (the local stack, tests); deployed, the one compiled into the bundle. */
  config?: CallVaultConfig;
  target?: AwsTarget;
  /** Fetch over http too (never lifts the address rules). */
  allowHttp?: boolean;
  /** `host:port` pairs exempt from the address rules (the local demo media server). */
  fetchAllow?: readonly string[];
  /** The stand-in Hipcall API, instead of the sources' API and Secrets Manager. */
  hipcall?: LocalHipcallApi;
  /** The local SQS emulator's receive count (see MediaWiring). */
  visibilityChangeCountsAsReceive?: boolean;
  /** Where the EMF metric lines go instead of stdout (the local stack: a file under its data dir). */
  metricsOut?: MetricsOut;
}

export function mediaDeps(env: Env = process.env, local: MediaLocal = {}): MediaWiring {
  const e = readEnv(schema, env, 'media');
  const config = local.config ?? bundledConfig();
  const { logger, log } = powertoolsLog('callvault-media', e.POWERTOOLS_LOG_LEVEL);
  const metrics = new EmfMetrics('callvault-media', local.metricsOut);
  const hipcall = hipcallAccess(
    config,
    {
      secretArns: hipcallApiSecretNames(config, e[ENV.hipcallApiSecrets], e[ENV.secretPrefix]),
      client: () => secretsClient(FAST, local.target),
    },
    local.hipcall,
  );
  const exemptHostPorts = [...(local.fetchAllow ?? [])];
  const ownQueue = e[ENV.mediaQueueUrl];
  const worker: MediaWorkerDeps = {
    config,
    calls: new DynamoCallsStore(dynamoDocument(PATIENT, local.target), e[ENV.callsTable]),
    store: new S3MediaStore(s3Client(PATIENT, local.target), e[ENV.bucket], {
      partSize: e.CALLVAULT_MEDIA_PART_SIZE_MIB * 1024 * 1024,
      queueSize: e.CALLVAULT_MEDIA_QUEUE_SIZE,
    }),
    fetcher: new SafeMediaFetcher({
      exemptHostPorts,
      connectTimeoutMs: e.CALLVAULT_MEDIA_CONNECT_TIMEOUT_MS,
      headersTimeoutMs: e.CALLVAULT_MEDIA_IDLE_TIMEOUT_MS,
      idleTimeoutMs: e.CALLVAULT_MEDIA_IDLE_TIMEOUT_MS,
    }),
    hipcall: new HipcallMediaLinks({
      baseUrlFor: (id) => (hipcall.reachable.has(id) ? hipcall.baseUrls.get(id) : undefined),
      tokenFor: (id, signal) => hipcall.secrets.token(id, signal),
    }),
    local: local.allowHttp ?? false,
    exemptHostPorts,
    timing: {
      notYetWindowSeconds: e.CALLVAULT_MEDIA_NOT_YET_WINDOW_SECONDS,
      notYetBaseSeconds: e.CALLVAULT_MEDIA_NOT_YET_BACKOFF_SECONDS,
      baseSeconds: e.CALLVAULT_MEDIA_BACKOFF_BASE_SECONDS,
      maxDelaySeconds: SQS_MAX_VISIBILITY_SECONDS,
    },
    maxAttempts: e.CALLVAULT_MEDIA_MAX_ATTEMPTS,
    log,
    metrics,
  };
  return {
    worker,
    logger,
    metrics,
    retryQueue: new SqsRetryQueue(sqsClient(PATIENT, local.target), { queueUrl: ownQueue, log }),
    visibilityChangeCountsAsReceive: local.visibilityChangeCountsAsReceive ?? false,
  };
}
