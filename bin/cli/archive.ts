/**
 * `callvault urls` and `callvault replay`: the webhook URLs to paste into provider dashboards, and putting
 * dead-lettered, unapplied or archived work back on its way (`calls` is in calls.ts).
 * Every command works against the local stack (--local) or the deployed stack (default AWS credentials).
 */
import { parseArgs } from 'node:util';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parseTokenSecret } from '#adapters/webhook-tokens.ts';
import { pascal } from '#lib/resources.ts';
import { LOCAL_CREDENTIALS } from '#bin/local/target.ts';
import { CliError, readLocalEndpoints, readProjectConfig, stackOutputs, type LocalEndpoints } from './context.ts';

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
