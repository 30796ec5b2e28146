/**
 * `callvault urls` and `callvault replay`: the webhook URLs to paste into provider dashboards, and putting
 * dead-lettered, unapplied or archived work back on its way (`calls` is in calls.ts).
 * Every command works against the local stack (--local) or the deployed stack (default AWS credentials).
 */
import { parseArgs } from 'node:util';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { parseTokenSecret } from '#adapters/webhook-tokens.ts';
import { pascal } from '#contract/resources.ts';
import { LOCAL_CREDENTIALS } from '#bin/local/target.ts';
import type { CallVaultConfig } from '#contract/config.ts';
import { dayFlag, openReader } from './calls.ts';
import { describeReplay, rawDelivery, replayRaw } from './replay-raw.ts';
import { CliError, readLocalEndpoints, stackOutputs, type LocalEndpoints } from './context.ts';
import { readProjectConfig } from '#bin/local/project-config.ts';

// `calls` grew subcommands and lives in calls.ts; these names stay importable from here.
export { callsCommand, CALLS_USAGE } from './calls.ts';
export { callsQueryInput, type CallsQuery } from './archive-reader.ts';

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
  if (values.help) return (out(URLS_USAGE), 0);
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

export const REPLAY_USAGE = `Usage: callvault replay (--dlq media|insight|replay | --unapplied | --since YYYY-MM-DD --until YYYY-MM-DD [--source ID] [--dry-run] [--json]) [--max 1000] [--local] [--stack CallVault] [--region R]
  --dlq NAME     move the messages of a dead-letter queue back to its queue, to be tried again
  --unapplied    put every delivery kept in raw/ as *.unapplied.json (when even the replay queue was down) on the replay queue
  --since, --until
                 re-apply the deliveries archived in raw/ for calls of those days through today's adapters
                 (after an adapter fix), and print each call's changes; --dry-run only shows them.
                 Media maps and Insight Cards are left alone: "callvault reconcile" fetches missing recordings.
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
  if (since > until) throw new CliError(`--since (${since}) is after --until (${until}): swap them.`);
  const config = io.config ?? (await readProjectConfig());
  const reader = await openReader(values, {});
  try {
    const report = await replayRaw(reader, {
      config,
      since,
      until,
      ...(values.source !== undefined ? { source: values.source } : {}),
      dryRun: values['dry-run'],
    });
    if (values.json) out(JSON.stringify(report, null, 2));
    else for (const line of describeReplay(report)) out(line);
    // A call that could not be brought up to date is worth a non-zero exit: a script should notice.
    return report.summary.conflict || report.summary.refused ? 1 : 0;
  } finally {
    reader.destroy();
  }
}

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

export async function replayCommand(argv: string[], out: Out = console.log, io: ReplayIo = {}): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...common,
      dlq: { type: 'string' },
      unapplied: { type: 'boolean', default: false },
      max: { type: 'string', default: '1000' },
      since: { type: 'string' },
      until: { type: 'string' },
      source: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return (out(REPLAY_USAGE), 0);
  const fromRaw = values.since !== undefined || values.until !== undefined;
  if ([Boolean(values.dlq), values.unapplied, fromRaw].filter(Boolean).length !== 1)
    throw new CliError(`Give exactly one of --dlq NAME, --unapplied, or --since/--until.\n\n${REPLAY_USAGE}`);
  if (fromRaw) return replayFromRaw(values, out, io);
  if (values.source !== undefined || values['dry-run'])
    throw new CliError('--source and --dry-run go with --since/--until (replaying raw/), not with --dlq or --unapplied.');
  const max = Number(values.max);
  const t = await target(values);
  try {
    if (values.dlq) {
      if (!['media', 'insight', 'replay'].includes(values.dlq))
        throw new CliError(`--dlq must be media, insight or replay, not "${values.dlq}".`);
      const from = t.queue(`${values.dlq}Dlq`);
      const to = t.queue(values.dlq);
      if (!from || !to) throw new CliError(`Queue URLs for "${values.dlq}" were not found.`);
      let moved = 0;
      while (moved < max) {
        const { Messages = [] } = await t.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: from, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }),
        );
        if (!Messages.length) break;
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
            `${Messages.length - done.length} message(s) could not be sent back to ${values.dlq}; they stay in the DLQ. Run the command again.`,
          );
      }
      out(`${moved} message(s) moved from the ${values.dlq} DLQ back to the ${values.dlq} queue.`);
      return 0;
    }
    const replay = t.queue('replay');
    if (!replay || !t.bucket) throw new CliError('The replay queue or the archive bucket was not found.');
    const config = io.config ?? (await readProjectConfig());
    let sent = 0;
    let token: string | undefined;
    do {
      const page = await t.s3.send(new ListObjectsV2Command({ Bucket: t.bucket, Prefix: 'raw/', ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        if (!o.Key?.endsWith('.unapplied.json') || sent >= max) continue;
        // raw/{provider}/{YYYY}/{MM}/{DD}/{callId}/{receivedAt}-{eventKey}.unapplied.json
        const { source, receivedAt, contentType } = await rawDelivery({ s3: t.s3, bucket: t.bucket }, o.Key, config);
        await t.sqs.send(
          new SendMessageCommand({
            QueueUrl: replay,
            MessageBody: JSON.stringify({ source, receivedAt, contentType, rawKey: o.Key, reason: 'callvault replay --unapplied' }),
          }),
        );
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
