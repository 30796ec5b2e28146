/**
 * `callvault replay`: putting dead-lettered, unapplied or archived work back on its way (`calls` is in
 * calls.ts, `urls` in urls.ts). Works against the local stack (--local) or the deployed stack.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_CREDENTIALS } from '#bin/local/target.ts';
import type { CallVaultConfig } from '#contract/config.ts';
import { openReader } from './calls.ts';
import { describeReplay, rawDelivery, replayRaw } from './replay-raw.ts';
import { CliError, readLocalEndpoints, stackOutputs, type LocalEndpoints } from './context.ts';
import { choiceFlag, dayFlag, parseCommand, TARGET_OPTIONS, UsageError, wholeNumber } from './front.ts';
import { jsonText, print, Progress, type Out } from './output.ts';
import { readProjectConfig } from '#bin/local/project-config.ts';

// `calls` and `urls` live in their own files; these names stay importable from here.
export { callsCommand, CALLS_USAGE } from './calls.ts';
export { urlsCommand, URLS_USAGE } from './urls.ts';
export { callsQueryInput, type CallsQuery } from './archive-reader.ts';

export const REPLAY_USAGE = `Usage: callvault replay (--dlq media|insight|replay | --unapplied | --since YYYY-MM-DD --until YYYY-MM-DD [--source ID]) [--dry-run] [--json] [--max 1000] [--local] [--stack CallVault] [--region R]
  --dlq NAME     move the messages of a dead-letter queue back to its queue, to be tried again;
                 with --dry-run, print each message (its body and how often it was received) and move nothing
  --unapplied    put every delivery kept in raw/ as *.unapplied.json (when even the replay queue was down) on the replay queue;
                 with --dry-run, list them
  --since, --until
                 re-apply the deliveries archived in raw/ for calls of those days through today's adapters
                 (after an adapter fix), and print each call's changes; --dry-run only shows them.
                 Media maps and Insight Cards are left alone: "callvault reconcile" fetches missing recordings.
  --max N        at most N messages or deliveries (default 1000)
Every handler is idempotent: replaying something already applied changes nothing.`;

/** What `replay` may be given besides its arguments (tests pass the config they run the ingest with). */
export interface ReplayIo {
  config?: CallVaultConfig;
}

async function replayFromRaw(
  values: {
    since?: string | undefined;
    until?: string | undefined;
    source?: string | undefined;
    'dry-run': boolean;
    json: boolean;
    local: boolean;
    stack: string;
    region?: string | undefined;
  },
  out: Out,
  io: ReplayIo,
): Promise<number> {
  const since = dayFlag('--since', values.since);
  const until = dayFlag('--until', values.until);
  if (since > until) throw new UsageError(`--since (${since}) is after --until (${until}): swap them.`);
  const config = io.config ?? (await readProjectConfig());
  const reader = await openReader(values, {});
  const progress = new Progress();
  try {
    progress.update(`Re-applying raw/ deliveries of ${since}..${until} ...`);
    const report = await replayRaw(reader, {
      config,
      since,
      until,
      ...(values.source !== undefined ? { source: values.source } : {}),
      dryRun: values['dry-run'],
    });
    progress.done();
    if (values.json) out(jsonText(report));
    else for (const line of describeReplay(report)) out(line);
    // A call that could not be brought up to date is worth a non-zero exit: a script should notice.
    return report.summary.conflict || report.summary.refused ? 1 : 0;
  } finally {
    progress.done();
    reader.destroy();
  }
}

interface QueueTarget {
  sqs: SQSClient;
  s3: S3Client;
  bucket: string;
  queue: (name: string) => string | undefined;
}

async function target(values: { local: boolean; stack: string; region?: string | undefined }): Promise<QueueTarget> {
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
  const key: Record<string, string> = {
    media: 'MediaQueueUrl',
    mediaDlq: 'MediaDlqUrl',
    insight: 'InsightQueueUrl',
    insightDlq: 'InsightDlqUrl',
    replay: 'ReplayQueueUrl',
    replayDlq: 'ReplayDlqUrl',
  };
  return {
    sqs: new SQSClient(region),
    s3: new S3Client(region),
    bucket: o.ArchiveBucketName ?? '',
    queue: (name) => (key[name] ? o[key[name]] : undefined),
  };
}

/** A dead-lettered message as `replay --dlq --dry-run` shows it. */
export interface DlqMessage {
  messageId: string;
  /** How many times SQS handed it out (its queue's tries, then this look). */
  receiveCount: number;
  sentAt?: string;
  /** The body, parsed when it is JSON. */
  body: unknown;
}

function dlqMessage(m: Message): DlqMessage {
  let body: unknown = m.Body ?? '';
  try {
    body = JSON.parse(m.Body ?? '');
  } catch {
    // Not JSON: shown as the text it is.
  }
  const sent = Number(m.Attributes?.SentTimestamp);
  return {
    messageId: m.MessageId ?? '',
    receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
    ...(Number.isFinite(sent) && sent > 0 ? { sentAt: new Date(sent).toISOString() } : {}),
    body,
  };
}

const DLQ_NAMES = ['media', 'insight', 'replay'] as const;

/** Look at (dry run) or move back the messages of one DLQ. */
async function redriveDlq(t: QueueTarget, name: (typeof DLQ_NAMES)[number], o: { max: number; dryRun: boolean; json: boolean }, out: Out) {
  const from = t.queue(`${name}Dlq`);
  const to = t.queue(name);
  if (!from || !to) throw new CliError(`Queue URLs for "${name}" were not found.`);
  const seen: DlqMessage[] = [];
  const held: Message[] = [];
  let moved = 0;
  try {
    while (seen.length < o.max) {
      const { Messages = [] } = await t.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: from,
          MaxNumberOfMessages: Math.min(10, o.max - seen.length),
          WaitTimeSeconds: 1,
          // Long enough to read the whole queue once without seeing a message twice.
          VisibilityTimeout: 60,
          MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
        }),
      );
      if (!Messages.length) break;
      seen.push(...Messages.map(dlqMessage));
      if (o.dryRun) {
        held.push(...Messages);
        continue;
      }
      const sent = await t.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: to, Entries: Messages.map((m, i) => ({ Id: String(i), MessageBody: m.Body! })) }),
      );
      const ok = new Set((sent.Successful ?? []).map((s) => s.Id));
      const done = Messages.filter((_, i) => ok.has(String(i)));
      if (done.length)
        await t.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: from,
            Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      moved += done.length;
      if (done.length < Messages.length)
        throw new CliError(
          `${Messages.length - done.length} message(s) could not be sent back to ${name}; they stay in the DLQ. Run the command again.`,
        );
    }
  } finally {
    // A look changes nothing: what was read is visible again at once, for the redrive that follows.
    for (const m of held)
      await t.sqs
        .send(new ChangeMessageVisibilityCommand({ QueueUrl: from, ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 }))
        .catch(() => undefined);
  }
  if (o.json) {
    out(jsonText({ dlq: name, dryRun: o.dryRun, ...(o.dryRun ? {} : { moved }), messages: seen }));
    return;
  }
  if (o.dryRun) {
    for (const m of seen)
      out(`${m.messageId}  received ${m.receiveCount}x${m.sentAt ? `  first sent ${m.sentAt}` : ''}\n  ${JSON.stringify(m.body)}`);
    out(
      `${seen.length} message(s) in the ${name} DLQ (dry run: nothing moved). Fix what failed them, then run the same command without --dry-run.`,
    );
    return;
  }
  out(`${moved} message(s) moved from the ${name} DLQ back to the ${name} queue.`);
}

/** Put raw/ *.unapplied.json deliveries on the replay queue, or (dry run) list them. */
async function replayUnapplied(t: QueueTarget, o: { max: number; dryRun: boolean; json: boolean }, out: Out, io: ReplayIo) {
  const replay = t.queue('replay');
  if (!replay || !t.bucket) throw new CliError('The replay queue or the archive bucket was not found.');
  const config = io.config ?? (await readProjectConfig());
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await t.s3.send(new ListObjectsV2Command({ Bucket: t.bucket, Prefix: 'raw/', ContinuationToken: token }));
    for (const obj of page.Contents ?? []) {
      if (!obj.Key?.endsWith('.unapplied.json') || keys.length >= o.max) continue;
      keys.push(obj.Key);
      if (o.dryRun) continue;
      // raw/{provider}/{YYYY}/{MM}/{DD}/{callId}/{receivedAt}-{eventKey}.unapplied.json
      const { source, receivedAt, contentType } = await rawDelivery({ s3: t.s3, bucket: t.bucket }, obj.Key, config);
      await t.sqs.send(
        new SendMessageCommand({
          QueueUrl: replay,
          MessageBody: JSON.stringify({ source, receivedAt, contentType, rawKey: obj.Key, reason: 'callvault replay --unapplied' }),
        }),
      );
    }
    token = page.NextContinuationToken;
  } while (token);
  const n = keys.length;
  if (o.json) return out(jsonText({ unapplied: keys, dryRun: o.dryRun, ...(o.dryRun ? {} : { queued: n }) }));
  if (o.dryRun) {
    for (const k of keys) out(k);
    return out(`${n} unapplied deliver${n === 1 ? 'y' : 'ies'} in raw/ (dry run: nothing queued).`);
  }
  out(`${n} unapplied deliver${n === 1 ? 'y' : 'ies'} put on the replay queue.`);
}

export async function replayCommand(argv: string[], out: Out = print, io: ReplayIo = {}): Promise<number> {
  const { values } = parseCommand(argv, REPLAY_USAGE, {
    ...TARGET_OPTIONS,
    dlq: { type: 'string' },
    unapplied: { type: 'boolean', default: false },
    max: { type: 'string', default: '1000' },
    since: { type: 'string' },
    until: { type: 'string' },
    source: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
  });
  if (values.help) return (out(REPLAY_USAGE), 0);
  const fromRaw = values.since !== undefined || values.until !== undefined;
  if ([values.dlq !== undefined, values.unapplied, fromRaw].filter(Boolean).length !== 1)
    throw new UsageError('Give exactly one of --dlq NAME, --unapplied, or --since/--until.');
  if (fromRaw) return replayFromRaw(values, out, io);
  if (values.source !== undefined)
    throw new UsageError('--source goes with --since/--until (replaying raw/), not with --dlq or --unapplied.');
  const max = wholeNumber('--max', values.max, { min: 1 });
  const dlq = values.dlq === undefined ? undefined : choiceFlag('--dlq', values.dlq, DLQ_NAMES);
  const o = { max, dryRun: values['dry-run'], json: values.json };
  const t = await target(values);
  try {
    if (dlq) await redriveDlq(t, dlq, o, out);
    else await replayUnapplied(t, o, out, io);
    return 0;
  } finally {
    t.sqs.destroy();
    t.s3.destroy();
  }
}
