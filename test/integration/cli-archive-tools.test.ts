/**
 * The archive tools against the emulators: `calls get|download|export` and `replay --since`.
 * Deliveries go through the real ingest; recordings are seeded as the media worker leaves them (the
 * object in S3, the item's map with bytes and sha256). Every command runs in-process with --local
 * --json, as the CLI would against the local stack, and the tests assert on what it printed and on
 * what is in the table, the bucket and the output directory.
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DeleteCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoCallsStore } from '#adapters/calls-store.ts';
import type { CallRecord, MediaKind } from '#core/types.ts';
import { LOCAL_CREDENTIALS, localClientConfig } from '#bin/local/emulators.ts';
import { callsCommand, EXPORT_STATE, type ExportResult, type ExportedFile } from '#bin/cli/calls.ts';
import { replayCommand } from '#bin/cli/archive.ts';
import { CliError } from '#bin/cli/context.ts';
import type { ReplayReport } from '#bin/cli/replay-raw.ts';
import { S3_KEYS } from '#contract/resources.ts';
import { hipcallHangup, startIngestHarness, type IngestHarness } from '#test/support/ingest-harness.ts';
import { useLocalEndpoints } from '#test/support/local-endpoints.ts';
import { match } from '#test/support/match.ts';

let h: IngestHarness;
let restoreEndpoints: (() => Promise<void>) | undefined;
let s3: S3Client;
let doc: DynamoDBDocumentClient;
const dirs: string[] = [];

beforeAll(async () => {
  h = await startIngestHarness({
    defaultCountry: 'GB',
    sources: [
      { id: 'hipcall', provider: 'hipcall' },
      { id: 'postcall', provider: 'postcall' },
    ],
  });
  restoreEndpoints = await useLocalEndpoints(h.emulators);
  s3 = new S3Client(localClientConfig(h.emulators.endpoints.s3));
  doc = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(h.emulators.endpoints.dynamodb)));
});

afterAll(async () => {
  s3?.destroy();
  doc?.destroy();
  await restoreEndpoints?.();
  await h?.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'callvault-export-'));
  dirs.push(dir);
  return dir;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** AWS's SigV4 query-string signature of a pre-signed S3 GET (docs: "Authenticating Requests: Using Query Parameters"). */
function sigV4QuerySignature(url: URL, secret: string): string {
  const rfc3986 = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const params = [...url.searchParams].filter(([k]) => k !== 'X-Amz-Signature').sort(([a], [b]) => (a < b ? -1 : 1));
  const canonical = [
    'GET',
    url.pathname,
    params.map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`).join('&'),
    `host:${url.host}`,
    '',
    'host',
    'UNSIGNED-PAYLOAD',
  ].join('\n');
  const amzDate = url.searchParams.get('X-Amz-Date')!;
  const scope = url.searchParams.get('X-Amz-Credential')!.split('/').slice(1).join('/');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const [date, region, service] = scope.split('/');
  let key: Buffer = Buffer.from(`AWS4${secret}`);
  for (const part of [date!, region!, service!, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return createHmac('sha256', key).update(toSign).digest('hex');
}

/** A Hipcall call through the real ingest, on `startedAt`. */
async function seedCall(uuid: string, startedAt: string, caller = '+442045205757'): Promise<void> {
  const body = JSON.parse(hipcallHangup(uuid)) as { data: Record<string, unknown> };
  Object.assign(body.data, { started_at: startedAt, answered_at: startedAt, ended_at: startedAt, caller_number: caller });
  expect((await h.post('hipcall', JSON.stringify(body))).json.status).toBe('stored');
}

/** A media file stored as the media worker stores it: the object, and the item's map with bytes and sha256. */
async function seedMedia(uuid: string, startedAt: string, media: MediaKind, bytes: Buffer): Promise<string> {
  const key = S3_KEYS.media(media, 'hipcall', startedAt, uuid, media === 'transcript' ? 'json' : 'mp3');
  await s3.send(new PutObjectCommand({ Bucket: h.emulators.bucket, Key: key, Body: bytes, ContentType: 'audio/mpeg' }));
  await doc.send(
    new UpdateCommand({
      TableName: h.emulators.tables.calls,
      Key: { callKey: `hipcall#${uuid}` },
      UpdateExpression: 'SET #m = :m',
      ExpressionAttributeNames: { '#m': media },
      ExpressionAttributeValues: {
        ':m': { state: 'stored', s3Key: key, bytes: bytes.length, sha256: sha256(bytes), contentType: 'audio/mpeg', attempts: 1 },
      },
    }),
  );
  return key;
}

/** A CLI command in-process with --local --json: its exit code and parsed output. */
async function run<T>(
  command: (argv: string[], out: (l: string) => void) => Promise<number>,
  ...args: string[]
): Promise<{ code: number; json: T }> {
  const lines: string[] = [];
  const code = await command([...args, '--local', '--json'], (l) => void lines.push(l));
  return { code, json: JSON.parse(lines.join('\n')) as T };
}

describe('calls get', () => {
  it('prints the record and a pre-signed link that serves the stored recording without credentials', async () => {
    await seedCall('get-1', '2026-03-01T09:00:00Z');
    const audio = Buffer.from('ID3 recording of get-1');
    await seedMedia('get-1', '2026-03-01T09:00:00Z', 'recording', audio);

    const { code, json } = await run<{ call: Record<string, unknown>; media: { media: string; url: string; sha256: string }[] }>(
      callsCommand,
      'get',
      'hipcall',
      'get-1',
    );
    expect(code).toBe(0);
    expect(json.call).toMatchObject({
      callKey: 'hipcall#get-1',
      direction: 'inbound',
      customerNumber: '+442045205757',
      recording: { state: 'stored' },
    });
    // The merge's bookkeeping is not part of the record a person reads.
    expect(json.call).not.toHaveProperty('fieldSources');
    expect(json.media).toHaveLength(1);
    expect(json.media[0]).toMatchObject({ media: 'recording', sha256: sha256(audio) });
    const res = await fetch(json.media[0]!.url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(audio);
    // s3rver serves any link, so the signature is checked here, by SigV4 computed independently.
    const link = new URL(json.media[0]!.url);
    expect(link.searchParams.get('X-Amz-Expires')).toBe('3600');
    expect(link.searchParams.get('X-Amz-Signature')).toBe(sigV4QuerySignature(link, LOCAL_CREDENTIALS.secretAccessKey));
  });

  it('refuses an unknown provider and names a missing call, exiting through CliError', async () => {
    await expect(run(callsCommand, 'get', 'zoom', 'x')).rejects.toThrow(/not a provider/);
    await expect(run(callsCommand, 'get', 'hipcall', 'no-such-call')).rejects.toThrow(CliError);
    await expect(run(callsCommand, 'get', 'hipcall', 'no-such-call')).rejects.toThrow(/No call hipcall#no-such-call/);
  });
});

describe('calls download', () => {
  it('saves each stored media file under the call id and media kind, verified against its sha256', async () => {
    await seedCall('dl-1', '2026-03-02T09:00:00Z');
    const rec = Buffer.from('recording bytes of dl-1');
    const vm = Buffer.from('voicemail bytes of dl-1');
    await seedMedia('dl-1', '2026-03-02T09:00:00Z', 'recording', rec);
    await seedMedia('dl-1', '2026-03-02T09:00:00Z', 'voicemail', vm);
    const dir = await tempDir();

    const { code, json } = await run<{ files: ExportedFile[] }>(callsCommand, 'download', 'hipcall', 'dl-1', '--out', dir);
    expect(code).toBe(0);
    expect(json.files.map((f) => [f.media, f.path, f.verified])).toEqual([
      ['recording', 'dl-1.recording.mp3', true],
      ['voicemail', 'dl-1.voicemail.mp3', true],
    ]);
    expect(await readFile(join(dir, 'dl-1.recording.mp3'))).toEqual(rec);
    expect(await readFile(join(dir, 'dl-1.voicemail.mp3'))).toEqual(vm);
  });

  it('refuses a stored object that no longer matches its recorded sha256, and leaves no file behind', async () => {
    await seedCall('dl-bad', '2026-03-02T10:00:00Z');
    const key = await seedMedia('dl-bad', '2026-03-02T10:00:00Z', 'recording', Buffer.from('original'));
    await s3.send(new PutObjectCommand({ Bucket: h.emulators.bucket, Key: key, Body: 'tampered' }));
    const dir = await tempDir();
    await expect(run(callsCommand, 'download', 'hipcall', 'dl-bad', '--out', dir)).rejects.toThrow(/does not match its recorded sha256/);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('calls export', () => {
  it('resumes an interrupted export, skipping what is verified and fetching again what was damaged', async () => {
    const seeded = new Map<string, Buffer>();
    for (const [uuid, at] of [
      ['ex-1', '2026-05-10T08:00:00Z'],
      ['ex-2', '2026-05-10T12:00:00Z'],
      ['ex-3', '2026-05-11T08:00:00Z'],
    ] as const) {
      await seedCall(uuid, at);
      const bytes = Buffer.from(`audio of ${uuid} `.repeat(1000));
      seeded.set(await seedMedia(uuid, at, 'recording', bytes), bytes);
    }
    await seedCall('ex-none', '2026-05-11T09:00:00Z'); // a call without stored media is exported as a record only
    const dir = await tempDir();
    const args = ['export', '--since', '2026-05-10', '--until', '2026-05-11', '--out', dir, '--local', '--json'];

    // Interrupted after the first file, as Ctrl-C would.
    const stop = new AbortController();
    const printed: string[] = [];
    await expect(callsCommand(args, (l) => void printed.push(l), { signal: stop.signal, onFile: () => stop.abort() })).rejects.toThrow(
      /interrupted after 1 of 3 files/,
    );
    expect(printed).toEqual([]);
    const state = JSON.parse(await readFile(join(dir, EXPORT_STATE), 'utf8')) as { files: Record<string, unknown> };
    expect(Object.keys(state.files)).toHaveLength(1);

    const lines: string[] = [];
    expect(await callsCommand(args, (l) => void lines.push(l))).toBe(0);
    const result = JSON.parse(lines.join('\n')) as ExportResult;
    expect(result).toMatchObject({ calls: 4, downloaded: 2, skipped: 1 });
    const records = (await readFile(join(dir, 'calls.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { callKey: string });
    expect(records.map((r) => r.callKey).sort()).toEqual(['hipcall#ex-1', 'hipcall#ex-2', 'hipcall#ex-3', 'hipcall#ex-none']);
    // Every file on disk hashes to what the item recorded, read back independently of the export.
    expect(result.files.map((f) => f.path).sort()).toEqual([...seeded.keys()].sort());
    for (const [key, bytes] of seeded) expect(sha256(await readFile(join(dir, key)))).toBe(sha256(bytes));
    expect(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'))).toMatchObject({ calls: 4, files: match.any(Array) });

    // A damaged file is noticed on the next run and fetched again; the others are skipped.
    const damaged = [...seeded.keys()][1]!;
    await writeFile(join(dir, damaged), 'truncated');
    const again: string[] = [];
    expect(await callsCommand(args, (l) => void again.push(l))).toBe(0);
    expect(JSON.parse(again.join('\n'))).toMatchObject({ downloaded: 1, skipped: 2 });
    expect(sha256(await readFile(join(dir, damaged)))).toBe(sha256(seeded.get(damaged)!));

    // Without --json: a bar redrawn in place on a terminal, a plain line per file when piped.
    const plain = args.filter((a) => a !== '--json');
    const piped: string[] = [];
    const said: string[] = [];
    expect(await callsCommand(plain, (l) => void said.push(l), { progress: { write: (t) => piped.push(t), isTTY: false } })).toBe(0);
    expect(piped).toEqual([
      match.stringMatching(/^\[#+-*\] 1\/3 files .*\n$/),
      match.stringMatching(/2\/3 files/),
      match.stringMatching(/^\[#{24}\] 3\/3 files/),
    ]);
    expect(said.join('\n')).toMatch(/Exported 4 call\(s\) .* 3 media file\(s\) \(0 downloaded, 3 already there\)/);
    const tty: string[] = [];
    expect(await callsCommand(plain, () => {}, { progress: { write: (t) => tty.push(t), isTTY: true } })).toBe(0);
    expect(tty.slice(0, -1).every((t) => t.startsWith('\r['))).toBe(true);
    expect(tty.at(-1)).toBe('\n');
  });

  it('refuses to mix two windows in one directory', async () => {
    const dir = await tempDir();
    expect((await run(callsCommand, 'export', '--since', '2026-06-01', '--until', '2026-06-01', '--out', dir)).code).toBe(0);
    await expect(run(callsCommand, 'export', '--since', '2026-06-02', '--until', '2026-06-02', '--out', dir)).rejects.toThrow(
      /holds an export of 2026-06-01..2026-06-01/,
    );
  });
});

describe('replay --since --until', () => {
  const replay = (...args: string[]) =>
    run<ReplayReport>(
      (argv, out) => replayCommand(argv, out, { config: h.config }),
      '--since',
      '2026-07-01',
      '--until',
      '2026-07-01',
      ...args,
    );

  it("re-applies archived deliveries through today's adapter: shows the per-call diff with --dry-run, applies it, then changes nothing", async () => {
    await seedCall('rp-1', '2026-07-01T10:00:00Z');
    await seedCall('rp-ok', '2026-07-01T11:00:00Z');
    const good = await h.item('hipcall#rp-1');
    // The item as an older adapter left it: direction and customer number read wrong, duration missing.
    await doc.send(
      new UpdateCommand({
        TableName: h.emulators.tables.calls,
        Key: { callKey: 'hipcall#rp-1' },
        UpdateExpression: 'SET direction = :d, customerNumber = :c REMOVE durationSec',
        ExpressionAttributeValues: { ':d': 'outbound', ':c': '+441234567890' },
      }),
    );

    const dry = await replay('--dry-run');
    expect(dry.code).toBe(0);
    const call = dry.json.calls.find((c) => c.callKey === 'hipcall#rp-1');
    expect(call).toEqual({
      callKey: 'hipcall#rp-1',
      outcome: 'changed',
      deliveries: 1,
      changes: [
        { field: 'customerNumber', before: '+441234567890', after: '+442045205757' },
        { field: 'direction', before: 'outbound', after: 'inbound' },
        { field: 'durationSec', after: 45 },
      ],
    });
    expect(dry.json.calls.find((c) => c.callKey === 'hipcall#rp-ok')?.outcome).toBe('unchanged');
    expect(dry.json.summary).toMatchObject({ changed: 1, unchanged: 1 });
    expect(await h.item('hipcall#rp-1')).toMatchObject({ direction: 'outbound' });

    // What an ingest holds when it read the item just before the replay writes: its write must not land after.
    const readBefore = (await h.item('hipcall#rp-1')) as unknown as CallRecord;
    const applied = await replay();
    expect(applied.json.summary).toMatchObject({ changed: 1, unchanged: 1 });
    const fixed = await h.item('hipcall#rp-1');
    expect(fixed!.version).toBeGreaterThan(readBefore.version);
    const calls = new DynamoCallsStore(doc, h.emulators.tables.calls);
    await expect(
      doc.send(calls.upsertCommand({ ...readBefore, updatedAt: new Date().toISOString() }, readBefore, [], new Date().toISOString())),
    ).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    expect(await h.item('hipcall#rp-1')).toEqual(fixed);
    expect(fixed).toMatchObject({
      direction: 'inbound',
      customerNumber: '+442045205757',
      durationSec: 45,
      events: good!.events,
      createdAt: good!.createdAt,
      recording: good!.recording,
    });

    const second = await replay();
    expect(second.json.summary).toMatchObject({ changed: 0, created: 0, unchanged: 2 });
    expect(await h.item('hipcall#rp-1')).toEqual(fixed);
  });

  it('recreates a call that raw/ holds but the table lost', async () => {
    await seedCall('rp-lost', '2026-07-01T12:00:00Z');
    const before = await h.item('hipcall#rp-lost');
    await doc.send(new DeleteCommand({ TableName: h.emulators.tables.calls, Key: { callKey: 'hipcall#rp-lost' } }));
    const { json } = await replay('--source', 'hipcall');
    expect(json.calls.find((c) => c.callKey === 'hipcall#rp-lost')?.outcome).toBe('created');
    expect(await h.item('hipcall#rp-lost')).toMatchObject({
      direction: before!.direction,
      customerNumber: before!.customerNumber,
      events: before!.events,
      startedAt: before!.startedAt,
    });
  });

  it('refuses a source that is not configured, and --source without a window', async () => {
    await expect(replay('--source', 'nope')).rejects.toThrow(/No source "nope"/);
    await expect(replayCommand(['--dlq', 'media', '--source', 'hipcall', '--local'], () => {})).rejects.toThrow(
      /goes with --since\/--until/,
    );
  });
});
