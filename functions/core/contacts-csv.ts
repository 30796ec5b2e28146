/**
 * Contacts from a CSV file (RFC 4180, as spreadsheets export it): a header row naming the columns
 * `phone,name,company,balance,owner_user_id,link` in any order, plus any other columns, which become
 * extra card rows. Pure: the caller reads the file and writes the contacts.
 *
 * Lenient where a spreadsheet is sloppy (BOM, CRLF or LF, blank and all-empty lines, `;` instead of `,`,
 * header case and spacing), strict where a wrong value would show the wrong person: every row that
 * cannot be read is reported with its line number and what to fix, and the rest are imported.
 */
import { ValidationError } from './errors.ts';
import { toE164 } from './phone.ts';
import { parseAmount, parseUserId, safeLink, standardField, type Contact } from './contact.ts';

export interface CsvRecord {
  /** 1-based line the record starts on. */
  line: number;
  fields: string[];
}

export interface Rejection {
  line: number;
  reason: string;
}

/** Longest field accepted: a longer one is almost always two lines merged by a stray double quote. */
export const MAX_FIELD_LENGTH = 1000;

/**
 * Split CSV text into records (RFC 4180: `"` quotes a field, `""` is a quote inside one, quoted fields
 * may hold delimiters and line breaks; records end with CRLF, LF or CR). A leading BOM is ignored.
 * Blank lines and lines of empty fields are skipped. A quoted field still open at the end of the text
 * is reported, not returned.
 */
export function parseCsv(text: string, delimiter = ','): { records: CsvRecord[]; errors: Rejection[] } {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  const errors: Rejection[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false; // inside a quoted field
  let wasQuoted = false; // the current record has a quoted field (so it is not blank)
  let line = 1;
  let recordLine = 1;

  const endField = () => {
    fields.push(field);
    field = '';
  };
  const endRecord = () => {
    endField();
    if (wasQuoted || fields.some((f) => f.trim() !== '')) records.push({ line: recordLine, fields });
    fields = [];
    wasQuoted = false;
  };

  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (quoted) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n' || (c === '\r' && src[i + 1] !== '\n')) line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field.trim() === '') {
      // An opening quote (spaces before it, as some tools write, are dropped).
      field = '';
      quoted = true;
      wasQuoted = true;
    } else if (c === delimiter) endField();
    else if (c === '\r' || c === '\n') {
      if (c === '\r' && src[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else field += c;
  }
  if (quoted) errors.push({ line: recordLine, reason: 'a quoted field is never closed: every " that opens a field needs a closing "' });
  else endRecord();
  return { records, errors };
}

/** `;` when the header line has semicolons and no commas (spreadsheets in many locales export that way). */
export function detectDelimiter(text: string): ',' | ';' | '\t' {
  const first = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split(/\r\n|\n|\r/, 1)[0] ?? '';
  if (first.includes(',')) return ',';
  if (first.includes(';')) return ';';
  if (first.includes('\t')) return '\t';
  return ',';
}

export interface ContactsCsvOptions {
  /** ISO 3166-1 alpha-2 country used to read national-format numbers. */
  defaultCountry: string;
  /** Field delimiter; detected from the header line when omitted. */
  delimiter?: string;
}

export interface ContactsCsv {
  /** One contact per number (the last row of a number wins), in file order. */
  contacts: Contact[];
  /** Rows not imported, by line, with the reason; a row replaced by a later one with the same number is listed too. */
  rejected: Rejection[];
  /** Data rows read (blank lines not counted). */
  rows: number;
}

/** Column key for a header name: `Owner User ID` → `owner_user_id`. */
const columnKey = (name: string) =>
  name
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');

/**
 * Names a plain object or the DynamoDB marshaller treats as machinery, not data: `__proto__` would set
 * a prototype and drop the value, and a map with an own `constructor` is refused by the SDK.
 */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The extras key of a column: its name, or for a reserved name the same with its first letter upper-cased
 * (`constructor` → `Constructor`), so the value is kept and card rows still find it (extras match case-insensitively).
 */
export const extraKey = (name: string): string => (RESERVED_KEYS.has(name) ? name.replace(/[a-z]/, (c) => c.toUpperCase()) : name);

/** A short, printable rendering of a value for a report line. */
const shown = (value: string) => JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);

/** Parse a contacts CSV. Throws ValidationError when the file itself cannot be used (no header, no phone column). */
export function parseContactsCsv(text: string, options: ContactsCsvOptions): ContactsCsv {
  const country = options.defaultCountry.toUpperCase();
  const { records, errors } = parseCsv(text, options.delimiter ?? detectDelimiter(text));
  const [header, ...data] = records;
  if (!header)
    throw new ValidationError('The CSV file is empty: it needs a header row such as "phone,name,company,balance,owner_user_id,link".');

  const columns = header.fields.map((name) => ({ name: name.trim(), key: columnKey(name), standard: standardField(columnKey(name)) }));
  const seen = new Map<string, number>();
  for (const [i, col] of columns.entries()) {
    if (!col.name) continue;
    const id = col.standard ?? col.key;
    if (seen.has(id))
      throw new ValidationError(
        `The CSV header names the column "${col.name}" twice (columns ${seen.get(id)! + 1} and ${i + 1}): rename or remove one.`,
      );
    seen.set(id, i);
  }
  if (!columns.some((c) => c.standard === 'phone')) {
    throw new ValidationError(
      `The CSV header has no "phone" column (found: ${columns.map((c) => c.name || '(empty)').join(', ')}). The first row must name the columns, e.g. "phone,name,company,balance,owner_user_id,link".`,
    );
  }

  const rejected: Rejection[] = [...errors];
  const byPhone = new Map<string, { contact: Contact; line: number }>();
  for (const record of data) {
    const result = contactOf(record, columns, country);
    if ('reason' in result) {
      rejected.push({ line: record.line, reason: result.reason });
      continue;
    }
    const earlier = byPhone.get(result.phone);
    if (earlier) {
      rejected.push({ line: earlier.line, reason: `same number as line ${record.line}, which replaces it` });
      byPhone.delete(result.phone);
    }
    byPhone.set(result.phone, { contact: result, line: record.line });
  }
  const contacts = [...byPhone.values()].sort((a, b) => a.line - b.line).map((e) => e.contact);
  rejected.sort((a, b) => a.line - b.line);
  return { contacts, rejected, rows: data.length };
}

type Column = { name: string; key: string; standard: ReturnType<typeof standardField> };

function contactOf(record: CsvRecord, columns: Column[], country: string): Contact | { reason: string } {
  const { fields } = record;
  if (fields.length > columns.length && fields.slice(columns.length).some((f) => f.trim() !== '')) {
    return { reason: `has ${fields.length} fields but the header has ${columns.length} columns: quote any value that contains a comma` };
  }
  const long = fields.findIndex((f) => f.length > MAX_FIELD_LENGTH);
  if (long >= 0) {
    return {
      reason: `${columns[long]?.name || `column ${long + 1}`} is longer than ${MAX_FIELD_LENGTH} characters: is a double quote missing its pair?`,
    };
  }

  const contact: Partial<Contact> = {};
  // A Map: column names are the user's text and must never reach an object's prototype.
  const extras = new Map<string, string>();
  for (const [i, col] of columns.entries()) {
    const value = (fields[i] ?? '').trim();
    if (!col.name || !value) continue;
    switch (col.standard) {
      case 'phone': {
        const phone = toE164(value, country);
        if (!phone) {
          const hint = /e\+?\d+$/i.test(value) ? ' (the spreadsheet turned it into a number: format the column as text)' : '';
          return {
            reason: `phone ${shown(value)} is not a phone number (national numbers are read as ${country}; write others with + and the country code)${hint}`,
          };
        }
        contact.phone = phone;
        break;
      }
      case 'name':
        contact.name = value;
        break;
      case 'company':
        contact.company = value;
        break;
      case 'balance': {
        const amount = parseAmount(value);
        if (amount === undefined)
          return { reason: `balance ${shown(value)} is not an amount: write digits with a dot for decimals, e.g. 4250.00` };
        contact.balance = amount;
        break;
      }
      case 'owner': {
        const id = parseUserId(value);
        if (id === undefined) return { reason: `owner_user_id ${shown(value)} is not a Hipcall user id (a whole number, e.g. 1121)` };
        contact.ownerUserId = id;
        break;
      }
      case 'link': {
        const link = safeLink(value);
        if (!link) return { reason: `link ${shown(value)} is not an http(s) URL` };
        contact.link = link;
        break;
      }
      default:
        extras.set(extraKey(col.name), value);
    }
  }
  if (!contact.phone) return { reason: 'phone is empty' };
  // Object.fromEntries defines own properties, so even an unforeseen key cannot touch a prototype.
  if (extras.size) contact.extras = Object.fromEntries(extras);
  return contact as Contact;
}
