/**
 * The monthly cost of CallVault from three inputs: the stack's settings (stack-settings.ts), the
 * requests one call makes (profile.ts, recorded from the code) and the durations (durations.ts).
 * Pure: no I/O, so a test can change one setting and watch the estimate move.
 */
import type { Duration } from './durations.ts';
import { UNKNOWN_DURATION } from './durations.ts';
import type { PriceTable } from './prices.ts';
import type { RequestProfile } from './profile.ts';
import type { StackSettings } from './stack-settings.ts';

export interface CostInputs {
  callsPerMonth: number;
  /** Average recording size, MB. */
  avgRecordingMb: number;
  /** Share of calls with a recording, 0..1. */
  shareWithRecording: number;
  /** Months of calls the archive holds when the month is priced (storage grows month by month). */
  monthsKept: number;
  /** Configured sources (metrics with a source dimension are per source). */
  sources: number;
  /** The media worker's multipart part size, bytes (from its environment, else the code's default). */
  partSizeBytes: number;
}

export interface CostLine {
  service: string;
  item: string;
  quantity: number;
  unit: string;
  usd: number;
}

export interface CostEstimate {
  inputs: CostInputs;
  lines: CostLine[];
  byService: Record<string, number>;
  total: number;
  assumptions: string[];
}

const MB = 1024 * 1024;
const GB = 1024 ** 3;
const DAYS = 30;
const SECONDS_PER_MONTH = DAYS * 24 * 3600;
/** Lambda writes START, END and REPORT lines per invocation (plus its own platform lines): about this many bytes. */
export const PLATFORM_LOG_BYTES = 350;
/** One HTTP API access log line in the stack's JSON format, about. */
export const ACCESS_LOG_BYTES = 400;
/** S3 server access log record per request, about. */
export const S3_ACCESS_LOG_BYTES = 350;
/** Per-item overhead DynamoDB adds for storage (and each index copy). */
const DYNAMO_ITEM_OVERHEAD = 100;
/** Lambda's SQS event source keeps about five long polls (20 s each) open per queue while it is idle. */
export const ESM_POLLS_PER_MONTH = 5 * 3 * 60 * 24 * DAYS;
/** Secrets are cached for five minutes per warm function instance (functions/adapters/*secrets*). */
const SECRET_REFRESHES_PER_INSTANCE = (DAYS * 24 * 60) / 5;

const STORAGE_PRICE: Record<string, keyof PriceTable> = {
  STANDARD: 's3StandardGb',
  STANDARD_IA: 's3StandardIaGb',
  GLACIER_IR: 's3GlacierIrGb',
};
const TRANSITION_PRICE: Record<string, keyof PriceTable> = { STANDARD_IA: 's3TransitionStandardIa', GLACIER_IR: 's3TransitionGlacierIr' };

/** Invocations of `fn` per call: the media worker runs only for calls with a recording. */
function perCall(profile: RequestProfile, fn: string, inputs: CostInputs): number {
  const f = profile.functions[fn as keyof RequestProfile['functions']];
  if (!f) return 0;
  return fn === 'media' ? inputs.shareWithRecording : 1;
}

/** Requests of `op` (`s3:PutObject`) per call, over all functions, weighted as perCall. */
function requestsPerCall(profile: RequestProfile, inputs: CostInputs, match: (op: string) => boolean): number {
  let n = 0;
  for (const [fn, f] of Object.entries(profile.functions)) {
    const w = perCall(profile, fn, inputs);
    for (const [op, count] of Object.entries(f.requests)) if (match(op)) n += count * w;
  }
  return n;
}

export function estimateCost(
  settings: StackSettings,
  profile: RequestProfile,
  durations: Record<string, Duration>,
  prices: PriceTable,
  inputs: CostInputs,
): CostEstimate {
  const lines: CostLine[] = [];
  const assumptions: string[] = [];
  const add = (service: string, item: string, quantity: number, price: keyof PriceTable, unitsPer = 1) => {
    const p = prices[price];
    lines.push({ service, item, quantity, unit: p.unit, usd: (quantity / unitsPer) * p.usd });
  };
  const calls = inputs.callsPerMonth;
  const recordingBytes = inputs.avgRecordingMb * MB;

  // API Gateway: one request per delivery.
  const deliveriesPerCall = profile.functions.ingest.invocations;
  add('API Gateway (HTTP API)', `${deliveriesPerCall} deliveries per call`, calls * deliveriesPerCall, 'apiHttpRequest');

  // Lambda: requests and GB-seconds per function, from its memory and architecture in the stack.
  const invocations: Record<string, number> = {};
  const durationMs: Record<string, number> = {};
  for (const fn of Object.values(settings.functions)) {
    const d = durations[fn.name] ?? UNKNOWN_DURATION;
    const profiled = profile.functions[fn.name as keyof RequestProfile['functions']];
    const scheduled = settings.schedules.filter((s) => s.fn === fn.name).reduce((sum, s) => sum + s.perMonth, 0);
    const n = (profiled ? calls * profiled.invocations * perCall(profile, fn.name, inputs) : 0) + scheduled;
    invocations[fn.name] = n;
    const ms = Math.min(fn.timeoutSeconds * 1000, d.ms + (d.msPerMb ?? 0) * inputs.avgRecordingMb);
    durationMs[fn.name] = ms;
    if (n === 0) continue;
    add('Lambda', `${fn.name}: requests`, n, 'lambdaRequest');
    const gbSeconds = n * (ms / 1000) * (fn.memoryMb / 1024);
    add(
      'Lambda',
      `${fn.name}: ${fn.memoryMb} MB ${fn.architecture} x ${Math.round(ms)} ms`,
      gbSeconds,
      fn.architecture === 'arm64' ? 'lambdaGbSecondArm' : 'lambdaGbSecondX86',
    );
    const c = settings.queueConsumers.find((q) => q.fn === fn.name);
    const avgConcurrency = (n * ms) / 1000 / SECONDS_PER_MONTH;
    if (c?.maximumConcurrency !== undefined && avgConcurrency * 10 > c.maximumConcurrency) {
      assumptions.push(
        `${fn.name}: busy-hour concurrency (10x the average, ${(avgConcurrency * 10).toFixed(1)}) exceeds the event source's maximum concurrency ${c.maximumConcurrency}: jobs will queue, not cost more`,
      );
    }
  }

  // DynamoDB: each write is billed on the item's size, once for the table and once per index.
  const writes =
    requestsPerCall(profile, inputs, (op) => /^dynamodb:(UpdateItem|PutItem|DeleteItem|BatchWriteItem)$/.test(op)) +
    2 * requestsPerCall(profile, inputs, (op) => op === 'dynamodb:TransactWriteItems');
  const reads = requestsPerCall(profile, inputs, (op) => /^dynamodb:(GetItem|BatchGetItem|Query)$/.test(op));
  const wruPerWrite = Math.ceil(profile.itemBytes / 1024) * (1 + settings.callsTable.gsis);
  add(
    'DynamoDB',
    `writes: ${writes.toFixed(1)} per call x ${wruPerWrite} WRU (item ${profile.itemBytes} B, ${settings.callsTable.gsis} indexes)`,
    calls * writes * wruPerWrite,
    'dynamoWriteUnit',
  );
  add(
    'DynamoDB',
    `reads: ${reads.toFixed(1)} per call (strongly consistent)`,
    calls * reads * Math.ceil(profile.itemBytes / 4096),
    'dynamoReadUnit',
  );
  const tableGb = (calls * inputs.monthsKept * (profile.itemBytes + DYNAMO_ITEM_OVERHEAD) * (1 + settings.callsTable.gsis)) / GB;
  add('DynamoDB', `storage: ${inputs.monthsKept} months of items, indexes included`, tableGb, 'dynamoStorageGb');
  if (settings.callsTable.pitr) add('DynamoDB', 'point-in-time recovery', tableGb, 'dynamoPitrGb');

  // S3 requests: the recorded PUTs, with the recording as a multipart upload when it is larger than a part.
  const recordingPuts = Object.values(profile.functions).reduce((sum, f) => sum + (f.s3PutsByPrefix['recordings/'] ?? 0), 0);
  const parts = Math.ceil(recordingBytes / inputs.partSizeBytes);
  const putsPerRecording = parts > 1 ? parts + 2 : 1;
  const puts =
    requestsPerCall(profile, inputs, (op) =>
      /^s3:(PutObject|CreateMultipartUpload|UploadPart|CompleteMultipartUpload|CopyObject)$/.test(op),
    ) +
    recordingPuts * inputs.shareWithRecording * (putsPerRecording - 1);
  add('S3', `PUT requests: ${puts.toFixed(1)} per call${parts > 1 ? ` (recording in ${parts} parts)` : ''}`, calls * puts, 's3Put');
  const gets = requestsPerCall(profile, inputs, (op) => /^s3:(GetObject|HeadObject)$/.test(op));
  if (gets > 0) add('S3', `GET requests: ${gets.toFixed(1)} per call`, calls * gets, 's3Get');

  // S3 storage: every day's objects, aged through the lifecycle rules, over the months kept.
  const bytesPerCall: Record<string, number> = {
    ...profile.storedBytesByPrefix,
    'recordings/': recordingBytes * inputs.shareWithRecording,
  };
  const byClass: Record<string, number> = {};
  const transitions: Record<string, number> = {};
  const horizon = inputs.monthsKept * DAYS;
  for (const [prefix, bytes] of Object.entries(bytesPerCall)) {
    const tiers = settings.archive.tiers[prefix] ?? [];
    const expire = settings.archive.expireDays[prefix];
    for (let age = 0; age < horizon; age++) {
      if (expire !== undefined && age >= expire) break;
      const cls = [...tiers].reverse().find((t) => age >= t.afterDays)?.storageClass ?? 'STANDARD';
      byClass[cls] = (byClass[cls] ?? 0) + ((calls / DAYS) * bytes) / GB;
    }
    // In a steady month, a month's worth of objects crosses each transition the horizon reaches.
    const objects = prefix === 'recordings/' ? inputs.shareWithRecording : 1;
    for (const t of tiers) if (t.afterDays < horizon) transitions[t.storageClass] = (transitions[t.storageClass] ?? 0) + calls * objects;
  }
  // Rewritten objects (cdr/) keep their old versions until the noncurrent rule deletes them.
  const cdrRewrites = Math.max(0, Object.values(profile.functions).reduce((sum, f) => sum + (f.s3PutsByPrefix['cdr/'] ?? 0), 0) - 1);
  if (settings.archive.versioned && cdrRewrites > 0) {
    byClass.STANDARD =
      (byClass.STANDARD ?? 0) +
      (calls *
        cdrRewrites *
        (profile.storedBytesByPrefix['cdr/'] ?? 0) *
        Math.min(horizon, settings.archive.noncurrentExpireDays ?? horizon)) /
        DAYS /
        GB;
  }
  for (const [cls, gb] of Object.entries(byClass)) {
    const price = STORAGE_PRICE[cls];
    if (!price) {
      assumptions.push(`S3 storage class ${cls} has no price in the table: ${gb.toFixed(1)} GB-month not priced`);
      continue;
    }
    add('S3', `storage ${cls}: ${inputs.monthsKept} months of calls`, gb, price);
  }
  for (const [cls, n] of Object.entries(transitions)) {
    const price = TRANSITION_PRICE[cls];
    if (price) add('S3', `lifecycle transitions to ${cls}`, n, price);
  }
  const s3Requests = calls * (puts + gets);
  add(
    'S3',
    `server access logs (${S3_ACCESS_LOG_BYTES} B per request, 12 months)`,
    (s3Requests * S3_ACCESS_LOG_BYTES * Math.min(12, inputs.monthsKept)) / GB,
    's3StandardGb',
  );

  // SQS: the functions' sends, the event sources' receive + delete per message, and their idle polls.
  const sends = requestsPerCall(profile, inputs, (op) => op.startsWith('sqs:'));
  const messages = (invocations.media ?? 0) + (invocations.insight ?? 0);
  add('SQS', `sends: ${sends.toFixed(1)} per call`, calls * sends, 'sqsRequest');
  add('SQS', 'event sources: receive + delete per message', 2 * messages, 'sqsRequest');
  add(
    'SQS',
    `event sources: empty long polls (${settings.queueConsumers.length} queues)`,
    settings.queueConsumers.length * ESM_POLLS_PER_MONTH,
    'sqsRequest',
  );

  // Secrets Manager: the stack's secrets, and reads every five minutes per warm instance.
  add('Secrets Manager', `${settings.secrets} secrets`, settings.secrets, 'secret');
  let secretReads = 0;
  for (const fn of Object.values(settings.functions)) {
    const n = invocations[fn.name] ?? 0;
    if (fn.secretsRead === 0 || n === 0) continue;
    const warm = Math.max(1, Math.ceil((n * (durationMs[fn.name] ?? 0)) / 1000 / SECONDS_PER_MONTH));
    secretReads += fn.secretsRead * Math.min(n, warm * SECRET_REFRESHES_PER_INSTANCE);
  }
  add('Secrets Manager', 'GetSecretValue (5-minute cache per warm instance)', secretReads, 'secretApiCall');

  // CloudWatch: metrics the code emits (per source when they carry a source dimension), alarms, dashboards, logs.
  const perSource = profile.emf.metrics.filter((m) => /[{,]source=/.test(m)).length;
  const metricCount = profile.emf.metrics.length - perSource + perSource * inputs.sources;
  add('CloudWatch', `custom metrics (EMF): ${metricCount}`, metricCount, 'cwMetric');
  add('CloudWatch', `alarms: ${settings.alarms}`, settings.alarms, 'cwAlarm');
  if (settings.dashboards > 0) add('CloudWatch', `dashboards: ${settings.dashboards}`, settings.dashboards, 'cwDashboard');
  const totalInvocations = Object.values(invocations).reduce((a, b) => a + b, 0);
  const fnLogGb = (totalInvocations * PLATFORM_LOG_BYTES + calls * profile.emf.bytes) / GB;
  const accessLogGb = settings.accessLogRetentionDays !== undefined ? (calls * deliveriesPerCall * ACCESS_LOG_BYTES) / GB : 0;
  add('CloudWatch', 'logs ingested (function platform lines, EMF, API access log)', fnLogGb + accessLogGb, 'cwLogsIngestGb');
  const retention = (days: number | undefined) => Math.min(days ?? horizon, horizon) / DAYS;
  const fnRetention = Math.max(0, ...Object.values(settings.functions).map((f) => retention(f.logRetentionDays)));
  add(
    'CloudWatch',
    'logs stored (uncompressed upper bound, by retention)',
    fnLogGb * fnRetention + accessLogGb * retention(settings.accessLogRetentionDays),
    'cwLogsStorageGb',
  );
  const silenceRuns = settings.schedules.filter((s) => s.fn === 'silence').reduce((sum, s) => sum + s.perMonth, 0);
  if (silenceRuns > 0)
    add('CloudWatch', 'GetMetricData (silence check, one metric per source per run)', silenceRuns * inputs.sources, 'cwGetMetricData');

  if (settings.kmsKeys > 0) {
    add('KMS', `customer managed keys: ${settings.kmsKeys}`, settings.kmsKeys, 'kmsKey');
    assumptions.push(
      'KMS requests are not priced: S3 bucket keys and the services\u2019 data-key caches keep them to thousands a month (cents)',
    );
  }
  if (settings.schedules.length > 0)
    add(
      'EventBridge',
      `scheduled rules: ${settings.schedules.length}`,
      settings.schedules.reduce((s, r) => s + r.perMonth, 0),
      'eventBridgeScheduledRule',
    );
  if (settings.athena.workgroups + settings.athena.glueTables > 0) {
    lines.push({
      service: 'Glue / Athena',
      item: 'catalog (free under 1M objects); queries billed per TB scanned',
      quantity: 0,
      unit: prices.athenaTbScanned.unit,
      usd: 0,
    });
    assumptions.push(`Athena queries are billed at $${prices.athenaTbScanned.usd} per TB they scan: not included`);
  }

  assumptions.push(
    `storage is priced for month ${inputs.monthsKept} of a steady ${calls} calls/month (it grows until lifecycle rules or expiry level it)`,
    'no free tier, no savings plans; data transfer out (downloads) not included',
    `Lambda log lines ~${PLATFORM_LOG_BYTES} B per invocation, API access log ~${ACCESS_LOG_BYTES} B per request`,
    'each DynamoDB write is billed on the final item size and written to every index (ALL projection): an upper bound',
  );

  const byService: Record<string, number> = {};
  for (const l of lines) byService[l.service] = (byService[l.service] ?? 0) + l.usd;
  const total = lines.reduce((a, l) => a + l.usd, 0);
  return { inputs, lines, byService, total, assumptions };
}
