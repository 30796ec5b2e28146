/**
 * `callvault urls`, `callvault calls` and `callvault replay`: the webhook URLs to paste into provider
 * dashboards, a look at the archive, and putting dead-lettered or unapplied work back on its way.
 * Every command works against the local stack (--local) or the deployed stack (default AWS credentials).
 */
import { parseArgs } from 'node:util';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parseTokenSecret } from '#adapters/webhook-tokens.ts';
import { CALL_INDEX_TIME, pascal } from '#lib/resources.ts';
import { LOCAL_CREDENTIALS } from '#bin/local/target.ts';
import { CliError, documentClient, readLocalEndpoints, readProjectConfig, stackOutputs, type LocalEndpoints } from './context.ts';

type Out = (line: string) => void;

const common = {
  local: { type: 'boolean', default: false },
  stack: { type: 'string', default: 'CallVault' },
  region: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;



export const URLS_USAGE = `Usage: callvault urls [--local] [--stack CallVault] [--region R]
Prints each source's webhook URL, token included, to paste into the provider's dashboard.`;

export async function urlsCommand(argv: string[], out: Out = console.log): Promise<number> {
  const { values } = parseArgs({ args: argv, options: common, strict: true });
  if (values.help) return out(URLS_USAGE), 0;
  if (values.local) {
    const e = await readLocalEndpoints();
    for (const s of e.sources) out(`${s.id.padEnd(12)} ${s.provider.padEnd(10)} ${s.url}`);
    return 0;
  }
  const config = await readProjectConfig();
  const outputs = await stackOutputs(values.stack, values.region);
  const base = outputs.WebhookBaseUrl;
  if (!base) throw new CliError(`Stack "${values.stack}" has no WebhookBaseUrl output: is it a CallVault stack?`);
  const sm = new SecretsManagerClient(values.region ? { region: values.region } : {});
  try {
    for (const s of config.sources) {
      const command = outputs[`WebhookTokenCommand${pascal(s.id)}`] ?? '';
      const arn = /--secret-id\s+(\S+)/.exec(command)?.[1];
      let token = '<token>';
      if (arn) {
        const { SecretString } = await sm.send(new GetSecretValueCommand({ SecretId: arn }));
        token = parseTokenSecret(SecretString ?? '')[0] ?? '<token>';
      }
      out(`${s.id.padEnd(12)} ${s.provider.padEnd(10)} ${base}/${s.id}/${token}`);
    }
  } finally {
    sm.destroy();
  }
  return 0;
}

export const CALLS_USAGE = `Usage: callvault calls (--day YYYY-MM-DD | --customer NUMBER) [--from TIME] [--to TIME] [--newest] [--limit 50] [--json] [--local] [--stack CallVault] [--region R]
Lists calls of one day (byDay index) or of one customer (byCustomerNumber index), oldest first, by callAt:
the call's start time, or when it has none (post-call deliveries, status-only calls) its first delivery's time.
  --from, --to   only calls with callAt in [from, to] (ISO-8601 UTC, e.g. 2026-04-02T09:00:00Z)
  --newest       newest first`;

/** What `calls` looks up: one day or one customer, optionally a callAt range, in either order. */
export interface CallsQuery {
  table: string;
  day?: string;
  customer?: string;
  /** Inclusive ISO-8601 bounds on callAt. */
  from?: string;
  to?: string;
  newestFirst?: boolean;
}

/** An ISO-8601 UTC time as the items store it (`2026-04-02T09:00:00.000Z`), for comparing with callAt as text. */
function isoBound(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const t = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value) ? Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value) : NaN;
  if (Number.isNaN(t)) throw new CliError(`${flag} must be an ISO-8601 time such as 2026-04-02T09:00:00Z or a day such as 2026-04-02, not "${value}".`);
  return new Date(t).toISOString();
}

/** The index query of `calls`: both indexes sort by callAt, so a range and the order are key conditions. */
export function callsQueryInput(q: CallsQuery): QueryCommandInput {
  const names: Record<string, string> = { '#k': q.day ? 'day' : 'customerNumber' };
  const values: Record<string, unknown> = { ':v': q.day ?? q.customer };
  let condition = '#k = :v';
  if (q.from !== undefined || q.to !== undefined) {
    names['#t'] = CALL_INDEX_TIME;
    if (q.from !== undefined) values[':from'] = q.from;
    if (q.to !== undefined) values[':to'] = q.to;
    condition += q.from !== undefined && q.to !== undefined ? ' AND #t BETWEEN :from AND :to' : q.from !== undefined ? ' AND #t >= :from' : ' AND #t <= :to';
  }
  return {
    TableName: q.table,
    IndexName: q.day ? 'byDay' : 'byCustomerNumber',
    KeyConditionExpression: condition,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ScanIndexForward: !q.newestFirst,
  };
}

export async function callsCommand(argv: string[], out: Out = console.log): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...common,
      day: { type: 'string' },
      customer: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      newest: { type: 'boolean', default: false },
      limit: { type: 'string', default: '50' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return out(CALLS_USAGE), 0;
  if (!values.day === !values.customer) throw new CliError(`Give exactly one of --day or --customer.\n\n${CALLS_USAGE}`);
  if (values.day && !/^\d{4}-\d{2}-\d{2}$/.test(values.day)) throw new CliError(`--day must look like 2026-04-02, not "${values.day}".`);
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new CliError('--limit must be a whole number of at least 1.');
  const from = isoBound('--from', values.from);
  // A bare day as --to means up to the end of that day.
  const to = values.to !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(values.to) ? `${values.to}T23:59:59.999Z` : isoBound('--to', values.to);
  if (from && to && from > to) throw new CliError(`--from (${from}) is after --to (${to}): swap them.`);
  let table: string;
  let doc: DynamoDBDocumentClient;
  if (values.local) {
    const e = await readLocalEndpoints();
    table = e.tables.calls;
    doc = documentClient({ local: e });
  } else {
    const outputs = await stackOutputs(values.stack, values.region);
    table = outputs.CallsTableName ?? '';
    if (!table) throw new CliError(`Stack "${values.stack}" has no CallsTableName output.`);
    doc = documentClient({ region: values.region });
  }
  let customer = values.customer;
  if (customer) {
    const { toE164 } = await import('#core/phone.ts');
    customer = toE164(customer, (await readProjectConfig()).defaultCountry) ?? customer;
  }
  try {
    const input = callsQueryInput({ table, day: values.day, customer, from, to, newestFirst: values.newest });
    // A page stops at 1 MB: follow LastEvaluatedKey until the limit is met or the index has no more.
    const Items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(new QueryCommand({ ...input, Limit: limit - Items.length, ExclusiveStartKey: start }));
      Items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start && Items.length < limit);
    if (values.json) {
      out(JSON.stringify(Items, null, 2));
      return 0;
    }
    if (!Items.length) {
      out('No calls found.');
      return 0;
    }
    out([CALL_INDEX_TIME.padEnd(24), 'call'.padEnd(44), 'dir'.padEnd(9), 'status'.padEnd(10), 'secs'.padStart(5), ' customer'.padEnd(17), ' recording'].join(' '));
    for (const i of Items) {
      const rec = (i.recording as { state?: string } | undefined)?.state ?? '-';
      out([String(i[CALL_INDEX_TIME] ?? i.startedAt ?? '').padEnd(24), String(i.callKey).slice(0, 44).padEnd(44), String(i.direction).padEnd(9), String(i.status).padEnd(10), String(i.durationSec ?? '').padStart(5), ` ${String(i.customerNumber ?? '').padEnd(16)}`, ` ${rec}`].join(' '));
    }
    return 0;
  } finally {
    doc.destroy();
  }
}

export const REPLAY_USAGE = `Usage: callvault replay (--dlq media|insight|replay | --unapplied) [--max 1000] [--local] [--stack CallVault] [--region R]
  --dlq NAME     move the messages of a dead-letter queue back to its queue, to be tried again
  --unapplied    put every delivery kept in raw/ as *.unapplied.json (when even the replay queue was down) on the replay queue
Every handler is idempotent: replaying something already applied changes nothing.`;

interface QueueTarget {
  sqs: SQSClient;
  s3: S3Client;
  bucket: string;
  queue: (name: string) => string | undefined;
}

async function target(values: { local: boolean; stack: string; region?: string }): Promise<QueueTarget> {
  if (values.local) {
    const e: LocalEndpoints = await readLocalEndpoints();
    const client = { region: e.region, credentials: LOCAL_CREDENTIALS };
    return {
      sqs: new SQSClient({ ...client, endpoint: e.sqs }),
      s3: new S3Client({ ...client, endpoint: e.s3, forcePathStyle: true }),
      bucket: e.bucket,
      queue: (name) => (e.queues as unknown as Record<string, string>)[name],
    };
  }
  const o = await stackOutputs(values.stack, values.region);
  const region = values.region ? { region: values.region } : {};
  const key: Record<string, string> = { media: 'MediaQueueUrl', mediaDlq: 'MediaDlqUrl', insight: 'InsightQueueUrl', insightDlq: 'InsightDlqUrl', replay: 'ReplayQueueUrl', replayDlq: 'ReplayDlqUrl' };
  return { sqs: new SQSClient(region), s3: new S3Client(region), bucket: o.ArchiveBucketName ?? '', queue: (name) => (key[name] ? o[key[name]!] : undefined) };
}

export async function replayCommand(argv: string[], out: Out = console.log): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...common, dlq: { type: 'string' }, unapplied: { type: 'boolean', default: false }, max: { type: 'string', default: '1000' } }, strict: true });
  if (values.help) return out(REPLAY_USAGE), 0;
  if (!values.dlq === !values.unapplied) throw new CliError(`Give exactly one of --dlq NAME or --unapplied.\n\n${REPLAY_USAGE}`);
  const max = Number(values.max);
  const t = await target(values);
  try {
    if (values.dlq) {
      if (!['media', 'insight', 'replay'].includes(values.dlq)) throw new CliError(`--dlq must be media, insight or replay, not "${values.dlq}".`);
      const from = t.queue(`${values.dlq}Dlq`);
      const to = t.queue(values.dlq);
      if (!from || !to) throw new CliError(`Queue URLs for "${values.dlq}" were not found.`);
      let moved = 0;
      while (moved < max) {
        const { Messages = [] } = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl: from, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }));
        if (!Messages.length) break;
        const sent = await t.sqs.send(new SendMessageBatchCommand({ QueueUrl: to, Entries: Messages.map((m, i) => ({ Id: String(i), MessageBody: m.Body! })) }));
        const ok = new Set((sent.Successful ?? []).map((s) => s.Id));
        const done = Messages.filter((_, i) => ok.has(String(i)));
        if (done.length) await t.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: from, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
        moved += done.length;
        if (done.length < Messages.length) throw new CliError(`${Messages.length - done.length} message(s) could not be sent back to ${values.dlq}; they stay in the DLQ. Run the command again.`);
      }
      out(`${moved} message(s) moved from the ${values.dlq} DLQ back to the ${values.dlq} queue.`);
      return 0;
    }
    const replay = t.queue('replay');
    if (!replay || !t.bucket) throw new CliError('The replay queue or the archive bucket was not found.');
    let sent = 0;
    let token: string | undefined;
    do {
      const page = await t.s3.send(new ListObjectsV2Command({ Bucket: t.bucket, Prefix: 'raw/', ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        if (!o.Key?.endsWith('.unapplied.json') || sent >= max) continue;
        // raw/{provider}/{YYYY}/{MM}/{DD}/{callId}/{receivedAt}-{eventKey}.unapplied.json
        const { source, receivedAt, contentType } = await deliveryOfRaw(t.s3, t.bucket, o.Key);
        await t.sqs.send(new SendMessageCommand({ QueueUrl: replay, MessageBody: JSON.stringify({ source, receivedAt, contentType, rawKey: o.Key, reason: 'callvault replay --unapplied' }) }));
        sent++;
      }
      token = page.NextContinuationToken;
    } while (token);
    out(`${sent} unapplied deliver${sent === 1 ? 'y' : 'ies'} put on the replay queue.`);
    return 0;
  } finally {
    t.sqs.destroy();
    t.s3.destroy();
  }
}

/**
 * Who delivered a raw/ object, when and as what: the ingest writes them as the object's metadata. A key
 * names only the provider, so an object without metadata falls back to the first source of its provider.
 */
async function deliveryOfRaw(s3: S3Client, bucket: string, key: string): Promise<{ source: string; receivedAt: string; contentType?: string }> {
  const { Metadata = {} } = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const receivedAt = Metadata['received-at'] || (key.split('/').pop() ?? '').slice(0, 24).replace(/_/g, ':');
  const contentType = Metadata['sent-content-type'] || undefined;
  if (Metadata.source) return { source: Metadata.source, receivedAt, contentType };
  const provider = key.split('/')[1];
  const config = await readProjectConfig();
  const source = config.sources.find((s) => s.provider === provider);
  if (!source) throw new CliError(`No configured source has provider "${provider}" (from ${key}).`);
  return { source: source.id, receivedAt, contentType };
}
