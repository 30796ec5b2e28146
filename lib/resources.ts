/**
 * The shape of every stateful resource, in one place: read by the CDK constructs AND by bin/local.ts,
 * so the emulated tables, queues and bucket layout cannot drift from what is deployed.
 * Plain data only: no aws-cdk-lib, no AWS SDK.
 */
import type { MediaKind, Provider } from '#core/types.ts';

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

export const CALLS_TABLE: TableDefinition = {
  name: 'calls',
  partitionKey: { name: 'callKey', type: 'S' },
  indexes: [
    { indexName: 'byCustomerNumber', partitionKey: { name: 'customerNumber', type: 'S' }, sortKey: { name: 'startedAt', type: 'S' } },
    { indexName: 'byDay', partitionKey: { name: 'day', type: 'S' }, sortKey: { name: 'startedAt', type: 'S' } },
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
  retentionDays: number;
  dlqRetentionDays: number;
}

export const MEDIA_QUEUE: QueueDefinition = {
  name: 'media',
  consumerTimeoutSeconds: 900,
  visibilityTimeoutSeconds: 900 * 6,
  maxReceiveCount: 8,
  batchSize: 1,
  maxBatchingWindowSeconds: 0,
  retentionDays: 14,
  dlqRetentionDays: 14,
};

export const INSIGHT_QUEUE: QueueDefinition = {
  name: 'insight',
  consumerTimeoutSeconds: 10,
  visibilityTimeoutSeconds: 60,
  maxReceiveCount: 5,
  batchSize: 10,
  maxBatchingWindowSeconds: 0,
  retentionDays: 1,
  dlqRetentionDays: 14,
};

export const REPLAY_QUEUE: QueueDefinition = {
  name: 'replay',
  // Consumed by the ingest function itself, so its timeout is the ingest's.
  consumerTimeoutSeconds: 6,
  visibilityTimeoutSeconds: 60,
  maxReceiveCount: 10,
  batchSize: 5,
  maxBatchingWindowSeconds: 0,
  retentionDays: 14,
  dlqRetentionDays: 14,
};

export const QUEUES = [MEDIA_QUEUE, INSIGHT_QUEUE, REPLAY_QUEUE] as const;
export const dlqName = (q: QueueDefinition): string => `${q.name}-dlq`;

/** Ingest function timeout: the answer is due within 3 s whatever its dependencies do. */
export const INGEST_TIMEOUT_SECONDS = 6;
/** The budget the ingest keeps for its own answer (providers time out at 5-10 s). */
export const INGEST_ANSWER_BUDGET_MS = 3000;

/** Top-level prefixes of the archive bucket. */
export const PREFIX = {
  recordings: 'recordings/',
  voicemails: 'voicemails/',
  transcripts: 'transcripts/',
  cdr: 'cdr/',
  raw: 'raw/',
  quarantine: 'quarantine/',
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

/** Object keys must not be steered by a provider: keep ids to a safe alphabet. */
export function safeKeyPart(s: string): string {
  const cleaned = s.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return cleaned.slice(0, 200) || '_';
}

export const S3_KEYS = {
  media: (media: MediaKind, provider: Provider, at: string, callId: string, ext: string) =>
    `${MEDIA_PREFIX[media]}${provider}/${datePath(at)}/${safeKeyPart(callId)}.${ext}`,
  cdr: (provider: Provider, at: string, callId: string) => `${PREFIX.cdr}${provider}/${datePath(at)}/${safeKeyPart(callId)}.json`,
  raw: (provider: Provider, at: string, callId: string, receivedAt: string, eventKey: string) =>
    `${PREFIX.raw}${provider}/${datePath(at)}/${safeKeyPart(callId)}/${safeKeyPart(receivedAt)}-${safeKeyPart(eventKey)}.json`,
  quarantine: (provider: Provider | 'unknown', receivedAt: string, sha256: string) =>
    `${PREFIX.quarantine}${provider}/${datePath(receivedAt)}/${safeKeyPart(receivedAt)}-${sha256}.json`,
};

/** `hipcall-eu` → `HipcallEu`: a source id inside a stack output name (the stack writes them, the CLI reads them). */
export const pascal = (id: string): string => id.replace(/(^|-)([a-z0-9])/g, (_m, _dash: string, c: string) => c.toUpperCase());

/** Environment variable names the functions read at cold start (set by CDK; the local stack passes the same). */
export const ENV = {
  config: 'CALLVAULT_CONFIG',
  callsTable: 'CALLS_TABLE',
  contactsTable: 'CONTACTS_TABLE',
  bucket: 'ARCHIVE_BUCKET',
  mediaQueueUrl: 'MEDIA_QUEUE_URL',
  insightQueueUrl: 'INSIGHT_QUEUE_URL',
  replayQueueUrl: 'REPLAY_QUEUE_URL',
  /** JSON `{sourceId: secretArn}` of the webhook token secrets. */
  webhookSecrets: 'WEBHOOK_SECRETS',
  /** JSON `{sourceId: secretArn}` of the Hipcall API token secrets. */
  hipcallApiSecrets: 'HIPCALL_API_SECRETS',
} as const;
