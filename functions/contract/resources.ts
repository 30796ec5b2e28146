/**
 * The shape of every stateful resource, in one place: read by the CDK constructs AND by bin/local.ts,
 * so the emulated tables, queues and bucket layout cannot drift from what is deployed.
 * Plain data only: no aws-cdk-lib, no AWS SDK.
 */
import { createHash } from 'node:crypto';
import { SQS_MAX_VISIBILITY_SECONDS } from '#core/redelivery.ts';
import type { ExtrasField, MediaKind, Provider } from '#core/types.ts';

export interface KeyAttribute {
  name: string;
  type: 'S' | 'N';
}
export interface IndexDefinition {
  indexName: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
}
export interface TableDefinition {
  /** Logical name: the CDK construct id and the local table name. */
  name: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  indexes: IndexDefinition[];
}

/**
 * The index time of a call: `startedAt` when known, else the earliest occurrence time of its deliveries.
 * Every item carries it (unlike `startedAt`, which post-call and status-only calls lack), so both
 * indexes cover every call; `day` is the UTC `YYYY-MM-DD` of it.
 */
export const CALL_INDEX_TIME = 'callAt';

export const CALLS_TABLE: TableDefinition = {
  name: 'calls',
  partitionKey: { name: 'callKey', type: 'S' },
  indexes: [
    { indexName: 'byCustomerNumber', partitionKey: { name: 'customerNumber', type: 'S' }, sortKey: { name: CALL_INDEX_TIME, type: 'S' } },
    { indexName: 'byDay', partitionKey: { name: 'day', type: 'S' }, sortKey: { name: CALL_INDEX_TIME, type: 'S' } },
  ],
};

export const CONTACTS_TABLE: TableDefinition = {
  name: 'contacts',
  partitionKey: { name: 'phone', type: 'S' },
  indexes: [],
};

export const TABLES = [CALLS_TABLE, CONTACTS_TABLE] as const;

export interface QueueDefinition {
  /** Logical name: the CDK construct id and the local queue name. */
  name: string;
  /** Visibility timeout; at least 6x the consuming function's timeout (AWS guidance for SQS event sources). */
  visibilityTimeoutSeconds: number;
  /** Receives before a message moves to the DLQ. */
  maxReceiveCount: number;
  /** Timeout of the function that consumes the queue. */
  consumerTimeoutSeconds: number;
  /** Messages per Lambda invocation. */
  batchSize: number;
  /** Max batching window; 0 for latency-sensitive queues. */
  maxBatchingWindowSeconds: number;
  /**
   * Longest a message may wait before its first receive: the largest `DelaySeconds` its producer sets
   * (0 when it sets none).
   */
  maxDeliveryDelaySeconds: number;
  /**
   * Longest a message may stay hidden after one receive: the visibility timeout, or the longest
   * `ChangeMessageVisibility` the consumer sets for a backoff.
   */
  maxHiddenSecondsPerReceive: number;
  /** Kept this long, then deleted unread: long enough for every receive (see queueLifetimeSeconds). */
  retentionDays: number;
  /**
   * Kept this long in the DLQ. A standard queue's message keeps its first enqueue time in the DLQ, so
   * this must exceed `retentionDays` by at least DLQ_OPERATOR_DAYS, or dead letters expire early.
   */
  dlqRetentionDays: number;
}

/** SQS's longest retention (14 days). */
export const SQS_MAX_RETENTION_DAYS = 14;
/** The longest media delay a source may set (SQS's longest `DelaySeconds`, 15 min). */
export const MAX_MEDIA_DELAY_SECONDS = 900;
/** Time an operator has to look at a dead letter, at least, whenever it arrived. */
export const DLQ_OPERATOR_DAYS = 7;

/** The longest a message can spend on its queue before the DLQ takes it: the first delay, then every receive hidden as long as possible. */
export const queueLifetimeSeconds = (q: QueueDefinition): number =>
  q.maxDeliveryDelaySeconds + q.maxReceiveCount * q.maxHiddenSecondsPerReceive;

/** Why a queue's retention would lose messages (empty when it would not): SQS limits, every receive fits, DLQ time for an operator. */
export function queueRetentionProblems(q: QueueDefinition): string[] {
  const problems: string[] = [];
  const day = 86_400;
  if (q.dlqRetentionDays > SQS_MAX_RETENTION_DAYS || q.retentionDays > SQS_MAX_RETENTION_DAYS) {
    problems.push(
      `the ${q.name} queue's retention (${q.retentionDays} d) and its DLQ's (${q.dlqRetentionDays} d) must be at most ${SQS_MAX_RETENTION_DAYS} days (SQS's maximum)`,
    );
  }
  const lifetime = queueLifetimeSeconds(q);
  if (q.retentionDays * day < lifetime) {
    problems.push(
      `the ${q.name} queue keeps messages ${q.retentionDays} d, but ${q.maxReceiveCount} receives hidden up to ${q.maxHiddenSecondsPerReceive} s each (after a ${q.maxDeliveryDelaySeconds} s delay) take up to ${(lifetime / day).toFixed(2)} d: raise retentionDays to at least ${Math.ceil(lifetime / day)}`,
    );
  }
  if (q.dlqRetentionDays - q.retentionDays < DLQ_OPERATOR_DAYS) {
    problems.push(
      `the ${q.name} DLQ keeps messages ${q.dlqRetentionDays} d, only ${q.dlqRetentionDays - q.retentionDays} d more than its queue (${q.retentionDays} d): a dead letter keeps its first enqueue time, so give the DLQ at least ${DLQ_OPERATOR_DAYS} days more (lower retentionDays)`,
    );
  }
  return problems;
}

export const MEDIA_QUEUE: QueueDefinition = {
  name: 'media',
  consumerTimeoutSeconds: 900,
  visibilityTimeoutSeconds: 900 * 6,
  maxReceiveCount: 8,
  batchSize: 1,
  maxBatchingWindowSeconds: 0,
  // A source's mediaDelaySeconds delays the first receive.
  maxDeliveryDelaySeconds: MAX_MEDIA_DELAY_SECONDS,
  // The worker backs off with ChangeMessageVisibility, up to SQS's 12 h.
  maxHiddenSecondsPerReceive: SQS_MAX_VISIBILITY_SECONDS,
  // 8 receives x 12 h + 15 min = 4.01 days: 5 days leaves a day's slack and the DLQ 9 days.
  retentionDays: 5,
  dlqRetentionDays: SQS_MAX_RETENTION_DAYS,
};

export const INSIGHT_QUEUE: QueueDefinition = {
  name: 'insight',
  consumerTimeoutSeconds: 10,
  visibilityTimeoutSeconds: 60,
  maxReceiveCount: 5,
  batchSize: 10,
  maxBatchingWindowSeconds: 0,
  maxDeliveryDelaySeconds: 0,
  maxHiddenSecondsPerReceive: 60,
  // A card is worthless after the staleness limit (seconds); a day covers a consumer outage.
  retentionDays: 1,
  dlqRetentionDays: SQS_MAX_RETENTION_DAYS,
};

export const REPLAY_QUEUE: QueueDefinition = {
  name: 'replay',
  // Consumed by the ingest function itself, so its timeout is the ingest's.
  consumerTimeoutSeconds: 6,
  visibilityTimeoutSeconds: 60,
  maxReceiveCount: 10,
  batchSize: 5,
  maxBatchingWindowSeconds: 0,
  maxDeliveryDelaySeconds: 0,
  maxHiddenSecondsPerReceive: 60,
  // 10 receives take minutes; a replay may hold the only copy of a delivery (small bodies travel
  // inline), so it outlives a long weekend of a stopped consumer. The DLQ still has 10 days more.
  retentionDays: 4,
  dlqRetentionDays: SQS_MAX_RETENTION_DAYS,
};

export const QUEUES = [MEDIA_QUEUE, INSIGHT_QUEUE, REPLAY_QUEUE] as const;
export const dlqName = (q: QueueDefinition): string => `${q.name}-dlq`;

/** Ingest function timeout: the answer is due within 3 s whatever its dependencies do. */
export const INGEST_TIMEOUT_SECONDS = 6;
/** The budget the ingest keeps for its own answer (providers time out at 5-10 s). */
export const INGEST_ANSWER_BUDGET_MS = 3000;

/**
 * Environment the media function runs with (set by the CDK construct; the benchmark's worker gets it too).
 * glibc raises its mmap threshold each time a large block is freed, so after the first 8 MiB part buffer
 * every later one comes from the main heap, which fragments and keeps RSS creeping up through a long
 * upload; a fixed 128 KiB threshold keeps large buffers mmapped and returned to the OS as soon as freed
 * (bench/media.ts: about 20 MiB less peak RSS on a 1 GiB upload).
 */
export const MEDIA_FUNCTION_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };

/** Top-level prefixes of the archive bucket. */
export const PREFIX = {
  recordings: 'recordings/',
  voicemails: 'voicemails/',
  transcripts: 'transcripts/',
  cdr: 'cdr/',
  raw: 'raw/',
  quarantine: 'quarantine/',
  extras: 'extras/',
} as const;

export const MEDIA_PREFIX: Record<MediaKind, string> = {
  recording: PREFIX.recordings,
  voicemail: PREFIX.voicemails,
  transcript: PREFIX.transcripts,
};

/** `YYYY/MM/DD` of an ISO timestamp (UTC). */
export function datePath(iso: string): string {
  const d = new Date(iso);
  const t = Number.isNaN(d.getTime()) ? new Date(0) : d;
  return `${t.getUTCFullYear()}/${String(t.getUTCMonth() + 1).padStart(2, '0')}/${String(t.getUTCDate()).padStart(2, '0')}`;
}

/** Longest id used as is in a key, and longest readable part of a sanitised one. */
export const KEY_PART_MAX_CHARS = 200;
const KEY_PART_SAFE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * An id as one segment of an object key, one-to-one with the id: an ordinary id (`[A-Za-z0-9._-]`,
 * not starting with `.`, at most 200 characters) is used as is; any other is sanitised to that alphabet,
 * cut to 200 characters, and suffixed with `~` and 16 hex digits of the SHA-256 of its exact UTF-8 bytes.
 * `~` never occurs in an ordinary id, so a sanitised key never equals an ordinary one. (`~` is on S3's
 * "avoid" list for old URL encoders, but it is unreserved in RFC 3986 and SigV4, unlike `!`, `*`, `'`,
 * `(`, `)`, which some SigV4 signers encode wrongly.) At most 217 characters, all ASCII. Ids that are
 * not well-formed UTF-16 never get here (normaliseDelivery refuses them): UTF-8 could not tell them apart.
 */
export function safeKeyPart(s: string): string {
  if (s.length <= KEY_PART_MAX_CHARS && KEY_PART_SAFE.test(s)) return s;
  const cleaned = s
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\./, '_')
    .slice(0, KEY_PART_MAX_CHARS);
  return `${cleaned}~${createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 16)}`;
}

/** A timestamp we generated (ISO-8601) as a key segment: readable, `:` replaced (one-to-one for ISO text). */
function timeKeyPart(iso: string): string {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(iso) ? iso.replace(/:/g, '_') : safeKeyPart(iso);
}

export const S3_KEYS = {
  media: (media: MediaKind, provider: Provider, at: string, callId: string, ext: string) =>
    `${MEDIA_PREFIX[media]}${provider}/${datePath(at)}/${safeKeyPart(callId)}.${ext}`,
  cdr: (provider: Provider, at: string, callId: string) => `${PREFIX.cdr}${provider}/${datePath(at)}/${safeKeyPart(callId)}.json`,
  raw: (provider: Provider, at: string, callId: string, receivedAt: string, eventKey: string) =>
    `${PREFIX.raw}${provider}/${datePath(at)}/${safeKeyPart(callId)}/${timeKeyPart(receivedAt)}-${safeKeyPart(eventKey)}.json`,
  quarantine: (provider: Provider | 'unknown', receivedAt: string, sha256: string) =>
    `${PREFIX.quarantine}${provider}/${datePath(receivedAt)}/${timeKeyPart(receivedAt)}-${safeKeyPart(sha256)}.json`,
  /** An extras value too large for the item (`caller`, `analysis`), named by its content hash. */
  extras: (provider: Provider, at: string, callId: string, field: ExtrasField, sha256: string) =>
    `${PREFIX.extras}${provider}/${datePath(at)}/${safeKeyPart(callId)}/${field}-${sha256.slice(0, 16).toLowerCase()}.json`,
};

/** The secrets a stack creates per source, by kind; the stack names them and the functions derive the same names. */
export const SECRET_KINDS = { webhook: 'webhook', signing: 'signing', hipcallApi: 'hipcall-api' } as const;

/**
 * A source's secret name: `{stack}/{source}/{kind}`. Named (not generated) so a function can derive it
 * from the prefix; it ends in a word, never in `-` plus six characters, which Secrets Manager could
 * mistake for the random suffix of a partial ARN.
 */
export const secretName = (prefix: string, sourceId: string, kind: keyof typeof SECRET_KINDS): string =>
  `${prefix}${sourceId}/${SECRET_KINDS[kind]}`;

/** `{sourceId: secretName}` of the sources in `ids`, from the stack's prefix (CALLVAULT_SECRET_PREFIX). */
export const secretNamesOf = (prefix: string, ids: readonly string[], kind: keyof typeof SECRET_KINDS): Record<string, string> =>
  Object.fromEntries(ids.map((id) => [id, secretName(prefix, id, kind)]));

/** `hipcall-eu` → `HipcallEu`: a source id inside a stack output name (the stack writes them, the CLI reads them). */
export const pascal = (id: string): string => id.replace(/(^|-)([a-z0-9])/g, (_m, _dash: string, c: string) => c.toUpperCase());

/** Environment variable names the functions read at cold start (set by CDK; the local stack passes the same). */
export const ENV = {
  /**
   * A whole callvault config as JSON, read by the local stack and the CLI instead of cdk.json's. Never
   * set on a deployed function: the stack compiles the validated config into its bundle.
   */
  config: 'CALLVAULT_CONFIG',
  callsTable: 'CALLS_TABLE',
  contactsTable: 'CONTACTS_TABLE',
  bucket: 'ARCHIVE_BUCKET',
  mediaQueueUrl: 'MEDIA_QUEUE_URL',
  insightQueueUrl: 'INSIGHT_QUEUE_URL',
  replayQueueUrl: 'REPLAY_QUEUE_URL',
  /**
   * `{stackName}/`: every secret the stack creates is named `{prefix}{sourceId}/{kind}` (SECRET_NAMES), so
   * one short variable replaces a name per source (Lambda's whole environment is 4 KB).
   */
  secretPrefix: 'CALLVAULT_SECRET_PREFIX',
  /** JSON `{sourceId: secretArn}` of the webhook token secrets (explicit names, instead of the prefix). */
  webhookSecrets: 'WEBHOOK_SECRETS',
  /** JSON `{sourceId: secretName}` of the signing secrets, only for sources that set `signature`. */
  signingSecrets: 'SIGNING_SECRETS',
  /** JSON `{sourceId: secretArn}` of the Hipcall API token secrets. */
  hipcallApiSecrets: 'HIPCALL_API_SECRETS',
} as const;
