import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { contactField } from '#core/contact.ts';
import { parseContactsCsv, parseCsv } from '#core/contacts-csv.ts';
import { ValidationError } from '#core/errors.ts';
import { fixtureText } from '#test/support/fixtures.ts';
import { match } from '#test/support/match.ts';

const GB = { defaultCountry: 'GB' };

describe('parseCsv', () => {
  it('reads quoted fields with delimiters, escaped quotes and line breaks', () => {
    const { records, errors } = parseCsv('a,"b,c","say ""hi""","two\r\nlines"\r\nx,y,z,w\r\n');
    expect(errors).toEqual([]);
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b,c', 'say "hi"', 'two\r\nlines'] },
      { line: 3, fields: ['x', 'y', 'z', 'w'] },
    ]);
  });

  it('accepts LF, CRLF and CR line ends and a missing final line end', () => {
    expect(parseCsv('a\nb\r\nc\rd').records.map((r) => [r.line, r.fields[0]])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
      [4, 'd'],
    ]);
  });

  it('ignores a leading BOM', () => {
    expect(parseCsv('\uFEFFphone,name\n1,2').records[0]!.fields).toEqual(['phone', 'name']);
  });

  it('skips blank lines, whitespace-only lines and lines of empty fields, keeping line numbers true', () => {
    const { records } = parseCsv('h\n\n   \n,,,\nx\n\n');
    expect(records).toEqual([
      { line: 1, fields: ['h'] },
      { line: 5, fields: ['x'] },
    ]);
  });

  it('keeps an empty quoted field as a record', () => {
    expect(parseCsv('""\n').records).toEqual([{ line: 1, fields: [''] }]);
  });

  it('reports a quoted field that is never closed, at the line it opened', () => {
    const { records, errors } = parseCsv('h\nok\n"open\nstill open\n');
    expect(records.map((r) => r.line)).toEqual([1, 2]);
    expect(errors).toEqual([{ line: 3, reason: match.stringContaining('never closed') }]);
  });

  it('uses another delimiter when asked', () => {
    expect(parseCsv('a;"b;c"\n', ';').records[0]!.fields).toEqual(['a', 'b;c']);
  });
});

describe('parseContactsCsv', () => {
  const result = parseContactsCsv(fixtureText('contacts/contacts.csv'), GB);

  it('imports the readable rows with numbers in E.164 and values typed', () => {
    expect(result.contacts).toEqual([
      {
        phone: '+442079460123',
        name: 'Smith, John',
        company: 'Acme "UK" Ltd',
        balance: -12.5,
        extras: { Notes: 'Prefers email,\r\nnot calls' },
      },
      { phone: '+442079460999', name: 'Ada Lovelace', company: 'Analytical Engines', balance: 1_000_000, extras: { Plan: 'Silver' } },
      { phone: '+442045205757', name: 'Jane Smith (updated)', company: 'Acme Corp', balance: 4300, ownerUserId: 1121 },
    ]);
    expect(result.rows).toBe(9);
  });

  it('reports every rejected row by line with what to fix', () => {
    expect(result.rejected.map((r) => r.line)).toEqual([2, 9, 10, 11, 12, 13]);
    const reason = (line: number) => result.rejected.find((r) => r.line === line)!.reason;
    expect(reason(2)).toBe('same number as line 14, which replaces it');
    expect(reason(9)).toMatch(/^phone "not-a-number" is not a phone number/);
    expect(reason(10)).toMatch(/^balance "4.250,00" is not an amount/);
    expect(reason(11)).toMatch(/^owner_user_id "jane" is not a Hipcall user id/);
    expect(reason(12)).toMatch(/^link "javascript:alert\(1\)" is not an http\(s\) URL/);
    expect(reason(13)).toMatch(/format the column as text/);
  });

  it('matches numbers written differently to the same contact', () => {
    const csv = 'phone,name\n+44 20 4520 5757,A\n00442045205757,B\n020 4520 5757,C\n';
    const { contacts, rejected } = parseContactsCsv(csv, GB);
    expect(contacts).toEqual([{ phone: '+442045205757', name: 'C' }]);
    expect(rejected).toEqual([
      { line: 2, reason: 'same number as line 3, which replaces it' },
      { line: 3, reason: 'same number as line 4, which replaces it' },
    ]);
  });

  it('reads national numbers with the default country', () => {
    expect(parseContactsCsv('phone\n(415) 555-2671\n', { defaultCountry: 'US' }).contacts[0]!.phone).toBe('+14155552671');
  });

  it('accepts header names in any case, order and spacing, and semicolon files', () => {
    expect(parseContactsCsv('Name, PHONE ,Owner User ID\nJane,+442045205757,7\n', GB).contacts).toEqual([
      { phone: '+442045205757', name: 'Jane', ownerUserId: 7 },
    ]);
    expect(parseContactsCsv(fixtureText('contacts/semicolon.csv'), GB).contacts).toEqual([
      { phone: '+442045205757', name: 'Jane Smith', company: 'Acme Corp', balance: 4250 },
    ]);
  });

  it('refuses a row with more values than columns', () => {
    const { contacts, rejected } = parseContactsCsv('phone,name\n+442045205757,Smith, Jane\n', GB);
    expect(contacts).toEqual([]);
    expect(rejected[0]!.reason).toMatch(/has 3 fields but the header has 2 columns/);
  });

  it('tolerates missing trailing fields and trailing empty fields', () => {
    expect(parseContactsCsv('phone,name,company\n+442045205757\n+15551234567,Bob,,,\n', GB).contacts).toEqual([
      { phone: '+442045205757' },
      { phone: '+15551234567', name: 'Bob' },
    ]);
  });

  it('refuses a field so long it must be lines merged by a stray quote', () => {
    const { rejected } = parseContactsCsv(`phone,name\n+442045205757,${'x'.repeat(1001)}\n`, GB);
    expect(rejected[0]!.reason).toMatch(/name is longer than 1000 characters/);
  });

  it('reports an unclosed quote and keeps the rows before it', () => {
    const { contacts, rejected } = parseContactsCsv(fixtureText('contacts/unterminated.csv'), GB);
    expect(contacts).toEqual([]);
    expect(rejected).toEqual([{ line: 2, reason: match.stringContaining('never closed') }]);
  });

  it('refuses a file without a phone column, an empty file and a duplicated column', () => {
    expect(() => parseContactsCsv(fixtureText('contacts/no-phone.csv'), GB)).toThrow(/no "phone" column \(found: name, company\)/);
    expect(() => parseContactsCsv('', GB)).toThrow(ValidationError);
    expect(() => parseContactsCsv('\uFEFF\r\n\r\n', GB)).toThrow(/empty/);
    expect(() => parseContactsCsv('phone,name,Name\n', GB)).toThrow(/"Name" twice/);
  });

  it('keeps columns named constructor, __proto__ and prototype as extras a DynamoDB item can hold', () => {
    const csv = 'phone,constructor,__proto__,prototype,toString,name\n+442045205757,Acme Build,p1,p2,t,Ada\n';
    const { contacts, rejected } = parseContactsCsv(csv, GB);
    expect(rejected).toEqual([]);
    const [contact] = contacts;
    expect(contact).toEqual({
      phone: '+442045205757',
      name: 'Ada',
      extras: { Constructor: 'Acme Build', __Proto__: 'p1', Prototype: 'p2', toString: 't' },
    });
    expect(Object.getPrototypeOf(contact!.extras)).toBe(Object.prototype);
    // The SDK's marshaller refuses a map with an own "constructor": the import would stop here.
    expect(marshall({ ...contact }).extras).toEqual({
      M: { Constructor: { S: 'Acme Build' }, __Proto__: { S: 'p1' }, Prototype: { S: 'p2' }, toString: { S: 't' } },
    });
    // A card row naming the column as written still finds it.
    expect(contactField(contact!, 'constructor')).toBe('Acme Build');
    expect(contactField(contact!, '__proto__')).toBe('p1');
  });

  it('never reads a standard field or an extra from Object.prototype', () => {
    const { contacts } = parseContactsCsv('phone,hasOwnProperty\n+442045205757,yes\n', GB);
    expect(contacts[0]!.extras).toEqual({ hasOwnProperty: 'yes' });
    expect(contactField({ phone: '+442045205757' }, 'constructor')).toBeUndefined();
    expect(contactField({ phone: '+442045205757', extras: {} }, 'valueOf')).toBeUndefined();
  });

  it('gives the same contacts when imported twice (idempotent input)', () => {
    expect(parseContactsCsv(fixtureText('contacts/contacts.csv'), GB)).toEqual(result);
  });
});
