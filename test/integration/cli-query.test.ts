/**
 * `callvault query --local` runs the example queries of docs/querying.md (CDR_EXAMPLE_QUERIES, the
 * same text Athena gets as named queries) over the local archive's cdr/ objects. The calls go in through
 * the real ingest (the providers' seed payloads plus three missed inbound Hipcall calls); each item is
 * then written to cdr/ by the real writer (S3MediaStore.putCallRecord, as the media worker does once a call
 * has ended), one recording marked stored as the media worker would. The command runs in-process with
 * --local --json against the same emulators.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { localClientConfig } from '#bin/local/emulators.ts';
import { main } from '#bin/callvault.ts';
import { queryCommand } from '#bin/cli/query.ts';
import { CliError } from '#bin/cli/context.ts';
import { S3MediaStore } from '#adapters/media-store.ts';
import { CDR_COLUMNS, CDR_EXAMPLE_QUERIES, CDR_PARTITIONS } from '#core/cdr-schema.ts';
import type { CallRecord } from '#core/types.ts';
import { S3_KEYS } from '#contract/resources.ts';
import { fixture, hipcallHangup, startIngestHarness, type IngestHarness } from '#test/support/ingest-harness.ts';
import { useLocalEndpoints } from '#test/support/local-endpoints.ts';
import { SEED_DELIVERIES } from '#test/support/seeds.ts';
import { match } from '#test/support/match.ts';

let h: IngestHarness;
let s3: S3Client;
let restoreEndpoints: (() => Promise<void>) | undefined;
let items: CallRecord[] = [];

/** A Hipcall call_hangup of an inbound call nobody answered. */
function missedInbound(uuid: string, caller: string, startedAt: string): string {
  const body = JSON.parse(hipcallHangup(uuid)) as { data: Record<string, unknown> };
  Object.assign(body.data, {
    caller_number: caller,
    started_at: startedAt,
    answered_at: null,
    ended_at: startedAt,
    call_duration: 0,
    record_url: null,
    missing_call: true,
    call_flow: [],
  });
  return JSON.stringify(body);
}

const MISSED = [
  { uuid: 'missed-1', caller: '+442079460123', at: '2026-04-03T09:00:00Z' },
  { uuid: 'missed-2', caller: '+442079460123', at: '2026-04-03T11:30:00Z' },
  { uuid: 'missed-3', caller: '+442045205757', at: '2026-04-03T12:00:00Z' },
];

beforeAll(async () => {
  h = await startIngestHarness({ defaultCountry: 'US' });
  for (const d of SEED_DELIVERIES) expect((await h.post(d.source, fixture(d.fixture))).status).toBe(200);
  for (const m of MISSED) expect((await h.post('hipcall', missedInbound(m.uuid, m.caller, m.at))).json.status).toBe('stored');

  const ddb = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(h.emulators.endpoints.dynamodb)));
  items = ((await ddb.send(new ScanCommand({ TableName: h.emulators.tables.calls }))).Items ?? []) as CallRecord[];
  ddb.destroy();
  s3 = new S3Client(localClientConfig(h.emulators.endpoints.s3));
  const store = new S3MediaStore(s3, h.emulators.bucket);
  for (const item of items) {
    // What the media worker records once it has stored this call's recording.
    const record: CallRecord =
      item.callKey === 'hipcall#call_abc123'
        ? {
            ...item,
            recording: {
              state: 'stored',
              s3Key: 'recordings/hipcall/2026/04/02/call_abc123.mp3',
              bytes: 1234,
              sha256: 'ab'.repeat(32),
              contentType: 'audio/mpeg',
            },
          }
        : item;
    await store.putCallRecord(S3_KEYS.cdr(record.provider, record.callAt ?? record.startedAt!, record.callId), record);
  }
  // An object from before the flat schema: a pretty-printed record. It must be left out, and said so.
  await s3.send(
    new PutObjectCommand({
      Bucket: h.emulators.bucket,
      Key: 'cdr/hipcall/2026/04/02/old-format.json',
      Body: JSON.stringify({ callId: 'old-format', provider: 'hipcall' }, null, 2),
    }),
  );
  restoreEndpoints = await useLocalEndpoints(h.emulators);
}, 60_000);

afterAll(async () => {
  await restoreEndpoints?.();
  s3?.destroy();
  await h?.close();
});

/** `callvault query SQL --local --json`, in-process: exit code, parsed rows and what went to stderr. */
async function query(sql: string): Promise<{ code: number; rows: Record<string, unknown>[]; errors: string[] }> {
  const lines: string[] = [];
  const errors: string[] = [];
  const code = await queryCommand(
    [sql, '--local', '--json'],
    (l) => void lines.push(l),
    (l) => void errors.push(l),
  );
  return { code, rows: JSON.parse(lines.join('\n')) as Record<string, unknown>[], errors };
}

const example = (name: string): string => CDR_EXAMPLE_QUERIES.find((q) => q.name === name)!.sql;
/** `YYYY/MM/DD` of an item's callAt: the partition its cdr/ object is under. */
const dayOf = (callKey: string): string =>
  items
    .find((i) => i.callKey === callKey)!
    .callAt!.slice(0, 10)
    .replace(/-/g, '/');

describe('callvault query --local', () => {
  it('answers "calls per day per direction" from the seeded archive, SMS left out', async () => {
    const { code, rows } = await query(example('calls-per-day-per-direction'));
    expect(code).toBe(0);
    const calls = items.filter((i) => i.kind === 'call');
    // The fixed-date calls, as the seed payloads date them.
    expect(rows).toEqual(
      match.arrayContaining([
        { day: '2020/05/12', direction: 'outbound', calls: 1 },
        { day: '2024/11/17', direction: 'outbound', calls: 1 },
        { day: '2026/04/02', direction: 'inbound', calls: 1 },
        { day: '2026/04/03', direction: 'inbound', calls: 3 },
      ]),
    );
    // Every call is counted once (the SMS is not), and rows come in day, direction order.
    expect(rows.reduce((n, r) => n + (r.calls as number), 0)).toBe(calls.length);
    expect(rows.map((r) => `${r.day as string} ${r.direction as string}`)).toEqual(
      rows.map((r) => `${r.day as string} ${r.direction as string}`).sort(),
    );
    expect(rows.some((r) => r.day === dayOf('postcall#693bff62619c51fac21acf50'))).toBe(true);
  });

  it('answers "unanswered inbound calls by number": the missed calls, most first', async () => {
    const { code, rows } = await query(example('unanswered-inbound-by-number'));
    expect(code).toBe(0);
    expect(rows).toEqual([
      { customer_number: '+442079460123', unanswered: 2, last_call_at: '2026-04-03T11:30:00.000Z' },
      { customer_number: '+442045205757', unanswered: 1, last_call_at: '2026-04-03T12:00:00.000Z' },
    ]);
  });

  it('answers "recordings not stored": the queued ones, not the stored one nor calls without a recording', async () => {
    const { code, rows } = await query(example('recordings-not-stored'));
    expect(code).toBe(0);
    expect(rows).toEqual(
      [
        { provider: 'callhippo', day: '2020/05/12', call_id: 'CA5fcabcd366fac3fe8c00c111f135e123', recording_state: 'queued' },
        {
          provider: 'postcall',
          day: dayOf('postcall#693bff62619c51fac21acf50'),
          call_id: '693bff62619c51fac21acf50',
          recording_state: 'queued',
        },
      ].sort((a, b) => `${a.day} ${a.provider}`.localeCompare(`${b.day} ${b.provider}`)),
    );
  });

  it("exposes the schema's columns, provider and day taken from the object key", async () => {
    const { rows } = await query('DESCRIBE calls');
    expect(rows.map((r) => [r.column_name, r.column_type])).toEqual(
      [...CDR_COLUMNS, ...CDR_PARTITIONS].map((c) => [c.name, { string: 'VARCHAR', bigint: 'BIGINT', boolean: 'BOOLEAN' }[c.type]]),
    );
    const { rows: one } = await query(
      "SELECT provider, day, call_id, duration_sec, recording_stored, recording_bytes FROM calls WHERE call_id = 'call_abc123'",
    );
    expect(one).toEqual([
      { provider: 'hipcall', day: '2026/04/02', call_id: 'call_abc123', duration_sec: 45, recording_stored: true, recording_bytes: 1234 },
    ]);
  });

  it('leaves out a cdr/ object written before the flat schema, and says so on stderr (not in the JSON)', async () => {
    const { rows, errors } = await query('SELECT count(*) AS n FROM calls');
    expect(rows).toEqual([{ n: items.length }]);
    expect(errors.join('\n')).toMatch(/1 cdr\/ object\(s\) left out/);
  });

  it('refuses SQL DuckDB cannot run with a CliError naming the table', async () => {
    await expect(
      queryCommand(
        ['SELECT nope FROM calls', '--local', '--json'],
        () => {},
        () => {},
      ),
    ).rejects.toThrow(CliError);
    await expect(
      queryCommand(
        ['SELECT nope FROM calls', '--local'],
        () => {},
        () => {},
      ),
    ).rejects.toThrow(/table is "calls"/);
  });

  it('without --local runs nothing and says how to run the same SQL in Athena, quoted for the shell', async () => {
    const refused = queryCommand(
      ["SELECT count(*) FROM calls WHERE day = '2026/04/02'"],
      () => {},
      () => {},
    );
    await expect(refused).rejects.toThrow(CliError);
    const message = await refused.catch((err: Error) => err.message);
    expect(message).toContain(
      `aws athena start-query-execution --work-group callvault --query-execution-context Database=callvault --query-string 'SELECT count(*) FROM calls WHERE day = '\\''2026/04/02'\\'''`,
    );
  });

  it('is registered as "callvault query" and prints JSON rows through the CLI entry point', async () => {
    const printed: string[] = [];
    const errors: string[] = [];
    expect(
      await main(['query', "SELECT call_id FROM calls WHERE customer_number = '+442079460123' ORDER BY call_id", '--local', '--json'], {
        out: (line) => void printed.push(line),
        err: (line) => void errors.push(line),
      }),
    ).toBe(0);
    expect(JSON.parse(printed.join('\n'))).toEqual([{ call_id: 'missed-1' }, { call_id: 'missed-2' }]);
  });
});
