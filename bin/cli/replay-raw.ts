/**
 * `callvault replay --since D --until D`: re-apply the verbatim deliveries kept in raw/ through today's
 * adapters, e.g. after an adapter fix. Each call is rebuilt by the ingest's own replay path
 * (functions/ingest/process.ts `replayDelivery`: read, normalise, split extras, merge) run against an
 * in-memory calls table, from all of its archived deliveries, so the result is what the ingest would
 * store today. The rebuilt record is compared with the stored item attribute by attribute; with
 * --dry-run the differences are only shown, otherwise they are written with the table's own conditional
 * upsert. A second run finds nothing to change.
 *
 * What replay leaves alone: the media maps and `insight` (other writers own them), and it sends no media
 * jobs and no Insight Cards: archived links have long expired, and `callvault reconcile` fetches fresh ones.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { S3DeliveryArchive } from '#adapters/archive.ts';
import { CallsTable } from '#adapters/calls-table.ts';
import { mergeDelivery, type StoredCallRecord } from '#core/call-record.ts';
import type { ApplyDelivery, ApplyOutcome, CallsStore, DeliveryArchive, JobQueues, Log, Metrics } from '#core/ports.ts';
import { callKeyOf, type CallRecord, type Provider } from '#core/types.ts';
import { replayDelivery, type IngestDeps } from '#functions/ingest/process.ts';
import type { CallVaultConfig } from '#contract/config.ts';
import { PREFIX, datePath } from '#contract/resources.ts';
import { daysBetween, type ArchiveReader } from './archive-reader.ts';
import { CliError } from './context.ts';

/** One archived delivery, with who delivered it and when (the raw/ object's metadata). */
export interface RawDelivery {
  key: string;
  source: string;
  receivedAt: string;
  contentType?: string;
}

/** One attribute the replay changes: its value on the stored item and the value today's adapters give. */
export interface FieldChange {
  field: string;
  before?: unknown;
  after?: unknown;
}

/**
 * What replay did to one call: `unchanged`, `changed` (or would, with --dry-run), `created` (raw/ held a
 * call the table lacked), `incomplete` (the item has deliveries that raw/ does not hold in the window, so
 * a rebuild would drop them: left alone), `refused` (today's adapter refuses a delivery), `conflict`
 * (written meanwhile by the ingest: run again).
 */
export interface CallReplay {
  callKey: string;
  outcome: 'unchanged' | 'changed' | 'created' | 'incomplete' | 'refused' | 'conflict';
  deliveries: number;
  changes: FieldChange[];
  note?: string;
}

export interface ReplayReport {
  since: string;
  until: string;
  source?: string;
  dryRun: boolean;
  deliveries: number;
  calls: CallReplay[];
  summary: Record<CallReplay['outcome'], number>;
}

/** Attributes the rebuild does not decide: other writers' maps, and the write's own bookkeeping. */
const NOT_REPLAYED = new Set(['callKey', 'recording', 'voicemail', 'transcript', 'insight', 'createdAt', 'updatedAt', 'version']);

/** A JSON text with object keys sorted: two maps compare equal whatever order DynamoDB returned them in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** The attributes whose value differs between the stored item and the rebuilt record, in name order. */
export function recordDiff(before: Record<string, unknown> | undefined, after: Record<string, unknown>): FieldChange[] {
  const names = new Set([...Object.keys(before ?? {}), ...Object.keys(after)]);
  const changes: FieldChange[] = [];
  for (const field of [...names].sort()) {
    if (NOT_REPLAYED.has(field)) continue;
    const b = before?.[field];
    const a = after[field];
    if (canonical(b) === canonical(a)) continue;
    changes.push({ field, ...(b !== undefined ? { before: b } : {}), ...(a !== undefined ? { after: a } : {}) });
  }
  return changes;
}

/** The calls table as the ingest sees it, in memory: the same core merge, nothing written anywhere. */
class RebuiltCalls implements CallsStore {
  readonly records = new Map<string, StoredCallRecord>();

  async get(callKey: string): Promise<CallRecord | undefined> {
    return this.records.get(callKey);
  }

  async applyDelivery(input: ApplyDelivery): Promise<ApplyOutcome> {
    const callKey = callKeyOf(input.event.provider, input.event.callId);
    const previous = this.records.get(callKey);
    const merged = mergeDelivery(previous, input);
    if (merged.foreign) return { outcome: 'foreign', owner: merged.owner, record: merged.record, previous };
    if (!merged.changed) return { outcome: 'duplicate', record: merged.record, previous };
    this.records.set(callKey, merged.record);
    return { outcome: 'stored', record: merged.record, previous };
  }

  async setMedia(): Promise<boolean> {
    return false;
  }
}

/**
 * The archive as the replayed ingest sees it: bodies come from raw/; raw/ is not written again (the
 * verbatim copy is already there); extras/ (oversized fields, named by content) are written when applying.
 */
class ReplayArchive implements DeliveryArchive {
  readonly refused: string[] = [];
  readonly extras: { key: string; bytes: Buffer; meta: Parameters<DeliveryArchive['putRaw']>[2] }[] = [];
  constructor(private readonly real: S3DeliveryArchive) {}

  async putRaw(key: string, bytes: Buffer, meta: Parameters<DeliveryArchive['putRaw']>[2]): Promise<void> {
    if (!key.startsWith(PREFIX.raw)) this.extras.push({ key, bytes, meta });
  }

  async putQuarantine(_key: string, entry: Parameters<DeliveryArchive['putQuarantine']>[1]): Promise<void> {
    this.refused.push(entry.reason);
  }

  getBytes(key: string, abortSignal?: AbortSignal): Promise<Buffer> {
    return this.real.getBytes(key, abortSignal);
  }

  /** The replay writes what changed itself, once per call, not once per re-applied delivery. */
  async putCallRecord(): Promise<void> {}
}

const quietLog: Log = { info: () => {}, warn: () => {}, error: () => {} };
const noMetrics: Metrics = { count: () => {}, measure: () => {} };
/** No jobs: archived links have expired, and a replayed call_init must never post a second card. */
const noQueues: JobQueues = { sendMedia: async () => {}, sendInsight: async () => {}, sendReplay: async () => {} };

/** raw/{provider}/{YYYY}/{MM}/{DD}/{callFolder}/{receivedAt}-{eventKey}.json, grouped by call folder. */
async function rawFolders(reader: ArchiveReader, provider: Provider, day: string): Promise<Map<string, string[]>> {
  const prefix = `${PREFIX.raw}${provider}/${datePath(`${day}T00:00:00.000Z`)}/`;
  const folders = new Map<string, string[]>();
  let token: string | undefined;
  do {
    const page = await reader.s3.send(new ListObjectsV2Command({ Bucket: reader.bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const rest = o.Key!.slice(prefix.length);
      const slash = rest.indexOf('/');
      // A non-call event (task_create, ...) is archived under its event type: no call to rebuild, but harmless.
      if (slash < 0) continue;
      const folder = prefix + rest.slice(0, slash + 1);
      folders.set(folder, [...(folders.get(folder) ?? []), o.Key!]);
    }
    token = page.NextContinuationToken;
  } while (token);
  return folders;
}

/**
 * Who delivered a raw/ object, when and as what: the ingest writes them as the object's metadata. A key
 * names only the provider, so an object without metadata falls back to the first source of its provider.
 */
export async function rawDelivery(
  reader: Pick<ArchiveReader, 's3' | 'bucket'>,
  key: string,
  config: CallVaultConfig,
): Promise<RawDelivery> {
  const { Metadata = {} } = await reader.s3.send(new HeadObjectCommand({ Bucket: reader.bucket, Key: key }));
  const receivedAt = Metadata['received-at'] || (key.split('/').pop() ?? '').slice(0, 24).replace(/_/g, ':');
  const contentType = Metadata['sent-content-type'] || undefined;
  const provider = key.split('/')[1];
  const source = Metadata.source || config.sources.find((s) => s.provider === provider)?.id;
  if (!source)
    throw new CliError(
      `No configured source has provider "${provider}" (from ${key}): add the source back to the config, then run replay again.`,
    );
  return { key, source, receivedAt, ...(contentType ? { contentType } : {}) };
}

export interface ReplayRawOptions {
  config: CallVaultConfig;
  since: string;
  until: string;
  source?: string;
  dryRun: boolean;
  /** ISO time written as updatedAt. */
  now?: string;
}

/** Replay raw/ deliveries of the window through today's adapters; see the file comment. */
export async function replayRaw(reader: ArchiveReader, opts: ReplayRawOptions): Promise<ReplayReport> {
  const { config } = opts;
  const source = opts.source === undefined ? undefined : config.sources.find((s) => s.id === opts.source);
  if (opts.source !== undefined && !source)
    throw new CliError(`No source "${opts.source}" in the config: use one of ${config.sources.map((s) => s.id).join(', ')}.`);
  const providers = source ? [source.provider] : [...new Set(config.sources.map((s) => s.provider))];
  const realArchive = new S3DeliveryArchive(reader.s3, reader.bucket);
  const table = new CallsTable(reader.doc, reader.table);
  const now = opts.now ?? new Date().toISOString();
  const calls: CallReplay[] = [];
  let deliveries = 0;

  for (const provider of providers) {
    for (const day of daysBetween(opts.since, opts.until)) {
      for (const [, keys] of await rawFolders(reader, provider, day)) {
        const found = (await Promise.all(keys.map((k) => rawDelivery(reader, k, config)))).filter((d) => !source || d.source === source.id);
        if (!found.length) continue;
        deliveries += found.length;
        calls.push(...(await replayFolder(reader, table, realArchive, found, opts, now)));
      }
    }
  }
  const summary = { unchanged: 0, changed: 0, created: 0, incomplete: 0, refused: 0, conflict: 0 };
  for (const c of calls) summary[c.outcome]++;
  return {
    since: opts.since,
    until: opts.until,
    ...(opts.source ? { source: opts.source } : {}),
    dryRun: opts.dryRun,
    deliveries,
    calls,
    summary,
  };
}

/** Rebuild the call(s) of one raw/ folder through the ingest's replay path, then compare and (unless dry) write. */
async function replayFolder(
  reader: ArchiveReader,
  table: CallsTable,
  realArchive: S3DeliveryArchive,
  found: RawDelivery[],
  opts: ReplayRawOptions,
  now: string,
): Promise<CallReplay[]> {
  const rebuilt = new RebuiltCalls();
  const archive = new ReplayArchive(realArchive);
  const deps: IngestDeps = {
    config: opts.config,
    tokens: { verify: async () => false },
    calls: rebuilt,
    archive,
    queues: noQueues,
    log: quietLog,
    metrics: noMetrics,
  };
  // Oldest first, as they arrived: createdAt and updatedAt come out as the first and last receipt times.
  for (const d of [...found].sort((a, b) => (a.receivedAt < b.receivedAt ? -1 : a.receivedAt > b.receivedAt ? 1 : 0))) {
    await replayDelivery(
      JSON.stringify({
        source: d.source,
        receivedAt: d.receivedAt,
        contentType: d.contentType,
        rawKey: d.key,
        reason: 'callvault replay --since',
      }),
      deps,
    );
  }
  const out: CallReplay[] = [];
  for (const [callKey, record] of rebuilt.records) {
    const previous = await table.get(callKey);
    const base = { callKey, deliveries: found.length };
    const missing = (previous?.events ?? []).filter((e) => !record.events?.includes(e));
    if (archive.refused.length) {
      out.push({
        ...base,
        outcome: 'refused',
        changes: [],
        note: `today's adapter refuses ${archive.refused.length} of its deliveries (${archive.refused[0]}); the item is left as it is`,
      });
      continue;
    }
    if (missing.length) {
      out.push({
        ...base,
        outcome: 'incomplete',
        changes: [],
        note: `${missing.length} of the deliveries applied to it are not in raw/ for this window; widen --since/--until to include the day they are filed under`,
      });
      continue;
    }
    const changes = recordDiff(previous as unknown as Record<string, unknown> | undefined, record as unknown as Record<string, unknown>);
    if (!changes.length) {
      out.push({ ...base, outcome: 'unchanged', changes });
      continue;
    }
    const outcome = previous ? 'changed' : 'created';
    if (opts.dryRun) {
      out.push({ ...base, outcome, changes });
      continue;
    }
    // Attributes today's adapters no longer give are removed (upsertCommand REMOVEs what is set to undefined).
    // A higher version than the item's: an ingest that read the item before this write is refused and merges
    // again on the fixed item, instead of writing its older copy back over the fix.
    const version = previous ? Math.max(record.version, (previous.version ?? 0) + 1) : record.version;
    const write: Record<string, unknown> = { ...record, version, createdAt: previous?.createdAt ?? record.createdAt, updatedAt: now };
    for (const c of changes) if (c.after === undefined) write[c.field] = undefined;
    try {
      for (const extra of archive.extras) await realArchive.putRaw(extra.key, extra.bytes, extra.meta);
      await reader.doc.send(table.upsertCommand(write as unknown as CallRecord, previous, [], now));
      out.push({ ...base, outcome, changes });
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      out.push({ ...base, outcome: 'conflict', changes, note: 'a delivery was applied to it while replaying; run the same replay again' });
    }
  }
  return out;
}

/** Human lines for a report: a line per call that changed (or would), its changes indented. */
export function describeReplay(report: ReplayReport): string[] {
  const lines: string[] = [];
  const show = (v: unknown) => (v === undefined ? '(none)' : JSON.stringify(v));
  for (const c of report.calls) {
    if (c.outcome === 'unchanged') continue;
    lines.push(
      `${c.callKey}  ${c.outcome}${report.dryRun && (c.outcome === 'changed' || c.outcome === 'created') ? ' (dry run: not written)' : ''}${c.note ? `: ${c.note}` : ''}`,
    );
    for (const ch of c.changes) lines.push(`  ${ch.field}: ${show(ch.before)} -> ${show(ch.after)}`);
  }
  const s = report.summary;
  lines.push(
    `${report.deliveries} deliver${report.deliveries === 1 ? 'y' : 'ies'} from raw/ (${report.since}..${report.until}${report.source ? `, source ${report.source}` : ''}): ${report.calls.length} call(s), ${s.changed} ${report.dryRun ? 'would change' : 'changed'}, ${s.created} ${report.dryRun ? 'would be created' : 'created'}, ${s.unchanged} unchanged${s.incomplete ? `, ${s.incomplete} incomplete` : ''}${s.refused ? `, ${s.refused} refused` : ''}${s.conflict ? `, ${s.conflict} conflict (run again)` : ''}.`,
  );
  return lines;
}
