/**
 * `callvault check`: is the pipeline healthy right now? Sends one marked synthetic delivery through each
 * source's public URL, reads it back and removes it, then shows queue and DLQ depths, alarms in ALARM,
 * each source's last delivery and the Hipcall API tokens' state. Exits 1 when anything is wrong.
 */
import { randomBytes } from 'node:crypto';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ipAllowed } from '#core/source-ip.ts';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DeleteCommand, GetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parseConfig, type CallVaultConfig } from '#contract/config-schema.ts';
import { ENV, PREFIX, S3_KEYS, datePath, pascal } from '#contract/resources.ts';
import { LOCAL_CREDENTIALS, LOCAL_ENV } from '#bin/local/target.ts';
import { parseTokenSecret } from '#adapters/webhook-tokens.ts';
import { parseSigningSecret } from '#adapters/signing-secrets.ts';
import { parseHipcallApiSecret } from '#adapters/hipcall-api-secrets.ts';
import { SIGNATURE_HEADERS, signingKeyOf, standardWebhookSignature } from '#core/signature.ts';
import { callKeyOf, type Provider } from '#core/types.ts';
import { CliError, documentClient, readLocalEndpoints, stackOutputs } from './context.ts';
import { projectBootstrapQualifier, readProjectConfig } from '#bin/local/project-config.ts';
import {
  DEFAULT_BOOTSTRAP_QUALIFIER,
  beforeDeployLines,
  checkBeforeDeploy,
  defaultClients,
  destroyClients,
} from './check-before-deploy.ts';
import { parseCommand, TARGET_OPTIONS } from './front.ts';
import { jsonText, print, type Out } from './output.ts';

export const CHECK_USAGE = `Usage: callvault check [--local] [--source ID] [--json] [--stack CallVault] [--region R]
       callvault check --before-deploy [--json] [--stack CallVault] [--region R] [--qualifier Q]
Checks that CallVault is taking calls right now, and exits 1 when anything is wrong:
  1. sends a synthetic delivery (call id "callvault-check-<random>", no recording) through the public
     webhook URL of each source (or only --source ID), signed when the source sets "signature"
     (locally with ${LOCAL_ENV.signingSecret}; deployed with the {stack}/{source}/signing secret),
     expects 200 "stored", reads the call back from the calls table, then deletes the item and its raw/ and cdr/ objects
     (S3 keeps the deleted versions behind delete markers, expired after 30 days; with Object Lock, after the lock).
     A source with allowedSourceIps would refuse this machine (403): deployed, the check invokes the ingest
     function directly instead, as if from the first allowed address (needs lambda:InvokeFunction); locally it
     is skipped, unless allowedSourceIps covers 127.0.0.1;
  2. prints the depth of the media, insight and replay queues and of their DLQs (any DLQ message is a failure:
     inspect it, fix the cause, then "callvault replay --dlq NAME");
  3. lists the stack's CloudWatch alarms in ALARM (deployed only; there are no alarms locally);
  4. shows each source's last delivery: the newest updatedAt among calls of today and yesterday (UTC, byDay index);
  5. shows each Hipcall source's API token state (a placeholder is a failure: Insight Cards and fresh
     recording URLs need it; set it with the HipcallApiTokenCommand stack output).
  --json   print one JSON object with every check and its result instead of the screen
With --before-deploy, nothing is sent: it reads what "cdk synth" cannot know, with your credentials, and says
what fits and what to change before "cdk deploy": the account's Lambda concurrency against concurrency.* in
cdk.json, the CDK bootstrap version (/cdk-bootstrap/{qualifier}/version; --qualifier, default cdk.json's or
${DEFAULT_BOOTSTRAP_QUALIFIER}), and whether the secrets the stack creates by name already exist.`;

/** One line of the report; `ok: false` makes the command exit 1. */
export interface CheckItem {
  check: 'delivery' | 'queue' | 'alarms' | 'lastDelivery' | 'hipcallToken';
  /** The source, queue or alarm the line is about. */
  subject: string;
  ok: boolean;
  detail: string;
  /** Queue depth (visible + in flight + delayed). */
  depth?: number;
  /** Last delivery time (ISO-8601), when one was found. */
  at?: string;
  /** The check could not run here, and why is in `detail`; it does not fail the command. */
  skipped?: boolean;
}

/** The address the local stack sees a request from this machine come from. */
const LOCAL_ADDRESS = '127.0.0.1';

export interface CheckReport {
  ok: boolean;
  target: 'local' | 'deployed';
  checks: CheckItem[];
}

const QUEUE_NAMES = ['media', 'mediaDlq', 'insight', 'insightDlq', 'replay', 'replayDlq'] as const;
type QueueName = (typeof QUEUE_NAMES)[number];
const OUTPUT_OF_QUEUE: Record<QueueName, string> = {
  media: 'MediaQueueUrl',
  mediaDlq: 'MediaDlqUrl',
  insight: 'InsightQueueUrl',
  insightDlq: 'InsightDlqUrl',
  replay: 'ReplayQueueUrl',
  replayDlq: 'ReplayDlqUrl',
};

interface CheckSource {
  id: string;
  provider: Provider;
  url: string;
  signed: boolean;
  /** The source's allowedSourceIps: a POST from this machine would be refused (403), so the check goes another way. */
  allowedSourceIps?: string[];
}

/** What the ingest answers an API Gateway event. */
interface IngestAnswer {
  statusCode: number;
  body: string;
}

/** Where the checks run: the local stack or the deployed one, behind the same operations. */
export interface CheckTarget {
  kind: 'local' | 'deployed';
  sources: CheckSource[];
  doc: DynamoDBDocumentClient;
  table: string;
  s3: S3Client;
  bucket: string;
  sqs: SQSClient;
  queues: Partial<Record<QueueName, string>>;
  signingSecret(sourceId: string): Promise<string | undefined>;
  /** Deployed only: invoke the ingest function directly with an API Gateway event (sources with allowedSourceIps). */
  invokeIngest?(event: Record<string, unknown>): Promise<IngestAnswer>;
  hipcallToken(sourceId: string): Promise<{ ok: boolean; detail: string }>;
  alarms(): Promise<CheckItem[]>;
  close(): void;
}

/** The config the local stack runs: CALLVAULT_CONFIG when set (as `npm start` reads it), else cdk.json. */
async function localConfig(env: NodeJS.ProcessEnv): Promise<CallVaultConfig> {
  const text = env[ENV.config];
  return text ? parseConfig(JSON.parse(text), ENV.config) : readProjectConfig();
}

/** The local stack (`npm start`) as a check target, from its endpoints.json. */
export async function localTarget(env: NodeJS.ProcessEnv): Promise<CheckTarget> {
  const e = await readLocalEndpoints(env);
  const config = await localConfig(env);
  const client = { region: e.region, credentials: LOCAL_CREDENTIALS };
  const doc = documentClient({ local: e });
  const s3 = new S3Client({ ...client, endpoint: e.s3, forcePathStyle: true });
  const sqs = new SQSClient({ ...client, endpoint: e.sqs });
  return {
    kind: 'local',
    sources: e.sources.map((s) => ({
      id: s.id,
      provider: s.provider as Provider,
      url: s.url,
      signed: Boolean(config.sources.find((c) => c.id === s.id)?.signature),
      allowedSourceIps: config.sources.find((c) => c.id === s.id)?.allowedSourceIps,
    })),
    doc,
    table: e.tables.calls,
    s3,
    bucket: e.bucket,
    sqs,
    queues: e.queues,
    signingSecret: () => Promise.resolve(env[LOCAL_ENV.signingSecret]?.trim() || undefined),
    // The local stack always talks to its stand-in Hipcall API with the stand-in's token.
    hipcallToken: () => Promise.resolve({ ok: true, detail: 'set (the local stand-in Hipcall API token)' }),
    alarms: () => Promise.resolve([{ check: 'alarms', subject: 'alarms', ok: true, detail: 'no alarms locally' }]),
    close() {
      doc.destroy();
      s3.destroy();
      sqs.destroy();
    },
  };
}

async function deployedTarget(stack: string, region: string | undefined): Promise<CheckTarget> {
  const config = await readProjectConfig();
  const o = await stackOutputs(stack, region);
  const base = o.WebhookBaseUrl;
  if (!base || !o.CallsTableName)
    throw new CliError(`Stack "${stack}" has no WebhookBaseUrl or CallsTableName output: is it a CallVault stack?`);
  const opts = region ? { region } : {};
  const sm = new SecretsManagerClient(opts);
  const secret = async (id: string): Promise<string | undefined> => {
    try {
      return (await sm.send(new GetSecretValueCommand({ SecretId: id }))).SecretString;
    } catch {
      return undefined;
    }
  };
  const sources: CheckSource[] = [];
  for (const s of config.sources) {
    const arn = /--secret-id\s+(\S+)/.exec(o[`WebhookTokenCommand${pascal(s.id)}`] ?? '')?.[1];
    const token = arn ? parseTokenSecret((await secret(arn)) ?? '')[0] : undefined;
    if (!token) {
      sm.destroy();
      throw new CliError(
        `Could not read the webhook token of source "${s.id}": check that your credentials may read ${arn ?? 'its token secret'} (see "callvault urls").`,
      );
    }
    sources.push({
      id: s.id,
      provider: s.provider,
      url: `${base}/${s.id}/${token}`,
      signed: Boolean(s.signature),
      allowedSourceIps: s.allowedSourceIps,
    });
  }
  const doc = documentClient({ region });
  const s3 = new S3Client(opts);
  const sqs = new SQSClient(opts);
  const lambda = new LambdaClient(opts);
  return {
    kind: 'deployed',
    sources,
    doc,
    table: o.CallsTableName,
    s3,
    bucket: o.ArchiveBucketName ?? '',
    sqs,
    queues: Object.fromEntries(QUEUE_NAMES.map((q) => [q, o[OUTPUT_OF_QUEUE[q]]])),
    signingSecret: async (sourceId) => parseSigningSecret((await secret(`${stack}/${sourceId}/signing`)) ?? ''),
    invokeIngest: (event) => invokeIngest(lambda, o.IngestFunctionName, stack, event),
    async hipcallToken(sourceId) {
      const arn = o[`HipcallApiTokenSecretArn${pascal(sourceId)}`] ?? `${stack}/${sourceId}/hipcall-api`;
      const value = await secret(arn);
      if (value === undefined) return { ok: false, detail: `could not read ${arn}: check your credentials` };
      if (parseHipcallApiSecret(value)) return { ok: true, detail: 'set' };
      return {
        ok: false,
        detail: `still the placeholder: Insight Cards fail until you run the HipcallApiTokenCommand${pascal(sourceId)} stack output with your Hipcall API token`,
      };
    },
    alarms: () => alarmsInAlarm(stack, region),
    close() {
      doc.destroy();
      s3.destroy();
      sqs.destroy();
      sm.destroy();
      lambda.destroy();
    },
  };
}

/**
 * Invoke the ingest function itself, as API Gateway would, with the user's credentials (lambda:InvokeFunction):
 * the only way to check a source that accepts only its provider's addresses from an operator's machine,
 * and it adds nothing to the API's metrics or the refusals alarm.
 */
export async function invokeIngest(
  lambda: LambdaClient,
  functionName: string | undefined,
  stack: string,
  event: Record<string, unknown>,
): Promise<IngestAnswer> {
  if (!functionName)
    throw new Error(`stack "${stack}" has no IngestFunctionName output: redeploy it with this version of CallVault ("npx cdk deploy")`);
  const res = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(event)) }));
  const payload = JSON.parse(Buffer.from(res.Payload ?? new Uint8Array()).toString('utf8') || '{}') as Partial<IngestAnswer> & {
    errorMessage?: string;
  };
  if (res.FunctionError) throw new Error(`the ingest function failed: ${payload.errorMessage ?? res.FunctionError}`);
  return { statusCode: Number(payload.statusCode), body: String(payload.body ?? '') };
}

/** An HTTP API (payload v2) event for `url`, as if it came from `sourceIp`. */
export function apiGatewayEvent(
  url: string,
  sourceId: string,
  sourceIp: string,
  headers: Record<string, string>,
  body: Buffer,
): Record<string, unknown> {
  const path = new URL(url).pathname;
  const token = path.split('/').pop() ?? '';
  return {
    version: '2.0',
    routeKey: `POST /webhooks/${sourceId}/{token}`,
    rawPath: path,
    rawQueryString: '',
    headers,
    requestContext: {
      http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp, userAgent: 'callvault-check' },
      requestId: `callvault-check-${randomBytes(4).toString('hex')}`,
      routeKey: `POST /webhooks/${sourceId}/{token}`,
      stage: '$default',
      timeEpoch: Date.now(),
    },
    pathParameters: { token },
    body: body.toString('utf8'),
    isBase64Encoded: false,
  };
}

/** The first address an allowlist entry covers: `31.192.211.2/32` → 31.192.211.2 (a network's own address is inside it). */
const firstAllowedAddress = (allowed: readonly string[]): string | undefined => allowed[0]?.split('/')[0];

/** The stack's alarms in ALARM. Their names start with the stack name (CDK names them `{stack}-...`). */
async function alarmsInAlarm(stack: string, region: string | undefined): Promise<CheckItem[]> {
  const client = new CloudWatchClient(region ? { region } : {});
  try {
    const firing: CheckItem[] = [];
    let NextToken: string | undefined;
    do {
      const page = await client.send(new DescribeAlarmsCommand({ AlarmNamePrefix: stack, StateValue: 'ALARM', NextToken }));
      for (const a of page.MetricAlarms ?? [])
        firing.push({ check: 'alarms', subject: a.AlarmName ?? '?', ok: false, detail: `in ALARM: ${a.StateReason ?? ''}`.trim() });
      NextToken = page.NextToken;
    } while (NextToken);
    return firing.length ? firing : [{ check: 'alarms', subject: 'alarms', ok: true, detail: 'none in ALARM' }];
  } catch (err) {
    return [{ check: 'alarms', subject: 'alarms', ok: false, detail: `could not describe alarms (${(err as Error).message})` }];
  } finally {
    client.destroy();
  }
}

/** A provider-shaped delivery about the synthetic call `callId`, with no media link (so no media job). */
export function syntheticDelivery(provider: Provider, callId: string, at: string): Record<string, unknown> {
  switch (provider) {
    case 'hipcall':
      return {
        event: 'call_hangup',
        data: {
          uuid: callId,
          direction: 'inbound',
          started_at: at,
          ended_at: at,
          call_duration: 0,
          missing_call: false,
          hangup_by: 'callvault-check',
        },
      };
    case 'callhippo':
      return {
        activityType: 'call',
        callSid: callId,
        callType: 'Incoming',
        status: 'Completed',
        time: at,
        startTime: at,
        endTime: at,
        duration: '00:00',
        note: 'callvault check',
      };
    case 'postcall':
      return { callId, direction: 'inbound', callAnalysis: { note: 'callvault check' } };
  }
}

async function deliver(t: CheckTarget, source: CheckSource, now: () => Date): Promise<CheckItem> {
  const callId = `callvault-check-${randomBytes(6).toString('hex')}`;
  const at = now().toISOString();
  const item: CheckItem = { check: 'delivery', subject: source.id, ok: false, detail: '' };
  const body = Buffer.from(JSON.stringify(syntheticDelivery(source.provider, callId, at)));
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  try {
    if (source.signed) {
      const key = signingKeyOf((await t.signingSecret(source.id)) ?? '');
      if (!key)
        return {
          ...item,
          detail:
            t.kind === 'local'
              ? `the source signs, but ${LOCAL_ENV.signingSecret} holds no whsec_ secret: set it as for "npm start"`
              : `the source signs, but its signing secret is not set: run the SigningSecretCommand${pascal(source.id)} stack output`,
        };
      const id = `msg_${callId}`;
      const ts = String(Math.floor(now().getTime() / 1000));
      Object.assign(headers, {
        [SIGNATURE_HEADERS.id]: id,
        [SIGNATURE_HEADERS.timestamp]: ts,
        [SIGNATURE_HEADERS.signature]: standardWebhookSignature(key, id, ts, body),
      });
    }
    let status: number;
    let answer: { status?: unknown; message?: unknown } = {};
    const fenced = source.allowedSourceIps?.length ? source.allowedSourceIps : undefined;
    const via = fenced && !ipAllowed(LOCAL_ADDRESS, fenced) ? (t.invokeIngest ? 'invoke' : 'skip') : 'url';
    if (via === 'skip')
      return {
        ...item,
        ok: true,
        skipped: true,
        detail: `skipped: the source accepts only ${fenced!.join(', ')} (allowedSourceIps), and the local stack sees this machine as ${LOCAL_ADDRESS}; add ${LOCAL_ADDRESS}/32 to check it locally`,
      };
    try {
      if (via === 'invoke') {
        // A POST from here would be refused (403): the ingest itself is asked, as from an allowed address.
        const res = await t.invokeIngest!(apiGatewayEvent(source.url, source.id, firstAllowedAddress(fenced!)!, headers, body));
        status = res.statusCode;
        answer = JSON.parse(res.body || '{}') as typeof answer;
      } else {
        const res = await fetch(source.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
        status = res.status;
        answer = (await res.json().catch(() => ({}))) as typeof answer;
      }
    } catch (err) {
      return {
        ...item,
        detail:
          via === 'invoke'
            ? `could not invoke the ingest function (${(err as Error).message}); the check needs lambda:InvokeFunction on it for sources with allowedSourceIps`
            : `could not reach the webhook URL (${(err as Error).message})`,
      };
    }
    if (status !== 200 || answer.status !== 'stored') {
      return { ...item, detail: `answered ${status} ${JSON.stringify(answer.status ?? answer.message ?? '')}, expected 200 "stored"` };
    }
    const callKey = callKeyOf(source.provider, callId);
    const { Item } = await t.doc.send(new GetCommand({ TableName: t.table, Key: { callKey }, ConsistentRead: true }));
    if (!Item) return { ...item, detail: `answered "stored", but ${callKey} is not in the calls table` };
    if (Item.source !== source.id) return { ...item, detail: `${callKey} was stored under source "${String(Item.source)}"` };
    return {
      ...item,
      ok: true,
      detail: `stored and read back (${callKey}), then removed${via === 'invoke' ? ' (the ingest function invoked directly: the source accepts only allowedSourceIps)' : ''}`,
    };
  } finally {
    // Whatever happened, nothing synthetic stays behind.
    await removeSynthetic(t, source.provider, callId, [at, now().toISOString()]);
  }
}

/** Delete the synthetic call's item and every raw/ and cdr/ object of it (keys are dated by call or receipt time). */
async function removeSynthetic(t: CheckTarget, provider: Provider, callId: string, times: string[]): Promise<void> {
  await t.doc.send(new DeleteCommand({ TableName: t.table, Key: { callKey: callKeyOf(provider, callId) } }));
  const days = [...new Set(times.map(datePath))];
  for (const day of days) {
    const page = await t.s3.send(new ListObjectsV2Command({ Bucket: t.bucket, Prefix: `${PREFIX.raw}${provider}/${day}/${callId}/` }));
    for (const o of page.Contents ?? []) await t.s3.send(new DeleteObjectCommand({ Bucket: t.bucket, Key: o.Key! }));
    await t.s3.send(
      new DeleteObjectCommand({ Bucket: t.bucket, Key: S3_KEYS.cdr(provider, `${day.replace(/\//g, '-')}T00:00:00Z`, callId) }),
    );
  }
}

async function queueDepths(t: CheckTarget): Promise<CheckItem[]> {
  const items: CheckItem[] = [];
  for (const name of QUEUE_NAMES) {
    const url = t.queues[name];
    const dlq = name.endsWith('Dlq');
    if (!url) {
      items.push({ check: 'queue', subject: name, ok: false, detail: 'queue URL not found' });
      continue;
    }
    const { Attributes = {} } = await t.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    const depth = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'].reduce(
      (n, k) => n + Number(Attributes[k as keyof typeof Attributes] ?? 0),
      0,
    );
    const ok = !dlq || depth === 0;
    const base = name.slice(0, -3);
    items.push({
      check: 'queue',
      subject: name,
      ok,
      depth,
      detail: ok ? `${depth}` : `${depth} dead-lettered message(s): look at them, fix the cause, then "callvault replay --dlq ${base}"`,
    });
  }
  return items;
}

/** Cap on the items read per day for the last delivery: enough for a busy day, bounded in cost. */
const LAST_DELIVERY_ITEMS = 5000;

/** The newest updatedAt per source among today's and yesterday's calls (UTC), through the byDay index. */
async function lastDeliveries(t: CheckTarget, sourceIds: string[], now: Date): Promise<CheckItem[]> {
  const newest = new Map<string, string>();
  for (const offset of [0, 1]) {
    const day = new Date(now.getTime() - offset * 86_400_000).toISOString().slice(0, 10);
    let start: Record<string, unknown> | undefined;
    let read = 0;
    do {
      const page = await t.doc.send(
        new QueryCommand({
          TableName: t.table,
          IndexName: 'byDay',
          KeyConditionExpression: '#d = :d',
          ExpressionAttributeNames: { '#d': 'day', '#s': 'source', '#u': 'updatedAt' },
          ExpressionAttributeValues: { ':d': day },
          ProjectionExpression: '#s, #u',
          ExclusiveStartKey: start,
        }),
      );
      for (const i of page.Items ?? []) {
        const s = String(i.source);
        const u = String(i.updatedAt ?? '');
        if (u > (newest.get(s) ?? '')) newest.set(s, u);
      }
      read += page.Items?.length ?? 0;
      start = page.LastEvaluatedKey;
    } while (start && read < LAST_DELIVERY_ITEMS);
  }
  return sourceIds.map((id) => {
    const at = newest.get(id);
    return { check: 'lastDelivery', subject: id, ok: true, detail: at ?? 'none today or yesterday (UTC)', ...(at ? { at } : {}) };
  });
}

/** Runs every check; never throws for a failing check, only for a target it cannot reach. */
export async function runChecks(t: CheckTarget, only: string | undefined, now: () => Date = () => new Date()): Promise<CheckReport> {
  const sources = only ? t.sources.filter((s) => s.id === only) : t.sources;
  if (only && !sources.length)
    throw new CliError(`No source "${only}": the sources are ${t.sources.map((s) => s.id).join(', ') || '(none)'}.`);
  const checks: CheckItem[] = [];
  for (const s of sources) checks.push(await deliver(t, s, now));
  checks.push(...(await queueDepths(t)));
  checks.push(...(await t.alarms()));
  checks.push(
    ...(await lastDeliveries(
      t,
      sources.map((s) => s.id),
      now(),
    )),
  );
  for (const s of sources.filter((x) => x.provider === 'hipcall'))
    checks.push({ check: 'hipcallToken', subject: s.id, ...(await t.hipcallToken(s.id)) });
  return { ok: checks.every((c) => c.ok), target: t.kind, checks };
}

const HEADINGS: Record<CheckItem['check'], string> = {
  delivery: 'Synthetic deliveries',
  queue: 'Queues (depth)',
  alarms: 'Alarms',
  lastDelivery: 'Last delivery',
  hipcallToken: 'Hipcall API token',
};

function printReport(r: CheckReport, out: Out): void {
  let heading = '';
  for (const c of r.checks) {
    if (HEADINGS[c.check] !== heading) {
      heading = HEADINGS[c.check];
      out(`${heading}:`);
    }
    out(`  ${c.skipped ? 'skip' : c.ok ? 'ok  ' : 'FAIL'} ${c.subject.padEnd(14)} ${c.detail}`);
  }
  const failed = r.checks.filter((c) => !c.ok);
  out(
    failed.length
      ? `\n${failed.length} check(s) failed: ${failed.map((c) => `${c.check} ${c.subject}`).join(', ')}.`
      : `\nAll checks passed (${r.target}).`,
  );
}

export async function checkCommand(argv: string[], out: Out = print, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseCommand(argv, CHECK_USAGE, {
    ...TARGET_OPTIONS,
    source: { type: 'string' },
    'before-deploy': { type: 'boolean', default: false },
    qualifier: { type: 'string' },
  });
  if (values.help) return (out(CHECK_USAGE), 0);
  if (values['before-deploy']) {
    if (values.local) throw new CliError('--before-deploy reads your AWS account; it has nothing to check locally. Leave out --local.');
    const clients = defaultClients(values.region);
    try {
      const report = await checkBeforeDeploy({
        config: await readProjectConfig(),
        stackName: values.stack,
        qualifier: values.qualifier ?? (await projectBootstrapQualifier()) ?? DEFAULT_BOOTSTRAP_QUALIFIER,
        clients,
      });
      if (values.json) out(jsonText(report));
      else beforeDeployLines(report).forEach((line) => out(line));
      return report.ok ? 0 : 1;
    } finally {
      destroyClients(clients);
    }
  }
  const t = values.local ? await localTarget(env) : await deployedTarget(values.stack, values.region);
  try {
    const report = await runChecks(t, values.source);
    if (values.json) out(jsonText(report));
    else printReport(report, out);
    return report.ok ? 0 : 1;
  } finally {
    t.close();
  }
}
