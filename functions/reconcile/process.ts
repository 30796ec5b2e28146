/**
 * Reconcile one Hipcall source with Hipcall's own calls list: page `GET /calls` over a window, look each
 * call up in the archive, and close the gaps. A missing call is written first, as a `reconcile` delivery
 * through the webhook path's adapter and merge (normaliseDelivery, then core's applyDelivery on the calls table,
 * then raw/); then its recording, and that of every archived call whose recording is not stored, goes on
 * the media queue with a fresh `record_url` from `GET /calls/{uuid}`. A second run finds nothing to do.
 */
import { sourceById, type CallVaultConfig, type SourceConfig } from '#contract/config.ts';
import { S3_KEYS } from '#contract/resources.ts';
import { applyDelivery } from '#core/apply-delivery.ts';
import { deliveryKey } from '#core/call-record.ts';
import { ValidationError } from '#core/errors.ts';
import { normaliseDelivery } from '#core/providers/index.ts';
import { sha256Hex } from '#core/request.ts';
import type { CallRecords } from '#core/ports/calls-store.ts';
import type { Clock } from '#core/ports/clock.ts';
import type { DeliveryArchive } from '#core/ports/delivery-archive.ts';
import type { HipcallCalls } from '#core/ports/hipcall-calls.ts';
import type { JobQueues } from '#core/ports/job-queues.ts';
import type { Log } from '#core/ports/log.ts';
import type { Metrics } from '#core/ports/metrics.ts';
import { METRIC } from '#core/metrics.ts';
import {
  RECONCILE_EVENT,
  deliveryOfApiCall,
  emptySummary,
  gapOf,
  inWindow,
  listedCallOf,
  recordingUrlOf,
  stableJson,
  type Gap,
  type ListedCall,
  type ReconcileSummary,
  type ReconcileWindow,
} from '#core/reconcile.ts';
import { callFiledAt, callKeyOf, type MediaJob } from '#core/types.ts';
import { callEnded, mediaPending } from '#core/cdr-schema.ts';

export interface ReconcileDeps {
  config: CallVaultConfig;
  hipcall: HipcallCalls;
  calls: CallRecords;
  archive: Pick<DeliveryArchive, 'putRaw' | 'putCallRecord'>;
  queues: Pick<JobQueues, 'sendMedia'>;
  /** Log fields only: never numbers, tokens or URLs. */
  log: Log;
  /** The scheduled run's `ReconcileFailed` per source (core/metrics.ts). */
  metrics: Metrics;
  now?: Clock;
  /** Archive lookups and backfills in flight at once. @default 8 */
  concurrency?: number;
}

export interface ReconcileRequest extends ReconcileWindow {
  source: string;
  /** Find the gaps, write nothing. */
  dryRun?: boolean;
  signal?: AbortSignal;
}

/** The source, checked: it must exist and be a Hipcall source (only Hipcall has a calls API to ask). */
export function reconcilableSource(config: CallVaultConfig, id: string): SourceConfig {
  const source = sourceById(config, id);
  if (!source)
    throw new ValidationError(
      `There is no source "${id}" in the callvault config; configured: ${config.sources.map((s) => s.id).join(', ')}.`,
    );
  if (source.provider !== 'hipcall')
    throw new ValidationError(
      `Source "${id}" is a ${source.provider} source: only Hipcall sources can be reconciled (Hipcall has a calls API to ask).`,
    );
  return source;
}

/** Run `work` over `items` with at most `limit` in flight. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(runners);
}

export async function reconcileSource(deps: ReconcileDeps, req: ReconcileRequest): Promise<ReconcileSummary> {
  const source = reconcilableSource(deps.config, req.source);
  const window: ReconcileWindow = { since: req.since, until: req.until };
  const dryRun = req.dryRun ?? false;
  const summary = emptySummary(source.id, window, dryRun);
  const clock = deps.now ?? Date.now;
  const concurrency = deps.concurrency ?? 8;
  const fail = (callId: string, err: unknown) => {
    summary.errors++;
    summary.callIds.errors.push({ callId, message: (err as Error).message.slice(0, 300) });
    deps.log.warn('reconcile: a call could not be reconciled', { source: source.id, callId, error: (err as Error).name });
  };

  // The list first, deduplicated: a page boundary shifting under new calls may repeat one.
  const listed = new Map<string, ListedCall>();
  let unreadable = 0;
  for await (const page of deps.hipcall.list(source.id, window, req.signal)) {
    for (const raw of page) {
      const call = listedCallOf(raw);
      if (!call) unreadable++;
      else if (inWindow(call, window) && !listed.has(call.uuid)) listed.set(call.uuid, call);
    }
  }
  if (unreadable > 0) deps.log.warn('reconcile: calls without a uuid in the list were skipped', { source: source.id, count: unreadable });
  summary.seen = listed.size;

  const gaps: { call: ListedCall; gap: Gap }[] = [];
  await eachLimited([...listed.values()], concurrency, async (call) => {
    try {
      const archived = await deps.calls.get(callKeyOf('hipcall', call.uuid), { consistent: false });
      const gap = gapOf(call, archived, { sourceId: source.id, nowMs: clock() });
      if (archived) summary.present++;
      if (gap) gaps.push({ call, gap });
    } catch (err) {
      fail(call.uuid, err);
    }
  });
  // Stable order for people and tests: by start time, then id.
  gaps.sort((a, b) => (a.call.startedAt ?? '').localeCompare(b.call.startedAt ?? '') || a.call.uuid.localeCompare(b.call.uuid));
  for (const { call, gap } of gaps) (gap === 'missing' ? summary.callIds.missing : summary.callIds.recordingsMissing).push(call.uuid);
  // A missing call's recording is fetched with it: a dry run counts it as the real run will queue it.
  for (const { call, gap } of gaps) if (gap === 'missing' && call.recording === 'yes') summary.callIds.recordingsMissing.push(call.uuid);
  summary.missing = summary.callIds.missing.length;
  summary.recordingsMissing = summary.callIds.recordingsMissing.length;
  if (dryRun) return summary;

  const jobs: MediaJob[] = [];
  await eachLimited(gaps, concurrency, async ({ call, gap }) => {
    try {
      // The call as Hipcall has it now: the fullest record, and a recording link that has not expired.
      const fresh = await deps.hipcall.get(source.id, call.uuid, req.signal);
      // Only GET /calls/{uuid}'s link: the list's may be near its expiry by the time the worker runs.
      const url = recordingUrlOf(fresh);
      if (gap === 'missing') {
        await backfill(deps, source, { ...call.raw, ...fresh }, url !== undefined, new Date(clock()).toISOString(), req.signal);
        summary.backfilled++;
      }
      if (url)
        jobs.push({
          provider: 'hipcall',
          source: source.id,
          callId: call.uuid,
          media: 'recording',
          url,
          queuedAt: new Date(clock()).toISOString(),
        });
      else if (gap === 'recording') throw new Error('Hipcall gave no recording link for this call (it may have been deleted there)');
    } catch (err) {
      fail(call.uuid, err);
    }
  });
  if (jobs.length > 0) {
    try {
      // The recordings are long uploaded: no delay.
      await deps.queues.sendMedia(jobs, 0, req.signal);
      summary.recordingsQueued = jobs.length;
    } catch (err) {
      for (const job of jobs) fail(job.callId, err);
    }
  }
  deps.log.info('reconcile finished', {
    source: source.id,
    seen: summary.seen,
    missing: summary.missing,
    backfilled: summary.backfilled,
    recordingsQueued: summary.recordingsQueued,
    errors: summary.errors,
  });
  return summary;
}

/**
 * Write one missing call as the ingest writes a webhook: the same adapter and merge, under the
 * `reconcile` delivery label so its history shows where it came from, and the delivery kept in raw/.
 */
async function backfill(
  deps: ReconcileDeps,
  source: SourceConfig,
  call: Record<string, unknown>,
  hasRecording: boolean,
  receivedAt: string,
  signal?: AbortSignal,
): Promise<void> {
  const body = Buffer.from(stableJson(deliveryOfApiCall(call)), 'utf8');
  const sha256 = sha256Hex(body);
  const result = normaliseDelivery('hipcall', JSON.parse(body.toString('utf8')), {
    defaultCountry: deps.config.defaultCountry,
    receivedAt,
  });
  if (result.outcome !== 'events') throw new ValidationError('the call from the Hipcall API did not read as a call event');
  const key = deliveryKey(RECONCILE_EVENT, sha256);
  for (const event of result.events) {
    const at = event.fields.startedAt ?? receivedAt;
    await deps.archive.putRaw(
      S3_KEYS.raw('hipcall', at, event.callId, receivedAt, `${RECONCILE_EVENT}-${sha256.slice(0, 16)}`),
      body,
      { source: source.id, receivedAt, contentType: 'application/json' },
      signal,
    );
    const applied = await applyDelivery(
      deps.calls,
      {
        source: source.id,
        event,
        deliveryKey: key,
        now: receivedAt,
        queuedMedia: hasRecording ? ['recording'] : [],
        itemTtlDays: deps.config.protection.itemTtlDays,
      },
      signal,
    );
    // As the ingest does: an ended call with nothing on its way gets its SQL row now (a recording's comes from the worker).
    const { record } = applied;
    if (applied.outcome !== 'stored' || !callEnded(record) || mediaPending(record)) continue;
    try {
      await deps.archive.putCallRecord(S3_KEYS.cdr(record.provider, callFiledAt(record, record.createdAt), record.callId), record, signal);
    } catch (err) {
      deps.log.warn('reconcile: cdr row not written (the call is stored)', {
        source: source.id,
        callId: event.callId,
        error: (err as Error).name,
      });
    }
  }
}

/** The window a scheduled run looks at: the source's look-back up to now. */
export function scheduledWindow(lookBackHours: number, nowMs: number): ReconcileWindow {
  return { since: new Date(nowMs - lookBackHours * 3_600_000).toISOString(), until: new Date(nowMs).toISOString() };
}

/**
 * The scheduled run: the one source the schedule names, or every source with `reconcile` config. A
 * source that fails is logged and reported; the others still run.
 */
export async function reconcileScheduled(deps: ReconcileDeps, sourceId?: string): Promise<ReconcileSummary[]> {
  const nowMs = (deps.now ?? Date.now)();
  const sources = deps.config.sources.filter((s) => s.reconcile && (sourceId === undefined || s.id === sourceId));
  if (sourceId !== undefined && sources.length === 0)
    deps.log.warn('reconcile scheduled for a source without reconcile config; nothing done', { source: sourceId });
  const out: ReconcileSummary[] = [];
  for (const source of sources) {
    const window = scheduledWindow(source.reconcile!.lookBackHours, nowMs);
    try {
      out.push(await reconcileSource(deps, { source: source.id, ...window }));
    } catch (err) {
      deps.log.error('reconcile of a source failed; the next scheduled run tries again', {
        source: source.id,
        error: (err as Error).name,
        reason: (err as Error).message,
      });
      const failed = emptySummary(source.id, window, false);
      failed.errors = 1;
      failed.callIds.errors.push({ callId: '', message: (err as Error).message.slice(0, 300) });
      out.push(failed);
    }
    // Every run counts, 0 included: a run that never reports is the Errors alarm's, one that fails is this one's.
    deps.metrics.count(METRIC.reconcileFailed, { source: source.id }, out.at(-1)!.errors);
  }
  return out;
}
