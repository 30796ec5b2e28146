/**
 * The reconcile function's composition root: its environment, validated once at cold start, and the
 * dependencies built from it (calls table, raw/ archive, media queue, Hipcall calls API). The local
 * stack, the CLI and the tests pass what they build themselves in `local`.
 */
import * as z from 'zod/mini';
import { ENV } from '#contract/resources.ts';
import { PATIENT, dynamoDocument, s3Client, secretsClient, sqsClient, type AwsTarget } from '#adapters/aws.ts';
import { S3DeliveryArchive } from '#adapters/delivery-archive.ts';
import { DynamoCallsStore } from '#adapters/calls-store.ts';
import { jsonMap, logLevel, readEnv, required, type Env } from '#adapters/env.ts';
import { bundledConfig } from '#adapters/bundled-config.ts';
import type { CallVaultConfig } from '#contract/config.ts';
import { hipcallAccess, hipcallApiSecretNames, type LocalHipcallApi } from '#adapters/hipcall-access.ts';
import { HipcallCallsClient } from '#adapters/hipcall-calls.ts';
import { SqsJobQueues } from '#adapters/job-queues.ts';
import { powertoolsLog } from '#adapters/log.ts';
import { EmfMetrics, type MetricsOut } from '#adapters/metrics.ts';
import type { ReconcileWiring } from './handler.ts';

const schema = z.object({
  [ENV.callsTable]: required,
  [ENV.bucket]: required,
  [ENV.mediaQueueUrl]: required,
  /** `{sourceId: secretName}` of the Hipcall API secrets (the bearer token). */
  [ENV.hipcallApiSecrets]: z.optional(jsonMap),
  /** `{stack}/`: each Hipcall source's API secret is named from it, unless HIPCALL_API_SECRETS names them. */
  [ENV.secretPrefix]: z.optional(required),
  POWERTOOLS_LOG_LEVEL: logLevel,
});

/** What the local stack, the CLI (--local) or a test builds itself. */
export interface ReconcileLocal {
  /** The parsed config (the local stack, tests); deployed, the one compiled into the bundle. */
  config?: CallVaultConfig;
  target?: AwsTarget;
  /** The Hipcall API to ask instead of the sources' configured one and Secrets Manager. */
  hipcall?: LocalHipcallApi;
  /** Overrides the Hipcall client's backoff wait (tests). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Where the EMF metric lines go instead of stdout (the local stack: a file under its data dir). */
  metricsOut?: MetricsOut;
}

export function reconcileDeps(env: Env = process.env, local: ReconcileLocal = {}): ReconcileWiring {
  const e = readEnv(schema, env, 'reconcile');
  const config = local.config ?? bundledConfig();
  const { logger, log } = powertoolsLog('callvault-reconcile', e.POWERTOOLS_LOG_LEVEL);
  const metrics = new EmfMetrics('callvault-reconcile', local.metricsOut);
  const access = hipcallAccess(
    config,
    {
      secretArns: hipcallApiSecretNames(config, e[ENV.hipcallApiSecrets], e[ENV.secretPrefix]),
      client: () => secretsClient(PATIENT, local.target),
    },
    local.hipcall,
  );
  const hipcall = new HipcallCallsClient({
    baseUrlFor: (id) => access.baseUrls.get(id),
    tokenFor: (id, signal) => access.secrets.token(id, signal),
    ...(local.sleep ? { sleep: local.sleep } : {}),
  });
  return {
    deps: {
      config,
      hipcall,
      calls: new DynamoCallsStore(dynamoDocument(PATIENT, local.target), e[ENV.callsTable]),
      archive: new S3DeliveryArchive(s3Client(PATIENT, local.target), e[ENV.bucket]),
      // Only sendMedia is used: the other queues are the ingest's.
      queues: new SqsJobQueues(sqsClient(PATIENT, local.target), { media: e[ENV.mediaQueueUrl], insight: '', replay: '' }),
      log,
      metrics,
    },
    logger,
    metrics,
    close: () => hipcall.close(),
  };
}
