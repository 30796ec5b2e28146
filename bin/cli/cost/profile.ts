/**
 * The request profile of one representative call: how many AWS requests each function makes, counted
 * by running the real handlers on the local stack with the AWS call recorder (bin/aws-fidelity/aws-contract.ts)
 * on, never typed in. `recordProfile()` plays one answered inbound Hipcall call (call_init from a known
 * contact, so an Insight Card is sent, then call_hangup with a recording) and waits until the recording
 * is stored and the card's outcome is written. The result is checked in as profile.json; the
 * integration test test/integration/cost-profile.test.ts records it again and fails when the code's
 * requests no longer match it.
 *
 *   npx tsx bin/cli/cost/profile.ts     record again and rewrite bin/cli/cost/profile.json
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ContactsTable } from '#adapters/contacts-table.ts';
import { callKeyOf } from '#core/types.ts';
import { CALL_LOG_ENV, readCallLog, type AwsCall, type ContractFunction } from '#bin/aws-fidelity/aws-contract.ts';
import { itemBytes } from '#bin/aws-fidelity/aws-limits.ts';
import { METRICS_LOG, startLocalStack } from '#bin/local/stack.ts';
import { LOCAL_CREDENTIALS } from '#bin/local/target.ts';
import { parseConfig } from '#contract/config-schema.ts';

/** Where the checked-in profile lives. */
export const PROFILE_PATH = fileURLToPath(new URL('./profile.json', import.meta.url));

/** Size of the recording the representative call stores: below one multipart part, so one upload. */
export const PROFILE_RECORDING_KIB = 256;

/** Seconds the media job waits on its queue (Hipcall asks for 10). */
const PROFILE_MEDIA_DELAY_SECONDS = 2;

/** AWS requests of one function for the representative call, by `service:Operation` (e.g. `s3:PutObject`). */
export interface FunctionProfile {
  /** Lambda invocations: deliveries for ingest, queue messages for the workers (one per message at low traffic). */
  invocations: number;
  requests: Record<string, number>;
  /** S3 object writes by top-level prefix (`raw/`, `cdr/`, `recordings/`), each a new version. */
  s3PutsByPrefix: Record<string, number>;
}

/** The functions every call runs through (reconcile and the silence check run on a schedule, priced per run). */
const PER_CALL_FUNCTIONS = ['ingest', 'media', 'insight'] as const satisfies readonly ContractFunction[];
export type PerCallFunction = (typeof PER_CALL_FUNCTIONS)[number];

export interface RequestProfile {
  /** What was played. */
  call: string;
  recordingBytes: number;
  functions: Record<PerCallFunction, FunctionProfile>;
  /** Size of the call's item as DynamoDB bills it (names + values), after the call. */
  itemBytes: number;
  /** Bytes stored per call by top-level prefix (current versions), the recording included. */
  storedBytesByPrefix: Record<string, number>;
  /** The functions' CloudWatch EMF output for the call: log bytes, and each metric as `Name{dim=value,...}`. */
  emf: { bytes: number; metrics: string[] };
}

/** Distinct metrics (name and dimension values) and total bytes of EMF lines. */
export function emfOf(lines: readonly string[]): RequestProfile['emf'] {
  const metrics = new Set<string>();
  let bytes = 0;
  for (const line of lines) {
    if (!line.trim()) continue;
    bytes += Buffer.byteLength(line) + 1;
    const doc = JSON.parse(line) as { _aws?: { CloudWatchMetrics?: { Dimensions?: string[][]; Metrics?: { Name: string }[] }[] } } & Record<
      string,
      unknown
    >;
    for (const d of doc._aws?.CloudWatchMetrics ?? []) {
      for (const dims of d.Dimensions?.length ? d.Dimensions : [[]]) {
        const labels = dims.map((k) => `${k}=${String(doc[k])}`).join(',');
        for (const m of d.Metrics ?? []) metrics.add(`${m.Name}{${labels}}`);
      }
    }
  }
  return { bytes, metrics: [...metrics].sort() };
}

/** `sqs:SendMessage` etc. from a recorded call; extra grants of one request (tagging, ACL) are not requests. */
function operationOf(call: AwsCall): string | undefined {
  const service = call.action.split(':')[0]!;
  const op = call.command.replace(/Command$/, '');
  const primaryS3Put = ['PutObject', 'CreateMultipartUpload', 'CopyObject', 'UploadPartCopy'];
  if (service === 's3' && primaryS3Put.includes(op) && call.action !== 's3:PutObject') return undefined;
  if (service === 'secretsmanager' && op === 'BatchGetSecretValue' && call.action !== 'secretsmanager:BatchGetSecretValue')
    return undefined;
  return `${service}:${op}`;
}

/** Top-level prefix (`raw/`) of an S3 resource `bucket/key`. */
const prefixOf = (resource: string): string => `${resource.split('/')[1] ?? ''}/`;

/** Count the recorded calls per function. Invocations: HTTP deliveries for ingest, messages sent to each worker's queue. */
export function profileFromCalls(calls: readonly AwsCall[], deliveries: number): Record<PerCallFunction, FunctionProfile> {
  const out = {} as Record<PerCallFunction, FunctionProfile>;
  for (const fn of PER_CALL_FUNCTIONS) {
    const mine = calls.filter((c) => c.fn === fn);
    const requests: Record<string, number> = {};
    const s3PutsByPrefix: Record<string, number> = {};
    for (const c of mine) {
      const op = operationOf(c);
      if (!op) continue;
      requests[op] = (requests[op] ?? 0) + 1;
      if (op === 's3:PutObject' || op === 's3:CompleteMultipartUpload')
        s3PutsByPrefix[prefixOf(c.resource)] = (s3PutsByPrefix[prefixOf(c.resource)] ?? 0) + 1;
    }
    const sentTo = (queue: string) => calls.filter((c) => c.action === 'sqs:SendMessage' && c.resource === queue).length;
    const invocations = fn === 'ingest' ? deliveries + sentTo('replay') : sentTo(fn);
    out[fn] = { invocations, requests: sortKeys(requests), s3PutsByPrefix: sortKeys(s3PutsByPrefix) };
  }
  return out;
}

/** Calls that show a run slowed by the machine: timeouts (any failure but a lost conditional write) and replay fallbacks. */
export function degradedCalls(calls: readonly AwsCall[]): string[] {
  return calls
    .filter(
      (c) => (!c.ok && !/^dynamodb:(UpdateItem|PutItem)$/.test(c.action)) || (c.action === 'sqs:SendMessage' && c.resource === 'replay'),
    )
    .map((c) => `${c.fn} ${c.command}${c.ok ? ' to the replay queue' : ' failed'}`);
}

const sortKeys = <T>(o: Record<string, T>): Record<string, T> =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

async function post(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`The local stack answered ${res.status} to a profile delivery: ${(await res.text()).slice(0, 200)}`);
}

/**
 * Play the representative call on a fresh local stack and count its requests (failed ones too: a
 * conditional write that loses is billed like one that wins). A run where an emulator was too slow
 * for the functions' short timeouts on a busy machine (a failed call other than a conditional write,
 * or a fallback to the replay queue) counts retries, not the call's own requests: it is played
 * again, up to `attempts` times.
 */
export async function recordProfile(options: { timeoutMs?: number; attempts?: number } = {}): Promise<RequestProfile> {
  const attempts = options.attempts ?? 3;
  for (let i = 1; ; i++) {
    const run = await recordOnce(options);
    if (run.degraded.length === 0) return run.profile;
    if (i >= attempts)
      throw new Error(`Each of ${attempts} profile runs hit slow emulators (${run.degraded.join('; ')}): run again on a quieter machine.`);
  }
}

/** One run on a fresh local stack (free ports, temp data dir). */
async function recordOnce(options: { timeoutMs?: number }): Promise<{ profile: RequestProfile; degraded: string[] }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'callvault-cost-'));
  const logDir = join(dataDir, 'aws-calls');
  // The local stack records its functions' calls when this is set (read as the functions are built).
  const before = process.env[CALL_LOG_ENV];
  process.env[CALL_LOG_ENV] = logDir;
  // A Hipcall source with a short media delay: long enough that the media job never races the hangup's
  // own write (as Hipcall's 10 s never does), short enough for a test.
  const config = parseConfig({
    defaultCountry: 'GB',
    sources: [{ id: 'hipcall', provider: 'hipcall', mediaDelaySeconds: PROFILE_MEDIA_DELAY_SECONDS }],
  });
  let stack: Awaited<ReturnType<typeof startLocalStack>> | undefined;
  try {
    stack = await startLocalStack({ dataDir, config, mediaDelaySeconds: PROFILE_MEDIA_DELAY_SECONDS });
    const e = stack.endpoints;
    const client = { region: e.region, credentials: LOCAL_CREDENTIALS };
    const ddb = new DynamoDBClient({ ...client, endpoint: e.dynamodb });
    const s3 = new S3Client({ ...client, endpoint: e.s3, forcePathStyle: true });
    try {
      await new ContactsTable(DynamoDBDocumentClient.from(ddb), e.tables.contacts).putAll([
        { phone: '+442045205757', name: 'Jane Smith', company: 'Acme Corp', balance: 4250 },
      ]);
      const uuid = 'cost-profile-call';
      const now = Math.floor(Date.now() / 1000);
      const iso = (s: number) => new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const data = {
        uuid,
        direction: 'inbound',
        caller_number: '+442045205757',
        callee_number: '+441234567890',
        user_id: 1121,
        started_at: iso(now - 2),
      };
      const url = e.sources[0]!.url;
      const key = { callKey: { S: callKeyOf('hipcall', uuid) } };
      const deadline = Date.now() + (options.timeoutMs ?? 60_000);
      let item: Record<string, AttributeValue> | undefined;
      const settled = ['sent', 'no_match', 'failed', 'stale'];
      const waitFor = async (what: string, done: (i: Record<string, AttributeValue> | undefined) => boolean) => {
        for (;;) {
          item = (await ddb.send(new GetItemCommand({ TableName: e.tables.calls, Key: key, ConsistentRead: true }))).Item;
          if (done(item)) return;
          if (Date.now() > deadline)
            throw new Error(
              `The profile call did not reach "${what}" within ${options.timeoutMs ?? 60_000} ms (recording ${item?.recording?.M?.state?.S ?? 'missing'}, insight ${item?.insight?.M?.state?.S ?? 'missing'}).`,
            );
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      // As a real call goes: the card is on screen before the call ends. Waiting for it also keeps the
      // insight worker's writes from racing the hangup's, so the counts do not depend on timing.
      await post(url, {
        event: 'call_init',
        data: { ...data, call_flow: [{ action: 'init', detail: { id: null, type: 'contact' }, timestamp: now - 2 }] },
      });
      await waitFor('card settled', (i) => settled.includes(i?.insight?.M?.state?.S ?? ''));
      if (item?.insight?.M?.state?.S !== 'sent')
        throw new Error(
          `The profile call's Insight Card was not sent (insight ${item?.insight?.M?.state?.S}): the profile must count a sent card.`,
        );
      await post(url, {
        event: 'call_hangup',
        data: {
          ...data,
          answered_at: iso(now - 1),
          ended_at: iso(now),
          hangup_by: 'user',
          call_duration: 1,
          missing_call: false,
          record_url: `${e.demoMedia}/hipcall/${uuid}/recording.mp3?kb=${PROFILE_RECORDING_KIB}`,
          call_flow: [
            { action: 'hangup', detail: { hangup_by: 'user' }, timestamp: now },
            { action: 'init', detail: { id: null, type: 'contact' }, timestamp: now - 2 },
          ],
        },
      });
      await waitFor('recording stored', (i) => i?.recording?.M?.state?.S === 'stored');
      // The workers' last writes are the ones waited for; give the ingest's cdr/ rewrite time to land too.
      await new Promise((r) => setTimeout(r, 500));
      const stored: Record<string, number> = {};
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: e.bucket }));
      for (const o of listed.Contents ?? []) stored[`${o.Key!.split('/')[0]}/`] = (stored[`${o.Key!.split('/')[0]}/`] ?? 0) + (o.Size ?? 0);
      await stack.close();
      stack = undefined;
      const calls = readCallLog(logDir);
      const profile: RequestProfile = {
        call: 'one answered inbound Hipcall call: call_init from a known contact (Insight Card sent), call_hangup with a recording',
        recordingBytes: PROFILE_RECORDING_KIB * 1024,
        functions: profileFromCalls(calls, 2),
        itemBytes: itemBytes(item),
        storedBytesByPrefix: sortKeys(stored),
        emf: emfOf((await readFile(join(dataDir, METRICS_LOG), 'utf8')).split('\n')),
      };
      return { profile, degraded: degradedCalls(calls) };
    } finally {
      ddb.destroy();
      s3.destroy();
    }
  } finally {
    await stack?.close();
    if (before === undefined) delete process.env[CALL_LOG_ENV];
    else process.env[CALL_LOG_ENV] = before;
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The checked-in profile. */
export async function readProfile(path = PROFILE_PATH): Promise<RequestProfile> {
  return JSON.parse(await readFile(path, 'utf8')) as RequestProfile;
}

if (import.meta.main) {
  const profile = await recordProfile();
  await writeFile(PROFILE_PATH, `${JSON.stringify(profile, null, 2)}\n`);
  console.log(`Wrote ${PROFILE_PATH}`);
}
