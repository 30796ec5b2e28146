/**
 * The cdr/ object's schema, defined once: the columns of the SQL table `calls` that Athena (through the
 * Glue table) and `callvault query --local` (through DuckDB) both read, and the pure mapping from a call
 * record to one row. The Glue columns, the DuckDB `read_json` columns and the schema table in docs/querying.md are
 * all generated from CDR_COLUMNS, so the two engines cannot drift apart.
 *
 * Names are snake_case because Glue lowercases column names: `customerNumber` would come back as
 * `customernumber` from Athena, `customer_number` reads the same in both engines.
 */
import { MEDIA_KINDS, type CallRecord, type MediaInfo, type MediaKind } from './types.ts';

/** The SQL name of the table in both engines. */
export const CDR_TABLE = 'calls';

/** Column types, named as Athena (Hive DDL) spells them. */
export type CdrType = 'string' | 'bigint' | 'boolean';

export interface CdrColumn {
  name: string;
  type: CdrType;
  description: string;
}

/** Athena type → DuckDB type. */
export const DUCKDB_TYPE: Record<CdrType, string> = { string: 'VARCHAR', bigint: 'BIGINT', boolean: 'BOOLEAN' };

/**
 * The partition columns, in key order: `cdr/{provider}/{day}/{callId}.json`. In Athena they come from the
 * object key (partition projection), not from the JSON; the row repeats them so a file read on its own
 * says the same, and `callvault query --local` takes them from the key too.
 */
export const CDR_PARTITIONS: readonly CdrColumn[] = [
  { name: 'provider', type: 'string', description: 'Provider type: `hipcall`, `callhippo` or `postcall`.' },
  {
    name: 'day',
    type: 'string',
    description:
      'UTC day of the call, as in the object key: `2026/04/02` (text; compare with `=` or `BETWEEN`). Filter on it: Athena then reads only those days.',
  },
];

const mediaColumns = (media: MediaKind, what: string): CdrColumn[] => [
  {
    name: `${media}_state`,
    type: 'string',
    description: `State of the ${what}: \`queued\`, \`stored\`, \`failed\`, \`expired\`, \`rejected\`; null when the call had none.`,
  },
  { name: `${media}_stored`, type: 'boolean', description: `True when the ${what} is in the archive.` },
  { name: `${media}_key`, type: 'string', description: `Object key of the stored ${what} in the archive bucket.` },
  { name: `${media}_bytes`, type: 'bigint', description: `Size of the stored ${what} in bytes.` },
  { name: `${media}_sha256`, type: 'string', description: `Hex SHA-256 of the stored ${what}.` },
  { name: `${media}_content_type`, type: 'string', description: `Content type of the stored ${what}.` },
];

/** The data columns, in table order (the partitions come after them, as in Athena). */
export const CDR_COLUMNS: readonly CdrColumn[] = [
  { name: 'call_id', type: 'string', description: "The provider's call id (Hipcall `uuid`, CallHippo `callSid`, post-call `callId`)." },
  { name: 'source', type: 'string', description: 'The CallVault source that owns the call (the first one that delivered it).' },
  { name: 'kind', type: 'string', description: '`call` or `sms`.' },
  { name: 'direction', type: 'string', description: '`inbound`, `outbound`, `internal` or `unknown`.' },
  { name: 'status', type: 'string', description: '`ringing`, `answered`, `completed`, `missed`, `failed` or `unknown`.' },
  { name: 'answered', type: 'boolean', description: 'True when someone picked up (an answer time, or status `answered`/`completed`).' },
  { name: 'from_number', type: 'string', description: 'Calling number, E.164 where parseable, else as sent.' },
  { name: 'to_number', type: 'string', description: 'Called number, E.164 where parseable, else as sent.' },
  {
    name: 'customer_number',
    type: 'string',
    description: 'The external party (caller on inbound, callee on outbound), E.164 where it is a phone number, else as sent.',
  },
  { name: 'agent_id', type: 'string', description: "The provider's id of the agent (user) on the call." },
  { name: 'agent_email', type: 'string', description: "The agent's email, when the provider sends it." },
  { name: 'agent_name', type: 'string', description: "The agent's name, when the provider sends it." },
  { name: 'hangup_by', type: 'string', description: 'Who hung up, as the provider says it.' },
  {
    name: 'started_at',
    type: 'string',
    description: 'Start time, ISO-8601 UTC (`2026-04-02T10:00:00.000Z`): text that sorts and compares in time order.',
  },
  { name: 'answered_at', type: 'string', description: 'Answer time, ISO-8601 UTC.' },
  { name: 'ended_at', type: 'string', description: 'End time, ISO-8601 UTC.' },
  {
    name: 'call_at',
    type: 'string',
    description: 'When the call happened: `started_at`, else its first delivery (what `day` is taken from).',
  },
  { name: 'duration_sec', type: 'bigint', description: 'Duration in whole seconds, as the provider reports it.' },
  ...mediaColumns('recording', 'recording'),
  ...mediaColumns('voicemail', 'voicemail'),
  ...mediaColumns('transcript', 'transcript file'),
  { name: 'insight_state', type: 'string', description: 'Insight Card outcome (Hipcall): `sent`, `no_match`, `failed` or `stale`.' },
  { name: 'has_analysis', type: 'boolean', description: "True when the provider sent an AI analysis of the call (the item's `analysis`)." },
  { name: 'created_at', type: 'string', description: 'When CallVault first stored the call, ISO-8601 UTC.' },
  { name: 'updated_at', type: 'string', description: 'When the record last changed, ISO-8601 UTC.' },
];

/** One cdr/ object: every data column (null when unknown) plus the two partition values. */
export type CdrRow = Record<string, string | number | boolean | null>;

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
/** Whole numbers only; a number DynamoDB kept as a string (out of its range) is not a duration. */
const int = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v) : null);

function mediaFields(media: MediaKind, info: MediaInfo | undefined): CdrRow {
  return {
    [`${media}_state`]: info?.state ?? null,
    [`${media}_stored`]: info?.state === 'stored',
    [`${media}_key`]: info?.state === 'stored' ? str(info.s3Key) : null,
    [`${media}_bytes`]: info?.state === 'stored' ? int(info.bytes) : null,
    [`${media}_sha256`]: info?.state === 'stored' ? str(info.sha256) : null,
    [`${media}_content_type`]: info?.state === 'stored' ? str(info.contentType) : null,
  };
}

/** `YYYY/MM/DD` (the key's form) of a `YYYY-MM-DD` day or an ISO time; undefined when it is neither. */
export function cdrDay(value: string | undefined): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value ?? '');
  return m ? `${m[1]}/${m[2]}/${m[3]}` : undefined;
}

/**
 * The flat row of one call. `day` is the partition the object is stored under (`YYYY/MM/DD` from its
 * key); without it, the record's own day. Bookkeeping (`events`, `version`, `callKey`) and the provider
 * extras (caller details, analysis text: free-form and possibly large) are left out; the calls table
 * and raw/ keep them.
 */
export function cdrRow(record: CallRecord, day?: string): CdrRow {
  const row: CdrRow = {
    call_id: record.callId,
    source: record.source,
    kind: record.kind,
    direction: record.direction,
    status: record.status,
    answered: Boolean(record.answeredAt) || record.status === 'answered' || record.status === 'completed',
    from_number: str(record.fromNumber),
    to_number: str(record.toNumber),
    customer_number: str(record.customerNumber) ?? str(record.customerNumberAsSent),
    agent_id: str(record.agent?.id),
    agent_email: str(record.agent?.email),
    agent_name: str(record.agent?.name),
    hangup_by: str(record.hangupBy),
    started_at: str(record.startedAt),
    answered_at: str(record.answeredAt),
    ended_at: str(record.endedAt),
    call_at: str(record.callAt) ?? str(record.startedAt),
    duration_sec: int(record.durationSec),
    ...mediaFields('recording', record.recording),
    ...mediaFields('voicemail', record.voicemail),
    ...mediaFields('transcript', record.transcript),
    insight_state: record.insight?.state ?? null,
    has_analysis: record.analysis !== undefined && record.analysis !== null,
    created_at: str(record.createdAt),
    updated_at: str(record.updatedAt),
    provider: record.provider,
    day: day ?? cdrDay(record.day) ?? cdrDay(record.callAt) ?? cdrDay(record.startedAt) ?? null,
  };
  return row;
}

/** The schema table of docs/querying.md (markdown), generated so it cannot fall behind the columns. */
export function cdrSchemaMarkdown(): string {
  const lines = ['| column | type | meaning |', '|---|---|---|'];
  for (const c of CDR_COLUMNS) lines.push(`| \`${c.name}\` | ${c.type} | ${c.description} |`);
  for (const c of CDR_PARTITIONS) lines.push(`| \`${c.name}\` | ${c.type} (partition) | ${c.description} |`);
  return lines.join('\n');
}

export interface CdrExampleQuery {
  /** Athena named query name. */
  name: string;
  description: string;
  /** Runs unchanged in Athena and in `callvault query --local` (DuckDB). */
  sql: string;
}

/** The example queries of docs/querying.md, also created as Athena named queries; tests run them locally. */
export const CDR_EXAMPLE_QUERIES: readonly CdrExampleQuery[] = [
  {
    name: 'calls-per-day-per-direction',
    description: 'Calls per day per direction (SMS left out).',
    sql: `SELECT day, direction, count(*) AS calls
FROM calls
WHERE kind = 'call'
GROUP BY day, direction
ORDER BY day, direction`,
  },
  {
    name: 'unanswered-inbound-by-number',
    description: 'Unanswered inbound calls by customer number, most first.',
    sql: `SELECT customer_number, count(*) AS unanswered, max(call_at) AS last_call_at
FROM calls
WHERE kind = 'call' AND direction = 'inbound' AND NOT answered
GROUP BY customer_number
ORDER BY unanswered DESC, customer_number`,
  },
  {
    name: 'recordings-not-stored',
    description: 'Calls whose recording is not in the archive (queued, failed, expired or rejected).',
    sql: `SELECT provider, day, call_id, recording_state
FROM calls
WHERE recording_state IS NOT NULL AND NOT recording_stored
ORDER BY day, provider, call_id`,
  },
];

const ENDED = new Set(['completed', 'missed', 'failed']);
/** Whether the call is over, so its cdr/ row is worth writing. */
export const callEnded = (r: CallRecord | undefined): boolean => Boolean(r && (r.endedAt || ENDED.has(r.status)));

/** Whether the call has, or has had, media: then the media worker writes its cdr/ row after each outcome. */
export const hasMedia = (r: CallRecord): boolean => MEDIA_KINDS.some((k) => r[k] !== undefined);
