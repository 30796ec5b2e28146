import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CDR_COLUMNS, CDR_EXAMPLE_QUERIES, CDR_PARTITIONS, cdrDay, cdrRow, cdrSchemaMarkdown } from '#core/cdr-schema.ts';
import type { CallRecord } from '#core/types.ts';
import { duckdbCallsDdl } from '#bin/cli/query.ts';

const querying = readFileSync(new URL('../../docs/querying.md', import.meta.url), 'utf8');

const record = (over: Partial<CallRecord> = {}): CallRecord => ({
  callKey: 'hipcall#c1',
  provider: 'hipcall',
  source: 'hipcall-eu',
  callId: 'c1',
  kind: 'call',
  direction: 'inbound',
  status: 'completed',
  fromNumber: '+442045205757',
  toNumber: '+441234567890',
  customerNumber: '+442045205757',
  startedAt: '2026-04-02T23:59:00.000Z',
  answeredAt: '2026-04-02T23:59:03.000Z',
  endedAt: '2026-04-03T00:01:00.000Z',
  durationSec: 117,
  agent: { id: '1121', email: 'a@example.com' },
  recording: {
    state: 'stored',
    s3Key: 'recordings/hipcall/2026/04/02/c1.mp3',
    bytes: 2048,
    sha256: 'f'.repeat(64),
    contentType: 'audio/mpeg',
    attempts: 1,
  },
  voicemail: { state: 'expired', error: 'gone' },
  events: ['call_hangup#abc'],
  createdAt: '2026-04-02T23:59:01.000Z',
  updatedAt: '2026-04-03T00:02:00.000Z',
  callAt: '2026-04-02T23:59:00.000Z',
  day: '2026-04-02',
  version: 3,
  ...over,
});

describe('cdrRow', () => {
  it("has exactly the schema's columns and partitions, nothing more", () => {
    expect(Object.keys(cdrRow(record())).sort()).toEqual([...CDR_COLUMNS, ...CDR_PARTITIONS].map((c) => c.name).sort());
  });

  it('gives each column a value of its declared type, or null', () => {
    const row = cdrRow(record());
    for (const c of [...CDR_COLUMNS, ...CDR_PARTITIONS]) {
      const v = row[c.name];
      if (v !== null) expect([c.name, typeof v]).toEqual([c.name, { string: 'string', bigint: 'number', boolean: 'boolean' }[c.type]]);
    }
  });

  it('flattens a stored recording and keeps only the state of one that is not stored', () => {
    expect(cdrRow(record())).toMatchObject({
      recording_state: 'stored',
      recording_stored: true,
      recording_key: 'recordings/hipcall/2026/04/02/c1.mp3',
      recording_bytes: 2048,
      recording_content_type: 'audio/mpeg',
      voicemail_state: 'expired',
      voicemail_stored: false,
      voicemail_key: null,
      voicemail_bytes: null,
      transcript_state: null,
      transcript_stored: false,
    });
  });

  it("takes day from the key it is stored under, else the item's day, in the key's YYYY/MM/DD form", () => {
    expect(cdrRow(record(), '2026/04/02').day).toBe('2026/04/02');
    expect(cdrRow(record({ day: '2026-04-05' })).day).toBe('2026/04/05');
    const { day: _day, callAt: _callAt, ...undated } = record();
    expect(cdrRow(undated as CallRecord).day).toBe('2026/04/02');
  });

  it('marks a call answered by its answer time or its status, and a missed one not', () => {
    expect(cdrRow(record()).answered).toBe(true);
    expect(cdrRow(record({ answeredAt: undefined, status: 'answered' })).answered).toBe(true);
    expect(cdrRow(record({ answeredAt: undefined, status: 'missed' })).answered).toBe(false);
  });

  it('leaves out bookkeeping and provider extras: no events, version, caller or analysis text', () => {
    const row = cdrRow(record({ caller: { name: 'Jane', phoneNumber: '+1555' }, analysis: { summary: 'private' } }));
    expect(JSON.stringify(row)).not.toMatch(/Jane|private|call_hangup#abc/);
    expect(row.has_analysis).toBe(true);
  });

  it('reads a duration DynamoDB kept as text (out of its range) as unknown, not as a string in a bigint column', () => {
    expect(cdrRow(record({ durationSec: '1e400' as unknown as number })).duration_sec).toBeNull();
    expect(cdrRow(record({ durationSec: 12.6 })).duration_sec).toBe(13);
  });

  it('falls back to the number as sent when the external party is not a phone number', () => {
    expect(cdrRow(record({ customerNumber: undefined, customerNumberAsSent: 'anonymous' })).customer_number).toBe('anonymous');
  });
});

describe('cdrDay', () => {
  it('turns a YYYY-MM-DD day or an ISO time into the key form, and nothing else', () => {
    expect([cdrDay('2026-04-02'), cdrDay('2026-04-02T10:00:00Z'), cdrDay('yesterday'), cdrDay(undefined)]).toEqual([
      '2026/04/02',
      '2026/04/02',
      undefined,
      undefined,
    ]);
  });
});

describe('the schema, written once', () => {
  it('names every column once, in snake_case Glue will not change', () => {
    const names = [...CDR_COLUMNS, ...CDR_PARTITIONS].map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[a-z][a-z0-9_]*$/);
  });

  it("keeps each description within Glue's 255-character comment", () => {
    for (const c of [...CDR_COLUMNS, ...CDR_PARTITIONS]) expect(c.description.length, c.name).toBeLessThanOrEqual(255);
  });

  it('gives DuckDB the same columns with the matching types', () => {
    const ddl = duckdbCallsDdl('/tmp/x');
    for (const c of CDR_COLUMNS)
      expect(ddl).toContain(`'${c.name}': '${{ string: 'VARCHAR', bigint: 'BIGINT', boolean: 'BOOLEAN' }[c.type]}'`);
    expect(duckdbCallsDdl(undefined)).toMatch(/^CREATE TABLE calls \(call_id VARCHAR, .* provider VARCHAR, day VARCHAR\)$/);
  });
});

describe('docs/querying.md', () => {
  it('shows the schema table exactly as generated from the columns', () => {
    expect(querying).toContain(cdrSchemaMarkdown());
  });

  it.each(CDR_EXAMPLE_QUERIES.map((q) => [q.name, q.sql] as const))(
    'shows the example query %s with the exact SQL the tests run',
    (_name, sql) => {
      expect(querying).toContain(`\`\`\`sql\n${sql}\n\`\`\``);
    },
  );
});
