/**
 * The media worker's environment, read and checked once at cold start: resources and config from the
 * stack (CALLS_TABLE, ARCHIVE_BUCKET, CALLVAULT_CONFIG, MEDIA_QUEUE_URL, HIPCALL_API_SECRETS), local-mode
 * switches (CALLVAULT_MODE, CALLVAULT_FETCH_ALLOW, CALLVAULT_LOCAL_HIPCALL_TOKENS/_API), and optional
 * CALLVAULT_MEDIA_* tunables whose defaults are the deployed behaviour (tests shrink the timings).
 */
import { z } from 'zod';
import { parseConfig, sourceById, type CallVaultConfig } from '#lib/config.ts';
import { ENV, MEDIA_QUEUE } from '#lib/resources.ts';
import { DEFAULT_RETRY_TIMING, SQS_MAX_VISIBILITY_SECONDS, type RetryTiming } from '#core/media.ts';
import { DEFAULT_PART_SIZE, DEFAULT_QUEUE_SIZE } from '#adapters/media-store.ts';

const seconds = (fallback: number) => z.coerce.number().min(0).max(SQS_MAX_VISIBILITY_SECONDS).default(fallback);

/** Tunables, all optional: the defaults are the deployed behaviour; tests shrink the timings. */
const tunablesSchema = z.object({
  /** How long after the job was queued a 403/404/410 still means "not uploaded yet" (s). */
  CALLVAULT_MEDIA_NOT_YET_WINDOW_SECONDS: seconds(DEFAULT_RETRY_TIMING.notYetWindowSeconds),
  /** First retry delay while the file may not be uploaded yet (s, doubles per attempt). */
  CALLVAULT_MEDIA_NOT_YET_BACKOFF_SECONDS: seconds(DEFAULT_RETRY_TIMING.notYetBaseSeconds),
  /** First retry delay for 5xx, timeouts, resets and storage errors (s, doubles per attempt). */
  CALLVAULT_MEDIA_BACKOFF_BASE_SECONDS: seconds(DEFAULT_RETRY_TIMING.baseSeconds),
  /** Attempts per job before it is `failed` (the queue's maxReceiveCount also bounds it). */
  CALLVAULT_MEDIA_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(MEDIA_QUEUE.maxReceiveCount),
  /** Connect timeout, DNS included (ms). */
  CALLVAULT_MEDIA_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** Longest wait for the response headers, and longest silence within the body (ms). */
  CALLVAULT_MEDIA_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  /** Multipart part size (MiB, at least 5) and parts in flight: memory is about partSize x (queueSize + 1). */
  CALLVAULT_MEDIA_PART_SIZE_MIB: z.coerce.number().int().min(5).max(512).default(DEFAULT_PART_SIZE / 1024 / 1024),
  CALLVAULT_MEDIA_QUEUE_SIZE: z.coerce.number().int().min(1).max(16).default(DEFAULT_QUEUE_SIZE),
});

export interface MediaSettings {
  config: CallVaultConfig;
  callsTable: string;
  bucket: string;
  local: boolean;
  fetchAllow: string[];
  queueUrl?: string;
  timing: RetryTiming;
  maxAttempts: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  partSize: number;
  queueSize: number;
  /** Source id → Hipcall API base URL, for sources that can ask for a fresh record_url. */
  hipcallApi: Map<string, string>;
}

const jsonMap = (name: string, text: string | undefined): Record<string, unknown> => {
  if (!text) return {};
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new Error(`Environment variable ${name} must be a JSON object keyed by source id.`);
};

const required = (env: NodeJS.ProcessEnv, name: string): string => {
  const value = env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set: the CDK stack (or bin/local.ts) must set it for the media function.`);
  return value;
};

function configFrom(text: string | undefined): CallVaultConfig {
  let raw: unknown = {};
  if (text) {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new Error(`Environment variable ${ENV.config} is not JSON: it must hold the validated callvault config the stack passes.`);
    }
  }
  return parseConfig(raw, ENV.config);
}

/** Read and check the worker's environment (once, at cold start); throws a message that says what to set. */
export function mediaSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): MediaSettings {
  const config = configFrom(env[ENV.config]);
  const t = tunablesSchema.safeParse(env);
  if (!t.success) throw new Error(`Invalid media worker setting: ${t.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const local = env[ENV.mode] === 'local';
  // Sources that have both an API token and an API base URL may refresh expired Hipcall links.
  const tokens = { ...jsonMap(ENV.hipcallApiSecrets, env[ENV.hipcallApiSecrets]), ...(local ? jsonMap(ENV.localHipcallApiTokens, env[ENV.localHipcallApiTokens]) : {}) };
  const localBases = local ? jsonMap(ENV.localHipcallApiBase, env[ENV.localHipcallApiBase]) : {};
  const hipcallApi = new Map<string, string>();
  for (const id of Object.keys(tokens)) {
    const base = (typeof localBases[id] === 'string' ? (localBases[id] as string) : undefined) ?? sourceById(config, id)?.hipcallApiBaseUrl;
    if (base) hipcallApi.set(id, base);
  }
  return {
    config,
    callsTable: required(env, ENV.callsTable),
    bucket: required(env, ENV.bucket),
    local,
    fetchAllow: local ? (env[ENV.fetchAllow] ?? '').split(',').map((s) => s.trim()).filter(Boolean) : [],
    queueUrl: env[ENV.mediaQueueUrl] || undefined,
    timing: {
      notYetWindowSeconds: t.data.CALLVAULT_MEDIA_NOT_YET_WINDOW_SECONDS,
      notYetBaseSeconds: t.data.CALLVAULT_MEDIA_NOT_YET_BACKOFF_SECONDS,
      baseSeconds: t.data.CALLVAULT_MEDIA_BACKOFF_BASE_SECONDS,
      maxDelaySeconds: SQS_MAX_VISIBILITY_SECONDS,
    },
    maxAttempts: t.data.CALLVAULT_MEDIA_MAX_ATTEMPTS,
    connectTimeoutMs: t.data.CALLVAULT_MEDIA_CONNECT_TIMEOUT_MS,
    idleTimeoutMs: t.data.CALLVAULT_MEDIA_IDLE_TIMEOUT_MS,
    partSize: t.data.CALLVAULT_MEDIA_PART_SIZE_MIB * 1024 * 1024,
    queueSize: t.data.CALLVAULT_MEDIA_QUEUE_SIZE,
    hipcallApi,
  };
}
